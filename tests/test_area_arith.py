"""Arithmetic, matrices, reductions and joins (B-AR-1..5): the clean run passes, and each arith fault
fails exactly the specs listed.  Every run is the real suite in a pytest subprocess (the `suite` fixture)
on the CPU.
"""

from __future__ import annotations

import pytest
from conftest import SPECS, failed_ids, statuses

from conformance.lang import spec
from conformance.tools import faults

AREA = SPECS / "arith"
MODULE = "conformance.tools.faults.arith"

# fault -> the specs that must fail with it active (and no others).
CAUGHT = {
    "sub-broadcast-swapped": {"arith/sub-mul-div-broadcast"},
    "div-int-floors": {"arith/sub-mul-div-broadcast", "arith/int-true-division-gives-float"},
    "mm-ignores-mat2-strides": {"arith/mm-matches-numpy", "arith/mm-plus-bias-broadcasts"},
    "mm-no-shape-check": {"arith/mm-matches-numpy"},
    "sum-keepdim-dropped": {"arith/sum-dim-keepdim"},
    "max-dim-last-tie": {"arith/max-min-dim-values-indices"},
    "argmax-last-tie": {"arith/argmax-argmin-first-tie"},
    # stack's spec checks stack == cat of unsqueezed tensors along dim, so it sees a dim-less cat too
    "cat-ignores-dim": {"arith/cat-along-dim", "arith/cat-mismatch-raises", "arith/stack-new-dim"},
    "stack-ignores-dim": {"arith/stack-new-dim"},
    "chunk-as-tensor-split": {"arith/chunk-sizes-and-views"},
    "split-copies": {"arith/split-size-and-list"},
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
    assert {"B-AR-1", "B-AR-2", "B-AR-3", "B-AR-4", "B-AR-5"} <= covered


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


def test_every_arith_fault_is_tested_and_every_spec_caught() -> None:
    mine = {n for n, f in faults.catalogue().items() if f.make.__module__ == MODULE}
    assert mine == set(CAUGHT)
    assert set().union(*CAUGHT.values()) == area_ids()
