"""Hypothesis inputs from a spec's `given`: one small module per family, re-exported here.

`build_one` turns one `given` entry into a Given; the loader calls it in order, so each later entry
may refer to earlier names in its options (`shape: "x.shape"`, `max: "x.dim() - 1"`).  Importing the
family modules registers their kinds in `GIVEN_KINDS`.
"""

from conformance.lang.strategies.base import GIVEN_KINDS, Ctx, Given, OptionError, build_one
from conformance.lang.strategies.dims import Dim, Index
from conformance.lang.strategies.explicit import Pinned, compile_examples
from conformance.lang.strategies.forms import Call, Form, SizeArgs
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
from conformance.lang.strategies.shapes import ShapeOpts, Side
from conformance.lang.strategies.stats import LOG_KEY, DrawLog, DrawStats, log_of
from conformance.lang.strategies.tensors import NDArray, Tensor

__all__ = ["GIVEN_KINDS", "LOG_KEY", "Booleans", "Call", "Ctx", "Dim", "DrawLog", "DrawStats", "Dtype", "Floats", "Form",
           "Given", "Index", "Integers", "Lists", "NDArray", "OptionError", "Pinned", "SampledFrom", "Shape",
           "ShapeOpts", "Side", "SizeArgs", "Tensor", "Value", "build_one", "compile_examples", "log_of"]
