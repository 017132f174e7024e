"""Devices and dtype moves (B-DV-1..5): the clean run on cpu, cuda and meta, and each device fault failing
exactly the specs listed.  Every run is the real suite in a pytest subprocess (the `suite` fixture).

Faults that only misbehave when data really crosses to an accelerator are registered only where CUDA is
available (see conformance/faults/devices.py); their test runs on a GPU machine and is skipped elsewhere.
"""

from __future__ import annotations

import pytest
import torch
from conftest import SPECS, failed_ids, statuses

from conformance.lang import spec
from conformance.tools import faults

AREA = SPECS / "devices"
TRAINING = SPECS / "autograd" / "training-step-matches-cpu.yaml"  # the autograd side of B-DV-4
MODULE = "conformance.tools.faults.devices"
HAS_CUDA = torch.cuda.is_available()

# Faults caught on the CPU (spec ids of specs/devices).
CAUGHT = {
    "to-copies-when-unchanged": {"devices/to-returns-self-when-unchanged"},
    "to-copy-ignored": {"devices/to-copies-when-changed"},
    "to-ignores-dtype-with-device": {"devices/to-device-and-dtype", "devices/to-other-device-metadata"},
    "ones-like-ignores-device": {"devices/to-other-device-metadata"},
    "add-moves-operand": {"devices/mixed-devices-raise"},
    "sum-lost-update": {"devices/differential-matches-cpu"},
    "cuda-count-without-runtime": {"devices/cuda-availability-consistent"},
}
# Registered only where CUDA is absent (on a GPU machine it would be no fault at all).
CPU_ONLY = {"cuda-count-without-runtime"}
# On the cuda device (specs/devices plus the training step): every fault registered with CUDA.  From a run on
# an H200 (torch 2.11.0+cu130) in which the training step and the pinned-memory spec also failed without any
# fault; both were fixed afterwards (matches_cpu tolerance of lists, empty tensors are never pinned), not rerun.
CUDA_CAUGHT = {
    "to-copies-when-unchanged": {"devices/to-returns-self-when-unchanged"},
    "to-copy-ignored": {"devices/to-copies-when-changed"},
    "to-ignores-dtype-with-device": {"devices/to-device-and-dtype", "devices/to-other-device-metadata",
                                     "devices/cuda-to-cpu-double", "autograd/training-step-matches-cpu"},
    "ones-like-ignores-device": {"devices/to-other-device-metadata"},
    "add-moves-operand": {"devices/mixed-devices-raise", "devices/cuda-mixed-with-cpu-raises"},
    "sum-lost-update": {"devices/differential-matches-cpu"},
    "to-device-copies-raw-storage": {"devices/to-device-keeps-values", "devices/cuda-roundtrip-keeps-values"},
    "to-non-blocking-unsynchronized": {"devices/cuda-non-blocking-pinned"},
    "numpy-on-cuda-copies": {"devices/cuda-numpy-raises"},
    "cuda-linear-reduced-precision": {"autograd/training-step-matches-cpu"},
}
# Specs whose promise only shows where data really moves to an accelerator: on a CPU-only machine they
# are not run (cuda-only) or run trivially (a move to the cpu itself returns self).
ACCELERATOR_ONLY = {
    "devices/to-device-keeps-values", "devices/cuda-roundtrip-keeps-values", "devices/cuda-to-cpu-double",
    "devices/cuda-from-numpy-copy", "devices/cuda-numpy-raises", "devices/cuda-non-blocking-pinned",
    "devices/cuda-mixed-with-cpu-raises",
}


def area_specs() -> list[spec.Spec]:
    specs, errors = spec.load_paths([AREA])
    assert not errors, errors
    return specs


def test_clean_run_on_cpu(suite) -> None:
    # cuda and meta runs of these specs: tests/test_devices_logic.py
    doc = suite([AREA])
    specs = {s.id: s for s in area_specs()}
    assert set(statuses(doc)) == set(specs)
    for r in doc["results"]:
        if specs[r["spec_id"]].devices == ("cuda",):
            assert (r["status"], r["reason"]) == ("skipped", "not applicable: spec applies to cuda only"), r
        else:
            assert r["status"] == "passed", f"{r['spec_id']}: {r.get('error')}\n{doc['_output']}"
    assert doc["exit_status"] == 0


@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_fault_is_caught_by_exactly_these_specs(suite, name: str) -> None:
    if HAS_CUDA and name in CPU_ONLY:
        pytest.skip("not registered where CUDA is available")
    doc = suite([AREA], name)
    assert failed_ids(doc) == CAUGHT[name], doc["_output"]
    breaks = set(faults.catalogue()[name].breaks)
    for r in doc["results"]:
        if r["status"] == "failed":
            assert breaks & set(r["covers"]), f"{r['spec_id']} covers none of {sorted(breaks)}"
            assert r["failure_kind"] == "check", r["error"]


def test_every_device_fault_is_tested_and_every_cpu_spec_caught() -> None:
    mine = {n for n, f in faults.catalogue().items() if f.make.__module__ == MODULE}
    assert mine == (set(CUDA_CAUGHT) if HAS_CUDA else set(CAUGHT))
    assert set(CUDA_CAUGHT) == set(CAUGHT) - CPU_ONLY | {
        "to-device-copies-raw-storage", "to-non-blocking-unsynchronized", "numpy-on-cuda-copies",
        "cuda-linear-reduced-precision"}
    assert set().union(*CAUGHT.values()) == {s.id for s in area_specs()} - ACCELERATOR_ONLY


@pytest.mark.skipif(not HAS_CUDA, reason="not run: cuda not available")
@pytest.mark.parametrize("name", sorted(CUDA_CAUGHT))
def test_fault_is_caught_on_cuda(suite, name: str) -> None:
    doc = suite([AREA, TRAINING], name, devices="cuda")
    assert failed_ids(doc) == CUDA_CAUGHT[name], doc["_output"]


def test_every_accelerator_only_spec_is_caught_on_cuda() -> None:
    # from_numpy(a).to(cuda) aliasing host memory is not something a patch of torch can emulate
    assert ACCELERATOR_ONLY - set().union(*CUDA_CAUGHT.values()) == {"devices/cuda-from-numpy-copy"}
