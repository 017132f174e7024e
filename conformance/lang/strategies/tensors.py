"""Array inputs: `tensor` (placed on the device under test) and `ndarray` (always host memory).

Values come from `hypothesis.extra.numpy.arrays`, so shrinking works on the data, and the torch
tensor is built from that array.  Defaults are chosen so that documented behaviour, not overflow,
is what a spec observes: finite values, no subnormals (some backends flush them to zero), small
magnitudes, and empty/0-dim shapes included unless a spec raises `min_side`/`min_dims`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conformance.lang import dtypes
from conformance.lang.strategies import precision
from conformance.lang.strategies.base import Ctx, Env, Given, OptionError, allowed_keys
from conformance.lang.strategies.scalars import floats_with_specials
from conformance.lang.strategies.shapes import ShapeOpts
from conformance.lang.strategies.stats import log_of

ELEMENT_KEYS = {"min", "max", "allow_nan", "allow_infinity", "pool", "precise"}
DEFAULT_BOUNDS = {"float": (-100.0, 100.0), "int": (-20, 20)}


class _Array(Given):
    KEYS = {"dtype", "shape", "elements", "contiguous"}

    def __init__(self, opts: dict, ctx: Ctx):
        if not isinstance(opts, dict):
            raise OptionError(self.kind, f"expected a mapping of options, got {opts!r}")
        allowed_keys(self.kind, opts, self.KEYS)
        if "dtype" not in opts:
            raise OptionError("dtype", f"{self.kind} needs a dtype (a name, a group or a list)",
                              f"e.g. dtype: [float32, int64]; groups: {sorted(dtypes.GROUPS)}")
        try:
            self.dtype_names = dtypes.expand(opts["dtype"])
        except ValueError as e:
            raise OptionError("dtype", str(e)) from None
        self.shape = ShapeOpts(opts.get("shape"), ctx)
        elements = opts.get("elements") or {}
        if not isinstance(elements, dict):
            raise OptionError("elements", f"expected a mapping, got {elements!r}")
        allowed_keys("elements", elements, ELEMENT_KEYS)
        self.lo = ctx.value("elements.min", elements.get("min"))
        self.hi = ctx.value("elements.max", elements.get("max"))
        self.pool = ctx.value("elements.pool", elements["pool"]) if "pool" in elements else None
        self.nan = bool(elements.get("allow_nan", False))
        self.inf = bool(elements.get("allow_infinity", False))
        # `precise: true`: mix in values the dtype holds exactly and a narrower one does not
        # (float64: 1 + 2**-40, 0.1, ...; int64: 2**40 + 1, -(2**31) - 1, ...), within min/max
        self.precise = elements.get("precise", False)
        if self.precise not in (True, False):
            raise OptionError("elements.precise", f"expected true or false, got {self.precise!r}")
        self.bounded = ("min" in elements, "max" in elements)
        contiguous = opts.get("contiguous", True)
        if contiguous not in (True, False, "any"):
            raise OptionError("contiguous", f"expected true, false or any, got {contiguous!r}")
        self.contiguous = contiguous

    def _elements(self, name: str, env: Env) -> st.SearchStrategy:
        base = self._base_elements(name, env)
        if not self.precise:
            return base
        lo, hi = self.lo(env), self.hi(env)
        return precision.mix_precise(base, precision.precise_values(
            name, lo if self.bounded[0] else None, hi if self.bounded[1] else None))

    def _base_elements(self, name: str, env: Env) -> st.SearchStrategy:
        if self.pool is not None:  # a small pool of values makes ties and repeats likely
            return st.sampled_from(list(self.pool(env)))
        if name == "bool":
            return st.booleans()
        lo, hi = self.lo(env), self.hi(env)
        if name.startswith(("float", "bfloat", "complex")):
            dlo, dhi = DEFAULT_BOUNDS["float"]
            width = 16 if name == "float16" else 32 if name in ("float32", "bfloat16", "complex64") else 64
            return floats_with_specials(dlo if lo is None else lo, dhi if hi is None else hi, width,
                                        self.nan, self.inf, allow_subnormal=False)
        info = np.iinfo(np.dtype(name))
        dlo, dhi = DEFAULT_BOUNDS["int"]
        return st.integers(int(max(info.min, dlo if lo is None else lo)), int(min(info.max, dhi if hi is None else hi)))

    def _array(self, data: Any, env: Env) -> tuple[np.ndarray, str, tuple | None]:
        """Draw (host array, dtype name, the index that makes it non-contiguous or None)."""
        name = data.draw(st.sampled_from(self.dtype_names)) if len(self.dtype_names) > 1 else self.dtype_names[0]
        shape = self.shape.draw(data, env)
        strided = (not self.contiguous) if self.contiguous != "any" else not data.draw(st.booleans())
        # Empty tensors, 0-dim ones and those whose sizes are all 1 are contiguous whatever their
        # strides: step through the last dimension of size >= 2, and when there is none,
        # `contiguous: false` rejects the example rather than hand over a contiguous input.
        axis = next((i for i in reversed(range(len(shape))) if shape[i] >= 2), None)
        if strided and (axis is None or 0 in shape):
            if self.contiguous is False:
                reject()
            strided = False
        host = "float32" if name == "bfloat16" else name
        index = None
        alloc = shape
        if strided and axis is not None:
            alloc = shape[:axis] + (shape[axis] * 2,) + shape[axis + 1:]
            index = (slice(None),) * axis + (slice(None, None, 2),)
        arr = data.draw(hnp.arrays(np.dtype(host), alloc, elements=self._elements(name, env)))
        if self.precise and arr.size and np.isin(arr, precision.precise_values(name)).any():
            log_of(env).features.add(f"precise:{self.name}")
        return arr, name, index

    def _pinned_array(self, value: Any) -> np.ndarray:
        """An explicit example's literal (nested lists, a number) as an array of the first listed dtype."""
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy() if value.dtype != torch.bfloat16 else value.float().numpy()
        host = "float32" if self.dtype_names[0] == "bfloat16" else self.dtype_names[0]
        return np.array(value, dtype=None if isinstance(value, np.ndarray) else np.dtype(host))


class Tensor(_Array):
    """`x: {tensor: {dtype: [...], shape: {...}, elements: {...}, requires_grad: true, contiguous: any}}`"""

    kind = "tensor"
    KEYS = _Array.KEYS | {"requires_grad", "device"}

    def __init__(self, opts: dict, ctx: Ctx):
        super().__init__(opts, ctx)
        self.requires_grad = opts.get("requires_grad", False)
        if self.requires_grad not in (True, False):
            raise OptionError("requires_grad", f"expected true or false, got {self.requires_grad!r}")
        if self.requires_grad:
            bad = [n for n in self.dtype_names if not n.startswith(("float", "bfloat", "complex"))]
            if bad:
                raise OptionError("requires_grad", f"only floating dtypes can require grad, not {bad}",
                                  "restrict dtype to floating types")
        self.device = opts.get("device", "under_test")
        if self.device not in ("under_test", "cpu"):
            raise OptionError("device", f"expected under_test or cpu, got {self.device!r}",
                              "specs do not hard-code devices; `cpu` pins an input to host memory")

    def draw(self, data: Any, env: Env, device: Any) -> torch.Tensor:
        arr, name, index = self._array(data, env)
        t = torch.from_numpy(arr).to(dtypes.TORCH_DTYPES[name])
        if self.device == "under_test":
            t = t.to(device)
        if index is not None:
            t = t[index]  # slicing after the move keeps the strides on every device
        if self.requires_grad:
            t.requires_grad_(True)
        return t

    def pin(self, value: Any, env: Env, device: Any) -> torch.Tensor:
        """A literal becomes a tensor of the first listed dtype; a tensor keeps its dtype and layout."""
        if isinstance(value, torch.Tensor):
            t = value.detach()
        else:
            t = torch.from_numpy(self._pinned_array(value)).to(dtypes.TORCH_DTYPES[self.dtype_names[0]])
        if self.device == "under_test":
            t = t.to(device)
        return t.requires_grad_(True) if self.requires_grad else t


class NDArray(_Array):
    """`a: {ndarray: {dtype: [...], shape: {...}}}` — NumPy arrays live in host memory."""

    kind = "ndarray"

    def __init__(self, opts: dict, ctx: Ctx):
        super().__init__(opts, ctx)
        if "bfloat16" in self.dtype_names:
            raise OptionError("dtype", "NumPy has no bfloat16")

    def draw(self, data: Any, env: Env, device: Any) -> np.ndarray:
        arr, _, index = self._array(data, env)
        return arr[index] if index is not None else arr

    def pin(self, value: Any, env: Env, device: Any) -> np.ndarray:
        return self._pinned_array(value)
