"""data specs (B-DL-1..3): the clean run passes, and each DataLoader fault fails exactly the specs listed.

Every run is the real suite in a pytest subprocess (the `suite` fixture) on the CPU with the ci profile
(derandomized, so the sets below are stable for a given torch).  The worker spec really starts
DataLoader worker processes, which inherit the active fault.
"""

from __future__ import annotations

import pytest
import torch
from conftest import SPECS, failed_ids, statuses

from conformance.lang import drift, helpers, spec
from conformance.tools import faults

AREA = SPECS / "data"
MODULE = "conformance.tools.faults.data"
BEHAVIOURS = {f"B-DL-{i}" for i in range(1, 4)}

# fault -> the specs that must notice it (and no others)
CAUGHT = {
    # the sampler faults reach every loader, so specs of other data behaviours notice them too
    "batch-sampler-drops-last": {"data/batch-count-and-sizes", "data/shuffle-every-sample-once",
                                 "data/dataset-subclass-default-collate", "data/num-workers-same-samples"},
    "batch-sampler-len-floor": {"data/batch-count-and-sizes", "data/dataset-subclass-default-collate"},
    "shuffle-with-replacement": {"data/shuffle-every-sample-once", "data/num-workers-same-samples"},
    "shuffle-same-every-epoch": {"data/shuffle-every-sample-once"},
    "collate-reversed": {"data/batch-count-and-sizes", "data/dataset-subclass-default-collate",
                         "data/default-collate-stacks"},
    "collate-concatenates": {"data/dataset-subclass-default-collate", "data/default-collate-stacks"},
    "workers-reorder-batches": {"data/num-workers-same-samples"},
    "workers-index-off-by-one": {"data/num-workers-same-samples"},
}


def area_specs() -> list[spec.Spec]:
    specs, errors = spec.load_paths([AREA])
    assert not errors, errors
    return specs


def test_specs_cover_every_data_behaviour() -> None:
    covered = set().union(*(s.covers for s in area_specs()))
    assert BEHAVIOURS <= covered


def test_quotes_are_in_the_installed_docstrings() -> None:
    drift = {s.id: drift.check_one(s.id, s.source) for s in area_specs()}
    assert {k: d.status for k, d in drift.items() if d.status != "current"} == {}


def test_clean_run_passes(suite) -> None:
    doc = suite([AREA])
    got = statuses(doc)
    assert set(got) == {s.id for s in area_specs()}
    assert set(got.values()) == {"passed"}, doc["_output"]
    assert doc["exit_status"] == 0


@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_fault_is_caught_by_exactly_these_specs(suite, name: str) -> None:
    doc = suite([AREA], name)
    assert doc["environment"]["fault"] == name
    assert failed_ids(doc) == CAUGHT[name], doc["_output"]
    for r in doc["results"]:
        if r["status"] == "failed":
            assert set(r["covers"]) <= BEHAVIOURS and r["error"], r


def test_every_data_fault_is_tested_and_every_spec_caught() -> None:
    mine = {n: f for n, f in faults.catalogue().items() if f.make.__module__ == MODULE}
    assert set(mine) == set(CAUGHT)
    assert all(set(f.breaks) <= BEHAVIOURS for f in mine.values())
    assert set().union(*CAUGHT.values()) == {s.id for s in area_specs()}


def test_worker_fault_reaches_worker_processes_only() -> None:
    # In process: the off-by-one fault leaves single-process loading alone and shifts what forked
    # workers fetch, so the difference is only visible with num_workers > 0.
    ds = helpers.Dataset(torch.arange(6))
    undo = faults.activate("workers-index-off-by-one")
    try:
        single = torch.cat(helpers.epoch(torch.utils.data.DataLoader(ds, batch_size=2)))
        multi = torch.cat(helpers.epoch(torch.utils.data.DataLoader(ds, batch_size=2, num_workers=1)))
    finally:
        undo()
    assert single.tolist() == [0, 1, 2, 3, 4, 5]
    assert multi.tolist() == [1, 2, 3, 4, 5, 0]
