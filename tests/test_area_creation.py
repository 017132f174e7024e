"""Creation specs (B-CR-*): a clean run passes, and each creation fault is caught by exactly the specs
that state the promise it breaks (real pytest subprocess runs over specs/creation, real torch)."""

from __future__ import annotations

import pytest
from conftest import SPECS, failed_ids, statuses

from conformance.lang import behaviours
from conformance.tools import faults

AREA = SPECS / "creation"
MODULE = "conformance.tools.faults.creation"

# fault -> the specs that must fail with it active (and no others).  Some faults reach a second spec
# on purpose: torch.zeros/torch.tensor also build the tensors whose requires_grad must raise.
EXPECTED: dict[str, set[str]] = {
    "empty-ignores-default-dtype": {"creation/empty-shape-dtype-device"},
    "rand-half-open-at-zero": {"creation/rand-reduced-precision-excludes-one"},
    "rand-uses-normal-kernel": {"creation/rand-half-open-unit-interval", "creation/rand-reduced-precision-excludes-one"},
    "randn-drops-sign": {"creation/randn-standard-normal"},
    "zeros-ignores-dtype": {"creation/zeros-dtype-long", "creation/requires-grad-integer-raises"},
    "full-infers-default-float": {"creation/ones-and-full"},
    "tensor-infers-float-for-ints": {"creation/tensor-infers-dtype", "creation/requires-grad-integer-raises"},
    "new-ones-ignores-dtype": {"creation/new-ones-keeps-or-overrides-dtype"},
    "randn-like-drops-dtype": {"creation/randn-like-dtype-override"},
    "zeros-like-default-dtype": {"creation/like-keeps-input-dtype-device"},
    "linspace-excludes-end": {"creation/linspace-endpoints-and-count"},
    "arange-includes-end": {"creation/arange-excludes-end"},
    "float-tensor-is-double": {"creation/legacy-typed-constructors"},
    "tensor-int-requires-grad-ignored": {"creation/requires-grad-integer-raises"},
    "tensor-requires-grad-not-leaf": {"creation/tensor-requires-grad-leaf"},
}
SPEC_IDS = set().union(*EXPECTED.values())   # every spec of the area is caught by some fault


def _area_faults() -> dict[str, faults.Fault]:
    return {n: f for n, f in faults.catalogue().items() if f.make.__module__ == MODULE}


def test_every_creation_fault_has_an_expectation_and_breaks_creation_behaviours() -> None:
    cat = _area_faults()
    assert set(cat) == set(EXPECTED)
    assert len(cat) >= 2
    for name, f in cat.items():
        assert f.breaks and all(b.startswith("B-CR-") for b in f.breaks), (name, f.breaks)


def test_clean_run_passes_and_covers_every_creation_behaviour(suite) -> None:
    doc = suite([AREA])
    st = statuses(doc)
    assert set(st) == SPEC_IDS, f"specs in the area differ from the ones the faults are meant to catch: {set(st) ^ SPEC_IDS}"
    assert set(st.values()) == {"passed"}, {k: v for k, v in st.items() if v != "passed"}
    assert not failed_ids(doc) and doc["exit_status"] == 0, doc["_output"]
    covered = {c for r in doc["results"] for c in r["covers"]}
    wanted = {b for b in behaviours.ids() if b.startswith("B-CR-")}
    assert len(wanted) == 10 and wanted <= covered, wanted - covered
    assert all(r["examples"] > 0 for r in doc["results"])


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_fault_is_caught_by_exactly_its_specs(suite, fault: str) -> None:
    doc = suite([AREA], fault)
    assert doc["environment"]["fault"] == fault
    failed = failed_ids(doc)
    assert failed == EXPECTED[fault], f"{fault}: failed {sorted(failed)}\n{doc['_output']}"
    # Each failure is the documented property being violated, not a broken spec.
    bad = [r for r in doc["results"] if r["spec_id"] in failed and r.get("failure_kind") == "spec"]
    assert not bad, bad
    # A failing spec states the behaviour the fault claims to break.
    covered = {c for r in doc["results"] if r["spec_id"] in failed for c in r["covers"]}
    assert set(_area_faults()[fault].breaks) <= covered
