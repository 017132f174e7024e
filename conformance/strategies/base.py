"""What every `given` kind shares: option compilation (literal or expression) and the draw protocol."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import expr
from ..errors import ExprError

Env = dict[str, Any]


class OptionError(Exception):
    """A bad option of a `given` entry: the loader adds file, line and key."""

    def __init__(self, key: str, message: str, hint: str = ""):
        super().__init__(message)
        self.key, self.message, self.hint = key, message, hint


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
            import difflib
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            raise OptionError(str(key), f"unknown option {key!r} for {kind}",
                              f"did you mean {close[0]!r}?" if close else f"allowed: {sorted(allowed)}")


class Given:
    """One named input.  Built once per spec at load time; `draw` runs per example."""

    kind = ""

    def draw(self, data: Any, env: Env, device: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError
