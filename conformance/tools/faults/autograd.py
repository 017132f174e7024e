"""Faults of autograd: wrong derivative formulas, lost or overwritten gradients, unrecorded ops.

Each replacement computes the same forward values as torch, so only the gradient side (or the graph
bookkeeping) is wrong: the kind of bug a kernel's hand-written backward formula really has.
"""

from __future__ import annotations

from typing import Any

import torch

from conformance.tools.faults.registry import fault


def _tracked(*tensors: Any) -> bool:
    return torch.is_grad_enabled() and any(isinstance(t, torch.Tensor) and t.requires_grad for t in tensors)


def _pow_function(original: Any, derivative: Any) -> Any:
    """`base ** n` (computed by the real op) whose backward uses `derivative(base, n)` instead of n*base**(n-1)."""
    class WrongPow(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, base: torch.Tensor, exponent: float) -> torch.Tensor:
            ctx.save_for_backward(base)
            ctx.exponent = exponent
            return original(base, exponent)

        @staticmethod
        def backward(ctx: Any, grad: torch.Tensor) -> Any:
            (base,) = ctx.saved_tensors
            return grad * derivative(base, ctx.exponent), None

    return WrongPow


@fault("pow-grad-scaled", "torch.Tensor.__pow__", ["B-AG-1", "B-AG-2", "B-AG-3", "B-AG-4"],
       "x ** n has a backward that is 1% too small (0.99 * n * x**(n-1))")
def _pow_grad_scaled(original: Any) -> Any:
    ScaledPow = _pow_function(original, lambda base, n: (0.99 * n) * original(base, n - 1))

    def __pow__(self: torch.Tensor, exponent: Any) -> Any:
        if isinstance(exponent, int | float) and _tracked(self):
            return ScaledPow.apply(self, exponent)
        return original(self, exponent)

    return __pow__


@fault("pow-grad-exponent-off-by-one", "torch.pow", ["B-AG-6"],
       "torch.pow's backward uses n * x**n instead of n * x**(n-1)")
def _pow_exponent_off_by_one(original: Any) -> Any:
    OffByOnePow = _pow_function(original, lambda base, n: n * original(base, n))

    def pow(base: Any, exponent: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(base, torch.Tensor) and isinstance(exponent, int | float) and not args and not kwargs \
                and _tracked(base):
            return OffByOnePow.apply(base, exponent)
        return original(base, exponent, *args, **kwargs)

    return pow


@fault("mul-grad-swapped", "torch.Tensor.__mul__", ["B-AG-2"],
       "a * b saves its operands swapped: the gradient of a is grad * a instead of grad * b")
def _mul_grad_swapped(original: Any) -> Any:
    class SwappedMul(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            ctx.save_for_backward(a, b)
            return original(a, b)

        @staticmethod
        def backward(ctx: Any, grad: torch.Tensor) -> Any:
            a, b = ctx.saved_tensors
            return original(grad, a), original(grad, b)

    def __mul__(self: torch.Tensor, other: Any) -> Any:
        # Same-shape tensor products only, so every gradient keeps a plausible shape.
        if isinstance(other, torch.Tensor) and other.shape == self.shape and other.dtype == self.dtype \
                and _tracked(self, other):
            return SwappedMul.apply(self, other)
        return original(self, other)

    return __mul__


def _leaves(tensors: Any) -> list[torch.Tensor]:
    """The leaf tensors a backward from `tensors` would accumulate into (AccumulateGrad nodes)."""
    roots = [tensors] if isinstance(tensors, torch.Tensor) else list(tensors)
    stack: list[Any] = [t.grad_fn for t in roots if isinstance(t, torch.Tensor) and t.grad_fn is not None]
    seen: set[int] = set()
    out = []
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if hasattr(node, "variable"):
            out.append(node.variable)
        stack.extend(fn for fn, _ in node.next_functions)
    return out


@fault("backward-overwrites", "torch.autograd.backward", ["B-AG-4"],
       "backward replaces .grad of the leaves instead of accumulating into it")
def _backward_overwrites(original: Any) -> Any:
    def backward(tensors: Any, *args: Any, **kwargs: Any) -> Any:
        leaves = _leaves(tensors)
        before = [leaf.grad for leaf in leaves]
        for leaf in leaves:
            leaf.grad = None
        try:
            return original(tensors, *args, **kwargs)
        except BaseException:
            for leaf, grad in zip(leaves, before, strict=True):  # a failed backward leaves .grad alone
                leaf.grad = grad
            raise

    return backward


@fault("implicit-grad-ones", "torch.autograd.backward", ["B-AG-7"],
       "backward on a non-scalar output silently uses a gradient of ones instead of raising")
def _implicit_grad_ones(original: Any) -> Any:
    def backward(tensors: Any, grad_tensors: Any = None, *args: Any, **kwargs: Any) -> Any:
        if grad_tensors is None:
            outs = [tensors] if isinstance(tensors, torch.Tensor) else list(tensors)
            grad_tensors = [torch.ones_like(t) for t in outs]
        return original(tensors, grad_tensors, *args, **kwargs)

    return backward


@fault("exp-not-recorded", "torch.exp", ["B-AG-5", "B-AG-6"],
       "torch.exp is not recorded by autograd: its result is a fresh leaf (grad_fn None) that requires grad")
def _exp_not_recorded(original: Any) -> Any:
    def exp(input: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(input, torch.Tensor) and _tracked(input):
            return original(input.detach(), *args, **kwargs).requires_grad_(True)
        return original(input, *args, **kwargs)

    return exp


@fault("tanh-grad-wrong", "torch.tanh", ["B-AG-6"],
       "torch.tanh's backward uses 1 - y instead of 1 - y**2")
def _tanh_grad_wrong(original: Any) -> Any:
    class WrongTanh(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
            y = original(x)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx: Any, grad: torch.Tensor) -> Any:
            (y,) = ctx.saved_tensors
            return grad * (1 - y)

    def tanh(input: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(input, torch.Tensor) and not args and not kwargs and _tracked(input):
            return WrongTanh.apply(input)
        return original(input, *args, **kwargs)

    return tanh
