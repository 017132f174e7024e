"""Autograd specs (B-AG-1..7): the clean run passes, and each autograd fault fails exactly the specs listed.

Every run is the real suite in a pytest subprocess (the `suite` fixture) on the CPU with the ci profile.
"""

from __future__ import annotations

import pytest
import torch
from conftest import SPECS, failed_ids, statuses

from conformance.lang import checks, spec
from conformance.tools import faults

AREA = SPECS / "autograd"
MODULE = "conformance.tools.faults.autograd"

# fault -> the specs that must notice it (and no others)
CAUGHT = {
    "pow-grad-scaled": {
        "autograd/square-grad", "autograd/square-grad-scalar", "autograd/partial-derivatives",
        "autograd/chain-rule", "autograd/chain-rule-seed", "autograd/grad-accumulates",
        "autograd/training-step-matches-cpu",
    },
    "pow-grad-exponent-off-by-one": {"autograd/gradcheck-binary"},
    "mul-grad-swapped": {"autograd/partial-derivatives"},
    "backward-overwrites": {"autograd/grad-accumulates", "autograd/grad-accumulates-functional"},
    "implicit-grad-ones": {"autograd/backward-non-scalar-needs-gradient"},
    "exp-not-recorded": {"autograd/grad-fn-and-leaves", "autograd/gradcheck-unary"},
    "tanh-grad-wrong": {"autograd/gradcheck-unary"},
}


def area_specs() -> list[spec.Spec]:
    specs, errors = spec.load_paths([AREA])
    assert not errors, errors
    return specs


def test_clean_run_passes(suite) -> None:
    doc = suite([AREA])
    got = statuses(doc)
    assert set(got) == {s.id for s in area_specs()}
    assert set(got.values()) == {"passed"}, doc["_output"]
    assert doc["exit_status"] == 0


@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_fault_is_caught_by_exactly_these_specs(suite, name: str) -> None:
    doc = suite([AREA], name)
    assert failed_ids(doc) == CAUGHT[name], doc["_output"]
    breaks = set(faults.catalogue()[name].breaks)
    for r in doc["results"]:
        if r["status"] == "failed":
            assert breaks & set(r["covers"]), f"{r['spec_id']} covers none of {sorted(breaks)}"
            assert r["failure_kind"] == "check", r["error"]  # a documented property failed, not a crash


def test_every_autograd_fault_is_tested_and_every_spec_caught() -> None:
    mine = {n for n, f in faults.catalogue().items() if f.make.__module__ == MODULE}
    assert mine == set(CAUGHT)
    assert set().union(*CAUGHT.values()) == {s.id for s in area_specs()}


@pytest.mark.parametrize("dtype,ulps_apart,ok", [(torch.float32, 1, True), (torch.float32, 2000, False),
                                                 (torch.float64, 1, True)])
def test_matches_cpu_of_a_list_of_tensors_uses_their_cross_device_tolerance(dtype, ulps_apart, ok) -> None:
    # Engine change (checks._tol): a list such as helpers.grads(m) was compared exactly, so a one-ulp
    # difference between a GPU and the CPU failed autograd/training-step-matches-cpu on an H200.
    on_device = [torch.tensor([0.9277, -3.5], dtype=dtype), None]
    on_cpu = [on_device[0] + ulps_apart * torch.finfo(dtype).eps, None]
    ctx = checks.RunContext({}, torch.device("cpu"), lambda: {"g": on_cpu})
    opts = {"_fns": [lambda env: env["g"]]}
    if ok:
        checks.matches_cpu(ctx, on_device, opts=opts)
    else:
        with pytest.raises(checks.CheckFailed, match=r"matches_cpu\[0\].*rtol=0.0001"):
            checks.matches_cpu(ctx, on_device, opts=opts)
