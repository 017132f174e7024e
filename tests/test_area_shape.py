"""Shape/size/scalar specs (B-SH-*): a clean run passes, and each shape fault is caught by exactly the
specs that state the promise it breaks (real pytest subprocess runs over specs/shape, real torch)."""

from __future__ import annotations

import pytest
from conftest import SPECS, failed_ids, statuses

from conformance.lang import behaviours
from conformance.tools import faults

AREA = SPECS / "shape"
MODULE = "conformance.tools.faults.shape"

EXPECTED: dict[str, set[str]] = {
    "size-returns-tuple": {"shape/size-is-torch-size"},
    "numel-zero-dim-is-zero": {"shape/dim-and-numel"},
    "view-column-major": {"shape/view-row-major"},
    "view-infers-several-dims": {"shape/view-invalid-raises"},
    "squeeze-dim-squeezes-all": {"shape/squeeze-dim-only-that-dim"},
    "squeeze-keeps-batch-dim": {"shape/squeeze-removes-size-one-dims"},
    "unsqueeze-negative-off-by-one": {"shape/unsqueeze-inserts-dim"},
    "item-takes-first-element": {"shape/item-raises-unless-one-element"},
    "item-int-as-float": {"shape/item-returns-python-number"},
    "slice-stop-inclusive": {"shape/indexing-matches-numpy"},
    "basic-slice-copies": {"shape/basic-slice-is-view"},
}
SPEC_IDS = set().union(*EXPECTED.values())   # every spec of the area is caught by some fault


def _area_faults() -> dict[str, faults.Fault]:
    return {n: f for n, f in faults.catalogue().items() if f.make.__module__ == MODULE}


def test_every_shape_fault_has_an_expectation_and_breaks_shape_behaviours() -> None:
    cat = _area_faults()
    assert set(cat) == set(EXPECTED)
    for name, f in cat.items():
        assert f.breaks and all(b.startswith("B-SH-") for b in f.breaks), (name, f.breaks)


def test_clean_run_passes_and_covers_every_shape_behaviour(suite) -> None:
    doc = suite([AREA])
    st = statuses(doc)
    assert set(st) == SPEC_IDS, set(st) ^ SPEC_IDS
    assert set(st.values()) == {"passed"}, {k: v for k, v in st.items() if v != "passed"}
    assert doc["exit_status"] == 0, doc["_output"]
    covered = {c for r in doc["results"] for c in r["covers"]}
    wanted = {b for b in behaviours.ids() if b.startswith("B-SH-")}
    assert len(wanted) == 6 and wanted <= covered, wanted - covered


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_fault_is_caught_by_exactly_its_specs(suite, fault: str) -> None:
    doc = suite([AREA], fault)
    assert doc["environment"]["fault"] == fault
    failed = failed_ids(doc)
    assert failed == EXPECTED[fault], f"{fault}: failed {sorted(failed)}\n{doc['_output']}"
    assert not [r for r in doc["results"] if r["spec_id"] in failed and r.get("failure_kind") == "spec"]
    covered = {c for r in doc["results"] if r["spec_id"] in failed for c in r["covers"]}
    assert set(_area_faults()[fault].breaks) <= covered
