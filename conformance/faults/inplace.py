"""Faults of in-place `_` operations."""

from __future__ import annotations

from typing import Any

from . import fault


@fault("add_-returns-new", "torch.Tensor.add_", ["B-IP-1", "B-IP-2"],
       "Tensor.add_ computes the sum out of place and returns a new tensor, leaving self unchanged")
def _add_returns_new(original: Any) -> Any:
    def add_(self: Any, other: Any, *, alpha: Any = 1) -> Any:
        return self.add(other, alpha=alpha)
    return add_
