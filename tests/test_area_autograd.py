"""Autograd specs (B-AG-1..7): the clean run passes, and each autograd fault fails exactly the specs listed.

Every run is the real suite in a pytest subprocess (the `suite` fixture) on the CPU with the ci profile.
"""

from __future__ import annotations

import pytest
from conftest import SPECS, failed_ids, statuses

from conformance import faults, spec

AREA = SPECS / "autograd"
MODULE = "conformance.faults.autograd"

# fault -> the specs that must notice it (and no others)
CAUGHT = {
    "pow-grad-scaled": {
        "autograd/square-grad", "autograd/square-grad-scalar", "autograd/partial-derivatives",
        "autograd/chain-rule", "autograd/chain-rule-seed", "autograd/grad-accumulates",
        "autograd/training-step-matches-cpu",
    },
    "pow-grad-exponent-off-by-one": {"autograd/gradcheck-binary"},
    "mul-grad-swapped": {"autograd/partial-derivatives"},
    "backward-overwrites": {"autograd/grad-accumulates", "autograd/grad-accumulates-functional"},
    "implicit-grad-ones": {"autograd/backward-non-scalar-needs-gradient"},
    "exp-not-recorded": {"autograd/grad-fn-and-leaves", "autograd/gradcheck-unary"},
    "tanh-grad-wrong": {"autograd/gradcheck-unary"},
}


def area_specs() -> list[spec.Spec]:
    specs, errors = spec.load_paths([AREA])
    assert not errors, errors
    return specs


def test_clean_run_passes(suite) -> None:
    doc = suite([AREA])
    got = statuses(doc)
    assert set(got) == {s.id for s in area_specs()}
    assert set(got.values()) == {"passed"}, doc["_output"]
    assert doc["exit_status"] == 0


@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_fault_is_caught_by_exactly_these_specs(suite, name: str) -> None:
    doc = suite([AREA], name)
    assert failed_ids(doc) == CAUGHT[name], doc["_output"]
    breaks = set(faults.catalogue()[name].breaks)
    for r in doc["results"]:
        if r["status"] == "failed":
            assert breaks & set(r["covers"]), f"{r['spec_id']} covers none of {sorted(breaks)}"
            assert r["failure_kind"] == "check", r["error"]  # a documented property failed, not a crash


def test_every_autograd_fault_is_tested_and_every_spec_caught() -> None:
    mine = {n for n, f in faults.catalogue().items() if f.make.__module__ == MODULE}
    assert mine == set(CAUGHT)
    assert set().union(*CAUGHT.values()) == {s.id for s in area_specs()}
