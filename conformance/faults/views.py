"""Faults of views and contiguity."""

from __future__ import annotations

from typing import Any

from . import fault


@fault("view-copies", "torch.Tensor.view", ["B-VW-1", "B-SH-6"],
       "Tensor.view returns a reshaped copy instead of a view of the same storage")
def _view_copies(original: Any) -> Any:
    def view(self: Any, *shape: Any) -> Any:
        return original(self, *shape).clone()
    return view
