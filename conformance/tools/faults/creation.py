"""Faults of tensor creation: factories, dtype inference, *_like/new_* defaults, ranges, legacy types.

Each fault keeps returning well-formed tensors of plausible values; only the documented promise
(a dtype default, an interval end, a distribution, ...) is broken, so only a property notices.
"""

from __future__ import annotations

from typing import Any

import torch

from conformance.tools.faults.registry import fault


def _no_grad_inplace(t: Any, op: str) -> Any:
    with torch.no_grad():
        getattr(t, op)()
    return t


@fault("empty-ignores-default-dtype", "torch.empty", ["B-CR-1"],
       "torch.empty without a dtype allocates float64 instead of the global default dtype")
def _empty_ignores_default_dtype(original: Any) -> Any:
    def empty(*size: Any, **kw: Any) -> Any:
        if kw.get("dtype") is None and kw.get("out") is None:
            kw["dtype"] = torch.float64
        return original(*size, **kw)
    return empty


@fault("rand-half-open-at-zero", "torch.rand", ["B-CR-2"],
       "torch.rand returns 1 - u, i.e. values in (0, 1] instead of [0, 1): 1.0 appears, 0.0 never does")
def _rand_flipped(original: Any) -> Any:
    def rand(*size: Any, **kw: Any) -> Any:
        t = original(*size, **kw)
        with torch.no_grad():
            t.neg_().add_(1)
        return t
    return rand


@fault("rand-uses-normal-kernel", "torch.rand", ["B-CR-2"],
       "torch.rand dispatches to the normal kernel (the randn one): standard normal values, negative and "
       "above 1, with the right shape and dtype")
def _rand_uses_normal(original: Any) -> Any:
    def rand(*size: Any, **kw: Any) -> Any:
        return torch.randn(*size, **kw)
    return rand


@fault("randn-drops-sign", "torch.randn", ["B-CR-2"],
       "torch.randn loses the sign bit: samples are |N(0, 1)| (half-normal, mean ~0.8) instead of N(0, 1)")
def _randn_drops_sign(original: Any) -> Any:
    def randn(*size: Any, **kw: Any) -> Any:
        return _no_grad_inplace(original(*size, **kw), "abs_")
    return randn


@fault("zeros-ignores-dtype", "torch.zeros", ["B-CR-3"],
       "torch.zeros drops its dtype argument (a wrapper forgets to forward it): always the default dtype")
def _zeros_ignores_dtype(original: Any) -> Any:
    def zeros(*size: Any, **kw: Any) -> Any:
        kw.pop("dtype", None)
        return original(*size, **kw)
    return zeros


@fault("full-infers-default-float", "torch.full", ["B-CR-3"],
       "torch.full without dtype returns the default float dtype whatever the fill value (the pre-1.7 "
       "behaviour) instead of inferring int64/bool from an int/bool fill value")
def _full_infers_float(original: Any) -> Any:
    def full(size: Any, fill_value: Any, *args: Any, **kw: Any) -> Any:
        if kw.get("dtype") is None and kw.get("out") is None:
            kw["dtype"] = torch.get_default_dtype()
        return original(size, fill_value, *args, **kw)
    return full


def _only_python_ints(data: Any) -> bool:
    """Nested lists/tuples holding at least one Python int and nothing but ints (bools excluded)."""
    if isinstance(data, bool):
        return False
    if isinstance(data, int):
        return True
    if isinstance(data, list | tuple):
        flags = [_only_python_ints(d) for d in data]
        return bool(flags) and all(flags)
    return False


@fault("tensor-infers-float-for-ints", "torch.tensor", ["B-CR-4"],
       "torch.tensor infers the default float dtype for Python int data (numbers treated as floats) "
       "instead of int64")
def _tensor_ints_as_float(original: Any) -> Any:
    def tensor(data: Any, *args: Any, **kw: Any) -> Any:
        if kw.get("dtype") is None and not args and _only_python_ints(data):
            kw["dtype"] = torch.get_default_dtype()
        return original(data, *args, **kw)
    return tensor


@fault("new-ones-ignores-dtype", "torch.Tensor.new_ones", ["B-CR-5"],
       "Tensor.new_ones ignores its dtype argument and always uses self's dtype")
def _new_ones_ignores_dtype(original: Any) -> Any:
    def new_ones(self: Any, *size: Any, **kw: Any) -> Any:
        kw.pop("dtype", None)
        return original(self, *size, **kw)
    return new_ones


@fault("randn-like-drops-dtype", "torch.randn_like", ["B-CR-6"],
       "torch.randn_like ignores the overriding dtype and uses the input's dtype")
def _randn_like_drops_dtype(original: Any) -> Any:
    def randn_like(input: Any, *args: Any, **kw: Any) -> Any:
        kw.pop("dtype", None)
        return original(input, *args, **kw)
    return randn_like


@fault("zeros-like-default-dtype", "torch.zeros_like", ["B-CR-6"],
       "torch.zeros_like(x) is built as zeros(x.shape, device=x.device): the default dtype, not x's")
def _zeros_like_default_dtype(original: Any) -> Any:
    def zeros_like(input: Any, *args: Any, **kw: Any) -> Any:
        if kw.get("dtype") is None:
            kw["dtype"] = torch.get_default_dtype()
        return original(input, *args, **kw)
    return zeros_like


@fault("linspace-excludes-end", "torch.linspace", ["B-CR-7"],
       "torch.linspace spaces its points by (end - start) / steps (NumPy's endpoint=False), so the last "
       "point falls short of end")
def _linspace_excludes_end(original: Any) -> Any:
    def linspace(start: Any, end: Any, steps: Any, *args: Any, **kw: Any) -> Any:
        if isinstance(steps, int) and steps > 1:
            end = start + (end - start) * (steps - 1) / steps
        return original(start, end, steps, *args, **kw)
    return linspace


@fault("arange-includes-end", "torch.arange", ["B-CR-8"],
       "torch.arange also yields end when end lies on the grid start + k*step (an inclusive `<=` loop bound)")
def _arange_includes_end(original: Any) -> Any:
    def arange(*args: Any, **kw: Any) -> Any:
        r = original(*args, **kw)
        if not 1 <= len(args) <= 3 or "out" in kw:
            return r
        start, end, step = {1: (0, args[0], 1), 2: (args[0], args[1], 1), 3: tuple(args)}[len(args)]
        if step != 0 and (end - start) / step >= 0 and float((end - start) / step).is_integer():
            r = torch.cat([r, r.new_full((1,), end)])
        return r
    return arange


@fault("float-tensor-is-double", "torch.FloatTensor", ["B-CR-9"],
       "the legacy constructor torch.FloatTensor builds float64 tensors (DoubleTensor) instead of float32")
def _float_tensor_is_double(original: Any) -> Any:
    def FloatTensor(*args: Any, **kw: Any) -> Any:  # noqa: N802 - stands in for the legacy type
        return torch.DoubleTensor(*args, **kw)
    return FloatTensor


@fault("tensor-int-requires-grad-ignored", "torch.tensor", ["B-CR-10"],
       "torch.tensor(..., requires_grad=True) with an integer dtype silently drops requires_grad "
       "instead of raising")
def _tensor_int_requires_grad_ignored(original: Any) -> Any:
    def tensor(data: Any, *args: Any, **kw: Any) -> Any:
        try:
            return original(data, *args, **kw)
        except RuntimeError as e:
            if not kw.get("requires_grad") or "can require gradients" not in str(e):
                raise
            kw["requires_grad"] = False
            return original(data, *args, **kw)
    return tensor


@fault("tensor-requires-grad-not-leaf", "torch.tensor", ["B-CR-10"],
       "torch.tensor(..., requires_grad=True) returns an autograd-tracked copy (grad_fn set, not a leaf), "
       "so .grad is never populated on it")
def _tensor_requires_grad_not_leaf(original: Any) -> Any:
    def tensor(data: Any, *args: Any, **kw: Any) -> Any:
        t = original(data, *args, **kw)
        return t.clone() if t.requires_grad else t
    return tensor
