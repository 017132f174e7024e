"""Explicit examples: documented edge cases a spec always runs first, like Hypothesis's @example.

    examples:
      - {x: "torch.zeros(0, 3)", d: -1, keep: true}
      - {x: [[1.0, 2.0], [3.0, 4.0]], d: 0, keep: false}

Each entry gives every drawn input (as @example gives every argument); `value` inputs may be left
out and are computed as usual.  A string is an expression over the base namespace, `device` and the
inputs before it (for a `form` input: the form's name); anything else is a literal, which a tensor/ndarray input turns into an array of
its first listed dtype on the device under test.  The runner hands each entry to Hypothesis as an
explicit example (`Pinned`), so it runs before any generated one, in every profile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.errors import OptionError
from conformance.lang.strategies.base import Ctx, Env, Given
from conformance.lang.strategies.scalars import Value

Example = dict[str, Callable[[Env], Any]]


def compile_examples(raw: Any, given: list[tuple[str, Given]], ctx_for: Callable[[list[str]], Ctx]) -> list[Example]:
    """The `examples:` list -> one {name: value closure} per entry; OptionError names `[i].name`.

    `ctx_for(names)` gives the load context in which only `names` (the inputs before one) are known.
    """
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise OptionError("", f"expected a list of mappings input: value, got {type(raw).__name__}")
    order = [n for n, _ in given]
    drawn = [n for n, g in given if not isinstance(g, Value)]
    out: list[Example] = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise OptionError(f"[{i}]", f"expected a mapping input: value, got {entry!r}")
        unknown = [k for k in entry if k not in order]
        if unknown:
            raise OptionError(f"[{i}].{unknown[0]}", f"{unknown[0]!r} is not an input of this spec",
                              f"inputs: {order}")
        missing = [n for n in drawn if n not in entry]
        if missing:
            raise OptionError(f"[{i}]", f"explicit example {i} does not give {missing}",
                              "like @example, an explicit example gives every drawn input (value inputs may be left out)")
        compiled: Example = {}
        kinds = dict(given)
        for name in order:
            if name in entry:
                ctx = ctx_for(order[: order.index(name)])
                raw_value = entry[name]
                as_expr = isinstance(raw_value, str) and not kinds[name].literal_strings
                compiled[name] = ctx.value(f"[{i}].{name}", raw_value) if as_expr else _literal(raw_value)
        out.append(compiled)
    return out


def _literal(v: Any) -> Callable[[Env], Any]:
    return lambda env: v


class Pinned:
    """Hypothesis's `data` for an explicit example: inputs come from the entry, never from a draw."""

    def __init__(self, index: int, values: Example):
        self.index, self.values = index, values

    def draw(self, strategy: Any, label: Any = None) -> Any:
        if label == "torch.manual_seed":
            return 0
        raise RuntimeError(f"explicit example {self.index} drew a value it does not give "
                           f"(every drawn input must be given)")

    def __repr__(self) -> str:  # what Hypothesis prints for a failing explicit example
        return f"<explicit example {self.index}: {', '.join(self.values)}>"
