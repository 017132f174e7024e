"""nn specs (B-NN-1..6): the clean run passes, and each nn fault fails exactly the specs listed.

Every run is the real suite in a pytest subprocess (the `suite` fixture) on the CPU with the ci profile
(derandomized, so the sets below are stable for a given torch).
"""

from __future__ import annotations

import torch
from conftest import SPECS

from conformance.lang import drift, spec
from conformance.tools import faults

AREA = SPECS / "nn"
BEHAVIOURS = {f"B-NN-{i}" for i in range(1, 7)}


def area_specs() -> list[spec.Spec]:
    specs, errors = spec.load_paths([AREA])
    assert not errors, errors
    return specs


def test_specs_cover_every_nn_behaviour() -> None:
    covered = set().union(*(s.covers for s in area_specs()))
    assert BEHAVIOURS <= covered


def test_quotes_are_in_the_installed_docstrings() -> None:
    found = {s.id: drift.check_one(s.id, s.source) for s in area_specs()}
    assert {k: d.status for k, d in found.items() if d.status != "current"} == {}


def test_faults_patch_in_process_and_undo_restores() -> None:
    # The same patches the subprocess runs use, seen directly: a Linear without bias, then the real one.
    m = torch.nn.Linear(3, 2)
    x = torch.randn(4, 3)
    with torch.no_grad():
        m.bias.fill_(1.5)
        undo = faults.activate("linear-no-bias,train-not-recursive")
        try:
            assert torch.allclose(m(x), x @ m.weight.T)
            seq = torch.nn.Sequential(torch.nn.Dropout(0.5)).eval()
            assert seq.training is False and seq[0].training is True
        finally:
            undo()
        assert torch.allclose(m(x), x @ m.weight.T + 1.5)
        assert torch.nn.Sequential(torch.nn.Dropout(0.5)).eval()[0].training is False
