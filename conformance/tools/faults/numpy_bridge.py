"""Faults of the NumPy bridge (CPU): memory sharing, dtype mapping, copies, grad guard, lists, ops."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from conformance.tools.faults.registry import fault


@fault("from-numpy-copies", "torch.from_numpy", ["B-NP-1"],
       "torch.from_numpy returns a copy: the tensor and the ndarray no longer share memory")
def _from_numpy_copies(original: Any) -> Any:
    def from_numpy(a: Any) -> Any:
        return original(a).clone()
    return from_numpy


@fault("from-numpy-widens-ints", "torch.from_numpy", ["B-NP-1"],
       "torch.from_numpy converts every narrower integer array (int8/int16/int32) to int64 (a copy) "
       "instead of mapping dtypes one-to-one")
def _from_numpy_widens_ints(original: Any) -> Any:
    def from_numpy(a: Any) -> Any:
        t = original(a)
        return t.to(torch.int64) if a.dtype in (np.int8, np.int16, np.int32) else t
    return from_numpy


@fault("numpy-returns-copy", "torch.Tensor.numpy", ["B-NP-2"],
       "Tensor.numpy() returns a copy of the data instead of an ndarray sharing the tensor's storage")
def _numpy_returns_copy(original: Any) -> Any:
    def numpy(self: Any, *args: Any, **kw: Any) -> Any:
        return original(self, *args, **kw).copy()
    return numpy


@fault("tensor-shares-ndarray", "torch.tensor", ["B-NP-3"],
       "torch.tensor(ndarray) skips the copy and wraps the array's memory (as from_numpy does)")
def _tensor_shares_ndarray(original: Any) -> Any:
    def tensor(data: Any, *args: Any, **kw: Any) -> Any:
        if isinstance(data, np.ndarray) and not args and not kw and min(data.strides, default=0) >= 0:
            return torch.from_numpy(data)
        return original(data, *args, **kw)
    return tensor


@fault("numpy-ignores-requires-grad", "torch.Tensor.numpy", ["B-NP-5"],
       "Tensor.numpy() on a tensor that requires grad silently detaches instead of raising")
def _numpy_ignores_requires_grad(original: Any) -> Any:
    def numpy(self: Any, *args: Any, **kw: Any) -> Any:
        return original(self.detach() if self.requires_grad else self, *args, **kw)
    return numpy


@fault("tolist-scalar-in-list", "torch.Tensor.tolist", ["B-NP-6"],
       "Tensor.tolist() of a 0-dim tensor returns a one-element list instead of a Python number")
def _tolist_scalar_in_list(original: Any) -> Any:
    def tolist(self: Any) -> Any:
        return [original(self)] if self.dim() == 0 else original(self)
    return tolist


@fault("argmax-last-on-ties", "torch.argmax", ["B-NP-4"],
       "torch.argmax returns the last index among equal maxima instead of the first (NumPy's and the docs')")
def _argmax_last(original: Any) -> Any:
    def argmax(input: Any, dim: Any = None, keepdim: bool = False, **kw: Any) -> Any:
        if input.dim() == 0 or input.numel() == 0:
            return original(input, dim, keepdim, **kw)
        if dim is None:
            flat = input.reshape(-1).flip(0)
            r = flat.numel() - 1 - original(flat)
            return r.reshape((1,) * input.dim()) if keepdim else r
        d = dim % input.dim()
        return input.shape[d] - 1 - original(input.flip(d), d, keepdim, **kw)
    return argmax


@fault("cat-default-last-dim", "torch.cat", ["B-NP-4"],
       "torch.cat without dim concatenates along the last dim instead of dim 0 (row-wise)")
def _cat_default_last(original: Any) -> Any:
    def cat(tensors: Any, dim: Any = None, **kw: Any) -> Any:
        return original(tensors, -1 if dim is None else dim, **kw)
    return cat


@fault("remainder-truncates", "torch.remainder", ["B-NP-4"],
       "torch.remainder computes C's fmod (result takes the dividend's sign) instead of Python's/NumPy's "
       "modulus (result takes the divisor's sign)")
def _remainder_truncates(original: Any) -> Any:
    def remainder(input: Any, other: Any, **kw: Any) -> Any:
        return torch.fmod(input, other, **kw)
    return remainder
