"""Hypothesis inputs from a spec's `given`: one small module per family, re-exported here.

`build_one` turns one `given` entry into a Given; the loader calls it in order, so each later entry
may refer to earlier names in its options (`shape: "x.shape"`, `max: "x.dim() - 1"`).  Importing the
family modules registers their kinds in `KINDS`.
"""

from conformance.lang.strategies.base import KINDS, Ctx, Given, OptionError, build_one
from conformance.lang.strategies.scalars import (
    Booleans,
    Dtype,
    Floats,
    Integers,
    Lists,
    SampledFrom,
    Shape,
    Value,
)
from conformance.lang.strategies.tensors import NDArray, Tensor

__all__ = ["KINDS", "Booleans", "Ctx", "Dtype", "Floats", "Given", "Integers", "Lists", "NDArray", "OptionError",
           "SampledFrom", "Shape", "Tensor", "Value", "build_one"]
