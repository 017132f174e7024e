"""Faults of arithmetic, matrix products, reductions and joins."""

from __future__ import annotations

from typing import Any

import torch

from conformance.tools.faults.registry import fault


@fault("sub-broadcast-swapped", "torch.sub", ["B-AR-1"],
       "torch.sub swaps its operands on the broadcasting path (shapes differ): returns other - input")
def _sub_broadcast_swapped(original: Any) -> Any:
    def sub(input: Any, other: Any, *, alpha: Any = 1, out: Any = None) -> Any:
        shapes_differ = isinstance(other, torch.Tensor) and isinstance(input, torch.Tensor) and input.shape != other.shape
        a, b = (other, input) if shapes_differ else (input, other)
        return original(a, b, alpha=alpha) if out is None else original(a, b, alpha=alpha, out=out)
    return sub


@fault("div-int-floors", "torch.div", ["B-AR-1"],
       "torch.div of two integer tensors floor-divides and keeps the integer dtype (Python 2 semantics) "
       "instead of true division to the default float dtype")
def _div_int_floors(original: Any) -> Any:
    def div(input: Any, other: Any, *, rounding_mode: Any = None, out: Any = None) -> Any:
        def integral(v: Any) -> bool:
            return isinstance(v, int) or (isinstance(v, torch.Tensor) and not (v.is_floating_point() or v.is_complex()))
        if rounding_mode is None and integral(input) and integral(other):
            rounding_mode = "floor"
        kw = {} if out is None else {"out": out}
        return original(input, other, rounding_mode=rounding_mode, **kw)
    return div


@fault("mm-ignores-mat2-strides", "torch.mm", ["B-AR-2"],
       "torch.mm reads a non-contiguous mat2 (e.g. a transposed matrix) as if it were row-major "
       "(a BLAS layout-flag bug): right shape, scrambled values")
def _mm_ignores_mat2_strides(original: Any) -> Any:
    def mm(input: Any, mat2: Any, *, out: Any = None) -> Any:
        if not mat2.is_contiguous() and mat2.numel():
            k, m = mat2.shape
            mat2 = mat2.as_strided((k, m), (m, 1))  # the kernel walks memory with row-major strides
        return original(input, mat2) if out is None else original(input, mat2, out=out)
    return mm


@fault("mm-no-shape-check", "torch.mm", ["B-AR-2"],
       "torch.mm silently truncates to the shorter inner dimension instead of raising on a shape mismatch")
def _mm_no_shape_check(original: Any) -> Any:
    def mm(input: Any, mat2: Any, *, out: Any = None) -> Any:
        k = min(input.shape[-1], mat2.shape[0])
        a, b = input[:, :k], mat2[:k]
        return original(a, b) if out is None else original(a, b, out=out)
    return mm


@fault("sum-keepdim-dropped", "torch.sum", ["B-AR-3"],
       "torch.sum ignores keepdim=True and always squeezes the reduced dimension")
def _sum_keepdim_dropped(original: Any) -> Any:
    def sum(*args: Any, **kwargs: Any) -> Any:  # noqa: A001 - same name as the patched function
        positional = list(args)
        if len(positional) > 2:  # sum(input, dim, keepdim)
            positional[2] = False
        if "keepdim" in kwargs:
            kwargs["keepdim"] = False
        return original(*positional, **kwargs)
    return sum


@fault("max-dim-last-tie", "torch.max", ["B-AR-3"],
       "torch.max(x, dim) returns the index of the last of equal maxima instead of the first "
       "(a reduction that compares with >=)")
def _max_dim_last_tie(original: Any) -> Any:
    def max(input: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A001
        res = original(input, *args, **kwargs)
        if not isinstance(res, tuple) or "out" in kwargs:
            return res  # full reduction or element-wise max: no indices to get wrong
        dim = args[0] if args else kwargs["dim"]
        values, flipped = res[0], original(input.flip(dim), *args, **kwargs)[1]
        return torch.return_types.max((values, input.shape[dim] - 1 - flipped))
    return max


@fault("argmax-last-tie", "torch.argmax", ["B-AR-3"],
       "torch.argmax returns the index of the last of equal maxima instead of the first")
def _argmax_last_tie(original: Any) -> Any:
    def argmax(input: Any, dim: Any = None, keepdim: bool = False) -> Any:
        if dim is None:
            flat = input.flatten()
            idx = flat.numel() - 1 - original(flat.flip(0))
            return idx.reshape([1] * input.dim()) if keepdim else idx
        return input.shape[dim] - 1 - original(input.flip(dim), dim, keepdim)
    return argmax


@fault("cat-ignores-dim", "torch.cat", ["B-AR-4"],
       "torch.cat drops its dim argument and always concatenates along dim 0")
def _cat_ignores_dim(original: Any) -> Any:
    def cat(tensors: Any, dim: Any = 0, *, out: Any = None) -> Any:
        return original(tensors, 0) if out is None else original(tensors, 0, out=out)
    return cat


@fault("stack-ignores-dim", "torch.stack", ["B-AR-4"],
       "torch.stack drops its dim argument and always inserts the new dimension first")
def _stack_ignores_dim(original: Any) -> Any:
    def stack(tensors: Any, dim: Any = 0, *, out: Any = None) -> Any:
        return original(tensors, 0) if out is None else original(tensors, 0, out=out)
    return stack


@fault("chunk-as-tensor-split", "torch.Tensor.chunk", ["B-AR-5"],
       "Tensor.chunk behaves like tensor_split: always exactly n pieces, sizes spread evenly "
       "(so not all ceil(len/n), and possibly empty)")
def _chunk_as_tensor_split(original: Any) -> Any:
    def chunk(self: Any, chunks: int, dim: int = 0) -> Any:
        return self.tensor_split(chunks, dim)
    return chunk


@fault("split-copies", "torch.Tensor.split", ["B-AR-5"],
       "Tensor.split (and so torch.split) returns copies of the pieces instead of views of the input")
def _split_copies(original: Any) -> Any:
    def split(self: Any, split_size: Any, dim: int = 0) -> Any:
        return tuple(t.clone() for t in original(self, split_size, dim))
    return split
