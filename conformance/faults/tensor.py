"""Faults of tensor methods: shape, views, in-place ops, reductions, joins."""

from __future__ import annotations

from typing import Any

from . import fault


@fault("view-copies", "torch.Tensor.view", ["B-VW-1", "B-SH-6"],
       "Tensor.view returns a reshaped copy instead of a view of the same storage")
def _view_copies(original: Any) -> Any:
    def view(self: Any, *shape: Any) -> Any:
        return original(self, *shape).clone()
    return view


@fault("add_-returns-new", "torch.Tensor.add_", ["B-IP-1", "B-IP-2"],
       "Tensor.add_ computes the sum out of place and returns a new tensor, leaving self unchanged")
def _add_returns_new(original: Any) -> Any:
    def add_(self: Any, other: Any, *, alpha: Any = 1) -> Any:
        return self.add(other, alpha=alpha)
    return add_
