"""Faults of in-place `_` operations."""

from __future__ import annotations

from typing import Any

from conformance.tools.faults.registry import fault


@fault("add_-returns-new", "torch.Tensor.add_", ["B-IP-1", "B-IP-2", "B-IP-3", "B-IP-4"],
       "Tensor.add_ computes the sum out of place and returns a new tensor, leaving self unchanged")
def _add_returns_new(original: Any) -> Any:
    def add_(self: Any, other: Any, *, alpha: Any = 1) -> Any:
        return self.add(other, alpha=alpha)
    return add_


@fault("mul_-returns-copy", "torch.Tensor.mul_", ["B-IP-1"],
       "Tensor.mul_ writes the product into self but returns a fresh copy instead of self")
def _mul_returns_copy(original: Any) -> Any:
    def mul_(self: Any, other: Any) -> Any:
        return original(self, other).clone()
    return mul_


@fault("sub_-ignores-alpha", "torch.Tensor.sub_", ["B-IP-1"],
       "Tensor.sub_ drops its alpha keyword (a binding bug): x.sub_(y, alpha=a) computes x - y")
def _sub_ignores_alpha(original: Any) -> Any:
    def sub_(self: Any, other: Any, *, alpha: Any = 1) -> Any:
        return original(self, other)
    return sub_


@fault("div_-int-truncates", "torch.Tensor.div_", ["B-IP-1"],
       "integer Tensor.div_ without rounding_mode silently truncates (C-style) instead of refusing the float quotient")
def _div_int_truncates(original: Any) -> Any:
    def div_(self: Any, other: Any, *, rounding_mode: Any = None) -> Any:
        if rounding_mode is None and not (self.is_floating_point() or self.is_complex()):
            rounding_mode = "trunc"
        return original(self, other, rounding_mode=rounding_mode)
    return div_


@fault("fill_-bypasses-autograd", "torch.Tensor.fill_", ["B-IP-4"],
       "Tensor.fill_ writes through .data: the values are right, but the version counter is not bumped "
       "and a leaf that requires grad is overwritten without an error")
def _fill_bypasses_autograd(original: Any) -> Any:
    def fill_(self: Any, value: Any) -> Any:
        original(self.data, value)  # .data aliases the memory but has its own version, no autograd checks
        return self
    return fill_


@fault("zero_-first-element-only", "torch.Tensor.zero_", ["B-IP-1", "B-IP-4"],
       "Tensor.zero_ zeroes only the first element (a launch over one element instead of numel)")
def _zero_first_element_only(original: Any) -> Any:
    def zero_(self: Any) -> Any:
        if self.numel():
            original(self[(0,) * self.dim()])
        return self
    return zero_


@fault("copy_-strided-dest-lost", "torch.Tensor.copy_", ["B-IP-1", "B-IP-3", "B-IP-4"],
       "Tensor.copy_ into a non-contiguous destination writes a contiguous temporary and never copies it back")
def _copy_strided_dest_lost(original: Any) -> Any:
    def copy_(self: Any, src: Any, non_blocking: bool = False) -> Any:
        if self.is_contiguous():
            return original(self, src, non_blocking)
        original(self.contiguous(), src, non_blocking)  # the temporary is dropped: self keeps old values
        return self
    return copy_


@fault("clamp_-swapped-bounds", "torch.Tensor.clamp_", ["B-IP-1"],
       "Tensor.clamp_ passes min as max and max as min")
def _clamp_swapped_bounds(original: Any) -> Any:
    def clamp_(self: Any, min: Any = None, max: Any = None) -> Any:
        return original(self, min=max, max=min)
    return clamp_


@fault("add-out-ignored", "torch.add", ["B-IP-2"],
       "torch.add ignores out=: it returns a new tensor and leaves the given output untouched")
def _add_out_ignored(original: Any) -> Any:
    def add(input: Any, other: Any, *, alpha: Any = 1, out: Any = None) -> Any:
        return original(input, other, alpha=alpha)
    return add


@fault("div_-ignores-rounding-mode", "torch.Tensor.div_", ["B-IP-1"],
       "Tensor.div_ drops rounding_mode (a binding bug): floor/trunc division in place becomes true division")
def _div_ignores_rounding_mode(original: Any) -> Any:
    def div_(self: Any, other: Any, *, rounding_mode: Any = None) -> Any:
        return original(self, other)
    return div_
