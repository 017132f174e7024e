"""Faults of optimizers and checkpoints: the SGD update, zero_grad, state_dict save/load.

They change what a training step does while every call still succeeds and every tensor keeps its
shape and dtype, which is how such regressions slip through.
"""

from __future__ import annotations

from typing import Any

import torch

from conformance.tools.faults.registry import fault


def _with_groups_changed(step: Any, key: str, change: Any) -> Any:
    """A step that runs with param_groups[*][key] temporarily changed (the stored value is kept)."""
    def patched(self: Any, closure: Any = None) -> Any:
        saved = [g[key] for g in self.param_groups]
        for g in self.param_groups:
            g[key] = change(g[key])
        try:
            return step(self, closure)
        finally:
            for g, v in zip(self.param_groups, saved, strict=True):
                g[key] = v
    return patched


@fault("sgd-ascends", "torch.optim.SGD.step", ["B-OP-1", "B-OP-3"],
       "SGD.step reads the `maximize` flag inverted: it climbs the gradient (w + lr*grad)")
def _sgd_ascends(original: Any) -> Any:
    return _with_groups_changed(original, "maximize", lambda m: not m)


@fault("sgd-lr-scaled", "torch.optim.SGD.step", ["B-OP-1"],
       "SGD.step uses a tenth of the configured learning rate (a stale scheduler factor)")
def _sgd_lr_scaled(original: Any) -> Any:
    return _with_groups_changed(original, "lr", lambda lr: lr * 0.1)


@fault("zero-grad-noop", "torch.optim.Optimizer.zero_grad", ["B-OP-2", "B-OP-3"],
       "Optimizer.zero_grad returns without touching .grad, so gradients accumulate across steps")
def _zero_grad_noop(original: Any) -> Any:
    def zero_grad(self: Any, set_to_none: bool = True) -> None:
        return None
    return zero_grad


@fault("zero-grad-first-group-only", "torch.optim.Optimizer.zero_grad", ["B-OP-2"],
       "Optimizer.zero_grad clears only the parameters of the first param group")
def _zero_grad_first_group(original: Any) -> Any:
    def zero_grad(self: Any, set_to_none: bool = True) -> None:
        for p in self.param_groups[0]["params"]:
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.detach_().zero_()
    return zero_grad


@fault("load-state-dict-skips-param", "torch.nn.Module.load_state_dict", ["B-OP-4"],
       "Module.load_state_dict silently skips the last entry (loads non-strictly without it)")
def _load_skips(original: Any) -> Any:
    def load_state_dict(self: Any, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        kept = dict(state_dict)
        if kept:
            kept.pop(list(kept)[-1])
        result = original(self, kept, strict=False, assign=assign)
        return type(result)([], [])  # and reports nothing missing
    return load_state_dict


@fault("state-dict-half-precision", "torch.nn.Module.state_dict", ["B-OP-4"],
       "Module.state_dict returns floating tensors rounded to float16, so a checkpoint loses precision")
def _state_dict_half(original: Any) -> Any:
    def state_dict(self: Any, *args: Any, **kwargs: Any) -> Any:
        out = original(self, *args, **kwargs)
        if args or kwargs.get("destination") is not None:
            return out  # a child filling its parent's dict: the root call rounds everything once
        for k, v in out.items():
            if isinstance(v, torch.Tensor) and v.is_floating_point():
                out[k] = v.half().to(v.dtype)
        return out
    return state_dict
