"""Faults of torchvision transforms (an optional dependency).

This module imports without torchvision (the catalogue imports every area module), but registers
its faults only where torchvision is installed: elsewhere their targets cannot be patched, and the
vision specs they would break are skipped as "not run" anyway.  DECLARED lists them either way.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import torch

from conformance.tools.faults.registry import fault as _register

AVAILABLE = importlib.util.find_spec("torchvision") is not None
DECLARED: dict[str, tuple[str, tuple[str, ...], str]] = {}   # name -> (target, breaks, description)


def fault(name: str, target: str, breaks: list[str], description: str) -> Callable:
    DECLARED[name] = (target, tuple(breaks), description)
    if AVAILABLE:
        return _register(name, target, breaks, description)
    return lambda make: make


def _per_channel(values: Any, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(values, dtype=like.dtype, device=like.device).reshape(-1, 1, 1)


@fault("to-tensor-no-scale", "torchvision.transforms.ToTensor.__call__", ["B-TV-1"],
       "ToTensor converts uint8 images to float without dividing by 255 (values stay in [0, 255])")
def _to_tensor_no_scale(original: Any) -> Any:
    def __call__(self: Any, pic: Any) -> Any:
        return original(self, pic) * 255
    return __call__


@fault("to-tensor-keeps-hwc", "torchvision.transforms.ToTensor.__call__", ["B-TV-1"],
       "ToTensor scales to [0, 1] but keeps the image channel-last (H, W, C) instead of (C, H, W)")
def _to_tensor_hwc(original: Any) -> Any:
    def __call__(self: Any, pic: Any) -> Any:
        out = original(self, pic)
        return out.permute(1, 2, 0).contiguous() if out.dim() == 3 else out
    return __call__


@fault("normalize-first-channel-stats", "torchvision.transforms.Normalize.forward", ["B-TV-2"],
       "Normalize applies the first channel's mean and std to every channel")
def _normalize_first_channel(original: Any) -> Any:
    def forward(self: Any, tensor: torch.Tensor) -> torch.Tensor:
        mean = _per_channel(self.mean, tensor)[:1]
        std = _per_channel(self.std, tensor)[:1]
        return (tensor - mean) / std
    return forward


@fault("normalize-multiplies-std", "torchvision.transforms.Normalize.forward", ["B-TV-2"],
       "Normalize multiplies by std instead of dividing: (x - mean) * std")
def _normalize_multiplies(original: Any) -> Any:
    def forward(self: Any, tensor: torch.Tensor) -> torch.Tensor:
        return (tensor - _per_channel(self.mean, tensor)) * _per_channel(self.std, tensor)
    return forward


@fault("compose-reversed", "torchvision.transforms.Compose.__call__", ["B-TV-2"],
       "Compose applies its transforms last to first")
def _compose_reversed(original: Any) -> Any:
    def __call__(self: Any, img: Any) -> Any:
        for t in reversed(self.transforms):
            img = t(img)
        return img
    return __call__
