"""Standalone reproduction snippets: one failure as a plain Python script that needs only torch and numpy.

The results record the falsifying inputs (dtype, shape, values, strides, device, requires_grad) and
where the spec lives (`file`, `line`, `spec_id`).  The spec is loaded again at report time for its
steps and checks; steps are already Python syntax, inputs become literals, and each check becomes a
plain assert through its kind's `python` template (checks.KINDS).  A few tiny helpers (`_t`,
`_shares`, ...) are defined inline, only those the snippet uses.
"""

from __future__ import annotations

import ast
import math
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.lang import checks
from conformance.lang import spec as spec_mod
from conformance.lang.dtypes import TORCH_DTYPES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_FAILED_CHECK = re.compile(r"^(?:\[\d+\] )?expect\[(\d+)\] (\w+)")


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


# -- inline helpers -------------------------------------------------------------------------------

_HELPER_SRC: dict[str, str] = {
    "_t": '''
def _t(v):  # any tensor, ndarray, number or sequence as a CPU tensor (what the checks compare)
    if isinstance(v, torch.Tensor):
        return v.detach().cpu()
    if isinstance(v, (np.ndarray, np.generic)):
        return torch.as_tensor(np.array(v))
    if isinstance(v, (list, tuple)) and any(isinstance(e, (torch.Tensor, np.ndarray)) for e in v):
        return [_t(e) for e in v]  # assert_close compares sequences element-wise
    return torch.as_tensor(v)
''',
    "_equal": '''
def _equal(a, b):  # same shape and values (dtype not compared, NaN equals NaN); other values with ==
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and not all(
            isinstance(v, (bool, int, float)) for v in [*a, *b]):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if not any(isinstance(v, (torch.Tensor, np.ndarray, float, complex)) for v in (a, b)):
        return a == b
    try:
        torch.testing.assert_close(_t(a), _t(b), rtol=0, atol=0, equal_nan=True, check_dtype=False)
    except AssertionError:
        return False
    return True
''',
    "_shares": '''
def _shares(a, b):  # do the two reach overlapping memory (their whole storage / base buffer)?
    def span(x):
        if isinstance(x, torch.Tensor):
            s = x.untyped_storage()
            return s.data_ptr(), s.data_ptr() + s.nbytes()
        while isinstance(x.base, np.ndarray):
            x = x.base
        start = x.__array_interface__["data"][0]
        return start, start + x.nbytes
    (a0, a1), (b0, b1) = span(a), span(b)
    return (a0 == b0 and a0 != 0) or (a0 < b1 and b0 < a1)
''',
    "_truth": '''
def _truth(v):  # tensors and arrays are true when every element is
    return bool(v.all()) if isinstance(v, (torch.Tensor, np.ndarray)) else bool(v)
''',
    "_dtype": '''
def _dtype(x):  # the torch dtype of a tensor, an ndarray or a dtype
    if isinstance(x, torch.Tensor):
        return x.dtype
    if isinstance(x, torch.dtype):
        return x
    return torch.from_numpy(np.zeros(0, dtype=getattr(x, "dtype", x))).dtype
''',
    "_raises": '''
@contextlib.contextmanager
def _raises(exc, match=None):  # the block must raise exc (or a subclass), its message matching `match`
    try:
        yield
    except exc as e:
        if match and not re.search(match, str(e)):
            raise AssertionError(f"raises: {type(e).__name__} message {str(e)[:300]!r} does not match {match!r}") from None
        return
    except Exception as e:
        raise AssertionError(f"raises: expected {exc.__name__}, got {type(e).__name__}: {str(e)[:300]}") from None
    raise AssertionError(f"raises: expected {exc.__name__}, but nothing was raised")
''',
    "_in_range": '''
def _in_range(x, opts):  # element-wise min <= x <= max (or < max with max_exclusive)
    h = _t(x).double()
    lo, hi = opts.get("min"), opts.get("max")
    ok = True if lo is None else bool((h >= lo).all())
    if hi is not None:
        ok = ok and bool(((h < hi) if opts.get("max_exclusive") else (h <= hi)).all())
    return ok
''',
    "_np": '''
def _np(*values):  # tensors seen as ndarrays, as the numpy side of matches_numpy sees them
    def one(v):
        if isinstance(v, torch.Tensor):
            h = v.detach().cpu()
            return (h.float() if h.dtype == torch.bfloat16 else h).numpy()
        if isinstance(v, list) and v and all(isinstance(t, torch.Tensor) for t in v):
            return [one(t) for t in v]
        return v
    return [one(v) for v in values]
''',
}
_HELPER_NEEDS = {"_in_range": ["_t"], "_equal": ["_t"]}

# Where a kind's template differs from what the suite checks: `equal`/`not_equal` use torch.equal,
# which treats NaN as unequal and cannot compare non-numeric values (lists of names); `gradcheck`
# raises instead of returning False, uses other tolerances and chokes on non-tensor inputs.
_TEMPLATE_OVERRIDES = {
    "equal": "assert _equal({0}, {1}), 'equal'",
    "not_equal": "assert not _equal({0}, {1}), 'not_equal'",
    "gradcheck": ("assert torch.autograd.gradcheck({0}, tuple(t.detach().double().requires_grad_() "
                  "if isinstance(t, torch.Tensor) else t for t in {inputs}), raise_exception=False, "
                  "eps=1e-6, atol=1e-5, rtol=1e-3), 'gradcheck'"),
}

# Inline stand-ins for conformance.lang.helpers (same behaviour, no import of the suite).
_SUITE_HELPERS: dict[str, str] = {
    "Module": '''
    class Module(nn.Module):  # children set as attributes (registered), applied in order
        def __init__(self, **children):
            super().__init__()
            for name, child in children.items():
                setattr(self, name, child)
            self._order = list(children)

        def forward(self, x):
            for name in self._order:
                child = getattr(self, name)
                x = child(x) if callable(child) else x
            return x
''',
    "Dataset": '''
    class Dataset(torch.utils.data.Dataset):  # map-style over equal-length tensors
        def __init__(self, *tensors):
            self.tensors = tensors

        def __len__(self):
            return len(self.tensors[0])

        def __getitem__(self, i):
            items = tuple(t[i] for t in self.tensors)
            return items[0] if len(items) == 1 else items
''',
    "roundtrip": '''
    @staticmethod
    def roundtrip(obj):  # torch.save / torch.load (weights only) through a real temporary file
        import os, tempfile
        fd, path = tempfile.mkstemp(suffix=".pt")
        os.close(fd)
        try:
            torch.save(obj, path)
            return torch.load(path, weights_only=True)
        finally:
            os.unlink(path)
''',
    "params": '''
    @staticmethod
    def params(module):  # detached copies of the parameters
        return [p.detach().clone() for p in module.parameters()]
''',
    "grads": '''
    @staticmethod
    def grads(module):  # copies of each .grad (None stays None)
        return [None if p.grad is None else p.grad.detach().clone() for p in module.parameters()]
''',
    "epoch": '''
    @staticmethod
    def epoch(loader):  # one full pass as a list of batches
        return list(loader)
''',
    "frame_values": '''
    @staticmethod
    def frame_values(data):  # pandas.DataFrame(data).values (pandas must be installed)
        import pandas
        return pandas.DataFrame(data).values
''',
    "flat_samples": '''
    @staticmethod
    def flat_samples(batches):  # the first field of every batch, concatenated sample by sample
        firsts = [b[0] if isinstance(b, (list, tuple)) else b for b in batches]
        return torch.cat([f.reshape(len(f), -1) for f in firsts]) if firsts else torch.empty(0)
''',
}


# -- checks ---------------------------------------------------------------------------------------

def _arg(raw: Any) -> str:
    """Source of one check argument: strings are expressions, anything else a literal."""
    if isinstance(raw, str):
        text = raw.strip()
        return f"({text})" if "\n" in text else text
    if isinstance(raw, list):
        return "[" + ", ".join(_arg(r) for r in raw) + "]"
    return literal(raw)


def _free_names(text: str) -> list[str]:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return []
    seen: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in seen:
            seen.append(node.id)
    return seen


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
    """Plain-Python lines for one expectation, from its kind's template."""
    kind = checks.KINDS[e.kind]
    raw = e.text[e.kind]
    if kind.variadic:
        args = [", ".join(_arg(r) for r in (raw if isinstance(raw, list) else [raw]))]
    elif len(kind.params) == 1:
        args = [_arg(raw)]
    else:
        args = [_arg(r) for r in raw]
    named: dict[str, str] = {}
    if e.kind == "dtype":
        target = raw[1]
        args[1] = f"torch.{target}" if isinstance(target, str) and target in TORCH_DTYPES else f"_dtype({args[1]})"
    if e.kind in ("close", "matches_numpy"):
        if e.text.get("exact"):
            tol = ", rtol=0, atol=0"
        else:
            tol = "".join(f", {k}={literal(e.text[k])}" for k in ("rtol", "atol") if k in e.text)
        named["tol"] = tol + ", equal_nan=True"
    if e.kind == "matches_numpy":
        np_text = str(e.text["numpy"]).strip()
        params = [n for n in _free_names(np_text) if n in variables]
        named["numpy"] = (f"(lambda {', '.join(params)}: {np_text})(*_np({', '.join(params)}))" if params
                          else f"({np_text})")
    if e.kind == "in_range":
        named["opts"] = literal({k: e.text[k] for k in ("min", "max", "max_exclusive") if k in e.text})
    if e.kind == "gradcheck":
        named["inputs"] = _arg(e.text["inputs"])
    if e.kind == "raises":
        named["match"] = literal(e.text.get("match"))
        when = e.text["when"]
        block = textwrap.dedent(when if isinstance(when, str) else "\n".join(when)).strip()
        return ["with " + kind.python.format(*args, **named) + ":", textwrap.indent(block, "    ")]
    return [_TEMPLATE_OVERRIDES.get(e.kind, kind.python).format(*args, **named)]


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
    m = _FAILED_CHECK.match(entry.get("error") or "")
    failed = int(m.group(1)) if m else None
    failed_kind = m.group(2) if m else None

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

    used_helpers = [h for h in _HELPER_SRC if re.search(rf"\b{h}\(", code)]
    for h in list(used_helpers):
        used_helpers += [n for n in _HELPER_NEEDS.get(h, []) if n not in used_helpers]
    used_suite = sorted(set(re.findall(r"\bhelpers\.(\w+)", code)))
    unknown = [h for h in used_suite if h not in _SUITE_HELPERS]

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
        parts.append("\n\n\n".join(_HELPER_SRC[h].strip() for h in _HELPER_SRC if h in used_helpers))
    if used_suite:
        if unknown:
            notes.append(f"helpers.{', helpers.'.join(unknown)} has no inline equivalent; the snippet imports "
                         f"conformance.lang.helpers for it (needs the suite installed)")
            parts.append("from conformance import helpers  # " + ", ".join(unknown) + " have no inline equivalent")
        else:
            members = [textwrap.indent(textwrap.dedent(_SUITE_HELPERS[h]).strip("\n"), "    ") for h in used_suite]
            parts.append("class helpers:  # inline equivalents of the suite's helpers.*\n" + "\n\n".join(members))
    parts.append(code)
    text = "\n\n\n".join(parts) + "\n"
    try:
        compile(text, f"<snippet {spec.id}>", "exec")
    except SyntaxError as e:
        notes.append(f"the generated snippet does not compile ({e.msg} at line {e.lineno}); fix it by hand")
    return Snippet(text, notes, failed, failed_kind)
