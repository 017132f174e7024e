"""Faults of shape, size and scalar access: Size, numel, view, squeeze/unsqueeze, item, indexing."""

from __future__ import annotations

from typing import Any

import torch

from conformance.tools.faults.registry import fault


@fault("size-returns-tuple", "torch.Tensor.size", ["B-SH-1"],
       "Tensor.size() returns a plain tuple instead of a torch.Size (equal values, wrong type)")
def _size_returns_tuple(original: Any) -> Any:
    def size(self: Any, *args: Any, **kw: Any) -> Any:
        r = original(self, *args, **kw)
        return tuple(r) if isinstance(r, torch.Size) else r
    return size


@fault("numel-zero-dim-is-zero", "torch.Tensor.numel", ["B-SH-2"],
       "Tensor.numel() of a 0-dim tensor is 0 (an empty product taken as 0) instead of 1")
def _numel_zero_dim(original: Any) -> Any:
    def numel(self: Any) -> Any:
        return 0 if self.dim() == 0 else original(self)
    return numel


def _view_dims(shape: tuple) -> list | None:
    dims = shape[0] if len(shape) == 1 and isinstance(shape[0], list | tuple) else shape
    return list(dims) if all(isinstance(d, int) for d in dims) else None


@fault("view-column-major", "torch.Tensor.view", ["B-SH-3"],
       "Tensor.view lays the elements out in column-major (Fortran) order instead of row-major order")
def _view_column_major(original: Any) -> Any:
    def view(self: Any, *shape: Any) -> Any:
        out = original(self, *shape)      # validates the shape and infers -1
        if _view_dims(shape) is None or out.dim() < 2 and self.dim() < 2:
            return out
        flat = self.permute(*reversed(range(self.dim()))).reshape(-1)
        return flat.reshape(tuple(reversed(out.shape))).permute(*reversed(range(out.dim())))
    return view


@fault("view-infers-several-dims", "torch.Tensor.view", ["B-SH-3"],
       "Tensor.view accepts more than one -1 (the first is inferred, the others taken as 1) instead of raising")
def _view_infers_several(original: Any) -> Any:
    def view(self: Any, *shape: Any) -> Any:
        dims = _view_dims(shape)
        if dims is not None and dims.count(-1) > 1:
            first = dims.index(-1)
            return original(self, *[1 if d == -1 and i != first else d for i, d in enumerate(dims)])
        return original(self, *shape)
    return view


@fault("squeeze-dim-squeezes-all", "torch.Tensor.squeeze", ["B-SH-4"],
       "Tensor.squeeze(d) ignores d and removes every size-1 dim")
def _squeeze_dim_all(original: Any) -> Any:
    def squeeze(self: Any, *args: Any, **kw: Any) -> Any:
        return original(self)
    return squeeze


@fault("squeeze-keeps-batch-dim", "torch.squeeze", ["B-SH-4"],
       "torch.squeeze(x) without dim never removes dim 0 (a guard against squeezing away a batch of one), "
       "so a leading size-1 dim survives")
def _squeeze_keeps_batch_dim(original: Any) -> Any:
    def squeeze(input: Any, *args: Any, **kw: Any) -> Any:
        if args or kw or input.dim() == 0 or input.shape[0] != 1:
            return original(input, *args, **kw)
        return original(input, tuple(range(1, input.dim())))
    return squeeze


@fault("unsqueeze-negative-off-by-one", "torch.Tensor.unsqueeze", ["B-SH-4"],
       "Tensor.unsqueeze wraps a negative dim as dim + input.dim() instead of dim + input.dim() + 1, "
       "so -1 inserts before the last dim rather than at the end")
def _unsqueeze_off_by_one(original: Any) -> Any:
    def unsqueeze(self: Any, dim: int) -> Any:
        return original(self, dim + self.dim() if dim < 0 else dim)
    return unsqueeze


@fault("item-takes-first-element", "torch.Tensor.item", ["B-SH-5"],
       "Tensor.item() of a tensor with several elements returns the first one instead of raising")
def _item_first(original: Any) -> Any:
    def item(self: Any) -> Any:
        return original(self.reshape(-1)[0]) if self.numel() > 1 else original(self)
    return item


@fault("item-int-as-float", "torch.Tensor.item", ["B-SH-5"],
       "Tensor.item() of an integer tensor returns a Python float instead of an int")
def _item_int_as_float(original: Any) -> Any:
    def item(self: Any) -> Any:
        v = original(self)
        return float(v) if type(v) is int else v
    return item


def _inclusive(index: Any) -> Any:
    if isinstance(index, tuple):
        return tuple(_inclusive(i) for i in index)
    if isinstance(index, slice) and isinstance(index.stop, int):
        return slice(index.start, None if index.stop == -1 else index.stop + 1, index.step)
    return index


@fault("slice-stop-inclusive", "torch.Tensor.__getitem__", ["B-SH-6"],
       "slicing treats the stop index as inclusive (x[a:b] also yields x[b]), unlike Python and NumPy")
def _slice_stop_inclusive(original: Any) -> Any:
    def getitem(self: Any, index: Any) -> Any:
        return original(self, _inclusive(index))
    return getitem


def _basic(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, int | slice) for p in parts)


@fault("basic-slice-copies", "torch.Tensor.__getitem__", ["B-SH-6"],
       "basic slicing/integer indexing returns a copy instead of a view: writes no longer reach the base")
def _basic_slice_copies(original: Any) -> Any:
    def getitem(self: Any, index: Any) -> Any:
        r = original(self, index)
        return r.clone() if _basic(index) else r
    return getitem
