"""Faults of views and contiguity."""

from __future__ import annotations

from typing import Any

import torch

from conformance.tools.faults.registry import fault


@fault("view-copies", "torch.Tensor.view", ["B-VW-1", "B-SH-6"],
       "Tensor.view returns a reshaped copy instead of a view of the same storage")
def _view_copies(original: Any) -> Any:
    def view(self: Any, *shape: Any) -> Any:
        return original(self, *shape).clone()
    return view


@fault("view-copies-when-incompatible", "torch.Tensor.view", ["B-VW-2"],
       "Tensor.view falls back to a silent copy (like reshape) instead of raising when the shape is "
       "incompatible with the strides")
def _view_copies_when_incompatible(original: Any) -> Any:
    def view(self: Any, *shape: Any) -> Any:
        try:
            return original(self, *shape)
        except RuntimeError as e:
            if "not compatible with input tensor's size and stride" not in str(e):
                raise
            return self.contiguous().view(*shape)  # the copy view must never make on its own
    return view


@fault("reshape-always-copies", "torch.Tensor.reshape", ["B-VW-3"],
       "Tensor.reshape always materialises a new tensor, even for contiguous input where a view is documented")
def _reshape_always_copies(original: Any) -> Any:
    def reshape(self: Any, *shape: Any) -> Any:
        return original(self, *shape).clone()
    return reshape


@fault("reshape-memory-order", "torch.Tensor.reshape", ["B-VW-3"],
       "Tensor.reshape of a non-contiguous input reads the elements in storage order instead of the "
       "logical row-major order (a transposed input comes out untransposed)")
def _reshape_memory_order(original: Any) -> Any:
    def reshape(self: Any, *shape: Any) -> Any:
        if self.is_contiguous():
            return original(self, *shape)
        # Dims sorted by decreasing stride: the order the elements sit in memory.
        order = sorted(range(self.dim()), key=lambda d: -self.stride(d))
        return original(self.permute(order).contiguous(), *shape)
    return reshape


@fault("transpose-copies", "torch.Tensor.transpose", ["B-VW-4", "B-VW-2"],
       "Tensor.transpose returns a contiguous copy with the swapped shape instead of a strided view")
def _transpose_copies(original: Any) -> Any:
    def transpose(self: Any, dim0: Any, dim1: Any) -> Any:
        return original(self, dim0, dim1).contiguous()
    return transpose


@fault("permute-copies", "torch.Tensor.permute", ["B-VW-4"],
       "Tensor.permute returns a contiguous copy instead of a view with permuted strides")
def _permute_copies(original: Any) -> Any:
    def permute(self: Any, *dims: Any) -> Any:
        return original(self, *dims).contiguous()
    return permute


@fault("contiguous-always-copies", "torch.Tensor.contiguous", ["B-VW-4"],
       "Tensor.contiguous copies even when the tensor is already contiguous, instead of returning self")
def _contiguous_always_copies(original: Any) -> Any:
    def contiguous(self: Any, memory_format: Any = None) -> Any:
        fmt = torch.contiguous_format if memory_format is None else memory_format
        return original(self, memory_format=fmt).clone(memory_format=fmt)
    return contiguous
