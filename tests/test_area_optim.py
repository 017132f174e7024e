"""optim specs (B-OP-1..4): the clean run passes, and each optimizer/checkpoint fault fails exactly the specs listed.

Every run is the real suite in a pytest subprocess (the `suite` fixture) on the CPU with the ci profile
(derandomized, so the sets below are stable for a given torch).
"""

from __future__ import annotations

import torch
from conftest import SPECS

from conformance.lang import drift, helpers, spec
from conformance.tools import faults

AREA = SPECS / "optim"
BEHAVIOURS = {f"B-OP-{i}" for i in range(1, 5)}

SGD_RULE = {"optim/sgd-step-rule", "optim/sgd-step-skips-params-without-grad"}
ROUNDTRIP = {"optim/state-dict-roundtrip", "optim/state-dict-roundtrip-after-training"}


def area_specs() -> list[spec.Spec]:
    specs, errors = spec.load_paths([AREA])
    assert not errors, errors
    return specs


def test_specs_cover_every_optim_behaviour() -> None:
    covered = set().union(*(s.covers for s in area_specs()))
    assert BEHAVIOURS <= covered


def test_quotes_are_in_the_installed_docstrings() -> None:
    found = {s.id: drift.check_one(s.id, s.source) for s in area_specs()}
    assert {k: d.status for k, d in found.items() if d.status != "current"} == {}


def test_sgd_faults_keep_the_stored_hyperparameters() -> None:
    # The SGD faults change lr/maximize only for the duration of step(): what a user reads back
    # from param_groups (and what a state_dict saves) stays as configured.
    torch.manual_seed(0)
    m = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(m.parameters(), lr=0.5)
    m(torch.ones(1, 2)).sum().backward()
    before = helpers.params(m)
    undo = faults.activate("sgd-ascends")
    try:
        opt.step()
    finally:
        undo()
    assert opt.param_groups[0]["lr"] == 0.5 and opt.param_groups[0]["maximize"] is False
    # ascended: w + lr * grad, with grad = 1 for every parameter here
    assert torch.allclose(helpers.params(m)[1], before[1] + 0.5)
