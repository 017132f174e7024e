"""Call forms as inputs: a spec draws *how* it calls a function, and its steps use the drawn form.

The documentation promises several equivalent spellings of one call (method or function or `out=`,
a size as varargs or as a tuple, an inferred -1 anywhere, an argument by position or by keyword, a
default given or left out); a backend can get any one of them wrong.  The kinds here draw the form
as plain data (strings, tuples, dicts), so a failing example records and reproduces it:

  how:  {form: [method, function, out]}                       -> "method" | "function" | "out"
  args: {size_args: {of: shape, infer: any}}                  -> (2, -1, 4) | ((2, -1, 4),) | ...
  c:    {call: {params: {dim: d, keepdim: keep}, defaults: {keepdim: false}}}
                                                              -> ((d,), {"keepdim": keep}) | ...

used as `x.sum(d) if how == "method" else torch.sum(x, d)`, `x.view(*args)`,
`torch.sum(x, *c[0], **c[1])`.  Each draw's form is counted in the statistics.
"""

from __future__ import annotations

from typing import Any

from conformance.lang.strategies.base import Ctx, Env, Given, OptionError, allowed_keys, choose
from conformance.lang.strategies.shapes import shape_of
from conformance.lang.strategies.stats import log_of


def pick(data: Any, env: Env, n: int) -> int:
    """Which of n call forms: near uniform, shrinking to the first (see base.choose)."""
    return choose(data, n)


class Form(Given):
    """`how: {form: [method, function, out]}`: one of the listed forms (literals), the first the simplest."""

    kind = "form"
    literal_strings = True  # `how: method` in an explicit example names the form

    def __init__(self, opts: Any, ctx: Ctx):
        if not isinstance(opts, list) or not opts:
            raise OptionError("form", f"expected a non-empty list of forms, got {opts!r}",
                              "e.g. form: [method, function, out]")
        if len(set(map(repr, opts))) != len(opts):
            raise OptionError("form", f"forms are listed twice: {opts!r}")
        self.forms = list(opts)

    def draw(self, data: Any, env: Env, device: Any) -> Any:
        f = self.forms[pick(data, env, len(self.forms))]
        log_of(env).form(self.name, f)
        return f

    def pin(self, value: Any, env: Env, device: Any) -> Any:
        if value not in self.forms:
            raise ValueError(f"explicit example: {value!r} is not one of the forms {self.forms} of {self.name!r}")
        return value


PACKS = ("varargs", "tuple", "list")


class SizeArgs(Given):
    """The positional arguments that pass a size: `x.view(*s)`, `torch.zeros(*s, dtype=dt)`.

    `of`: the size (a shape expression).  `pack`: the allowed spellings, drawn (default varargs and
    tuple): varargs `(2, 3)`, tuple `((2, 3),)`, list `([2, 3],)`; an empty size is never varargs
    (`torch.zeros()` is not `torch.zeros(())`).  `infer`: `never` (default), `any` or `always` put -1
    at a drawn position (view/reshape infer it); never where another side is 0 (that is ambiguous).
    """

    kind = "size_args"

    def __init__(self, opts: Any, ctx: Ctx):
        if not isinstance(opts, dict):
            raise OptionError("size_args", f"expected a mapping like {{of: shape}}, got {opts!r}")
        allowed_keys(self.kind, opts, {"of", "pack", "infer"})
        if "of" not in opts:
            raise OptionError("size_args", "size_args needs `of:` (the size, e.g. a shape input or x.shape)")
        self.of = ctx.value("of", opts["of"])
        pack = opts.get("pack", ["varargs", "tuple"])
        pack = [pack] if isinstance(pack, str) else pack
        if not isinstance(pack, list) or not pack or any(p not in PACKS for p in pack):
            raise OptionError("pack", f"expected a list of {list(PACKS)}, got {opts.get('pack')!r}")
        self.pack = pack
        self.infer = opts.get("infer", "never")
        if self.infer not in ("never", "any", "always"):
            raise OptionError("infer", f"expected never, any or always, got {self.infer!r}")

    def draw(self, data: Any, env: Env, device: Any) -> tuple:
        size = list(shape_of(self.of(env)))
        where = "none"
        if self.infer != "never":
            # -1 may stand for side i only when no other side is 0
            spots = [i for i in range(len(size)) if all(s != 0 for j, s in enumerate(size) if j != i)]
            if spots:
                choices = spots if self.infer == "always" else [None, *spots]
                at = choices[pick(data, env, len(choices))]
                if at is not None:
                    size[at] = -1
                    where = ("last" if at == len(size) - 1 else "first" if at == 0 else "inner")
        packs = [p for p in self.pack if size or p != "varargs"] or ["tuple"]
        pack = packs[pick(data, env, len(packs))]
        log_of(env).form(self.name, f"{pack}, -1 {where}" if self.infer != "never" else pack)
        if pack == "varargs":
            return tuple(size)
        return (tuple(size),) if pack == "tuple" else (list(size),)

    def pin(self, value: Any, env: Env, device: Any) -> tuple:
        return tuple(value)


class Call(Given):
    """Positional and keyword arguments of one call, in a drawn form: `f(x, *c[0], **c[1])`.

    `params`: the parameters that may go by position, in signature order (name: value expression);
    a prefix goes by position, the rest by keyword.  `keyword_only`: always by keyword.  `defaults`:
    name: default; a keyword parameter whose value equals its default may be left out.
    `min_positional`: how many params must go by position.  Every valid spelling is equally likely.
    """

    kind = "call"

    def __init__(self, opts: Any, ctx: Ctx):
        if not isinstance(opts, dict):
            raise OptionError("call", f"expected a mapping like {{params: {{dim: d}}}}, got {opts!r}")
        allowed_keys(self.kind, opts, {"params", "keyword_only", "defaults", "min_positional"})
        params, kwonly = opts.get("params") or {}, opts.get("keyword_only") or {}
        for key, m in (("params", params), ("keyword_only", kwonly), ("defaults", opts.get("defaults") or {})):
            if not isinstance(m, dict):
                raise OptionError(key, f"expected a mapping name: value, got {m!r}")
        if not params and not kwonly:
            raise OptionError("call", "call needs `params` or `keyword_only`")
        both = set(params) & set(kwonly)
        if both:
            raise OptionError("keyword_only", f"{sorted(both)} are listed in params and keyword_only")
        self.params = [(str(k), ctx.value(f"params.{k}", v)) for k, v in params.items()]
        self.kwonly = [(str(k), ctx.value(f"keyword_only.{k}", v)) for k, v in kwonly.items()]
        defaults = opts.get("defaults") or {}
        unknown = set(defaults) - set(params) - set(kwonly)
        if unknown:
            raise OptionError("defaults", f"defaults name unknown parameters {sorted(unknown)}",
                              f"parameters: {[k for k, _ in self.params + self.kwonly]}")
        self.defaults = {str(k): ctx.value(f"defaults.{k}", v) for k, v in defaults.items()}
        self.min_positional = opts.get("min_positional", 0)
        if not isinstance(self.min_positional, int) or not 0 <= self.min_positional <= len(self.params):
            raise OptionError("min_positional", f"expected 0..{len(self.params)}, got {self.min_positional!r}")

    def _omittable(self, name: str, value: Any, env: Env) -> bool:
        if name not in self.defaults:
            return False
        default = self.defaults[name](env)
        try:
            return type(value) is type(default) and bool(value == default)
        except (TypeError, RuntimeError, ValueError):
            return False

    def forms(self, env: Env) -> list[tuple[int, tuple[str, ...]]]:
        """Every valid spelling as (how many params go by position, the omitted names), simplest
        (everything by position, nothing left out) first."""
        values = [(k, f(env)) for k, f in self.params] + [(k, f(env)) for k, f in self.kwonly]
        omittable = [k for k, v in values if self._omittable(k, v, env)]
        out: list[tuple[int, tuple[str, ...]]] = []
        for npos in range(len(self.params), self.min_positional - 1, -1):
            keyword = [k for k, _ in values[npos:]]
            free = [k for k in keyword if k in omittable]
            for mask in range(2 ** len(free)):
                out.append((npos, tuple(k for i, k in enumerate(free) if mask >> i & 1)))
        return out

    def draw(self, data: Any, env: Env, device: Any) -> tuple[tuple, dict]:
        # each spelling equally likely: a form that only one spelling reaches is not drowned out
        forms = self.forms(env)
        npos, omitted = forms[pick(data, env, len(forms))]
        values = [(k, f(env)) for k, f in self.params]
        args = tuple(v for _, v in values[:npos])
        kwargs = {k: v for k, v in values[npos:] + [(k, f(env)) for k, f in self.kwonly] if k not in omitted}
        shown = [k for k, _ in values[:npos]] + [f"{k}=" for k in kwargs]
        log_of(env).form(self.name, "(" + ", ".join(shown) + ")")
        return args, kwargs

    def pin(self, value: Any, env: Env, device: Any) -> tuple[tuple, dict]:
        args, kwargs = value
        return tuple(args), dict(kwargs)
