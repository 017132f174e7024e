"""The faults that hide from simple draws (conformance/tools/faults/draws.py) are killed, in-process.

Each fault shows only for one kind of input: equal sides or square operands, one spelling of a call
(a keyword, a list size, -1 not last, a negative dim, the function instead of the method), a value
that float32/int32 cannot hold, a non-contiguous or empty input.  With the fault active (a real patch
of torch, undone after), every spec it names must fail; with none active, those specs pass.  Specs run
through the real loader and runner, under the `mutate` profile (the ci examples, no shrinking).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from hypothesis import settings

from conformance.engine import profiles, runner
from conformance.lang import spec as spec_mod
from conformance.tools import faults

ROOT = Path(__file__).resolve().parent.parent
MODULE = "conformance.tools.faults.draws"

# the classes of issue 14, by a word each fault's name carries
CLASSES = {
    "coincidence": ("square", "equal-sides", "equal-sizes", "same-shapes", "by-size"),
    "call form": ("keyword", "list-size", "varargs", "moved-last", "method", "function", "out-ignores"),
    "negative dim": ("negative",),
    "precision": ("-via-",),
    "non-contiguous or empty": ("noncontiguous", "empty"),
}


def draw_faults() -> dict[str, faults.Fault]:
    return {n: f for n, f in faults.catalogue().items() if f.make.__module__ == MODULE}


@functools.cache
def specs_by_id() -> dict[str, spec_mod.Spec]:
    paths = [p for p in sorted((ROOT / "specs").iterdir()) if p.is_dir() and p.name != "families"]
    specs, errors = spec_mod.load_paths(paths)
    assert errors == [], "\n".join(map(str, errors))
    return {s.id: s for s in specs}


def run(spec: spec_mod.Spec, profile: str) -> BaseException | None:
    """The spec's failure on the CPU under `profile`, or None when it passes."""
    previous = settings.get_current_profile_name()
    profiles.register()
    settings.load_profile(profile)
    try:
        runner.build_test(spec, "cpu", runner.Record())()
    except Exception as e:  # noqa: BLE001 - any failure of the spec is what we look for
        return e
    finally:
        settings.load_profile(previous)
    return None


def test_at_least_twenty_faults_cover_every_class_and_name_existing_specs() -> None:
    cat = draw_faults()
    assert len(cat) >= 20, sorted(cat)
    for cls, words in CLASSES.items():
        members = [n for n in cat if any(w in n for w in words)]
        assert len(members) >= 2, (cls, members)
    for name, f in cat.items():
        assert f.breaks and all(b in specs_by_id() for b in f.breaks), (name, f.breaks)
        assert f.description and f.target.startswith("torch.")


def test_the_specs_these_faults_break_pass_without_a_fault() -> None:
    named = sorted({b for f in draw_faults().values() for b in f.breaks})
    failures = {i: f"{type(e).__name__}: {str(e)[:300]}" for i in named if (e := run(specs_by_id()[i], "ci"))}
    assert failures == {}


@pytest.mark.parametrize("name", sorted(draw_faults()))
def test_fault_is_killed_by_every_spec_it_names(name: str) -> None:
    fault = draw_faults()[name]
    undo = faults.activate(name)
    try:
        outcome = {i: run(specs_by_id()[i], "mutate") for i in fault.breaks}
    finally:
        undo()
    survived = [i for i, e in outcome.items() if e is None]
    assert survived == [], f"{name} survives {survived}"
    # the spec failed on torch's behaviour, not because it could not be loaded or run
    assert not [i for i, e in outcome.items() if type(e).__name__ == "SpecError"]
