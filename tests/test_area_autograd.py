"""Autograd specs (B-AG-1..7): the clean run passes, and each autograd fault fails exactly the specs listed.

Every run is the real suite in a pytest subprocess (the `suite` fixture) on the CPU with the ci profile.
"""

from __future__ import annotations

import pytest
import torch
from conftest import SPECS

from conformance.lang import checks, spec

AREA = SPECS / "autograd"


def area_specs() -> list[spec.Spec]:
    specs, errors = spec.load_paths([AREA])
    assert not errors, errors
    return specs


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
