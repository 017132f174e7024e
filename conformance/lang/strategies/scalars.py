"""Scalar and structural inputs: integers, floats, booleans, sampled_from, dtype, shape, value, lists."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from conformance.lang import dtypes
from conformance.lang.strategies import precision
from conformance.lang.strategies.base import Ctx, Env, Given, OptionError, allowed_keys, build_one
from conformance.lang.strategies.shapes import ShapeOpts
from conformance.lang.strategies.stats import log_of


class Integers(Given):
    """`n: {integers: {min, max, bias: boundaries, precision: int64}}`.

    `bias: boundaries` draws 0, min, max, -1, 1, min + 1, max - 1 (those in range) about half the time;
    `precision: int64` (or int32, int16) mixes in values the next narrower integer type cannot hold
    (within min/max when given; the default bounds do not exclude them).
    """

    kind = "integers"

    def __init__(self, opts: dict, ctx: Ctx):
        allowed_keys(self.kind, opts, {"min", "max", "bias", "precision"})
        self.lo = ctx.value("min", opts.get("min", -100))
        self.hi = ctx.value("max", opts.get("max", 100))
        self.bias = opts.get("bias")
        if self.bias not in (None, "boundaries"):
            raise OptionError("bias", f"expected boundaries, got {self.bias!r}")
        self.precision = _precision(opts, ("int64", "int32", "int16"))
        self.bounded = ("min" in opts, "max" in opts)

    def draw(self, data: Any, env: Env, device: Any) -> Any:
        lo, hi = self.lo(env), self.hi(env)
        if self.precision:
            values = precision.precise_values(self.precision, lo if self.bounded[0] else None,
                                              hi if self.bounded[1] else None)
            if values:
                v = data.draw(precision.mix_precise(st.integers(lo, hi), values))
                if v in values:
                    log_of(env).features.add(f"precise:{self.name}")
                return v
        if self.bias:
            return precision.biased_int(data, int(lo), int(hi), precision.boundaries(int(lo), int(hi)))
        return data.draw(st.integers(lo, hi))


def _precision(opts: dict, allowed: tuple[str, ...]) -> str | None:
    p = opts.get("precision")
    if p is not None and p not in allowed:
        raise OptionError("precision", f"expected one of {list(allowed)}, got {p!r}",
                          "the dtype whose values should be told apart from a narrower one")
    return p


class Floats(Given):
    kind = "floats"

    def __init__(self, opts: dict, ctx: Ctx):
        allowed_keys(self.kind, opts, {"min", "max", "allow_nan", "allow_infinity", "width", "precision"})
        self.lo = ctx.value("min", opts.get("min", -1e3))
        self.hi = ctx.value("max", opts.get("max", 1e3))
        self.nan = bool(opts.get("allow_nan", False))
        self.inf = bool(opts.get("allow_infinity", False))
        self.width = int(opts.get("width", 64))
        # `precision: float64` mixes in values float32 cannot hold (1 + 2**-40, 0.1, 2**40 + 1, ...)
        self.precision = _precision(opts, ("float64", "float32"))
        self.bounded = ("min" in opts, "max" in opts)

    def draw(self, data: Any, env: Env, device: Any) -> Any:
        base = floats_with_specials(self.lo(env), self.hi(env), self.width, self.nan, self.inf)
        if self.precision:
            values = precision.precise_values(self.precision, self.lo(env) if self.bounded[0] else None,
                                              self.hi(env) if self.bounded[1] else None)
            v = data.draw(precision.mix_precise(base, values))
            if v in values:
                log_of(env).features.add(f"precise:{self.name}")
            return v
        return data.draw(base)


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
