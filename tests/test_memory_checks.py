"""Memory checks on empty values: zero bytes neither share nor differ (found on CUDA, where an
empty storage has address 0 while CPU allocators hand out a real address)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conformance.lang import checks

CTX = checks.RunContext({}, torch.device("cpu"))


def test_empty_values_hold_vacuously() -> None:
    e = torch.empty(0)
    checks.shares_memory(CTX, e, torch.empty(0), {})
    checks.not_shares_memory(CTX, e, e[0:0], {})
    checks.shares_memory(CTX, torch.zeros(3)[3:], np.zeros(0), {})


def test_non_empty_values_still_decide() -> None:
    x = torch.arange(6.0)
    checks.shares_memory(CTX, x[2:], x, {})
    with pytest.raises(checks.CheckFailed):
        checks.shares_memory(CTX, x.clone(), x, {})
    with pytest.raises(checks.CheckFailed):
        checks.not_shares_memory(CTX, x.view(2, 3), x, {})
