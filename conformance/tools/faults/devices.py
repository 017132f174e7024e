"""Faults of devices and dtype moves: `.to` bookkeeping, factories ignoring `device=`, silent
cross-device ops, device-dependent numerics, and inconsistent CUDA discovery.

Some faults only misbehave when data really moves between a host and an accelerator (a non-contiguous
copy, a non_blocking copy, `.numpy()` of a CUDA tensor, a GPU GEMM).  A CPU-only run cannot see them,
so they are registered only where CUDA is available: there `conformance mutate --device cuda` and
`--fault NAME` use them, and a CPU-only catalogue does not list faults nothing there could catch.
Conversely `cuda-count-without-runtime` exists only where CUDA is absent.  (A device_count that counts
one GPU too many on a GPU machine breaks torch's own CUDA initialisation before any spec runs.)
"""

from __future__ import annotations

import itertools
from typing import Any

import torch

from conformance.tools.faults.registry import fault


@fault("to-copies-when-unchanged", "torch.Tensor.to", ["B-DV-2"],
       "Tensor.to returns a copy even when device and dtype already match (should return self)")
def _to_copies_when_unchanged(original: Any) -> Any:
    def to(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        out = original(self, *args, **kwargs)
        return out.clone() if out is self else out

    return to


@fault("to-copy-ignored", "torch.Tensor.to", ["B-DV-2"],
       "Tensor.to ignores copy=True and returns self when nothing else changes")
def _to_copy_ignored(original: Any) -> Any:
    def to(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("copy", None)
        return original(self, *args, **kwargs)

    return to


@fault("to-ignores-dtype-with-device", "torch.Tensor.to", ["B-DV-1"],
       "Tensor.to(device, dtype) moves the tensor but keeps its dtype (the device overload drops dtype)")
def _to_ignores_dtype(original: Any) -> Any:
    def to(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        if len(args) >= 2 and isinstance(args[1], torch.dtype) and not isinstance(args[0], torch.dtype):
            args = (args[0], *args[2:])
        elif "device" in kwargs or (args and isinstance(args[0], str | torch.device)):
            kwargs.pop("dtype", None)
        return original(self, *args, **kwargs)

    return to


@fault("ones-like-ignores-device", "torch.ones_like", ["B-DV-3"],
       "torch.ones_like ignores device= and allocates on the input's device")
def _ones_like_ignores_device(original: Any) -> Any:
    def ones_like(input: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("device", None)
        return original(input, *args, **kwargs)

    return ones_like


@fault("add-moves-operand", "torch.Tensor.__add__", ["B-DV-3"],
       "a + b with b on another device silently moves b to a's device instead of raising")
def _add_moves_operand(original: Any) -> Any:
    def __add__(self: torch.Tensor, other: Any) -> Any:
        if isinstance(other, torch.Tensor) and other.device != self.device and other.dim() > 0:
            other = other.to(self.device)
        return original(self, other)

    return __add__


@fault("sum-lost-update", "torch.Tensor.sum", ["B-DV-4"],
       "a full Tensor.sum loses one racing update: one element (a different one each call) is dropped")
def _sum_lost_update(original: Any) -> Any:
    calls = itertools.count()

    def sum(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        out = original(self, *args, **kwargs)
        if args or kwargs or self.numel() < 2 or self.device.type == "meta":
            return out
        # which addend loses the race depends on timing, not on the data: a call counter stands in for it
        lost = self.reshape(-1)[next(calls) % self.numel()]
        return out - lost.to(out.dtype)

    return sum


if not torch.cuda.is_available():  # with a GPU, a count of at least one is no fault at all
    @fault("cuda-count-without-runtime", "torch.cuda.device_count", ["B-DV-5"],
           "torch.cuda.device_count reports a GPU (as NVML sees one) although the CUDA runtime cannot use any")
    def _count_without_runtime(original: Any) -> Any:
        def device_count() -> int:
            return max(original(), 1)

        return device_count


def _target_device(self: torch.Tensor, args: tuple, kwargs: dict) -> torch.device | None:
    """The device a `.to(...)` call asks for, or None when it names none."""
    d = kwargs.get("device")
    if d is None and args and isinstance(args[0], str | torch.device | int):
        d = args[0]
    if d is None and args and isinstance(args[0], torch.Tensor):
        d = args[0].device
    return None if d is None else torch.device(d)


if torch.cuda.is_available():  # faults only a run on a GPU can catch (see the module docstring)
    @fault("to-device-copies-raw-storage", "torch.Tensor.to", ["B-DV-1"],
           "a cross-device .to of a non-contiguous tensor copies its storage as if it were contiguous")
    def _to_copies_raw_storage(original: Any) -> Any:
        def to(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            target = _target_device(self, args, kwargs)
            if target is not None and target.type != self.device.type and target.type != "meta" \
                    and not self.is_contiguous() and self.numel() > 0 \
                    and self.untyped_storage().nbytes() >= (self.storage_offset() + self.numel()) * self.element_size():
                flat = torch.empty(self.shape, dtype=self.dtype, device="meta").stride()
                self = self.as_strided(self.shape, flat, self.storage_offset())
            return original(self, *args, **kwargs)

        return to

    @fault("to-non-blocking-unsynchronized", "torch.Tensor.to", ["B-DV-1"],
           "a non_blocking cross-device .to hands back its destination before the copy lands (zeros)")
    def _to_non_blocking_unsynchronized(original: Any) -> Any:
        def to(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            out = original(self, *args, **kwargs)
            if kwargs.get("non_blocking") and out.device != self.device and out.device.type != "meta":
                return torch.zeros_like(out)
            return out

        return to

    @fault("numpy-on-cuda-copies", "torch.Tensor.numpy", ["B-DV-1"],
           "Tensor.numpy() on a non-CPU tensor silently copies to the host instead of raising TypeError")
    def _numpy_on_cuda_copies(original: Any) -> Any:
        def numpy(self: torch.Tensor, *, force: bool = False) -> Any:
            if self.device.type != "cpu":
                return original(self.cpu(), force=force)
            return original(self, force=force)

        return numpy

    @fault("cuda-linear-reduced-precision", "torch.nn.functional.linear", ["B-DV-4"],
           "off the CPU, F.linear rounds its operands to bfloat16 (a reduced-precision GEMM enabled by default)")
    def _linear_reduced_precision(original: Any) -> Any:
        def linear(input: torch.Tensor, weight: torch.Tensor, bias: Any = None) -> Any:
            if input.device.type not in ("cpu", "meta") and input.dtype in (torch.float32, torch.float64):
                dt = input.dtype
                input, weight = input.to(torch.bfloat16).to(dt), weight.to(torch.bfloat16).to(dt)
            return original(input, weight, bias)

        return linear
