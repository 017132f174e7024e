"""What every `given` kind shares: option compilation (literal or expression) and the draw protocol."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from conformance.errors import ExprError, OptionError
from conformance.lang import expr

Env = dict[str, Any]

@dataclass
class Ctx:
    """Load-time context: names defined so far and the namespace to resolve module chains."""

    scope: expr.Scope
    namespace: dict[str, Any]

    def value(self, key: str, raw: Any) -> Callable[[Env], Any]:
        """A literal stays a literal; a string becomes an expression over earlier `given` names."""
        if isinstance(raw, str):
            try:
                return expr.compile_expr(raw, expr.Scope(self.scope.known), self.namespace)
            except ExprError as e:
                raise OptionError(key, e.message, e.hint) from None
        if isinstance(raw, list):
            parts = [self.value(f"{key}[{i}]", r) for i, r in enumerate(raw)]
            return lambda env: [p(env) for p in parts]
        return lambda env: raw


def allowed_keys(kind: str, opts: dict, allowed: set[str]) -> None:
    for key in opts:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            raise OptionError(str(key), f"unknown option {key!r} for {kind}",
                              f"did you mean {close[0]!r}?" if close else f"allowed: {sorted(allowed)}")


def choose(data: Any, n: int, draws: int = 2) -> int:
    """An index in [0, n), near uniform, shrinking to 0.

    Hypothesis favours small choices: `sampled_from`/`integers(0, n - 1)` give index 0 a third to a
    half of the time, which drowns the other forms of a call in a 25-example run.  Here a 16-bit
    draw is scrambled (MurmurHash3's 64-bit finaliser) before taking it modulo n: the small values
    Hypothesis prefers land on every index alike, and 0, the value it shrinks to, is still index 0
    (with several draws: all of them 0).
    """
    if n <= 1:
        return 0
    x = 0
    for _ in range(draws):  # more draws: Hypothesis repeating one value between examples matters less
        x = _scramble(x ^ data.draw(st.integers(0, 2**16 - 1)))
    return x % n


def _scramble(x: int) -> int:
    mask = 2**64 - 1
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & mask
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & mask
    return x ^ (x >> 33)


# Every `given` kind by name; a subclass with a `kind` registers itself (one family per module).
GIVEN_KINDS: dict[str, type[Given]] = {}


class Given:
    """One named input.  Built once per spec at load time; `draw` runs per example."""

    kind = ""
    name = ""  # the input's name in `given` (set by build_one; stats and messages use it)
    literal_strings = False  # an explicit example's string for this input is a literal, not an expression

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if cls.kind:
            GIVEN_KINDS[cls.kind] = cls

    def draw(self, data: Any, env: Env, device: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def pin(self, value: Any, env: Env, device: Any) -> Any:
        """An explicit example's value for this input (see explicit.py); kinds convert literals here."""
        return value


def build_one(raw: Any, ctx: Ctx, key: str) -> Given:
    """One `given` entry (`{kind: {options}}`) -> its Given, or OptionError naming the bad key."""
    if not isinstance(raw, dict) or len(raw) != 1:
        raise OptionError(key, f"expected one input kind like {{tensor: {{...}}}}, got {raw!r}",
                          f"kinds: {sorted(GIVEN_KINDS)}")
    (kind, opts), = raw.items()
    if kind not in GIVEN_KINDS:
        close = difflib.get_close_matches(str(kind), sorted(GIVEN_KINDS), n=1)
        raise OptionError(str(kind), f"unknown input kind {kind!r}",
                          f"did you mean {close[0]!r}?" if close else f"kinds: {sorted(GIVEN_KINDS)}")
    g = GIVEN_KINDS[kind](opts if opts is not None else {}, ctx)  # type: ignore[call-arg]
    g.name = key
    return g
