"""Devices and dtype moves (B-DV-1..5): the clean run on cpu, cuda and meta, and each device fault failing
exactly the specs listed.  Every run is the real suite in a pytest subprocess (the `suite` fixture).

Faults that only misbehave when data really crosses to an accelerator are registered only where CUDA is
available (see conformance/faults/devices.py); their test runs on a GPU machine and is skipped elsewhere.
"""

from __future__ import annotations

import pytest
import torch
from conftest import SPECS, failed_ids

from conformance.lang import spec

AREA = SPECS / "devices"
TRAINING = SPECS / "autograd" / "training-step-matches-cpu.yaml"  # the autograd side of B-DV-4
HAS_CUDA = torch.cuda.is_available()

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


@pytest.mark.skipif(not HAS_CUDA, reason="not run: cuda not available")
@pytest.mark.parametrize("name", sorted(CUDA_CAUGHT))
def test_fault_is_caught_on_cuda(suite, name: str) -> None:
    doc = suite([AREA, TRAINING], name, devices="cuda")
    assert failed_ids(doc) == CUDA_CAUGHT[name], doc["_output"]


def test_every_accelerator_only_spec_is_caught_on_cuda() -> None:
    # from_numpy(a).to(cuda) aliasing host memory is not something a patch of torch can emulate
    assert ACCELERATOR_ONLY - set().union(*CUDA_CAUGHT.values()) == {"devices/cuda-from-numpy-copy"}
