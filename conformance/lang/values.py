"""Turning spec values into comparable host tensors, and describing them for humans and JSON."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from conformance.lang import dtypes

MAX_VALUES = 200  # values kept in a falsifying example; larger inputs are summarised
# The engine's own copies must not go through a patched Tensor.copy_ (the fault catalogue patches it):
# keep the real one, taken when the engine is imported, before any fault is active.
_COPY = torch.Tensor.copy_
_CLONE = torch.Tensor.clone  # likewise for clone (faults/draws.py patches it)


def is_array(x: Any) -> bool:
    return isinstance(x, torch.Tensor | np.ndarray)


def host(x: Any) -> torch.Tensor:
    """A detached CPU tensor for any tensor, ndarray, scalar or nested list of numbers."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu()
    if isinstance(x, np.ndarray | np.generic):
        arr = np.array(x, copy=True, order="C")  # keeps 0-dim arrays 0-dim
        return torch.from_numpy(arr) if arr.dtype in dtypes.TORCH_OF else torch.as_tensor(arr.tolist())
    return torch.as_tensor(x)


def short(x: Any, limit: int = 300) -> str:
    try:
        text = repr(x)
    except Exception as e:  # noqa: BLE001 - a backend whose tensors cannot print must not end the run
        try:   # a tensor whose backend lost its data (a failed lazy graph) may not even have a shape
            about = f" shape={tuple(x.shape)} dtype={x.dtype} device={x.device}" if isinstance(x, torch.Tensor) else ""
        except Exception:  # noqa: BLE001
            about = ""
        text = f"<{type(x).__name__}{about}: repr failed: {type(e).__name__}: {str(e)[:80]}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def snapshot(x: Any) -> Any:
    """A private copy of an input, taken before steps can mutate it."""
    if isinstance(x, torch.Tensor):
        c = _same_layout_copy(x.detach())
        return c.requires_grad_(x.requires_grad) if x.requires_grad else c
    if isinstance(x, np.ndarray):
        return x.copy()
    if isinstance(x, list):
        return [snapshot(v) for v in x]
    return x


def _same_layout_copy(x: torch.Tensor) -> torch.Tensor:
    """A copy with x's strides, so a falsifying example keeps its (non-)contiguity.

    `clone()` makes a sliced tensor contiguous; an empty_strided buffer of the same strides does not.
    Overlapping layouts (stride 0 from expand) cannot be written into: those fall back to clone().
    """
    if x.is_contiguous() or x.device.type == "meta":
        return _CLONE(x)
    try:
        c = torch.empty_strided(x.size(), x.stride(), dtype=x.dtype, device=x.device)
        return _COPY(c, x)
    except RuntimeError:
        return _CLONE(x)


def describe(x: Any) -> dict[str, Any]:
    """A JSON-able description of an input: repr, and for arrays dtype/shape/device/values."""
    try:
        return _describe(x)
    except Exception as e:  # noqa: BLE001 - a value the backend cannot read back is reported, not fatal
        return {"kind": type(x).__name__, "repr": short(x), "error": f"{type(e).__name__}: {str(e)[:200]}"}


def _describe(x: Any) -> dict[str, Any]:
    if isinstance(x, torch.Tensor):
        h = x.detach().cpu()
        if h.dtype == torch.bfloat16:
            h = h.float()
        return {
            "kind": "tensor", "repr": short(x), "dtype": str(x.dtype).removeprefix("torch."),
            "shape": list(x.shape), "device": str(x.device), "stride": list(x.stride()),
            "contiguous": x.is_contiguous(), "requires_grad": x.requires_grad,
            "values": h.tolist() if x.numel() <= MAX_VALUES and x.device.type != "meta" else None,
        }
    if isinstance(x, np.ndarray):
        return {
            "kind": "ndarray", "repr": short(x), "dtype": str(x.dtype), "shape": list(x.shape),
            "device": "cpu", "stride": [s // max(x.itemsize, 1) for s in x.strides],
            "contiguous": bool(x.flags.c_contiguous), "requires_grad": False,
            "values": x.tolist() if x.size <= MAX_VALUES else None,
        }
    if isinstance(x, torch.dtype):
        return {"kind": "dtype", "repr": repr(x), "value": str(x).removeprefix("torch.")}
    if isinstance(x, list):
        return {"kind": "list", "repr": short(x), "items": [describe(v) for v in x]}   # each item guarded
    if isinstance(x, bool | int | float | str | None | tuple):
        return {"kind": type(x).__name__, "repr": repr(x), "value": list(x) if isinstance(x, tuple) else x}
    return {"kind": type(x).__name__, "repr": short(x)}
