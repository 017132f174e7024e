"""Values that tell dtypes apart, and values at the boundaries of a range.

Most drawn numbers (small integers, halves, quarters) are exact in float32 and int32, so a backend
that computes a float64 request through float32, or an int64 one through int32, returns the same
values and passes.  The values here are exact in the named dtype and not in the narrower one it could
silently go through: `floats: {precision: float64}`, `integers: {precision: int64}`, tensor
`elements: {precise: true}` mix them into their draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

# dtype -> values exact in it but not in the narrower dtype a faulty backend could use instead.
PRECISE: dict[str, tuple[Any, ...]] = {
    # not float32: 1 + 2**-40 rounds to 1; 2**40 + 1 to 2**40; 0.1 and 1/3 differ in the 9th digit
    "float64": (1 + 2**-40, 0.1, -(2**40 + 1), 1 / 3, 2.0**53 - 1, -(1 + 2**-30), 16777217.0),
    # not float16/bfloat16: 1 + 2**-20 rounds to 1; 2049 to 2048 (float16), 257 to 256 (bfloat16)
    "float32": (1 + 2**-20, float(np.float32(0.1)), -2049.0, 257.0, float(np.float32(1 / 3))),
    "complex128": (complex(1 + 2**-40, 0.1), complex(-(2**40 + 1), 1 / 3)),
    "complex64": (complex(1 + 2**-20, float(np.float32(0.1))),),
    # not int32 (and, for 2**53 + 1 and 2**62 + 1, not even float64)
    "int64": (2**31, -(2**31) - 1, 2**40 + 1, 2**53 - 1, -(2**53 + 1), 2**62 + 1),
    "int32": (2**15, -(2**15) - 1, 2**31 - 1, -(2**31)),
    "int16": (2**7, -(2**7) - 1, 2**15 - 1),
}


def precise_values(dtype: str, lo: Any = None, hi: Any = None) -> list[Any]:
    """The dtype's discriminating values within [lo, hi] (a None bound is open)."""
    out = []
    for v in PRECISE.get(dtype, ()):
        key = v.real if isinstance(v, complex) else v
        if (lo is None or key >= lo) and (hi is None or key <= hi):
            out.append(v)
    return out


def mix_precise(base: st.SearchStrategy, values: list[Any]) -> st.SearchStrategy:
    """`base` about half the time (its branch is the smaller one: failures shrink towards it), else a precise value."""
    return st.one_of(base, st.sampled_from(values)) if values else base


def boundaries(lo: int, hi: int, extra: tuple[int, ...] = ()) -> list[int]:
    """The interesting values of [lo, hi], simplest first: 0, lo, hi, -1, 1, lo + 1, hi - 1 (those inside)."""
    out: list[int] = []
    for v in (0, lo, hi, -1, 1, lo + 1, hi - 1, *extra):
        if lo <= v <= hi and v not in out:
            out.append(v)
    return out


def biased_int(data: Any, lo: int, hi: int, specials: list[int]) -> int:
    """An integer in [lo, hi]: one of `specials` about half the time (the first is the smallest choice)."""
    if not specials:
        return data.draw(st.integers(lo, hi))
    choice = data.draw(st.integers(0, 2 * len(specials) - 1))
    if choice < len(specials):
        return specials[choice]
    return data.draw(st.integers(lo, hi))
