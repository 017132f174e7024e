"""The public API the suite measures itself against, and which of it the specs cover.

The universe is read from the installed torch, per namespace: the public functions of `torch`,
`torch.nn.functional`, `torch.linalg`, `torch.special` and `torch.fft`, the public methods of
`torch.Tensor`, the `nn.Module` classes of `torch.nn`, and the optimizers and learning-rate schedulers
of `torch.optim`.  A callable is *covered* when it is the documented `source.object` of a spec: the
spec's properties check its promise (a callable merely used inside steps does not count).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.fft
import torch.linalg
import torch.nn.functional
import torch.optim
import torch.optim.lr_scheduler
import torch.special

# Re-exports of typing/builtins and torch's own infrastructure, not operators a backend implements.
_NOT_API = {"torch.typename", "torch.is_storage", "torch.set_default_tensor_type", "torch.compile",
            "torch.cond", "torch.vmap", "torch.export", "torch.load", "torch.save"}


def _public(owner: Any, prefix: str, keep: Callable[[str, Any], bool]) -> list[str]:
    out = []
    for name in sorted(dir(owner)):
        if name.startswith("_"):
            continue
        try:
            obj = getattr(owner, name)
        except Exception:  # noqa: BLE001 - a lazily failing attribute is not API we can test
            continue
        dotted = f"{prefix}.{name}"
        if dotted not in _NOT_API and keep(name, obj):
            out.append(dotted)
    return out


def _torch_module(obj: Any) -> bool:
    return (getattr(obj, "__module__", None) or "torch").startswith("torch")


def _routine(name: str, obj: Any) -> bool:
    return (inspect.isroutine(obj) or type(obj).__name__ == "builtin_function_or_method") and _torch_module(obj)


def _module_class(name: str, obj: Any) -> bool:
    return inspect.isclass(obj) and issubclass(obj, torch.nn.Module) and obj is not torch.nn.Module


def _optimizer(name: str, obj: Any) -> bool:
    return inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer) and obj is not torch.optim.Optimizer


def _scheduler(name: str, obj: Any) -> bool:
    base = torch.optim.lr_scheduler.LRScheduler
    return inspect.isclass(obj) and issubclass(obj, base) and obj is not base and not name.startswith("LR")


def _tensor_method(name: str, obj: Any) -> bool:
    return callable(obj) and not inspect.isclass(obj)


def universe() -> dict[str, list[str]]:
    """namespace -> the dotted names of its public callables in the installed torch."""
    return {
        "torch": _public(torch, "torch", _routine),
        "torch.Tensor": _public(torch.Tensor, "torch.Tensor", _tensor_method),
        "torch.nn.functional": _public(torch.nn.functional, "torch.nn.functional", _routine),
        "torch.linalg": _public(torch.linalg, "torch.linalg", _routine),
        "torch.special": _public(torch.special, "torch.special", _routine),
        "torch.fft": _public(torch.fft, "torch.fft", _routine),
        "torch.nn (modules)": _public(torch.nn, "torch.nn", _module_class),
        "torch.optim": (_public(torch.optim, "torch.optim", _optimizer)
                        + _public(torch.optim.lr_scheduler, "torch.optim.lr_scheduler", _scheduler)),
    }


def cited_objects(specs: Iterable[Any]) -> dict[str, list[str]]:
    """source.object -> the ids of the specs that document it."""
    out: dict[str, list[str]] = {}
    for s in specs:
        obj = (s.source or {}).get("object")
        if obj:
            out.setdefault(obj, []).append(s.id)
    return out


def coverage(specs: Iterable[Any]) -> dict[str, Any]:
    """Per namespace: total, covered names (with their specs) and uncovered names; and the totals."""
    cited = cited_objects(specs)
    per: dict[str, Any] = {}
    seen: set[str] = set()
    for ns, names in universe().items():
        covered = {n: cited[n] for n in names if n in cited}
        seen |= set(covered)
        per[ns] = {"total": len(names), "covered": covered, "uncovered": [n for n in names if n not in cited]}
    total = sum(v["total"] for v in per.values())
    return {"namespaces": per, "covered": len(seen), "total": total,
            "outside": sorted(set(cited) - seen)}   # cited objects beyond these namespaces (numpy, torch.utils...)


def summary(cov: dict[str, Any]) -> dict[str, Any]:
    """The compact form the results JSON carries (counts and covered names, no uncovered lists)."""
    return {"covered": cov["covered"], "total": cov["total"],
            "namespaces": {ns: {"covered": sorted(v["covered"]), "total": v["total"]}
                           for ns, v in cov["namespaces"].items()}}
