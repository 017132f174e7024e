"""The coverage target: behaviour ids of behaviours.md (product owner's list), and coverage of it.

A copy ships in the package (`data/behaviours.md`, kept identical to `../shared/behaviours.md` by a
test); `CONFORMANCE_BEHAVIOURS=path` points at another list.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

_ITEM = re.compile(r"^- (B-[A-Z]+-\d+) (.*)$")
_HEADING = re.compile(r"^## (.+?)(?: \(|$| —)")


@dataclass(frozen=True)
class Behaviour:
    id: str
    area: str
    text: str


def _text() -> str:
    override = os.environ.get("CONFORMANCE_BEHAVIOURS")
    if override:
        return Path(override).read_text(encoding="utf-8")
    return resources.files("conformance.lang").joinpath("data/behaviours.md").read_text(encoding="utf-8")


@functools.cache
def load() -> tuple[Behaviour, ...]:
    out, area = [], ""
    for line in _text().splitlines():
        h = _HEADING.match(line)
        if h:
            area = h.group(1).strip()
            continue
        m = _ITEM.match(line)
        if m:
            out.append(Behaviour(m.group(1), area, m.group(2).strip()))
    return tuple(out)


def ids() -> frozenset[str]:
    return frozenset(b.id for b in load())


def coverage(specs: list) -> dict[str, list[str]]:
    """Every behaviour id -> the spec ids covering it (empty list: uncovered)."""
    cov: dict[str, list[str]] = {b.id: [] for b in load()}
    for s in specs:
        for c in s.covers:
            cov.setdefault(c, []).append(s.id)
    return cov
