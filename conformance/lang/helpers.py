"""Builders specs may call as `helpers.*`: the few things a declarative spec cannot write itself.

Specs may not define functions or classes, yet some documented behaviours are about user
subclasses (an `nn.Module` subclass registers its children; a `Dataset` subclass works with
DataLoader) or about files (state_dict round-trips).  These are real subclasses and real files.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset as _TorchDataset


class Module(nn.Module):
    """A user-style nn.Module subclass: `super().__init__()`, then children set as attributes.

    `helpers.Module(fc1=nn.Linear(4, 3), act=nn.ReLU())` registers each child through ordinary
    attribute assignment (the documented registration path) and applies them in order in forward.
    Children that are not modules (tensors, numbers) are plain attributes, as in any nn.Module.
    """

    def __init__(self, **children: Any):
        super().__init__()
        for name, child in children.items():
            setattr(self, name, child)
        self._order = list(children)

    def forward(self, x: Any) -> Any:
        for name in self._order:
            child = getattr(self, name)
            if callable(child):
                x = child(x)
        return x


class Dataset(_TorchDataset):
    """A map-style Dataset subclass with `__len__`/`__getitem__` over one or more tensors."""

    def __init__(self, *tensors: torch.Tensor):
        if not tensors or any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError("helpers.Dataset needs one or more tensors of equal length")
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, i: int) -> Any:
        items = tuple(t[i] for t in self.tensors)
        return items[0] if len(items) == 1 else items


def roundtrip(obj: Any) -> Any:
    """`torch.save` obj to a real temporary file and `torch.load` it back (weights only)."""
    fd, path = tempfile.mkstemp(suffix=".pt")
    os.close(fd)
    try:
        torch.save(obj, path)
        return torch.load(path, weights_only=True)
    finally:
        os.unlink(path)


def params(module: nn.Module) -> list[torch.Tensor]:
    """Detached copies of a module's parameters, in registration order (a snapshot before a step)."""
    return [p.detach().clone() for p in module.parameters()]


def grads(module: nn.Module) -> list[Any]:
    """Copies of each parameter's .grad (None stays None)."""
    return [None if p.grad is None else p.grad.detach().clone() for p in module.parameters()]


def epoch(loader: Any) -> list[Any]:
    """One full pass over an iterable (a DataLoader epoch) as a list of batches."""
    return list(loader)


def flat_samples(batches: list[Any]) -> torch.Tensor:
    """Concatenate the first field of every batch: what one epoch yielded, sample by sample."""
    firsts = [b[0] if isinstance(b, list | tuple) else b for b in batches]
    return torch.cat([f.reshape(len(f), -1) for f in firsts]) if firsts else torch.empty(0)


def frame_values(data: Any) -> Any:
    """`pandas.DataFrame(data).values`: a real DataFrame's data, without handing specs the pandas module.

    pandas is optional (specs using this declare `requires: [pandas]`); only the resulting ndarray
    reaches the spec, so none of pandas' file readers/writers become reachable from spec text.
    """
    import pandas  # optional dependency: imported only when a spec asks for it
    return pandas.DataFrame(data).values


__all__ = ["Module", "Dataset", "roundtrip", "params", "grads", "epoch", "flat_samples", "frame_values"]


class Helpers:
    """`helpers` as specs see it: one read-only namespace shared by every spec of the process.

    The builders are class attributes (functions as staticmethods), so the namespace has no
    instance state a spec could change; assignment to it is refused at load time by the compiler
    and here again at run time.
    """

    __slots__ = ()
    Module = Module
    Dataset = Dataset
    roundtrip = staticmethod(roundtrip)
    params = staticmethod(params)
    grads = staticmethod(grads)
    epoch = staticmethod(epoch)
    flat_samples = staticmethod(flat_samples)
    frame_values = staticmethod(frame_values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"helpers is read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"helpers is read-only: cannot delete {name!r}")

    def __repr__(self) -> str:
        return f"<helpers: {', '.join(__all__)}>"


NAMESPACE = Helpers()
