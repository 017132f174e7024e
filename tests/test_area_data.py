"""data specs (B-DL-1..3): the clean run passes, and each DataLoader fault fails exactly the specs listed.

Every run is the real suite in a pytest subprocess (the `suite` fixture) on the CPU with the ci profile
(derandomized, so the sets below are stable for a given torch).  The worker spec really starts
DataLoader worker processes, which inherit the active fault.
"""

from __future__ import annotations

import torch
from conftest import SPECS

from conformance.lang import drift, helpers, spec
from conformance.tools import faults

AREA = SPECS / "data"
BEHAVIOURS = {f"B-DL-{i}" for i in range(1, 4)}


def area_specs() -> list[spec.Spec]:
    specs, errors = spec.load_paths([AREA])
    assert not errors, errors
    return specs


def test_specs_cover_every_data_behaviour() -> None:
    covered = set().union(*(s.covers for s in area_specs()))
    assert BEHAVIOURS <= covered


def test_quotes_are_in_the_installed_docstrings() -> None:
    found = {s.id: drift.check_one(s.id, s.source) for s in area_specs()}
    assert {k: d.status for k, d in found.items() if d.status != "current"} == {}


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
