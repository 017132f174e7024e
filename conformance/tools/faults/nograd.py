"""Faults of stopping gradient tracking: grad-mode switches that do nothing, detach that copies or stays attached.

The grad-mode faults subclass torch's own context managers, so they still work as context managers and
as decorators (torch's decorator support clones `self.__class__`), only the switching is wrong.
"""

from __future__ import annotations

from typing import Any

import torch

from conformance.tools.faults.registry import fault


@fault("no-grad-noop", "torch.no_grad", ["B-NG-1", "B-NG-3"],
       "torch.no_grad() enters and exits without disabling gradient tracking")
def _no_grad_noop(original: Any) -> Any:
    class no_grad(original):  # type: ignore[misc, valid-type]
        def __enter__(self) -> None:
            self.prev = torch.is_grad_enabled()  # remembers the mode, never changes it

        def __exit__(self, *exc: Any) -> None:
            return None

    return no_grad


@fault("no-grad-decorator-noop", "torch.no_grad", ["B-NG-3"],
       "torch.no_grad() used as a decorator returns the function unwrapped (the with-form still works)")
def _no_grad_decorator_noop(original: Any) -> Any:
    class no_grad(original):  # type: ignore[misc, valid-type]
        def __call__(self, func: Any) -> Any:
            return func

    return no_grad


@fault("enable-grad-noop", "torch.enable_grad", ["B-NG-3"],
       "torch.enable_grad() inside no_grad leaves gradient tracking disabled")
def _enable_grad_noop(original: Any) -> Any:
    class enable_grad(original):  # type: ignore[misc, valid-type]
        def __enter__(self) -> None:
            self.prev = torch.is_grad_enabled()

        def __exit__(self, *exc: Any) -> None:
            return None

    return enable_grad


@fault("detach-copies", "torch.Tensor.detach", ["B-NG-2"],
       "Tensor.detach returns a detached copy instead of a tensor sharing the original's storage")
def _detach_copies(original: Any) -> Any:
    def detach(self: torch.Tensor) -> torch.Tensor:
        return original(self).clone()

    return detach


@fault("detach-keeps-graph", "torch.Tensor.detach", ["B-NG-2"],
       "Tensor.detach returns an alias that is still connected to the graph (requires grad, gradients flow)")
def _detach_keeps_graph(original: Any) -> Any:
    def detach(self: torch.Tensor) -> torch.Tensor:
        return self.view_as(self)

    return detach
