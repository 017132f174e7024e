"""What one example drew, and counters over a spec's examples: the statistics view.

Every `given` kind that draws a side, a call form, a dim or a precise value notes it in the example's
`DrawLog`, kept in the example's namespace under a key no spec name can take (`LOG_KEY` is not an
identifier).  The side pool lives there too, so all shapes of one example draw from the same few
sides.  The runner folds each example's log into a `DrawStats`, which ends up in the results JSON.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

LOG_KEY = "<draws>"


@dataclass
class DrawLog:
    """One example: the shared side pool, the sides drawn, and named features (forms, dims, ...)."""

    pool: list[int] = field(default_factory=list)        # distinct sides, in the order first drawn
    shapes: list[tuple[int, ...]] = field(default_factory=list)  # each drawn shape (or lone side)
    forms: dict[str, str] = field(default_factory=dict)  # input name -> the form drawn for it
    features: set[str] = field(default_factory=set)      # e.g. "precise:x"

    def shape(self, shape: tuple[int, ...]) -> None:
        self.shapes.append(tuple(shape))

    def form(self, name: str, value: Any) -> None:
        self.forms[name] = str(value)

    def features_of_sides(self) -> set[str]:
        """Coincidences among the example's drawn sides."""
        sides = [s for shape in self.shapes for s in shape]
        out: set[str] = set()
        if len(sides) >= 2:
            out.add("shaped")
            if len(sides) != len(set(sides)):
                out.add("equal_sides")
            if any(len(s) != len(set(s)) for s in self.shapes):
                out.add("equal_sides_within_a_shape")
        if 0 in sides:
            out.add("size_0")
        if 1 in sides:
            out.add("size_1")
        return out


def log_of(env: dict[str, Any]) -> DrawLog:
    """The example's log, created on first use (tests draw without the runner)."""
    log = env.get(LOG_KEY)
    if log is None:
        log = env[LOG_KEY] = DrawLog()
    return log


SIDE_FEATURES = ("shaped", "equal_sides", "equal_sides_within_a_shape", "size_0", "size_1")


@dataclass
class DrawStats:
    """Counters over the examples a spec ran (after `assume`), for the results JSON."""

    examples: int = 0
    counts: Counter = field(default_factory=Counter)
    forms: dict[str, Counter] = field(default_factory=dict)

    def add(self, log: DrawLog | None) -> None:
        self.examples += 1
        if log is None:
            return
        self.counts.update(log.features_of_sides() | log.features)
        for name, value in log.forms.items():
            self.forms.setdefault(name, Counter())[value] += 1

    def as_dict(self) -> dict[str, Any]:
        """`{examples, shaped, equal_sides, ..., forms: {name: {form: n}}, features: {...}}`."""
        out: dict[str, Any] = {"examples": self.examples}
        out.update({k: self.counts.get(k, 0) for k in SIDE_FEATURES})
        extra = {k: n for k, n in sorted(self.counts.items()) if k not in SIDE_FEATURES}
        if extra:
            out["features"] = extra
        if self.forms:
            out["forms"] = {name: dict(sorted(c.items())) for name, c in sorted(self.forms.items())}
        return out
