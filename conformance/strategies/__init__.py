"""Hypothesis inputs from a spec's `given`: one small module per family, re-exported here.

`build_given` turns the `given` mapping into an ordered list of (name, Given); each later entry may
refer to earlier names in its options (`shape: "x.shape"`, `max: "x.dim() - 1"`).
"""

from __future__ import annotations

from typing import Any

from .base import Ctx, Given, OptionError
from .scalars import Booleans, Dtype, Floats, Integers, Lists, SampledFrom, Shape, Value
from .tensors import NDArray, Tensor

KINDS: dict[str, type[Given]] = {
    cls.kind: cls
    for cls in (Tensor, NDArray, Integers, Floats, Booleans, SampledFrom, Dtype, Shape, Value, Lists)
}

__all__ = ["KINDS", "Ctx", "Given", "OptionError", "build_one", "build_given"]


def build_one(raw: Any, ctx: Ctx, key: str) -> Given:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise OptionError(key, f"expected one input kind like {{tensor: {{...}}}}, got {raw!r}",
                          f"kinds: {sorted(KINDS)}")
    (kind, opts), = raw.items()
    if kind not in KINDS:
        import difflib
        close = difflib.get_close_matches(str(kind), sorted(KINDS), n=1)
        raise OptionError(str(kind), f"unknown input kind {kind!r}",
                          f"did you mean {close[0]!r}?" if close else f"kinds: {sorted(KINDS)}")
    return KINDS[kind](opts if opts is not None else {}, ctx)  # type: ignore[call-arg]
