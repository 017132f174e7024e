"""nn specs (B-NN-1..6): the clean run passes, and each nn fault fails exactly the specs listed.

Every run is the real suite in a pytest subprocess (the `suite` fixture) on the CPU with the ci profile
(derandomized, so the sets below are stable for a given torch).
"""

from __future__ import annotations

import pytest
import torch
from conftest import SPECS, failed_ids, statuses

from conformance.lang import drift, spec
from conformance.tools import faults

AREA = SPECS / "nn"
MODULE = "conformance.tools.faults.nn"
BEHAVIOURS = {f"B-NN-{i}" for i in range(1, 7)}

# fault -> the specs that must notice it (and no others)
CAUGHT = {
    "linear-no-bias": {"nn/linear-affine", "nn/linear-registers-parameters"},
    # Sequential's spec chains an nn.ReLU and compares with F.relu, so it notices too
    "relu-leaky": {"nn/relu-module-equals-functional", "nn/sequential-applies-in-order"},
    "flatten-batch-dim": {"nn/flatten-keeps-batch-dim"},
    "sequential-reversed": {"nn/sequential-applies-in-order"},
    "conv2d-same-padding": {"nn/conv2d-valid-cross-correlation"},
    "conv2d-flipped-kernel": {"nn/conv2d-valid-cross-correlation"},
    "module-setattr-unregistered": {"nn/module-subclass-registers-children",
                                    "nn/module-subclass-registers-parameters",
                                    "nn/train-eval-set-training-recursively"},
    "bce-sum": {"nn/bce-loss-formula"},
    "mse-root": {"nn/mse-loss-formula"},
    "cross-entropy-no-log-softmax": {"nn/cross-entropy-loss-formula"},
    "train-not-recursive": {"nn/train-eval-set-training-recursively", "nn/dropout-identity-in-eval"},
    "dropout-active-in-eval": {"nn/dropout-identity-in-eval"},
    "dropout-no-rescale": {"nn/dropout-active-in-train"},
}


def area_specs() -> list[spec.Spec]:
    specs, errors = spec.load_paths([AREA])
    assert not errors, errors
    return specs


def test_specs_cover_every_nn_behaviour() -> None:
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
    breaks = set(faults.catalogue()[name].breaks)
    for r in doc["results"]:
        if r["status"] == "failed":
            assert breaks & set(r["covers"]), f"{r['spec_id']} covers none of {sorted(breaks)}"
            assert r["error"], r


def test_every_nn_fault_is_tested_and_every_spec_caught() -> None:
    mine = {n: f for n, f in faults.catalogue().items() if f.make.__module__ == MODULE}
    assert set(mine) == set(CAUGHT)
    assert all(set(f.breaks) <= BEHAVIOURS for f in mine.values())
    assert set().union(*CAUGHT.values()) == {s.id for s in area_specs()}


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
