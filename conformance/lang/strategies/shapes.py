"""Shapes and sides that make structural coincidences likely.

Sides are not drawn independently: every example keeps a small pool of sides (in its DrawLog), and
each new side either reuses one of them or draws a fresh one (which joins the pool).  So within one
example equal sides, square matrices, a side equal to another tensor's side, and sizes 0 and 1 come
up often, while distinct sides still do.  Shrinking stays good: "reuse the first pooled side" is the
smallest choice, and a fresh side shrinks towards its lower bound, so a failure shrinks towards few,
small, equal sides.

Relating inputs explicitly: `same_as: x` (x's shape), `square: true` (the last two sides equal),
`broadcastable_with: x` (a shape that broadcasts against x's: per trailing dim the same side, 1, or
any side where x has 1; sometimes more or fewer dims).  `sides: independent` opts out of the pool.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conformance.lang.strategies.base import Ctx, Env, Given, OptionError, allowed_keys
from conformance.lang.strategies.stats import log_of

POOL_REUSE = 3  # at most this many pooled sides compete with a fresh draw


def side(data: Any, env: Env, lo: int, hi: int) -> int:
    """One side in [lo, hi]: a pooled side of this example (1/3 to 3/7 of the time) or a fresh one.

    Drawn with Hypothesis integers, which shrink towards their first choice: 0 is "draw fresh" and a
    fresh side shrinks towards 1, so a failure shrinks towards small, all-ones shapes."""
    lo, hi = int(lo), int(hi)
    if hi < lo:
        raise ValueError(f"side bounds are empty: min {lo} > max {hi}")
    log = log_of(env)
    eligible = [s for s in log.pool if lo <= s <= hi][:POOL_REUSE]
    if eligible:
        # 1..k reuse a pooled side; 0 and k+1..2k draw a fresh one
        choice = data.draw(st.integers(0, 2 * len(eligible)))
        if 1 <= choice <= len(eligible):
            return eligible[choice - 1]
    s = fresh_side(data, lo, hi)
    if s not in log.pool:
        log.pool.append(s)
    return s


def fresh_side(data: Any, lo: int, hi: int) -> int:
    """A side in [lo, hi]: small sides first (what it shrinks to), 0 last and a third as often as the
    others, so that not every other multi-dim tensor is empty.  Hypothesis's liking for its first
    choice lands on 1 (or lo), not on an empty side."""
    if hi - lo >= 64:
        return data.draw(st.integers(lo, hi))
    if lo == 0 and hi >= 1:
        order = [*range(1, hi + 1), 0, *range(1, hi + 1)]
    else:
        order = list(range(lo, hi + 1))
    return order[data.draw(st.integers(0, len(order) - 1))]


def rank(data: Any, lo: int, hi: int) -> int:
    """A number of dims in [lo, hi], shrinking to 1-dim before 0-dim: Hypothesis's liking for its first
    choice would otherwise make every other input a 0-dim tensor."""
    order = list(range(lo, max(lo, hi) + 1))
    if lo == 0 and hi >= 1:
        order[0], order[1] = 1, 0
    return order[data.draw(st.integers(0, len(order) - 1))]


def shape_of(v: Any) -> tuple[int, ...]:
    """The shape of a tensor/ndarray, or a shape given as an int or a sequence of ints."""
    if isinstance(v, torch.Tensor | np.ndarray):
        return tuple(int(s) for s in v.shape)
    if isinstance(v, int):
        return (v,)
    return tuple(int(s) for s in v)


class ShapeOpts:
    """Shape bounds shared by `shape`, `tensor` and `ndarray`: a fixed list, bounds, or an expression."""

    KEYS = {"min_dims", "max_dims", "min_side", "max_side", "sides", "square", "same_as", "broadcastable_with"}

    def __init__(self, raw: Any, ctx: Ctx, key: str = "shape"):
        self.fixed = None
        if raw is None:
            raw = {}
        if isinstance(raw, list | str):
            self.fixed = ctx.value(key, raw)
            return
        if not isinstance(raw, dict):
            raise OptionError(key, f"expected a list, bounds or an expression, got {raw!r}")
        allowed_keys(key, raw, self.KEYS)
        if "same_as" in raw:
            extra = sorted(set(raw) - {"same_as"})
            if extra:
                raise OptionError(f"{key}.same_as", f"same_as fixes the whole shape; it cannot be combined with {extra}")
            if not isinstance(raw["same_as"], str):
                raise OptionError(f"{key}.same_as", f"expected the name of an earlier input, got {raw['same_as']!r}")
            self.fixed = ctx.value(f"{key}.same_as", raw["same_as"])
            return
        sides = raw.get("sides", "shared")
        if sides not in ("shared", "independent"):
            raise OptionError(f"{key}.sides", f"expected shared or independent, got {sides!r}")
        self.shared = sides == "shared"
        self.square = raw.get("square", False)
        if self.square not in (True, False):
            raise OptionError(f"{key}.square", f"expected true or false, got {self.square!r}")
        self.broadcast = (ctx.value(f"{key}.broadcastable_with", raw["broadcastable_with"])
                          if "broadcastable_with" in raw else None)
        if self.broadcast is not None and self.square:
            raise OptionError(f"{key}.square", "square and broadcastable_with cannot be combined")
        self.min_dims = ctx.value(f"{key}.min_dims", raw.get("min_dims", 2 if self.square else 0))
        self.max_dims = ctx.value(f"{key}.max_dims", raw.get("max_dims", 4))
        self.min_side = ctx.value(f"{key}.min_side", raw.get("min_side", 0))
        self.max_side = ctx.value(f"{key}.max_side", raw.get("max_side", 5))
        self.has_dims = "min_dims" in raw or "max_dims" in raw

    def draw(self, data: Any, env: Env) -> tuple[int, ...]:
        if self.fixed is not None:
            return shape_of(self.fixed(env))
        lo_side, hi_side = int(self.min_side(env)), int(self.max_side(env))
        if self.broadcast is not None:
            shape = self._broadcastable(data, env, shape_of(self.broadcast(env)), lo_side, hi_side)
        elif not self.shared:
            lo, hi = self.min_dims(env), self.max_dims(env)
            shape = data.draw(hnp.array_shapes(min_dims=lo, max_dims=max(lo, hi), min_side=lo_side, max_side=hi_side))
        else:
            lo, hi = int(self.min_dims(env)), int(self.max_dims(env))
            if self.square:
                lo = max(lo, 2)
            ndim = rank(data, lo, hi)
            sides = [side(data, env, lo_side, hi_side) for _ in range(ndim - (1 if self.square else 0))]
            if self.square:
                sides.append(sides[-1])
            shape = tuple(sides)
        log_of(env).shape(shape)
        return shape

    def _broadcastable(self, data: Any, env: Env, other: tuple[int, ...], lo_side: int, hi_side: int) -> tuple[int, ...]:
        """Align on the right; per dim: the same side (the smallest choice), 1, or any side where `other` has 1."""
        n = len(other)
        if self.has_dims:
            lo, hi = int(self.min_dims(env)), int(self.max_dims(env))
        else:
            lo, hi = 0, n + 1
        ndim = rank(data, max(lo, 0), hi)
        out: list[int] = []
        for i in range(ndim):
            j = n - ndim + i  # the aligned dim of `other`, if any
            if j < 0:  # a leading dim `other` lacks: any side
                out.append(side(data, env, lo_side, hi_side))
                continue
            theirs = other[j]
            how = data.draw(st.integers(0, 2))
            if how == 0 or (how == 2 and theirs != 1):
                out.append(theirs)
            elif how == 1:
                out.append(1)
            else:
                out.append(side(data, env, lo_side, hi_side))
        return tuple(out)


class Side(Given):
    """One size drawn from the example's side pool: `n: {side: {min: 1, max: 5}}`.

    Use it where a spec builds shapes from integers (`shape: "(n, m)"`): n and m then coincide as
    often as the sides of a drawn shape do.
    """

    kind = "side"

    def __init__(self, opts: Any, ctx: Ctx):
        opts = opts if opts is not None else {}
        if not isinstance(opts, dict):
            raise OptionError("side", f"expected a mapping like {{min: 1, max: 5}}, got {opts!r}")
        allowed_keys(self.kind, opts, {"min", "max"})
        self.lo = ctx.value("min", opts.get("min", 0))
        self.hi = ctx.value("max", opts.get("max", 5))

    def draw(self, data: Any, env: Env, device: Any) -> int:
        s = side(data, env, self.lo(env), self.hi(env))
        log_of(env).shape((s,))
        return s
