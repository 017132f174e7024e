"""Standalone reproduction snippets: one failure as a plain Python script that needs only torch and numpy.

The results record the falsifying inputs (dtype, shape, values, strides, device, requires_grad) and
where the spec lives (`file`, `line`, `spec_id`).  The spec is loaded again at report time for its
steps and checks; steps are already Python syntax, inputs become literals, and each check becomes a
plain assert through its kind's own rendering (checks.CHECKS).  The check primitives it calls
(`_mismatch`, `_shares`, ...) and any `helpers.*` it uses are copied verbatim from the modules the
suite runs (inspect.getsource), so the snippet means exactly what the suite checked.
"""

from __future__ import annotations

import ast
import inspect
import math
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.lang import check_helpers, checks, helpers
from conformance.lang import spec as spec_mod
from conformance.lang.dtypes import TORCH_DTYPES

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Snippet:
    text: str | None                     # None: no snippet could be built (see notes)
    notes: list[str] = field(default_factory=list)
    check_index: int | None = None       # which expectation failed in the suite, when known
    check_kind: str | None = None


# -- finding the spec ---------------------------------------------------------------------------

class SpecFinder:
    """Loads spec files once per report; relative paths are tried against the cwd and the project."""

    def __init__(self, roots: list[Path] | None = None):
        self.roots = [Path.cwd(), PROJECT_ROOT, *(roots or [])]
        self.cache: dict[Path, tuple[list[spec_mod.Spec], list[Any]]] = {}

    def find(self, file: str | None, spec_id: str) -> tuple[spec_mod.Spec | None, str | None]:
        if not file:
            return None, "the results do not say which spec file this came from"
        candidates = [Path(file)] if Path(file).is_absolute() else [r / file for r in self.roots]
        path = next((c.resolve() for c in candidates if c.is_file()), None)
        if path is None:
            return None, f"spec file {file} is gone (not found from {Path.cwd()}); no snippet"
        if path not in self.cache:
            self.cache[path] = spec_mod.load_file(path, display=file)
        specs, errors = self.cache[path]
        for s in specs:
            if s.id == spec_id:
                return s, None
        if errors:
            return None, f"spec file {file} does not load now ({errors[0]}); no snippet"
        return None, f"spec {spec_id} is no longer in {file}; no snippet"


# -- literals -------------------------------------------------------------------------------------

def literal(v: Any) -> str:
    """Python source for a JSON value; NaN/inf become float(...) so the source stays valid."""
    if isinstance(v, bool) or v is None:
        return repr(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "float('nan')"
        if math.isinf(v):
            return "float('inf')" if v > 0 else "-float('inf')"
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(literal(x) for x in v) + "]"
    if isinstance(v, tuple):
        return "(" + "".join(literal(x) + ", " for x in v).rstrip(" ") + ")" if v else "()"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(x)}" for k, x in v.items()) + "}"
    return repr(v)


def _complex_values(v: Any) -> Any:
    # The results writer stores complex numbers as str(...) ("(1+2j)").
    if isinstance(v, list):
        return [_complex_values(x) for x in v]
    return complex(v) if isinstance(v, str) else v


def _dtype_src(name: str | None) -> str:
    return f"torch.{name}" if name in TORCH_DTYPES else "None"


def _contiguous_strides(shape: list[int]) -> list[int]:
    out, acc = [], 1
    for s in reversed(shape):
        out.append(acc)
        acc *= max(s, 1)
    return out[::-1]


class _Inputs:
    """Turns recorded inputs into source; collects notes about what could not be reproduced."""

    def __init__(self, device_type: str, notes: list[str]):
        self.device_type, self.notes = device_type, notes

    def _dev(self, recorded: str | None) -> str:
        if recorded and recorded.split(":")[0] != self.device_type:
            return repr(recorded)  # pinned to host memory (`device: cpu`) while testing another device
        return "DEVICE"

    def tensor(self, name: str, d: dict) -> str:
        dtype, shape, values = d.get("dtype"), list(d.get("shape") or []), d.get("values")
        dev = self._dev(d.get("device"))
        tail = ".requires_grad_(True)" if d.get("requires_grad") else ""
        if values is None:
            if (d.get("device") or "").startswith("meta"):
                return f"torch.empty({tuple(shape)!r}, dtype={_dtype_src(dtype)}, device={dev}){tail}"
            self.notes.append(f"{name}: values were not recorded (too many elements); zeros stand in for them, "
                              f"so the snippet may not reproduce the failure")
            return f"torch.zeros({tuple(shape)!r}, dtype={_dtype_src(dtype)}, device={dev}){tail}"
        if str(dtype).startswith("complex"):
            values = _complex_values(values)
        vals, dt = literal(values), _dtype_src(dtype)
        reshape = f".reshape({tuple(shape)!r})" if 0 in shape else ""  # tolist() loses empty shapes
        if d.get("contiguous", True) or not shape:
            return f"torch.tensor({vals}, dtype={dt}, device={dev}){reshape}{tail}"
        src = f"torch.tensor({vals}, dtype={dt}){reshape}"
        # The suite draws non-contiguous tensors as every k-th column of a wider allocation.
        stride = list(d.get("stride") or [])
        k = stride[-1] if stride else 1
        alloc = [*shape[:-1], shape[-1] * k]
        want = _contiguous_strides(alloc)
        want[-1] *= k
        if stride != want:
            self.notes.append(f"{name}: recorded stride {stride} is not a column slice; rebuilt with "
                              f"torch.empty_strided, which reproduces the strides but not the base tensor")
            return (f"torch.empty_strided({tuple(shape)!r}, {tuple(stride)!r}, dtype={dt}, "
                    f"device={dev}).copy_({src}){tail}")
        return (f"torch.zeros({tuple(alloc)!r}, dtype={dt}, device={dev})[..., ::{k}]"
                f".copy_({src}){tail}  # non-contiguous, stride {tuple(stride)}")

    def ndarray(self, name: str, d: dict) -> list[str]:
        dtype, shape, values = d.get("dtype"), list(d.get("shape") or []), d.get("values")
        if values is None:
            self.notes.append(f"{name}: values were not recorded (too many elements); zeros stand in for them")
            return [f"{name} = np.zeros({tuple(shape)!r}, dtype=np.{dtype})"]
        src = f"np.array({literal(values)}, dtype=np.{dtype})"
        if 0 in shape:
            src += f".reshape({tuple(shape)!r})"
        if d.get("contiguous", True) or not shape:
            return [f"{name} = {src}"]
        k = (d.get("stride") or [1])[-1]
        alloc = (*shape[:-1], shape[-1] * k)
        return [f"{name} = np.zeros({alloc!r}, dtype=np.{dtype})[..., ::{k}]  # non-contiguous, as drawn",
                f"{name}[...] = {src}"]

    def expr(self, name: str, d: dict) -> str:
        kind = d.get("kind")
        if kind == "tensor":
            return self.tensor(name, d)
        if kind == "ndarray":  # inside a list: one expression, so always contiguous
            if not d.get("contiguous", True):
                self.notes.append(f"{name}: a non-contiguous ndarray inside a list is rebuilt contiguous")
            return self.ndarray(name, {**d, "contiguous": True})[0].split(" = ", 1)[1]
        if kind == "dtype":
            return _dtype_src(d.get("value"))
        if kind == "list":
            return "[" + ", ".join(self.expr(f"{name}[{i}]", x) for i, x in enumerate(d.get("items", []))) + "]"
        if kind == "tuple":
            return literal(tuple(d.get("value") or []))
        if kind in ("int", "float", "bool", "str", "NoneType"):
            return literal(d.get("value"))
        self.notes.append(f"{name}: a {kind} cannot be rebuilt from its record ({d.get('repr')}); set it by hand")
        return f"None  # was: {_one_line(str(d.get('repr')))}"

    def assign(self, name: str, d: dict) -> list[str]:
        if d.get("kind") == "ndarray":
            return self.ndarray(name, d)
        src = self.expr(name, d)
        code, _, comment = src.partition("  # ")
        return [f"{name} = {code}" + (f"  # {comment}" if comment else "")]


def _layout(name: str, d: dict, raw_given: Any, notes: list[str]) -> dict:
    """Recorded inputs are snapshots (clones), which lose a drawn non-contiguous layout; the spec's
    `contiguous` option says what was drawn: `false` is every other column of a wider array."""
    opts = next(iter(raw_given.values()), None) if isinstance(raw_given, dict) and len(raw_given) == 1 else None
    if d.get("kind") not in ("tensor", "ndarray") or not isinstance(opts, dict) or not d.get("shape"):
        return d
    want = opts.get("contiguous", True)
    if want is False and d.get("contiguous", True):
        alloc = [*d["shape"][:-1], d["shape"][-1] * 2]
        stride = _contiguous_strides(alloc)
        stride[-1] *= 2
        return {**d, "contiguous": False, "stride": stride}
    if want == "any" and d.get("contiguous", True):
        notes.append(f"{name}: the spec draws contiguous or non-contiguous inputs and the record does not say "
                     f"which; the snippet builds it contiguous")
    return d


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- helpers: copied from the modules the suite runs, never rewritten here ----------------------

def _helper_source(name: str) -> str:
    """The source of one check primitive, exactly as the suite runs it."""
    return textwrap.dedent(inspect.getsource(getattr(check_helpers, name))).strip()


def _needed_helpers(code: str) -> list[str]:
    """The primitives code calls, and those they call in turn (read from their own source)."""
    used: list[str] = []
    todo = [code]
    while todo:
        text = todo.pop()
        for h in check_helpers.ALL:
            if h not in used and re.search(rf"\b{h}\(", text):
                used.append(h)
                todo.append(_helper_source(h))
    return [h for h in check_helpers.ALL if h in used]


def _suite_helper_source(name: str) -> str | None:
    """A `helpers.*` member's source (conformance.lang.helpers), or None when it is not plain code."""
    obj = getattr(helpers, name, None)
    try:
        return textwrap.dedent(inspect.getsource(obj)).strip() if obj is not None else None
    except (OSError, TypeError):
        return None


def _assigned_names(texts: list[str]) -> set[str]:
    out: set[str] = set()
    for t in texts:
        try:
            tree = ast.parse(textwrap.dedent(t))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                out.add(node.id)
    return out


def check_source(e: spec_mod.Expectation, variables: set[str]) -> list[str]:
    """Plain-Python lines for one expectation: its kind's own rendering (checks.CHECKS)."""
    return checks.CHECKS[e.kind].snippet(e.text, variables)


# -- the snippet ----------------------------------------------------------------------------------

def build(entry: dict[str, Any], spec: spec_mod.Spec | None = None, finder: SpecFinder | None = None,
          fault: str | None = None) -> Snippet:
    """The standalone reproduction of one failed result (an entry of results["results"])."""
    notes: list[str] = []
    if entry.get("failure_kind") == "spec":
        return Snippet(None, ["the spec file itself does not load; there is nothing to reproduce"])
    fals = entry.get("falsifying")
    if not fals:
        return Snippet(None, ["no falsifying example was recorded (the failure happened outside the test body)"])
    if spec is None:
        spec, why = (finder or SpecFinder()).find(entry.get("file"), entry["spec_id"])
        if spec is None:
            return Snippet(None, [why or "spec not found"])
    device = str(entry.get("device", "cpu"))
    inputs = fals.get("inputs") or {}
    check = entry.get("check") or {}
    failed, failed_kind = check.get("index"), check.get("kind")

    conv = _Inputs(device.split(":")[0], notes)
    recorded_dev = next((d.get("device") for d in inputs.values()
                         if d.get("kind") == "tensor" and str(d.get("device", "")).split(":")[0] == device.split(":")[0]),
                        device)
    body: list[str] = [f"DEVICE = torch.device({recorded_dev!r})", "device = DEVICE  # specs call it `device`", "",
                       f"torch.manual_seed({literal(fals.get('seed'))})", "", "# the falsifying example"]
    for name, _given in spec.given:
        raw_given = (spec.raw.get("given") or {}).get(name) or {}
        if isinstance(raw_given, dict) and "value" in raw_given:  # derived: recompute, keeps aliasing
            body.append(f"{name} = {str(raw_given['value']).strip()}")
        elif name in inputs:
            body.extend(conv.assign(name, _layout(name, inputs[name], raw_given, notes)))
        else:
            notes.append(f"input {name} was not recorded")
            body.append(f"{name} = None  # not recorded")
    if spec.steps:
        body += ["", "# steps"]
        body += [textwrap.dedent(s.text).strip() for s in spec.steps]
    variables = {n for n, _ in spec.given} | _assigned_names([s.text for s in spec.steps])
    body += ["", "# checks"]
    for i, e in enumerate(spec.expect):
        why = e.text.get("why")
        mark = "  <- failed in the suite" if i == failed else ""
        body.append(f"# expect[{i}] {e.kind}" + (f": {_one_line(why)}" if why else "") + mark)
        body.extend(check_source(e, variables))
        if e.kind == "matches_cpu":
            notes.append("matches_cpu is not checked by the snippet; run it with DEVICE = 'cpu' and compare")
    if failed_kind and failed is not None and (failed >= len(spec.expect) or spec.expect[failed].kind != failed_kind):
        notes.append(f"the spec changed since the run: expect[{failed}] was {failed_kind}")
    code = "\n".join(body)

    used_helpers = _needed_helpers(code)
    used_suite = sorted(set(re.findall(r"\bhelpers\.(\w+)", code)))
    suite_src = {h: _suite_helper_source(h) for h in used_suite}
    unknown = [h for h, src in suite_src.items() if src is None]

    imports = ["import torch", "import numpy as np"]
    if re.search(r"\bnn\.|\bhelpers\.", code):
        imports.append("from torch import nn")
    if re.search(r"\bF\.", code):
        imports.append("import torch.nn.functional as F")
    if re.search(r"\boptim\.", code):
        imports.append("from torch import optim")
    if re.search(r"\btorchvision\b", code):
        imports.append("import torchvision")
    if "_raises" in used_helpers:
        imports[:0] = ["import contextlib", "import re"]
    if used_suite:
        imports[:0] = ["import os", "import tempfile", "import types", "from typing import Any"]
        imports.append("from torch.utils.data import Dataset as _TorchDataset")

    src = entry.get("source") or spec.source
    head = [f"# Standalone reproduction of {spec.id} on {device} (needs only torch and numpy)",
            f"# {_one_line(spec.title)}"]
    if src.get("quote"):
        head.append(f"# Promise: \"{_one_line(src['quote'])}\"")
    if src.get("doc"):
        head.append(f"# Docs: {_one_line(src['doc'])}")
    head.append(f"# Spec: {spec.file}:{spec.line} (steps and checks as that file reads now)")
    if entry.get("error"):
        head.append(f"# In the suite: {_one_line(entry['error'], 300)}")
    if fault:
        head.append(f"# That run had fault {fault!r} active: this snippet fails only where the fault (or a real bug) is.")
    notes[:] = list(dict.fromkeys(notes))  # a note per kind of problem, not per occurrence
    head += [f"# NOTE: {_one_line(n, 300)}" for n in notes]
    if fault:
        notes.append(f"the run had the fault {fault!r} active")

    parts = ["\n".join(head), "\n".join(imports)]
    if used_helpers:
        parts.append("# the suite's check primitives (conformance/lang/check_helpers.py), verbatim\n"
                     + "\n\n\n".join(_helper_source(h) for h in used_helpers))
    if used_suite:
        if unknown:
            notes.append(f"helpers.{', helpers.'.join(unknown)} has no plain source; the snippet imports "
                         f"conformance.lang.helpers for it (needs the suite installed)")
            parts.append("from conformance.lang import helpers  # " + ", ".join(unknown) + " have no plain source")
        else:
            defs = "\n\n\n".join(suite_src[h] for h in used_suite)  # type: ignore[misc]
            parts.append("# the suite's helpers (conformance/lang/helpers.py), verbatim\n" + defs + "\n\n\n"
                         + "helpers = types.SimpleNamespace(" + ", ".join(f"{h}={h}" for h in used_suite) + ")")
    parts.append(code)
    text = "\n\n\n".join(parts) + "\n"
    try:
        compile(text, f"<snippet {spec.id}>", "exec")
    except SyntaxError as e:
        notes.append(f"the generated snippet does not compile ({e.msg} at line {e.lineno}); fix it by hand")
    return Snippet(text, notes, failed, failed_kind)
