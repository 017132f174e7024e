"""Scalar and structural inputs: integers, floats, booleans, sampled_from, dtype, shape, value, lists."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conformance.lang import dtypes
from conformance.lang.strategies.base import Ctx, Env, Given, OptionError, allowed_keys, build_one


class Integers(Given):
    kind = "integers"

    def __init__(self, opts: dict, ctx: Ctx):
        allowed_keys(self.kind, opts, {"min", "max"})
        self.lo = ctx.value("min", opts.get("min", -100))
        self.hi = ctx.value("max", opts.get("max", 100))

    def draw(self, data: Any, env: Env, device: Any) -> Any:
        return data.draw(st.integers(self.lo(env), self.hi(env)))


class Floats(Given):
    kind = "floats"

    def __init__(self, opts: dict, ctx: Ctx):
        allowed_keys(self.kind, opts, {"min", "max", "allow_nan", "allow_infinity", "width"})
        self.lo = ctx.value("min", opts.get("min", -1e3))
        self.hi = ctx.value("max", opts.get("max", 1e3))
        self.nan = bool(opts.get("allow_nan", False))
        self.inf = bool(opts.get("allow_infinity", False))
        self.width = int(opts.get("width", 64))

    def draw(self, data: Any, env: Env, device: Any) -> Any:
        return data.draw(floats_with_specials(self.lo(env), self.hi(env), self.width, self.nan, self.inf))


def floats_with_specials(lo: Any, hi: Any, width: Any, nan: bool, inf: bool, **kw: Any) -> st.SearchStrategy:
    """Floats within bounds, plus NaN and +-inf when asked.  Hypothesis refuses `allow_nan` and
    `allow_infinity` together with bounds, and bounds are always set here, so specials are added."""
    finite = st.floats(lo, hi, width=width, allow_nan=False, allow_infinity=False, **kw)
    specials = ([math.nan] if nan else []) + ([math.inf, -math.inf] if inf else [])
    return st.one_of(finite, st.sampled_from(specials)) if specials else finite


class Booleans(Given):
    kind = "booleans"

    def __init__(self, opts: Any, ctx: Ctx):
        if opts not in (None, {}, True):
            raise OptionError("booleans", "booleans takes no options", "write `b: {booleans: {}}`")

    def draw(self, data: Any, env: Env, device: Any) -> Any:
        return data.draw(st.booleans())


class SampledFrom(Given):
    kind = "sampled_from"

    def __init__(self, opts: Any, ctx: Ctx):
        if isinstance(opts, list) and not opts:
            raise OptionError("sampled_from", "sampled_from needs at least one value")
        if not isinstance(opts, list | str):
            raise OptionError("sampled_from", f"expected a list or an expression, got {opts!r}")
        # Elements of a literal list are literals (strings included); a string is an expression.
        self.values = (lambda env: opts) if isinstance(opts, list) else ctx.value("sampled_from", opts)

    def draw(self, data: Any, env: Env, device: Any) -> Any:
        values = list(self.values(env))
        if not values:
            raise ValueError("sampled_from: the expression gave no values to sample from")
        return data.draw(st.sampled_from(values))


class Dtype(Given):
    """A torch dtype drawn from a list of names/groups: `dt: {dtype: [float32, float64]}`."""

    kind = "dtype"

    def __init__(self, opts: Any, ctx: Ctx):
        try:
            self.choices = [dtypes.TORCH_DTYPES[n] for n in dtypes.expand(opts)]
        except ValueError as e:
            raise OptionError("dtype", str(e)) from None

    def draw(self, data: Any, env: Env, device: Any) -> Any:
        return data.draw(st.sampled_from(self.choices))


class ShapeOpts:
    """Shape bounds shared by `shape`, `tensor` and `ndarray`: a fixed list, bounds, or an expression."""

    KEYS = {"min_dims", "max_dims", "min_side", "max_side"}

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
        self.min_dims = ctx.value(f"{key}.min_dims", raw.get("min_dims", 0))
        self.max_dims = ctx.value(f"{key}.max_dims", raw.get("max_dims", 4))
        self.min_side = ctx.value(f"{key}.min_side", raw.get("min_side", 0))
        self.max_side = ctx.value(f"{key}.max_side", raw.get("max_side", 5))

    def draw(self, data: Any, env: Env) -> tuple[int, ...]:
        if self.fixed is not None:
            shape = self.fixed(env)
            return (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)
        lo, hi = self.min_dims(env), self.max_dims(env)
        return data.draw(hnp.array_shapes(min_dims=lo, max_dims=max(lo, hi),
                                          min_side=self.min_side(env), max_side=self.max_side(env)))


class Shape(Given):
    kind = "shape"

    def __init__(self, opts: Any, ctx: Ctx):
        self.shape = ShapeOpts(opts, ctx)

    def draw(self, data: Any, env: Env, device: Any) -> Any:
        return self.shape.draw(data, env)


class Value(Given):
    """A derived input, computed from earlier ones: `n: {value: "x.shape[0] * 2"}`."""

    kind = "value"

    def __init__(self, opts: Any, ctx: Ctx):
        self.fn = ctx.value("value", opts) if isinstance(opts, str) else (lambda env: opts)

    def draw(self, data: Any, env: Env, device: Any) -> Any:
        return self.fn(env)


class Lists(Given):
    """A list of inputs of one kind: `ts: {lists: {of: {tensor: {...}}, min_size: 1, max_size: 4}}`."""

    kind = "lists"

    def __init__(self, opts: dict, ctx: Ctx):
        allowed_keys(self.kind, opts, {"of", "min_size", "max_size"})
        if "of" not in opts:
            raise OptionError("of", "lists needs `of:` (the kind of each element)")
        self.of = build_one(opts["of"], ctx, "of")
        self.lo = ctx.value("min_size", opts.get("min_size", 0))
        self.hi = ctx.value("max_size", opts.get("max_size", 4))

    def draw(self, data: Any, env: Env, device: Any) -> Any:
        n = data.draw(st.integers(self.lo(env), self.hi(env)))
        return [self.of.draw(data, env, device) for _ in range(n)]
