"""The fault catalogue: named, realistic backend faults, each a small patch of torch.

A fault breaks exactly one documented behaviour while still returning plausible tensors, so that a
run with the fault active shows which specs notice.  Faults are activated by name, in-process
(`activate`) or for a whole pytest run including its xdist workers (`--fault NAME` or the
environment variable CONFORMANCE_FAULT, which workers inherit).  An unknown name is an error.

Catalogue modules register faults with the `fault` decorator; one module per behaviour area or
op family, each imported by the package's __init__.  This module is the mechanism only.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.errors import UsageError
from conformance.lang import names as allow_list

ENV = "CONFORMANCE_FAULT"
# Extra catalogue modules (dotted names or .py paths, comma-separated), e.g. test-only faults;
# an environment variable so that pytest subprocesses and their xdist workers load them too.
MODULES_ENV = "CONFORMANCE_FAULT_MODULES"


@dataclass(frozen=True)
class Fault:
    name: str
    target: str                      # dotted attribute that is replaced, e.g. torch.Tensor.add_
    breaks: tuple[str, ...]          # behaviour ids (B-AR-1), spec ids (unary/sin) or a family prefix (unary/)
    description: str
    make: Callable[[Any], Any]       # original -> replacement


REGISTRY: dict[str, Fault] = {}
_ABSENT = object()


class UnknownFault(UsageError):
    pass


def fault(name: str, target: str, breaks: list[str], description: str) -> Callable:
    """Register `make(original) -> replacement` as the fault `name`."""

    def register(make: Callable[[Any], Any]) -> Callable[[Any], Any]:
        if name in REGISTRY:
            raise ValueError(f"fault {name!r} registered twice")
        REGISTRY[name] = Fault(name, target, tuple(breaks), description, make)
        return make

    return register


def catalogue() -> dict[str, Fault]:
    """Every registered fault: the package's own modules (imported by the package) plus extra ones."""
    for extra in filter(None, (m.strip() for m in os.environ.get(MODULES_ENV, "").split(","))):
        _load_extra(extra)
    return REGISTRY


_EXTRA_LOADED: set[str] = set()


def _load_extra(ref: str) -> None:
    if ref in _EXTRA_LOADED:   # a file is executed once, or its faults would register twice
        return
    _EXTRA_LOADED.add(ref)
    if ref.endswith(".py"):
        spec = importlib.util.spec_from_file_location(f"_conformance_extra_faults_{len(_EXTRA_LOADED)}", ref)
        if spec is None or spec.loader is None:
            raise ValueError(f"{MODULES_ENV}: cannot load {ref!r}")
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    else:
        importlib.import_module(ref)


def _owner(target: str) -> tuple[Any, str]:
    parts = target.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for p in parts[i:-1]:
            obj = getattr(obj, p)
        return obj, parts[-1]
    raise ValueError(f"cannot resolve fault target {target!r}")


def parse(names: str | list[str] | None) -> list[Fault]:
    if not names:
        return []
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    cat = catalogue()
    out = []
    for n in names:
        if n not in cat:
            close = difflib.get_close_matches(n, sorted(cat), n=1)
            raise UnknownFault(f"unknown fault {n!r}" + (f"; did you mean {close[0]!r}?" if close else
                                                        f"; see `conformance mutate --list` ({len(cat)} faults)"))
        out.append(cat[n])
    return out


def activate(names: str | list[str] | None) -> Callable[[], None]:
    """Patch torch with the named faults; returns a function that undoes every patch."""
    undo: list[tuple[Any, str, Any]] = []
    for f in parse(names):
        owner, attr = _owner(f.target)
        original = getattr(owner, attr)
        # What the owner itself holds (an inherited method: nothing; a staticmethod: the wrapper), so that
        # undo restores exactly that instead of leaving a shadowing copy or an unwrapped function behind.
        own = getattr(owner, "__dict__", {}).get(attr, _ABSENT)
        replacement = f.make(original)
        allow_list.trust(replacement)  # the patched object stands in for an allowed one: specs may reach it
        setattr(owner, attr, replacement)
        undo.append((owner, attr, own))

    def restore() -> None:
        for owner, attr, own in reversed(undo):
            if own is _ABSENT:
                delattr(owner, attr)
            else:
                setattr(owner, attr, own)

    return restore
