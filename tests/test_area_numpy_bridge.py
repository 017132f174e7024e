"""NumPy-bridge specs (B-NP-*, CPU only): a clean run passes (the pandas spec skips with a reason where
pandas is absent), and each bridge fault is caught by exactly the specs that state the promise it
breaks (real pytest subprocess runs over specs/numpy-bridge, real torch and NumPy)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from conftest import SPECS

from conformance.lang import helpers

AREA = SPECS / "numpy-bridge"
PANDAS_SPEC = "numpy-bridge/pandas-dataframe-values"
HAVE_PANDAS = importlib.util.find_spec("pandas") is not None


# helpers.frame_values is the engine addition the pandas spec needs.
@pytest.mark.skipif(not HAVE_PANDAS, reason="pandas not installed")
def test_frame_values_is_a_real_dataframes_data() -> None:
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    v = helpers.frame_values(a)
    assert isinstance(v, np.ndarray) and v.dtype == a.dtype
    assert torch.equal(torch.tensor(v), torch.from_numpy(a))


@pytest.mark.skipif(HAVE_PANDAS, reason="pandas is installed")
def test_frame_values_without_pandas_raises_import_error() -> None:
    with pytest.raises(ImportError):
        helpers.frame_values(np.zeros((2, 2)))
    assert "frame_values" in helpers.__all__
