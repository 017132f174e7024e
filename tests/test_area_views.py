"""Views and contiguity (B-VW-1..4): the clean run passes, and each views fault fails exactly the specs
listed.  Every run is the real suite in a pytest subprocess (the `suite` fixture) on the CPU.
"""

from __future__ import annotations

import pytest
from conftest import SPECS, failed_ids, statuses

from conformance.lang import spec
from conformance.tools import faults

AREA = SPECS / "views"
MODULE = "conformance.tools.faults.views"

# fault -> the specs that must fail with it active (and no others).
CAUGHT = {
    "view-copies": {"views/view-shares-storage", "views/view-keeps-strided-input-shared",
                    "views/view-t-2d-raises"},
    "view-copies-when-incompatible": {"views/view-transposed-raises", "views/view-t-2d-raises"},
    "reshape-always-copies": {"views/reshape-contiguous-is-view"},
    "reshape-memory-order": {"views/reshape-noncontiguous-equals-contiguous-view"},
    # a contiguous transpose makes the later view(-1) succeed, so the "view raises" spec notices too
    "transpose-copies": {"views/transpose-is-noncontiguous-view", "views/contiguous-copies-noncontiguous",
                         "views/view-transposed-raises"},
    "permute-copies": {"views/t-and-permute-are-views"},
    "contiguous-always-copies": {"views/contiguous-returns-self"},
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
    assert {"B-VW-1", "B-VW-2", "B-VW-3", "B-VW-4"} <= covered


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


def test_every_views_fault_is_tested_and_every_spec_caught() -> None:
    mine = {n for n, f in faults.catalogue().items() if f.make.__module__ == MODULE}
    assert mine == set(CAUGHT)
    assert set().union(*CAUGHT.values()) == area_ids()
