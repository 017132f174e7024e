"""Dtype names a spec may use, named groups of them, the NumPy twin of each, and tolerances.

Tolerances follow ``torch.testing.assert_close``'s documented defaults per dtype; the looser
cross-device table allows for different (but documented-legal) reduction orders and TF32 on CUDA.
"""

from __future__ import annotations

import numpy as np
import torch

TORCH_DTYPES: dict[str, torch.dtype] = {
    "bool": torch.bool,
    "uint8": torch.uint8,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "complex64": torch.complex64,
    "complex128": torch.complex128,
}

# Named groups expand inside dtype lists: `dtype: [floating, int64]`.
GROUPS: dict[str, list[str]] = {
    "floating": ["float32", "float64"],
    "all_floating": ["float16", "bfloat16", "float32", "float64"],
    "signed": ["int8", "int16", "int32", "int64"],
    "integral": ["uint8", "int8", "int16", "int32", "int64"],
    "numeric": ["uint8", "int8", "int16", "int32", "int64", "float32", "float64"],
    "all": ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"],
}

# NumPy has no bfloat16: such a spec cannot use ndarray inputs of that dtype.
NUMPY_OF: dict[torch.dtype, np.dtype] = {
    t: np.dtype(name) for name, t in TORCH_DTYPES.items() if name != "bfloat16"
}
TORCH_OF: dict[np.dtype, torch.dtype] = {v: k for k, v in NUMPY_OF.items()}

# Cross-device (matches_cpu): kernels may reduce in another order or use TF32 matmuls on CUDA.
CROSS_DEVICE: dict[torch.dtype, tuple[float, float]] = {
    torch.float16: (1e-2, 1e-3),
    torch.bfloat16: (5e-2, 1e-2),
    torch.float32: (1e-4, 1e-5),
    torch.float64: (1e-7, 1e-7),
    torch.complex64: (1e-4, 1e-5),
    torch.complex128: (1e-7, 1e-7),
}


def expand(names: str | list[str]) -> list[str]:
    """Expand a dtype name or list (with groups) into a de-duplicated, ordered list of names."""
    if isinstance(names, str):
        names = [names]
    out: list[str] = []
    for name in names:
        for n in GROUPS.get(name, [name]):
            if n not in TORCH_DTYPES:
                raise ValueError(
                    f"unknown dtype {name!r}; expected one of {sorted(TORCH_DTYPES)} or a group {sorted(GROUPS)}"
                )
            if n not in out:
                out.append(n)
    return out


def torch_dtype(x: object) -> torch.dtype | None:
    """The torch dtype of a tensor, ndarray, numpy/torch dtype, or Python scalar."""
    if isinstance(x, torch.dtype):
        return x
    if isinstance(x, torch.Tensor):
        return x.dtype
    if isinstance(x, np.ndarray | np.generic):
        return TORCH_OF.get(x.dtype)
    if isinstance(x, np.dtype):
        return TORCH_OF.get(x)
    if isinstance(x, type) and issubclass(x, np.generic):
        return TORCH_OF.get(np.dtype(x))
    if isinstance(x, bool):
        return torch.bool
    if isinstance(x, int):
        return torch.int64
    if isinstance(x, float):
        return torch.get_default_dtype()
    return None


def tolerance(*dtypes: torch.dtype | None, table: dict) -> tuple[float, float]:
    """The loosest tolerance of ``table`` among ``dtypes``; exact (0, 0) when none is floating/complex.
    (Same-device tolerances live with the checks' primitives: check_helpers._tol.)"""
    tols = [table[d] for d in dtypes if d is not None and d in table]
    if not tols:
        return 0.0, 0.0
    return max(t[0] for t in tols), max(t[1] for t in tols)
