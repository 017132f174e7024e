"""Dims and indices of an earlier input, biased towards the boundaries and drawn in both forms.

`d: {dim: {of: x}}` is a valid dim of x: the first and the last dim about half the time, written
positive or negative (`negative: any`, the default; `true`/`false` fix the form).  `insert: true`
gives the dims of a result with one more dim (unsqueeze, stack).  A 0-dim x has dims 0 and -1, as
torch accepts.

`i: {index: {of: x, dim: d}}` is a valid index into dim d of x (0 by default): 0, the last index
and, with `end: true`, the length itself (a slice stop, an insert position) about half the time;
positive or negative.  An empty dim has no index: the example is rejected (raise `min_side`).
"""

from __future__ import annotations

from typing import Any

from hypothesis import reject

from conformance.lang.strategies import precision
from conformance.lang.strategies.base import Ctx, Env, Given, OptionError, allowed_keys, choose
from conformance.lang.strategies.shapes import shape_of
from conformance.lang.strategies.stats import log_of


def _negative_option(opts: dict) -> Any:
    neg = opts.get("negative", "any")
    if neg not in ("any", True, False):
        raise OptionError("negative", f"expected any, true or false, got {neg!r}",
                          "any draws both forms; true/false fix the sign")
    return neg


def _sign(data: Any, neg: Any) -> bool:
    return bool(choose(data, 2)) if neg == "any" else bool(neg)


def _of(opts: dict, ctx: Ctx, kind: str) -> Any:
    if "of" not in opts:
        raise OptionError(kind, f"{kind} needs `of:` (an earlier input, or an expression giving a shape)",
                          f"e.g. {{{kind}: {{of: x}}}}")
    return ctx.value("of", opts["of"])


def ndim_of(v: Any) -> int:
    """x.dim() for a tensor or an array; an int is taken as the number of dims."""
    if isinstance(v, int):
        return v
    return len(shape_of(v))


class Dim(Given):
    kind = "dim"

    def __init__(self, opts: Any, ctx: Ctx):
        if not isinstance(opts, dict):
            raise OptionError("dim", f"expected a mapping like {{of: x}}, got {opts!r}")
        allowed_keys(self.kind, opts, {"of", "negative", "insert"})
        self.of = _of(opts, ctx, "dim")
        self.negative = _negative_option(opts)
        self.insert = opts.get("insert", False)
        if self.insert not in (True, False):
            raise OptionError("insert", f"expected true or false, got {self.insert!r}")

    def draw(self, data: Any, env: Env, device: Any) -> int:
        n = ndim_of(self.of(env)) + (1 if self.insert else 0)
        n = max(n, 1)  # a 0-dim tensor accepts dim 0 and -1
        p = precision.biased_int(data, 0, n - 1, [0, n - 1] if n > 1 else [0])
        neg = _sign(data, self.negative)
        place = "first" if p == 0 else "last" if p == n - 1 else "inner"
        log_of(env).form(self.name, f"{'negative' if neg else 'positive'} {place}")
        return p - n if neg else p


class Index(Given):
    kind = "index"

    def __init__(self, opts: Any, ctx: Ctx):
        if not isinstance(opts, dict):
            raise OptionError("index", f"expected a mapping like {{of: x, dim: d}}, got {opts!r}")
        allowed_keys(self.kind, opts, {"of", "dim", "negative", "end"})
        self.of = _of(opts, ctx, "index")
        self.dim = ctx.value("dim", opts.get("dim", 0))
        self.negative = _negative_option(opts)
        self.end = opts.get("end", False)
        if self.end not in (True, False):
            raise OptionError("end", f"expected true or false, got {self.end!r}")

    def draw(self, data: Any, env: Env, device: Any) -> int:
        shape = shape_of(self.of(env))
        length = shape[int(self.dim(env))] if shape else 1
        last = length if self.end else length - 1
        if last < 0:
            reject()  # an empty dim has no index
        p = precision.biased_int(data, 0, last, precision.boundaries(0, last))
        neg = _sign(data, self.negative) and p < length  # the end position has no negative form
        place = "first" if p == 0 else "end" if p == length else "last" if p == length - 1 else "inner"
        log_of(env).form(self.name, f"{'negative' if neg else 'positive'} {place}")
        return p - length if neg else p
