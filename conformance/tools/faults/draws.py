"""Faults that hide from independent, simple draws (issue 14): each shows only for one kind of input.

- structural coincidences: equal sides, square matrices, inputs of one shape;
- one call form: a keyword instead of a position, a list instead of varargs, -1 not in last place,
  a negative dim, the function instead of the method, dtype given by keyword;
- precision silently lowered: a float64 request computed through float32, an int64 one through int32
  (invisible unless a value tells them apart: 1 + 2**-40, 0.1, 2**40 + 1, ...);
- only for non-contiguous or zero-size inputs.

Everywhere else each patched function behaves exactly as the original.  `breaks` names the specs
(spec ids) that must catch each one; tests/test_draw_faults.py shows they do.
"""

from __future__ import annotations

from typing import Any

import torch

from conformance.tools.faults.registry import fault

# -- helpers ------------------------------------------------------------------------------------


def _sizes(args: tuple) -> list | None:
    """The size of a factory / view call, from varargs or one tuple/list/Size; None when not a size."""
    dims = args[0] if len(args) == 1 and isinstance(args[0], list | tuple) else args
    return list(dims) if all(isinstance(d, int) and not isinstance(d, bool) for d in dims) else None


def _wrap(d: int, n: int) -> int:
    return d % n if n else 0


def _sum_args(args: tuple, kw: dict) -> tuple[Any, Any, Any, dict]:
    """(input, dim, keepdim, the other keywords) of a torch.sum-like call."""
    kw = dict(kw)
    x, rest = args[0], list(args[1:])
    dim = rest.pop(0) if rest else kw.pop("dim", None)
    keep = rest.pop(0) if rest else kw.pop("keepdim", False)
    return x, dim, keep, kw


def _via(t: torch.Tensor, narrow: torch.dtype) -> torch.Tensor:
    """t, its values rounded in place through a narrower dtype (what a lowered-precision kernel keeps);
    in place, so leaf-ness, requires_grad and the autograd history stay as they were."""
    with torch.no_grad():
        t.copy_(t.to(narrow))
    return t


# -- structural coincidences --------------------------------------------------------------------

@fault("mm-square-transposes-mat2", "torch.mm", ["arith/mm-matches-numpy", "arith/mm-plus-bias-broadcasts"],
       "torch.mm of square matrices of one size (a 'fast square path') multiplies by mat2 transposed")
def _mm_square(original: Any) -> Any:
    def mm(input: Any, mat2: Any, **kw: Any) -> Any:
        if input.dim() == 2 and mat2.dim() == 2 and input.shape[0] == input.shape[1] == mat2.shape[0] == mat2.shape[1]:
            return original(input, mat2.t(), **kw)
        return original(input, mat2, **kw)
    return mm


@fault("transpose-equal-sides-noop", "torch.Tensor.transpose",
       ["views/transpose-is-noncontiguous-view", "views/view-transposed-raises"],
       "Tensor.transpose(d0, d1) returns an unchanged view when the two dims have the same size "
       "(a shape-only check taking it for a no-op)")
def _transpose_equal_noop(original: Any) -> Any:
    def transpose(self: Any, d0: int, d1: int) -> Any:
        if self.dim() and _wrap(d0, self.dim()) != _wrap(d1, self.dim()) and self.shape[d0] == self.shape[d1]:
            return self.view(self.shape)
        return original(self, d0, d1)
    return transpose


@fault("view-equal-sizes-column-major", "torch.Tensor.view", ["shape/view-row-major"],
       "Tensor.view into a shape with two equal sizes > 1 lays the elements out column-major")
def _view_equal_column_major(original: Any) -> Any:
    def view(self: Any, *shape: Any) -> Any:
        out = original(self, *shape)
        dims = [s for s in out.shape if s > 1]
        if _sizes(shape) is None or len(dims) == len(set(dims)):
            return out
        flat = self.permute(*reversed(range(self.dim()))).reshape(-1)
        return flat.reshape(tuple(reversed(out.shape))).permute(*reversed(range(out.dim())))
    return view


@fault("reshape-noncontiguous-square-transposed", "torch.reshape", ["views/reshape-noncontiguous-equals-contiguous-view"],
       "torch.reshape of a non-contiguous input whose last two sizes are equal copies it transposed "
       "(the copy kernel's square fast path swaps the strides)")
def _reshape_square(original: Any) -> Any:
    def reshape(input: Any, shape: Any) -> Any:
        if input.dim() >= 2 and not input.is_contiguous() and input.shape[-1] == input.shape[-2] > 1:
            return original(input.transpose(-1, -2).contiguous(), shape)
        return original(input, shape)
    return reshape


@fault("cat-same-shapes-ignores-dim", "torch.cat",
       ["arith/cat-along-dim", "arith/stack-new-dim", "numpy-bridge/cat-matches-concatenate"],
       "torch.cat of tensors that all have one shape joins them along dim 0 and reshapes to the right "
       "result shape (a 'stack and view' fast path): the values are scrambled unless dim is 0")
def _cat_same_shapes(original: Any) -> Any:
    def cat(tensors: Any, dim: Any = 0, **kw: Any) -> Any:
        ts = list(tensors)
        out = original(ts, dim, **kw)
        if (len(ts) > 1 and kw.get("out") is None and isinstance(dim, int) and ts[0].dim() > 0
                and all(t.shape == ts[0].shape for t in ts) and _wrap(dim, ts[0].dim()) != 0):
            return original(ts, 0).reshape(out.shape)
        return out
    return cat


@fault("stack-square-transposed", "torch.stack", ["arith/stack-new-dim"],
       "torch.stack of square matrices stacks each one transposed")
def _stack_square(original: Any) -> Any:
    def stack(tensors: Any, dim: Any = 0, **kw: Any) -> Any:
        ts = list(tensors)
        if ts and ts[0].dim() == 2 and ts[0].shape[0] == ts[0].shape[1] > 1 and kw.get("out") is None:
            ts = [t.t() for t in ts]
        return original(ts, dim, **kw)
    return stack


@fault("sum-dim-by-size", "torch.sum", ["arith/sum-dim-keepdim"],
       "torch.sum(x, dim) reduces the first dim that has the size of dim (looked up by size, not index): "
       "wrong when an earlier dim has the same size")
def _sum_dim_by_size(original: Any) -> Any:
    def sum(*args: Any, **kw: Any) -> Any:  # noqa: A001 - the patched function's name
        if not args or not isinstance(args[0], torch.Tensor):
            return original(*args, **kw)
        x, dim, keep, rest = _sum_args(args, kw)
        if isinstance(dim, int) and x.dim() > 0:
            dim = list(x.shape).index(x.shape[dim])
        return original(x, dim, keep, **rest) if dim is not None else original(x, **rest)
    return sum


@fault("linear-square-weight-untransposed", "torch.nn.functional.linear",
       ["nn/linear-affine", "nn/linear-registers-parameters"],
       "F.linear with a square weight (in_features == out_features) computes x @ W instead of x @ W.T")
def _linear_square(original: Any) -> Any:
    def linear(input: Any, weight: Any, bias: Any = None) -> Any:
        if weight.dim() == 2 and weight.shape[0] == weight.shape[1]:
            weight = weight.t()
        return original(input, weight, bias)
    return linear


# -- one call form wrong --------------------------------------------------------------------------

@fault("sum-keyword-dim-sums-all", "torch.sum", ["arith/sum-dim-keepdim"],
       "torch.sum(x, dim=d) with dim as a keyword and keepdim left out sums every element "
       "(the binding misses the keyword)")
def _sum_keyword_dim(original: Any) -> Any:
    def sum(*args: Any, **kw: Any) -> Any:  # noqa: A001
        if len(args) == 1 and "dim" in kw and "keepdim" not in kw:
            kw = {k: v for k, v in kw.items() if k != "dim"}
        return original(*args, **kw)
    return sum


@fault("sum-method-negative-dim-off-by-one", "torch.Tensor.sum", ["arith/sum-dim-keepdim"],
       "Tensor.sum(d) (the method) wraps a negative d as d + ndim - 1, one dim too far left; "
       "torch.sum is right")
def _sum_method_negative(original: Any) -> Any:
    def sum(self: Any, *args: Any, **kw: Any) -> Any:  # noqa: A001
        _, dim, keep, rest = _sum_args((self, *args), kw)
        if isinstance(dim, int) and dim < 0 and self.dim() > 1:
            dim = (dim - 1) % self.dim()
        return original(self, dim, keep, **rest) if dim is not None else original(self, **rest)
    return sum


@fault("view-inferred-dim-moved-last", "torch.Tensor.view", ["shape/view-row-major"],
       "Tensor.view with -1 anywhere but last puts the inferred size last (view(-1, 3) of 6 elements "
       "gives (3, 2))")
def _view_infer_moved(original: Any) -> Any:
    def view(self: Any, *shape: Any) -> Any:
        dims = _sizes(shape)
        if dims is not None and -1 in dims[:-1] and dims.count(-1) == 1:
            out = original(self, *shape)
            inferred = out.shape[dims.index(-1)]
            return original(self, *[d for d in dims if d != -1], inferred)
        return original(self, *shape)
    return view


@fault("zeros-list-size-reversed", "torch.zeros", ["creation/zeros-dtype-long"],
       "torch.zeros([a, b, ...]) with the size as a Python list builds the reversed shape "
       "(varargs and tuples are right)")
def _zeros_list(original: Any) -> Any:
    def zeros(*size: Any, **kw: Any) -> Any:
        if len(size) == 1 and isinstance(size[0], list):
            size = (list(reversed(size[0])),)
        return original(*size, **kw)
    return zeros


@fault("empty-varargs-ignores-dtype", "torch.empty", ["creation/empty-shape-dtype-device"],
       "torch.empty(a, b, dtype=dt) with the size as varargs ignores dtype (a size tuple keeps it)")
def _empty_varargs(original: Any) -> Any:
    def empty(*size: Any, **kw: Any) -> Any:
        if len(size) >= 1 and all(isinstance(s, int) for s in size) and kw.get("dtype") is not None:
            kw = {k: v for k, v in kw.items() if k != "dtype"}
        return original(*size, **kw)
    return empty


@fault("rand-varargs-ignores-dtype", "torch.rand", ["creation/rand-half-open-unit-interval"],
       "torch.rand(a, b, dtype=dt) with the size as varargs gives the default dtype")
def _rand_varargs(original: Any) -> Any:
    def rand(*size: Any, **kw: Any) -> Any:
        if len(size) >= 1 and all(isinstance(s, int) for s in size) and kw.get("dtype") is not None:
            kw = {k: v for k, v in kw.items() if k != "dtype"}
        return original(*size, **kw)
    return rand


@fault("transpose-function-negative-dims-noop", "torch.transpose", ["views/transpose-is-noncontiguous-view"],
       "torch.transpose(x, d0, d1) (the function) returns x unchanged when a dim is negative; "
       "Tensor.transpose is right")
def _transpose_function_negative(original: Any) -> Any:
    def transpose(input: Any, dim0: int, dim1: int) -> Any:
        if dim0 < 0 or dim1 < 0:
            return input.view(input.shape)
        return original(input, dim0, dim1)
    return transpose


@fault("add-out-ignores-alpha", "torch.add", ["inplace/add-forms-agree"],
       "torch.add(x, y, alpha=a, out=r) ignores alpha in the out= form (the plain call is right)")
def _add_out_alpha(original: Any) -> Any:
    def add(input: Any, other: Any, *args: Any, **kw: Any) -> Any:
        if kw.get("out") is not None and "alpha" in kw:
            kw = {k: v for k, v in kw.items() if k != "alpha"}
        return original(input, other, *args, **kw)
    return add


@fault("to-keyword-dtype-ignored", "torch.Tensor.to", ["devices/to-copies-when-changed"],
       "Tensor.to(dtype=dt) with dtype as a keyword (and no device) keeps the old dtype; to(dt) is right")
def _to_keyword_dtype(original: Any) -> Any:
    def to(self: Any, *args: Any, **kw: Any) -> Any:
        if not args and "dtype" in kw and "device" not in kw:
            kw = {k: v for k, v in kw.items() if k != "dtype"}
            return original(self, **kw) if kw else self
        return original(self, *args, **kw)
    return to


@fault("squeeze-keyword-dim-squeezes-all", "torch.Tensor.squeeze", ["shape/squeeze-dim-only-that-dim"],
       "Tensor.squeeze(dim=d) with dim as a keyword removes every size-1 dim; squeeze(d) is right")
def _squeeze_keyword(original: Any) -> Any:
    def squeeze(self: Any, *args: Any, **kw: Any) -> Any:
        if not args and "dim" in kw:
            return original(self)
        return original(self, *args, **kw)
    return squeeze


# -- only for a negative dim ----------------------------------------------------------------------

@fault("stack-negative-dim-wraps-like-cat", "torch.stack", ["arith/stack-new-dim"],
       "torch.stack wraps a negative dim by the inputs' ndim instead of ndim + 1 (as cat would): "
       "stack(ts, -1) inserts the new dim before the last one")
def _stack_negative(original: Any) -> Any:
    def stack(tensors: Any, dim: Any = 0, **kw: Any) -> Any:
        ts = list(tensors)
        if isinstance(dim, int) and dim < 0 and ts and ts[0].dim() > 0:
            dim = dim % ts[0].dim()
        return original(ts, dim, **kw)
    return stack


@fault("cat-negative-dim-off-by-one", "torch.cat",
       ["arith/cat-along-dim", "arith/cat-mismatch-raises", "arith/stack-new-dim", "numpy-bridge/cat-matches-concatenate"],
       "torch.cat wraps a negative dim as dim + ndim - 1 (when that is a dim), one dim too far left")
def _cat_negative(original: Any) -> Any:
    def cat(tensors: Any, dim: Any = 0, **kw: Any) -> Any:
        ts = list(tensors)
        ref = next((t for t in ts if t.dim() > 1), None)
        if isinstance(dim, int) and dim < 0 and ref is not None and dim + ref.dim() - 1 >= 0:
            dim = dim + ref.dim() - 1
        return original(ts, dim, **kw)
    return cat


@fault("squeeze-negative-dim-noop", "torch.Tensor.squeeze", ["shape/squeeze-dim-only-that-dim"],
       "Tensor.squeeze(d) with a negative d is a no-op (a size-1 dim stays)")
def _squeeze_negative(original: Any) -> Any:
    def squeeze(self: Any, *args: Any, **kw: Any) -> Any:
        d = args[0] if args else kw.get("dim")
        if isinstance(d, int) and d < 0:
            return self.view(self.shape)
        return original(self, *args, **kw)
    return squeeze


# -- precision silently lowered -------------------------------------------------------------------

@fault("full-float64-via-float32", "torch.full", ["creation/ones-and-full"],
       "torch.full(size, v, dtype=torch.float64) stores float32(v): the fill is computed in single precision")
def _full_float64(original: Any) -> Any:
    def full(*args: Any, **kw: Any) -> Any:
        out = original(*args, **kw)
        return _via(out, torch.float32) if out.dtype == torch.float64 else out
    return full


@fault("fill_-float64-via-float32", "torch.Tensor.fill_", ["inplace/fill_"],
       "Tensor.fill_(v) on a float64 tensor stores float32(v)")
def _fill_float64(original: Any) -> Any:
    def fill_(self: Any, value: Any) -> Any:
        if self.dtype == torch.float64 and isinstance(value, float):
            value = float(torch.tensor(value, dtype=torch.float32))
        return original(self, value)
    return fill_


@fault("arange-float64-via-float32", "torch.arange", ["creation/arange-excludes-end"],
       "torch.arange(..., dtype=torch.float64) computes its values in float32")
def _arange_float64(original: Any) -> Any:
    def arange(*args: Any, **kw: Any) -> Any:
        out = original(*args, **kw)
        return _via(out, torch.float32) if out.dtype == torch.float64 else out
    return arange


@fault("tensor-float64-via-float32", "torch.tensor", ["creation/tensor-infers-dtype"],
       "torch.tensor(python floats, dtype=torch.float64) parses the numbers as float32")
def _tensor_float64(original: Any) -> Any:
    def tensor(data: Any, *args: Any, **kw: Any) -> Any:
        out = original(data, *args, **kw)
        if out.dtype == torch.float64 and isinstance(data, list | tuple | float):
            return _via(out, torch.float32)
        return out
    return tensor


@fault("clone-float64-via-float32", "torch.Tensor.clone", ["views/clone-is-exact-copy", "views/reshape-contiguous-is-view"],
       "Tensor.clone of a float64 tensor goes through a float32 buffer")
def _clone_float64(original: Any) -> Any:
    def clone(self: Any, *args: Any, **kw: Any) -> Any:
        out = original(self, *args, **kw)
        return _via(out, torch.float32) if out.dtype == torch.float64 else out
    return clone


@fault("to-float64-from-int64-via-float32", "torch.Tensor.to", ["devices/to-device-and-dtype"],
       "Tensor.to(float64) of an int64 tensor converts through float32 (2**40 + 1 becomes 2**40)")
def _to_float64_from_int64(original: Any) -> Any:
    def to(self: Any, *args: Any, **kw: Any) -> Any:
        out = original(self, *args, **kw)
        if isinstance(out, torch.Tensor) and self.dtype == torch.int64 and out.dtype == torch.float64:
            return original(original(self, torch.float32), *args, **kw)
        return out
    return to


@fault("copy_-int64-via-int32", "torch.Tensor.copy_", ["inplace/copy_"],
       "Tensor.copy_ into an int64 tensor goes through int32 (values beyond 2**31 wrap)")
def _copy_int64(original: Any) -> Any:
    def copy_(self: Any, src: Any, *args: Any, **kw: Any) -> Any:
        if self.dtype == torch.int64 and isinstance(src, torch.Tensor) and src.dtype == torch.int64:
            src = src.to(torch.int32)
        return original(self, src, *args, **kw)
    return copy_


@fault("tensor-ndarray-int64-via-int32", "torch.tensor", ["numpy-bridge/tensor-copies-ndarray"],
       "torch.tensor(ndarray of int64) copies through int32 (values beyond 2**31 wrap)")
def _tensor_ndarray_int64(original: Any) -> Any:
    def tensor(data: Any, *args: Any, **kw: Any) -> Any:
        out = original(data, *args, **kw)
        if out.dtype == torch.int64 and type(data).__name__ == "ndarray":
            return _via(out, torch.int32)
        return out
    return tensor


# -- only for non-contiguous or zero-size inputs --------------------------------------------------

@fault("copy_-noncontiguous-src-read-as-contiguous", "torch.Tensor.copy_",
       ["inplace/copy_", "inplace/write-through-transposed-view"],
       "Tensor.copy_ from a non-contiguous source reads its storage as if it were contiguous")
def _copy_noncontiguous(original: Any) -> Any:
    def copy_(self: Any, src: Any, *args: Any, **kw: Any) -> Any:
        if isinstance(src, torch.Tensor) and src.numel() > 1 and not src.is_contiguous() and src.device == self.device:
            stride, acc = [], 1
            for s in reversed(src.shape):
                stride.append(acc)
                acc *= max(s, 1)
            src = src.as_strided(src.shape, tuple(reversed(stride)), src.storage_offset())
        return original(self, src, *args, **kw)
    return copy_


@fault("sum-empty-dim-gives-ones", "torch.sum", ["arith/sum-dim-keepdim"],
       "torch.sum over a dim of size 0 returns ones instead of zeros (the empty sum)")
def _sum_empty(original: Any) -> Any:
    def sum(*args: Any, **kw: Any) -> Any:  # noqa: A001
        out = original(*args, **kw)
        if not args or not isinstance(args[0], torch.Tensor) or kw.get("out") is not None:
            return out
        x, dim, _, _ = _sum_args(args, kw)
        if isinstance(dim, int) and x.dim() > 0 and x.shape[dim] == 0 and out.numel():
            return torch.ones_like(out)
        return out
    return sum


@fault("clone-empty-flattens", "torch.Tensor.clone", ["views/clone-is-exact-copy"],
       "Tensor.clone of an empty tensor returns shape (0,) (the empty storage, its shape lost)")
def _clone_empty(original: Any) -> Any:
    def clone(self: Any, *args: Any, **kw: Any) -> Any:
        out = original(self, *args, **kw)
        return out.reshape(0) if self.numel() == 0 and self.dim() != 1 else out
    return clone
