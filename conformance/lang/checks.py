"""The `expect` vocabulary: every property a spec can state, in one registry.

An expectation is a mapping with exactly one check kind and, optionally, that kind's options and a
`why`.  Arguments are expressions (strings) or literals.  Each kind is defined once, in `CHECKS`: how
it runs (`fn`), how it reads as a plain Python statement (`python` + `render`, used by standalone
snippets) and what it means (`doc`).  Both sides call the same primitives (check_helpers), so a
snippet's assert means what the suite checked.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from conformance.lang import dtypes, names
from conformance.lang.check_helpers import (
    _dtype,
    _gradcheck,
    _mismatch,
    _np,
    _out_of_range,
    _raises,
    _shares,
    _tol,
    _truth,
)
from conformance.lang.values import is_array, short


class CheckFailed(AssertionError):
    """A documented property does not hold.

    The runner fills in which expectation failed (`index`, `kind`, `line`) as data, so reports and
    snippets never parse the message.
    """

    def __init__(self, message: str, *, index: int | None = None, kind: str | None = None,
                 line: int | None = None):
        super().__init__(message)
        self.message, self.index, self.kind, self.line = message, index, kind, line

    def located(self, index: int, kind: str, line: int | None, prefix: str) -> CheckFailed:
        return CheckFailed(f"{prefix}: {self.message}", index=index, kind=kind, line=line)

    def as_data(self) -> dict[str, Any]:
        return {"index": self.index, "kind": self.kind, "line": self.line}


@dataclass
class RunContext:
    """What a check may need beyond its arguments: the namespace and a way to rerun on the CPU."""

    env: dict[str, Any]
    device: torch.device
    rerun_on_cpu: Callable[[], dict[str, Any]] = field(default=lambda: {})
    error_messages: bool = True   # False: the backend words errors its own way; `raises` ignores `match`
    fast_gradcheck: bool = False  # True: gradcheck's fast_mode (a random projection, not every element)


def _compare(a: Any, b: Any, rtol: float, atol: float, what: str) -> None:
    found = _mismatch(a, b, rtol, atol)
    if found is not None:
        raise CheckFailed(f"{what}: {found}")


def _dtypes_in(v: Any) -> list[Any]:
    """The dtype of a value; a list/tuple (e.g. helpers.grads(m)) contributes the dtypes of its arrays."""
    if isinstance(v, list | tuple):
        return [d for x in v if is_array(x) or isinstance(x, list | tuple) for d in _dtypes_in(x)]
    return [dtypes.torch_dtype(v)]


def _cross_device_tol(opts: dict, *values: Any) -> tuple[float, float]:
    rtol, atol = dtypes.tolerance(*(d for v in values for d in _dtypes_in(v)), table=dtypes.CROSS_DEVICE)
    return opts.get("rtol", rtol), opts.get("atol", atol)


def _memory(a: Any, b: Any) -> bool | None:
    try:
        return _shares(a, b)
    except TypeError as e:
        raise CheckFailed(str(e)) from None


# -- the vocabulary ----------------------------------------------------------------------------

def equal(ctx: RunContext, a: Any, b: Any, opts: dict) -> None:
    _compare(a, b, 0.0, 0.0, "equal")


def not_equal(ctx: RunContext, a: Any, b: Any, opts: dict) -> None:
    if _mismatch(a, b, 0.0, 0.0) is None:
        raise CheckFailed(f"values are equal but must differ: {short(a)}")


def _documented_tol(opts: dict, *values: Any) -> tuple[float, float]:
    rtol, atol = _tol(*values)
    return opts.get("rtol", rtol), opts.get("atol", atol)


def close(ctx: RunContext, a: Any, b: Any, opts: dict) -> None:
    rtol, atol = _documented_tol(opts, a, b)
    _compare(a, b, rtol, atol, f"close (rtol={rtol}, atol={atol})")


def shares_memory(ctx: RunContext, a: Any, b: Any, opts: dict) -> None:
    if _memory(a, b) is False:
        raise CheckFailed("the two values do not share memory (distinct storage)")


def not_shares_memory(ctx: RunContext, a: Any, b: Any, opts: dict) -> None:
    if _memory(a, b) is True:
        raise CheckFailed("the two values share memory but must not (expected a copy)")


def same_object(ctx: RunContext, a: Any, b: Any, opts: dict) -> None:
    if a is not b:
        raise CheckFailed(f"expected the same object, got two: id {id(a):#x} vs {id(b):#x}")


def not_same_object(ctx: RunContext, a: Any, b: Any, opts: dict) -> None:
    if a is b:
        raise CheckFailed("expected a new object, got the same one")


def shape(ctx: RunContext, x: Any, expected: Any, opts: dict) -> None:
    got = tuple(x.shape)
    want = (expected,) if isinstance(expected, int) else tuple(expected)
    if got != want:
        raise CheckFailed(f"shape {got} != expected {want}")


def dtype(ctx: RunContext, x: Any, expected: Any, opts: dict) -> None:
    got, want = _dtype(x), _dtype(expected)
    if want is None:
        raise CheckFailed(f"{short(expected)} is not a dtype")
    if got != want:
        raise CheckFailed(f"dtype {got} != expected {want}")


def _norm_device(d: Any) -> torch.device:
    """An index-less device (`cuda`, `xla`, a PrivateUse1 name) means the backend's current one: ask it by
    allocating there, the one way every backend answers (no `if` per backend)."""
    d = torch.device(d) if not isinstance(d, torch.device) else d
    if d.index is None and d.type not in ("cpu", "meta"):
        try:
            return torch.empty(0, device=d).device
        except Exception:  # noqa: BLE001 - an unusable device keeps its name; the comparison says the rest
            return d
    return d


def device(ctx: RunContext, x: Any, expected: Any, opts: dict) -> None:
    got = torch.device("cpu") if isinstance(x, np.ndarray) else x.device
    if _norm_device(got) != _norm_device(expected):
        raise CheckFailed(f"device {got} != expected {expected}")


def is_contiguous(ctx: RunContext, x: Any, opts: dict) -> None:
    if not x.is_contiguous():
        raise CheckFailed(f"tensor is not contiguous (shape {tuple(x.shape)}, stride {x.stride()})")


def not_contiguous(ctx: RunContext, x: Any, opts: dict) -> None:
    if x.is_contiguous():
        raise CheckFailed(f"tensor is contiguous but must not be (shape {tuple(x.shape)}, stride {x.stride()})")


def requires_grad(ctx: RunContext, x: Any, expected: Any, opts: dict) -> None:
    if bool(x.requires_grad) != bool(expected):
        raise CheckFailed(f"requires_grad is {x.requires_grad}, expected {bool(expected)}")


def has_grad_fn(ctx: RunContext, x: Any, opts: dict) -> None:
    if x.grad_fn is None:
        raise CheckFailed("grad_fn is None, expected an autograd node")


def no_grad_fn(ctx: RunContext, x: Any, opts: dict) -> None:
    if x.grad_fn is not None:
        raise CheckFailed(f"grad_fn is {x.grad_fn}, expected None")


def is_instance(ctx: RunContext, x: Any, cls: Any, opts: dict) -> None:
    if not isinstance(x, cls):
        raise CheckFailed(f"{type(x).__name__} is not an instance of {getattr(cls, '__name__', cls)}")


def length(ctx: RunContext, x: Any, n: Any, opts: dict) -> None:
    if len(x) != n:
        raise CheckFailed(f"len is {len(x)}, expected {n}")


def holds(ctx: RunContext, value: Any, opts: dict) -> None:
    if not _truth(value):
        raise CheckFailed(f"the expression is false (value: {short(value)})")


def in_range(ctx: RunContext, x: Any, opts: dict) -> None:
    found = _out_of_range(x, opts.get("min"), opts.get("max"), opts.get("max_exclusive", False))
    if found is not None:
        raise CheckFailed(found)


def raises(ctx: RunContext, exc: Any, opts: dict) -> None:
    try:
        with _raises(exc, opts.get("match") if ctx.error_messages else None):
            opts["when"](ctx.env)
    except AssertionError as e:
        raise CheckFailed(str(e)) from None


def matches_numpy(ctx: RunContext, value: Any, opts: dict) -> None:
    np_env = {k: _np(v) for k, v in ctx.env.items()}
    expected = opts["numpy"](np_env)
    a = tuple(value) if isinstance(value, tuple) else value
    if opts.get("exact"):
        rtol, atol = 0.0, 0.0
    else:
        rtol, atol = _documented_tol(opts, *(a if isinstance(a, tuple) else (a,)))
    _compare(a, expected, rtol, atol, f"matches_numpy (rtol={rtol}, atol={atol})")


def matches_cpu(ctx: RunContext, *values: Any, opts: dict) -> None:
    cpu_env = ctx.rerun_on_cpu()
    for i, (value, fn) in enumerate(zip(values, opts["_fns"], strict=True)):
        expected = fn(cpu_env)
        rtol, atol = _cross_device_tol(opts, value)
        _compare(value, expected, rtol, atol, f"matches_cpu[{i}] on {ctx.device} vs cpu (rtol={rtol}, atol={atol})")


def gradcheck(ctx: RunContext, fn: Any, opts: dict) -> None:
    if not _gradcheck(fn, opts["inputs"](ctx.env), ctx.fast_gradcheck):
        raise CheckFailed("torch.autograd.gradcheck: analytical and numerical gradients differ")


# -- snippet rendering: what a kind's plain-Python statement needs from its YAML item -------------

def _literal_tol(item: dict, args: list[str], variables: set[str]) -> dict[str, str]:
    if item.get("exact"):
        return {"tol": "0, 0"}
    given = {k: repr(item[k]) for k in ("rtol", "atol") if k in item}
    if len(given) == 2:
        return {"tol": f"{given['rtol']}, {given['atol']}"}
    values = args[0]
    default = f"*_tol({values})"
    if not given:
        return {"tol": default}
    # one of the two given: the other from the documented table
    return {"tol": f"{given.get('rtol', f'_tol({values})[0]')}, {given.get('atol', f'_tol({values})[1]')}"}


def _render_numpy(item: dict, args: list[str], variables: set[str]) -> dict[str, str]:
    np_text = str(item["numpy"]).strip()
    params = [n for n in _free_names(np_text) if n in variables]
    call = (f"(lambda {', '.join(params)}: {np_text})({', '.join(f'_np({p})' for p in params)})" if params
            else f"({np_text})")
    return {"numpy": call, **_literal_tol(item, args, variables)}


def _render_dtype(item: dict, args: list[str], variables: set[str]) -> dict[str, str]:
    target = item["dtype"][1]
    return {"want": f"torch.{target}" if isinstance(target, str) and target in dtypes.TORCH_DTYPES
            else f"_dtype({args[1]})"}


def _render_range(item: dict, args: list[str], variables: set[str]) -> dict[str, str]:
    return {k: repr(item.get(k, d)) for k, d in (("min", None), ("max", None), ("max_exclusive", False))}


def _render_raises(item: dict, args: list[str], variables: set[str]) -> dict[str, str]:
    when = item["when"]
    block = textwrap.dedent(when if isinstance(when, str) else "\n".join(when)).strip()
    return {"match": repr(item.get("match")), "block": textwrap.indent(block, "    ")}


def _render_inputs(item: dict, args: list[str], variables: set[str]) -> dict[str, str]:
    return {"inputs": source_of(item["inputs"])}


def source_of(raw: Any) -> str:
    """Python source of one check argument: strings are expressions, anything else a literal."""
    if isinstance(raw, str):
        text = raw.strip()
        return f"({text})" if "\n" in text else text
    if isinstance(raw, list):
        return "[" + ", ".join(source_of(r) for r in raw) + "]"
    return repr(raw)


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


@dataclass(frozen=True)
class Kind:
    """One check kind: how it runs (`fn`) and how it reads as plain Python (`python`), side by side."""

    name: str
    fn: Callable[..., None]
    params: tuple[str, ...]               # positional arguments, each an expression or a literal
    python: str                           # the snippet's statement: {0}, {1} argument sources, {key} from render
    options: tuple[str, ...] = ()         # literal options
    expr_options: tuple[str, ...] = ()    # options that are expressions (compiled)
    block_options: tuple[str, ...] = ()   # options that are statements (compiled as a block)
    required: tuple[str, ...] = ()
    variadic: bool = False                # params may be a list of any length
    doc: str = ""
    render: Callable[[dict, list[str], set[str]], dict[str, str]] | None = None

    def snippet(self, item: dict, variables: set[str]) -> list[str]:
        """The expectation `item` (its YAML mapping) as plain-Python lines over the spec's variables."""
        raw = item[self.name]
        if self.variadic:
            args = [", ".join(source_of(r) for r in (raw if isinstance(raw, list) else [raw]))]
        elif len(self.params) == 1:
            args = [source_of(raw)]
        else:
            args = [source_of(r) for r in raw]
        named = self.render(item, args, variables) if self.render else {}
        return self.python.format(*args, **named).split("\n")


CHECKS: dict[str, Kind] = {k.name: k for k in [
    Kind("equal", equal, ("actual", "expected"), "assert _mismatch({0}, {1}, 0, 0) is None, 'equal'",
         doc="same shape and exactly equal values (dtype not compared; NaN equals NaN)"),
    Kind("not_equal", not_equal, ("actual", "other"), "assert _mismatch({0}, {1}, 0, 0) is not None, 'not_equal'",
         doc="values differ somewhere"),
    Kind("close", close, ("actual", "expected"), "assert _mismatch({0}, {1}, {tol}) is None, 'close'",
         options=("rtol", "atol"), render=_literal_tol,
         doc="equal within the dtype's documented tolerance (torch.testing defaults), or rtol/atol"),
    Kind("shares_memory", shares_memory, ("a", "b"), "assert _shares({0}, {1}) is not False, 'shares_memory'",
         doc="a and b reach the same memory (holds vacuously when either is empty)"),
    Kind("not_shares_memory", not_shares_memory, ("a", "b"), "assert _shares({0}, {1}) is not True, 'not_shares_memory'",
         doc="a and b are distinct memory (holds vacuously when either is empty)"),
    Kind("same_object", same_object, ("a", "b"), "assert ({0}) is ({1}), 'same_object'", doc="a is b"),
    Kind("not_same_object", not_same_object, ("a", "b"), "assert ({0}) is not ({1}), 'not_same_object'",
         doc="a is not b"),
    Kind("shape", shape, ("value", "shape"), "assert tuple(({0}).shape) == (({1},) if isinstance({1}, int) else tuple({1})), 'shape'",
         doc="tuple(value.shape) == shape"),
    Kind("dtype", dtype, ("value", "dtype"), "assert _dtype({0}) == {want}, 'dtype'", render=_render_dtype,
         doc="value's dtype (torch or NumPy) is dtype; bare names like float32 allowed"),
    Kind("device", device, ("value", "device"), "assert ({0}).device == torch.device({1}), 'device'",
         doc="value lives on device"),
    Kind("is_contiguous", is_contiguous, ("value",), "assert ({0}).is_contiguous(), 'is_contiguous'",
         doc="value.is_contiguous()"),
    Kind("not_contiguous", not_contiguous, ("value",), "assert not ({0}).is_contiguous(), 'not_contiguous'",
         doc="not value.is_contiguous()"),
    Kind("requires_grad", requires_grad, ("value", "expected"), "assert ({0}).requires_grad == bool({1}), 'requires_grad'",
         doc="value.requires_grad == expected"),
    Kind("has_grad_fn", has_grad_fn, ("value",), "assert ({0}).grad_fn is not None, 'has_grad_fn'",
         doc="value.grad_fn is not None"),
    Kind("no_grad_fn", no_grad_fn, ("value",), "assert ({0}).grad_fn is None, 'no_grad_fn'",
         doc="value.grad_fn is None"),
    Kind("isinstance", is_instance, ("value", "type"), "assert isinstance({0}, {1}), 'isinstance'",
         doc="isinstance(value, type)"),
    Kind("len", length, ("value", "n"), "assert len({0}) == {1}, 'len'", doc="len(value) == n"),
    Kind("holds", holds, ("expression",), "assert _truth({0}), 'holds'",
         doc="the expression is true (a tensor/array: all elements true)"),
    Kind("in_range", in_range, ("value",), "assert _out_of_range({0}, {min}, {max}, {max_exclusive}) is None, 'in_range'",
         options=("min", "max", "max_exclusive"), render=_render_range,
         doc="min <= value <= max (or < max with max_exclusive), element-wise"),
    Kind("raises", raises, ("exception",), "with _raises({0}, {match}):\n{block}", options=("match",),
         block_options=("when",), required=("when",), render=_render_raises,
         doc="running `when` raises exception (a subclass), its message matching the regex `match`"),
    Kind("matches_numpy", matches_numpy, ("torch",), "assert _mismatch({0}, {numpy}, {tol}) is None, 'matches_numpy'",
         options=("exact", "rtol", "atol"), expr_options=("numpy",), required=("numpy",), render=_render_numpy,
         doc="the torch expression equals the numpy expression (tensors seen as ndarrays)"),
    Kind("matches_cpu", matches_cpu, ("values",), "pass  # matches_cpu: rerun this snippet with DEVICE = 'cpu' and compare {0}",
         options=("rtol", "atol"), variadic=True,
         doc="rerunning the steps on cpu with the same inputs gives the same values (cross-device tolerance)"),
    Kind("gradcheck", gradcheck, ("function",), "assert _gradcheck({0}, {inputs}), 'gradcheck'",
         expr_options=("inputs",), required=("inputs",), render=_render_inputs,
         doc="torch.autograd.gradcheck(function, inputs) passes in float64"),
]}

COMMON_OPTIONS = ("why",)  # a sentence saying which promise this expectation checks


def exception_type(value: Any) -> type[BaseException]:
    if not (isinstance(value, type) and issubclass(value, Exception)):
        raise TypeError(f"{value!r} is not an exception type")
    return value


_ = names  # the allow-list governs what expressions in checks can reach
