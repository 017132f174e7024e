"""NumPy-bridge specs (B-NP-*, CPU only): a clean run passes (the pandas spec skips with a reason where
pandas is absent), and each bridge fault is caught by exactly the specs that state the promise it
breaks (real pytest subprocess runs over specs/numpy-bridge, real torch and NumPy)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from conftest import SPECS, failed_ids, statuses

from conformance.lang import behaviours, helpers
from conformance.tools import faults

AREA = SPECS / "numpy-bridge"
MODULE = "conformance.tools.faults.numpy_bridge"
PANDAS_SPEC = "numpy-bridge/pandas-dataframe-values"
HAVE_PANDAS = importlib.util.find_spec("pandas") is not None

# A copying .numpy() also breaks the requires-grad spec: its detach().numpy() must share memory.
EXPECTED: dict[str, set[str]] = {
    "from-numpy-copies": {"numpy-bridge/from-numpy-shares-memory"},
    "from-numpy-widens-ints": {"numpy-bridge/from-numpy-dtype-map"},
    "numpy-returns-copy": {"numpy-bridge/tensor-numpy-shares-memory", "numpy-bridge/requires-grad-refuses-numpy"},
    "tensor-shares-ndarray": {"numpy-bridge/tensor-copies-ndarray"} | ({PANDAS_SPEC} if HAVE_PANDAS else set()),
    "numpy-ignores-requires-grad": {"numpy-bridge/requires-grad-refuses-numpy"},
    "tolist-scalar-in-list": {"numpy-bridge/tolist-roundtrip"},
    "argmax-last-on-ties": {"numpy-bridge/reductions-match-numpy"},
    "cat-default-last-dim": {"numpy-bridge/cat-matches-concatenate"},
    "remainder-truncates": {"numpy-bridge/elementwise-matches-numpy"},
}
SPEC_IDS = set().union(*EXPECTED.values()) | {PANDAS_SPEC}


def _area_faults() -> dict[str, faults.Fault]:
    return {n: f for n, f in faults.catalogue().items() if f.make.__module__ == MODULE}


def test_every_bridge_fault_has_an_expectation_and_breaks_bridge_behaviours() -> None:
    cat = _area_faults()
    assert set(cat) == set(EXPECTED)
    for name, f in cat.items():
        assert f.breaks and all(b.startswith("B-NP-") for b in f.breaks), (name, f.breaks)


def test_clean_run_passes_and_covers_every_bridge_behaviour(suite) -> None:
    # Asked for cpu and cuda: the bridge specs are CPU-only, so no cuda item may pass or fail.
    doc = suite([AREA], devices="cpu,cuda")
    st = statuses(doc)
    assert set(st) == SPEC_IDS, set(st) ^ SPEC_IDS
    want = {s: "passed" for s in SPEC_IDS}
    if not HAVE_PANDAS:
        want[PANDAS_SPEC] = "skipped"
    assert st == want, doc["_output"]
    assert doc["exit_status"] == 0, doc["_output"]
    assert {r["status"] for r in doc["results"] if r["device"] != "cpu"} <= {"skipped"}
    covered = {c for r in doc["results"] for c in r["covers"]}
    wanted = {b for b in behaviours.ids() if b.startswith("B-NP-")}
    assert len(wanted) == 6 and wanted <= covered, wanted - covered
    if not HAVE_PANDAS:
        (pandas,) = [r for r in doc["results"] if r["spec_id"] == PANDAS_SPEC and r["device"] == "cpu"]
        assert "pandas" in (pandas["reason"] or ""), pandas


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_fault_is_caught_by_exactly_its_specs(suite, fault: str) -> None:
    doc = suite([AREA], fault)
    assert doc["environment"]["fault"] == fault
    failed = failed_ids(doc)
    assert failed == EXPECTED[fault], f"{fault}: failed {sorted(failed)}\n{doc['_output']}"
    assert not [r for r in doc["results"] if r["spec_id"] in failed and r.get("failure_kind") == "spec"]
    covered = {c for r in doc["results"] if r["spec_id"] in failed for c in r["covers"]}
    assert set(_area_faults()[fault].breaks) <= covered


# helpers.frame_values is the engine addition the pandas spec needs.
@pytest.mark.skipif(not HAVE_PANDAS, reason="pandas not installed")
def test_frame_values_is_a_real_dataframes_data() -> None:
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    v = helpers.frame_values(a)
    assert isinstance(v, np.ndarray) and v.dtype == a.dtype
    assert torch.equal(torch.tensor(v), torch.from_numpy(a))


@pytest.mark.skipif(HAVE_PANDAS, reason="pandas is installed")
def test_frame_values_without_pandas_raises_import_error() -> None:
    with pytest.raises(ImportError):
        helpers.frame_values(np.zeros((2, 2)))
    assert "frame_values" in helpers.__all__
