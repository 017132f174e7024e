"""In-place `_` ops (B-IP-1..4): the clean run passes, and each in-place fault fails exactly the specs
listed.  Every run is the real suite in a pytest subprocess (the `suite` fixture) on the CPU.
"""

from __future__ import annotations

import pytest
from conftest import SPECS, failed_ids, statuses

from conformance.lang import spec
from conformance.tools import faults

AREA = SPECS / "inplace"
MODULE = "conformance.tools.faults.inplace"

# fault -> the specs that must fail with it active (and no others).  A write that never reaches self
# also skips the version bump and the leaf check, so the autograd specs notice those faults too.
CAUGHT = {
    "add_-returns-new": {"inplace/add_", "inplace/add-forms-agree", "inplace/write-through-slice-view",
                         "inplace/leaf-requires-grad-raises", "inplace/version-counter-bumps"},
    "mul_-returns-copy": {"inplace/mul_"},
    "sub_-ignores-alpha": {"inplace/sub_"},
    "div_-int-truncates": {"inplace/div_-int-needs-rounding-mode"},
    "div_-ignores-rounding-mode": {"inplace/div_-float", "inplace/div_-int-needs-rounding-mode"},
    "fill_-bypasses-autograd": {"inplace/fill_", "inplace/leaf-requires-grad-raises",
                                "inplace/version-counter-bumps"},
    # on an empty tensor the faulty zero_ writes nothing at all: no version bump, no leaf error
    "zero_-first-element-only": {"inplace/zero_", "inplace/leaf-requires-grad-raises",
                                 "inplace/version-counter-bumps"},
    "copy_-strided-dest-lost": {"inplace/copy_", "inplace/write-through-transposed-view",
                                "inplace/leaf-requires-grad-raises", "inplace/version-counter-bumps"},
    "clamp_-swapped-bounds": {"inplace/clamp_"},
    "add-out-ignored": {"inplace/add-forms-agree"},
}


def area_ids() -> set[str]:
    specs, errors = spec.load_paths([AREA])
    assert not errors, errors
    return {s.id for s in specs}


def test_clean_run_passes(suite) -> None:
    doc = suite([AREA])
    got = statuses(doc)
    assert set(got) == area_ids()
    assert set(got.values()) == {"passed"}, doc["_output"]
    assert doc["exit_status"] == 0
    # Every behaviour of the area is covered by a spec that ran.
    covered = {b for r in doc["results"] for b in r["covers"]}
    assert {"B-IP-1", "B-IP-2", "B-IP-3", "B-IP-4"} <= covered


@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_fault_is_caught_by_exactly_these_specs(suite, name: str) -> None:
    doc = suite([AREA], name)
    assert doc["environment"]["fault"] == name
    assert failed_ids(doc) == CAUGHT[name], doc["_output"]
    assert doc["exit_status"] != 0
    breaks = set(faults.catalogue()[name].breaks)
    for r in doc["results"]:
        if r["status"] in ("failed", "error"):
            assert breaks & set(r["covers"]), f"{r['spec_id']} covers none of {sorted(breaks)}"


def test_every_inplace_fault_is_tested_and_every_spec_caught() -> None:
    mine = {n for n, f in faults.catalogue().items() if f.make.__module__ == MODULE}
    assert mine == set(CAUGHT)
    assert set().union(*CAUGHT.values()) == area_ids()
