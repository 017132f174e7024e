"""The `expect` vocabulary: every property a spec can state, in one registry.

An expectation is a mapping with exactly one check kind and, optionally, that kind's options and a
`why`.  Arguments are expressions (strings) or literals.  Each kind documents itself (`doc`) and
knows how to read as a plain Python assert (`python`), used for standalone reproduction snippets.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from conformance.lang import dtypes, names
from conformance.lang.values import host, is_array, short


class CheckFailed(AssertionError):
    """A documented property does not hold."""


@dataclass
class RunContext:
    """What a check may need beyond its arguments: the namespace and a way to rerun on the CPU."""

    env: dict[str, Any]
    device: torch.device
    rerun_on_cpu: Callable[[], dict[str, Any]] = field(default=lambda: {})


def _both_host(a: Any, b: Any) -> tuple[torch.Tensor, torch.Tensor]:
    ha, hb = host(a), host(b)
    if ha.dtype == torch.bfloat16 or hb.dtype == torch.bfloat16:
        ha, hb = ha.float(), hb.float()
    return ha, hb


def _compare(a: Any, b: Any, rtol: float, atol: float, what: str) -> None:
    if isinstance(a, tuple | list) and isinstance(b, tuple | list) and not (
        all(isinstance(v, int | float | bool) for v in [*a, *b])
    ):
        if len(a) != len(b):
            raise CheckFailed(f"{what}: lengths differ, {len(a)} vs {len(b)}")
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _compare(x, y, rtol, atol, f"{what}[{i}]")
        return
    if not (is_array(a) or is_array(b)) and not isinstance(a, float | complex) and not isinstance(b, float | complex):
        if a != b:
            raise CheckFailed(f"{what}: {short(a)} != {short(b)}")
        return
    ha, hb = _both_host(a, b)
    if ha.shape != hb.shape:
        raise CheckFailed(f"{what}: shapes differ, {tuple(ha.shape)} vs {tuple(hb.shape)}")
    try:
        torch.testing.assert_close(ha, hb, rtol=rtol, atol=atol, equal_nan=True, check_dtype=False)
    except AssertionError as e:
        raise CheckFailed(f"{what}: {e}") from None


def _dtypes_in(v: Any) -> list[Any]:
    """The dtype of a value; a list/tuple (e.g. helpers.grads(m)) contributes the dtypes of its arrays."""
    if isinstance(v, list | tuple):
        return [d for x in v if is_array(x) or isinstance(x, list | tuple) for d in _dtypes_in(x)]
    return [dtypes.torch_dtype(v)]


def _tol(opts: dict, *values: Any, table: dict | None = None) -> tuple[float, float]:
    rtol, atol = dtypes.tolerance(*(d for v in values for d in _dtypes_in(v)), table=table)
    return opts.get("rtol", rtol), opts.get("atol", atol)


def _storage_range(x: Any) -> tuple[int, int]:
    """[start, end) byte range of the memory an array can reach."""
    if isinstance(x, torch.Tensor):
        s = x.untyped_storage()
        return s.data_ptr(), s.data_ptr() + s.nbytes()
    if isinstance(x, np.ndarray):
        base = x
        while isinstance(base.base, np.ndarray):
            base = base.base
        start = base.__array_interface__["data"][0]
        return start, start + base.nbytes
    raise CheckFailed(f"shares_memory needs tensors or ndarrays, got {type(x).__name__}")


def _shares(a: Any, b: Any) -> bool:
    (a0, a1), (b0, b1) = _storage_range(a), _storage_range(b)
    if a0 == b0 and a0 != 0:
        return True  # same allocation, possibly empty
    return a0 < b1 and b0 < a1


def _truth(v: Any) -> bool:
    if isinstance(v, torch.Tensor):
        return bool(v.all())
    if isinstance(v, np.ndarray):
        return bool(v.all())
    return bool(v)


# -- the vocabulary ----------------------------------------------------------------------------

def equal(ctx: RunContext, a: Any, b: Any, opts: dict) -> None:
    _compare(a, b, 0.0, 0.0, "equal")


def not_equal(ctx: RunContext, a: Any, b: Any, opts: dict) -> None:
    try:
        _compare(a, b, 0.0, 0.0, "")
    except CheckFailed:
        return
    raise CheckFailed(f"values are equal but must differ: {short(a)}")


def close(ctx: RunContext, a: Any, b: Any, opts: dict) -> None:
    rtol, atol = _tol(opts, a, b)
    _compare(a, b, rtol, atol, f"close (rtol={rtol}, atol={atol})")


def _empty(x: Any) -> bool:
    lo, hi = _storage_range(x)
    return lo == hi


def shares_memory(ctx: RunContext, a: Any, b: Any, opts: dict) -> None:
    # Zero bytes neither share nor differ: allocators may give an empty storage address 0 (CUDA) or
    # any address (CPU), so both memory checks hold vacuously when either side is empty.
    if _empty(a) or _empty(b):
        return
    if not _shares(a, b):
        raise CheckFailed("the two values do not share memory (distinct storage)")


def not_shares_memory(ctx: RunContext, a: Any, b: Any, opts: dict) -> None:
    if _empty(a) or _empty(b):
        return
    if _shares(a, b):
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
    got, want = dtypes.torch_dtype(x), dtypes.torch_dtype(expected)
    if want is None:
        raise CheckFailed(f"{short(expected)} is not a dtype")
    if got != want:
        raise CheckFailed(f"dtype {got} != expected {want}")


def _norm_device(d: Any) -> torch.device:
    d = torch.device(d) if not isinstance(d, torch.device) else d
    if d.type == "cuda" and d.index is None and torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
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
    h = host(x).double()
    if h.numel() == 0:
        return
    lo, hi = opts.get("min"), opts.get("max")
    if lo is not None and not bool((h >= lo).all()):
        raise CheckFailed(f"values below {lo}: min is {h.min().item()}")
    if hi is not None:
        bad = (h >= hi) if opts.get("max_exclusive", False) else (h > hi)
        if bool(bad.any()):
            raise CheckFailed(f"values above {'or at ' if opts.get('max_exclusive') else ''}{hi}: max is {h.max().item()}")


def raises(ctx: RunContext, exc: Any, opts: dict) -> None:
    try:
        opts["when"](ctx.env)
    except exc as e:
        pattern = opts.get("match")
        if pattern and not re.search(pattern, str(e)):
            raise CheckFailed(f"{type(e).__name__} raised, but its message {str(e)[:300]!r} does not match {pattern!r}") from None
        return
    except Exception as e:  # noqa: BLE001 - the wrong exception type is the finding
        raise CheckFailed(f"expected {exc.__name__}, got {type(e).__name__}: {str(e)[:300]}") from None
    raise CheckFailed(f"expected {exc.__name__}, but nothing was raised")


def matches_numpy(ctx: RunContext, value: Any, opts: dict) -> None:
    np_env = {k: _to_numpy(v) for k, v in ctx.env.items()}
    expected = opts["numpy"](np_env)
    a = tuple(value) if isinstance(value, tuple) else value
    if opts.get("exact"):
        rtol, atol = 0.0, 0.0
    else:
        rtol, atol = _tol(opts, *(a if isinstance(a, tuple) else (a,)))
    _compare(a, expected, rtol, atol, f"matches_numpy (rtol={rtol}, atol={atol})")


def _to_numpy(v: Any) -> Any:
    if isinstance(v, torch.Tensor):
        h = v.detach().cpu()
        return (h.float() if h.dtype == torch.bfloat16 else h).numpy()
    if isinstance(v, list) and v and all(isinstance(t, torch.Tensor) for t in v):
        return [_to_numpy(t) for t in v]
    return v


def matches_cpu(ctx: RunContext, *values: Any, opts: dict) -> None:
    cpu_env = ctx.rerun_on_cpu()
    for i, (value, fn) in enumerate(zip(values, opts["_fns"], strict=True)):
        expected = fn(cpu_env)
        rtol, atol = _tol(opts, value, table=dtypes.CROSS_DEVICE)
        _compare(value, expected, rtol, atol, f"matches_cpu[{i}] on {ctx.device} vs cpu (rtol={rtol}, atol={atol})")


def gradcheck(ctx: RunContext, fn: Any, opts: dict) -> None:
    inputs = tuple(
        t.detach().to(torch.float64).requires_grad_(True) if isinstance(t, torch.Tensor) else t
        for t in opts["inputs"](ctx.env)
    )
    if not torch.autograd.gradcheck(fn, inputs, raise_exception=False, eps=1e-6, atol=1e-5, rtol=1e-3):
        raise CheckFailed("torch.autograd.gradcheck: analytical and numerical gradients differ")


@dataclass(frozen=True)
class Kind:
    name: str
    fn: Callable[..., None]
    params: tuple[str, ...]               # positional arguments, each an expression or a literal
    options: tuple[str, ...] = ()         # literal options
    expr_options: tuple[str, ...] = ()    # options that are expressions (compiled)
    block_options: tuple[str, ...] = ()   # options that are statements (compiled as a block)
    required: tuple[str, ...] = ()
    variadic: bool = False                # params may be a list of any length
    doc: str = ""
    python: str = ""                      # plain-Python assert, {0}, {1} are argument sources


KINDS: dict[str, Kind] = {k.name: k for k in [
    Kind("equal", equal, ("actual", "expected"), doc="same shape and exactly equal values (dtype not compared)",
         python="assert torch.equal(_t({0}), _t({1})), 'equal'"),
    Kind("not_equal", not_equal, ("actual", "other"), doc="values differ somewhere",
         python="assert not torch.equal(_t({0}), _t({1})), 'not_equal'"),
    Kind("close", close, ("actual", "expected"), options=("rtol", "atol"),
         doc="equal within the dtype's documented tolerance (torch.testing defaults), or rtol/atol",
         python="torch.testing.assert_close(_t({0}), _t({1}), check_dtype=False{tol})"),
    Kind("shares_memory", shares_memory, ("a", "b"), doc="a and b reach the same memory (holds vacuously when either is empty)",
         python="assert _shares({0}, {1}), 'shares_memory'"),
    Kind("not_shares_memory", not_shares_memory, ("a", "b"), doc="a and b are distinct memory (holds vacuously when either is empty)",
         python="assert not _shares({0}, {1}), 'not_shares_memory'"),
    Kind("same_object", same_object, ("a", "b"), doc="a is b", python="assert ({0}) is ({1}), 'same_object'"),
    Kind("not_same_object", not_same_object, ("a", "b"), doc="a is not b",
         python="assert ({0}) is not ({1}), 'not_same_object'"),
    Kind("shape", shape, ("value", "shape"), doc="tuple(value.shape) == shape",
         python="assert tuple(({0}).shape) == tuple({1}), 'shape'"),
    Kind("dtype", dtype, ("value", "dtype"), doc="value's dtype (torch or NumPy) is dtype; bare names like float32 allowed",
         python="assert _dtype({0}) == {1}, 'dtype'"),
    Kind("device", device, ("value", "device"), doc="value lives on device",
         python="assert ({0}).device == torch.device({1}), 'device'"),
    Kind("is_contiguous", is_contiguous, ("value",), doc="value.is_contiguous()",
         python="assert ({0}).is_contiguous(), 'is_contiguous'"),
    Kind("not_contiguous", not_contiguous, ("value",), doc="not value.is_contiguous()",
         python="assert not ({0}).is_contiguous(), 'not_contiguous'"),
    Kind("requires_grad", requires_grad, ("value", "expected"), doc="value.requires_grad == expected",
         python="assert ({0}).requires_grad == {1}, 'requires_grad'"),
    Kind("has_grad_fn", has_grad_fn, ("value",), doc="value.grad_fn is not None",
         python="assert ({0}).grad_fn is not None, 'has_grad_fn'"),
    Kind("no_grad_fn", no_grad_fn, ("value",), doc="value.grad_fn is None",
         python="assert ({0}).grad_fn is None, 'no_grad_fn'"),
    Kind("isinstance", is_instance, ("value", "type"), doc="isinstance(value, type)",
         python="assert isinstance({0}, {1}), 'isinstance'"),
    Kind("len", length, ("value", "n"), doc="len(value) == n", python="assert len({0}) == {1}, 'len'"),
    Kind("holds", holds, ("expression",), doc="the expression is true (a tensor/array: all elements true)",
         python="assert _truth({0}), 'holds'"),
    Kind("in_range", in_range, ("value",), options=("min", "max", "max_exclusive"),
         doc="min <= value <= max (or < max with max_exclusive), element-wise",
         python="assert _in_range({0}, {opts}), 'in_range'"),
    Kind("raises", raises, ("exception",), options=("match",), block_options=("when",), required=("when",),
         doc="running `when` raises exception (a subclass), its message matching the regex `match`",
         python="_raises({0}, {match})"),
    Kind("matches_numpy", matches_numpy, ("torch",), options=("exact", "rtol", "atol"), expr_options=("numpy",),
         required=("numpy",), doc="the torch expression equals the numpy expression (tensors seen as ndarrays)",
         python="torch.testing.assert_close(_t({0}), _t({numpy}), check_dtype=False{tol})"),
    Kind("matches_cpu", matches_cpu, ("values",), options=("rtol", "atol"), variadic=True,
         doc="rerunning the steps on cpu with the same inputs gives the same values (cross-device tolerance)",
         python="pass  # matches_cpu: rerun this snippet with DEVICE = 'cpu' and compare {0}"),
    Kind("gradcheck", gradcheck, ("function",), expr_options=("inputs",), required=("inputs",),
         doc="torch.autograd.gradcheck(function, inputs) passes in float64",
         python="assert torch.autograd.gradcheck({0}, tuple(t.detach().double().requires_grad_() for t in {inputs})), 'gradcheck'"),
]}

COMMON_OPTIONS = ("why",)  # a sentence saying which promise this expectation checks


def exception_type(value: Any) -> type[BaseException]:
    if not (isinstance(value, type) and issubclass(value, Exception)):
        raise TypeError(f"{value!r} is not an exception type")
    return value


_ = names  # the allow-list governs what expressions in checks can reach
