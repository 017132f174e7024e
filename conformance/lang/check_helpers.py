"""The primitives that give the checks their meaning, written once for two uses.

The check kinds (checks.py) call these functions at run time, and a standalone reproduction snippet
(snippet.py) copies the very same source into its text with `inspect.getsource`.  So the snippet's
`assert _mismatch(a, b, 0, 0) is None` means exactly what the suite's `equal` check meant.

Rules for this module, because its functions travel alone: each function is self-contained, uses
only `torch`, `np`, `re` and `contextlib` (the snippet's imports) and the other functions of ALL
(a snippet copies the ones its checks call, and the ones those call), and has no annotations that
name anything else.
"""

import contextlib
import re

import numpy as np
import torch


def _t(v):
    """Any tensor, ndarray, number or sequence of them as a CPU tensor (what the checks compare)."""
    if isinstance(v, torch.Tensor):
        h = v.detach().cpu()
        return h.float() if h.dtype == torch.bfloat16 else h
    if isinstance(v, np.ndarray | np.generic):
        return torch.as_tensor(np.array(v))
    return torch.as_tensor(v)


def _mismatch(a, b, rtol, atol):
    """None when a and b agree (same shape, values within rtol/atol, NaN equals NaN, dtype not
    compared; non-numeric values with ==; sequences element by element), else what differs."""
    if isinstance(a, tuple | list) and isinstance(b, tuple | list) and not all(
            isinstance(v, int | float | bool) for v in [*a, *b]):
        if len(a) != len(b):
            return f"lengths differ, {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _mismatch(x, y, rtol, atol)
            if found is not None:
                return f"[{i}]: {found}"
        return None
    arrays = (torch.Tensor, np.ndarray, np.generic)
    if not isinstance(a, arrays + (float, complex)) and not isinstance(b, arrays + (float, complex)):
        return None if a == b else f"{repr(a)[:200]} != {repr(b)[:200]}"
    ha, hb = _t(a), _t(b)
    if ha.shape != hb.shape:
        return f"shapes differ, {tuple(ha.shape)} vs {tuple(hb.shape)}"
    try:
        torch.testing.assert_close(ha, hb, rtol=rtol, atol=atol, equal_nan=True, check_dtype=False)
    except AssertionError as e:
        return str(e)
    return None


def _span(x):
    """[start, end) of the memory a tensor's storage or an ndarray's base buffer covers."""
    if isinstance(x, torch.Tensor):
        s = x.untyped_storage()
        return s.data_ptr(), s.data_ptr() + s.nbytes()
    if isinstance(x, np.ndarray):
        while isinstance(x.base, np.ndarray):
            x = x.base
        start = x.__array_interface__["data"][0]
        return start, start + x.nbytes
    raise TypeError(f"memory checks need tensors or ndarrays, got {type(x).__name__}")


def _shares(a, b):
    """Do a and b reach overlapping memory?  None when either is empty: zero bytes neither share
    nor differ (allocators give an empty storage address 0 on CUDA, any address on CPU).  Backends
    without addressable storage (torch_xla: no data_ptr) are asked by writing: see _writes_reach."""
    try:
        (a0, a1), (b0, b1) = _span(a), _span(b)
    except RuntimeError:   # "invalid python storage": a storage-less backend
        return _writes_reach(a, b)
    if a0 == a1 or b0 == b1:
        return None
    if a0 == 0 and b0 == 0 and isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return _writes_reach(a, b)   # non-empty storages at address 0: a backend that hides addresses
    return (a0 == b0 and a0 != 0) or (a0 < b1 and b0 < a1)


def _writes_reach(a, b):
    """Aliasing as the documentation defines a view, observed: write different values into every
    element of one tensor, see whether the other changed, then put the values back.  The written one
    is never a view with more elements than its base (expand, unfold): several of its elements are
    one memory location, where writes are undefined.  None when it cannot be observed."""
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)) or a.numel() == 0 or b.numel() == 0:
        return None

    def overlaps_itself(t):
        return t._is_view() and t._base is not None and t.numel() > t._base.numel()

    if overlaps_itself(a):
        a, b = b, a
    if overlaps_itself(a):
        return None
    with torch.no_grad():
        before_a, before_b = a.detach().clone(), b.detach().clone()
        try:
            a.detach().copy_(torch.where(before_a == 0, 1, 0).to(a.dtype))
        except RuntimeError:
            return None   # an overlapping or otherwise unwritable tensor
        try:
            now = b.detach()
            same = (now == before_b) | (now.isnan() & before_b.isnan()) \
                if now.is_floating_point() or now.is_complex() else now == before_b
            changed = not bool(same.all())
        finally:
            a.detach().copy_(before_a)
    return changed


def _truth(v):
    """Tensors and arrays are true when every element is."""
    return bool(v.all()) if isinstance(v, torch.Tensor | np.ndarray) else bool(v)


def _dtype(x):
    """The torch dtype of a tensor, an ndarray, a NumPy dtype or a torch dtype (None if none)."""
    if isinstance(x, torch.Tensor):
        return x.dtype
    if isinstance(x, torch.dtype):
        return x
    if isinstance(x, str):
        return None   # a name is not a dtype (specs write dtypes as torch.float32 or bare names the loader resolves)
    try:
        name = np.dtype(x if isinstance(x, type) else getattr(x, "dtype", x)).name   # a table, not torch.from_numpy
    except (TypeError, ValueError):
        return None
    found = getattr(torch, name, None) if name != "bool" else torch.bool
    return found if isinstance(found, torch.dtype) else None


def _tol(*values):
    """(rtol, atol): the loosest documented tolerance among the values' dtypes (those of
    torch.testing.assert_close); exact (0, 0) when none is floating or complex."""
    table = {torch.float16: (1e-3, 1e-5), torch.bfloat16: (1.6e-2, 1e-5), torch.float32: (1.3e-6, 1e-5),
             torch.float64: (1e-7, 1e-7), torch.complex64: (1.3e-6, 1e-5), torch.complex128: (1e-7, 1e-7)}
    found = []
    for v in values:
        if isinstance(v, list | tuple):
            found.append(_tol(*[x for x in v if isinstance(x, torch.Tensor | np.ndarray | list | tuple)]))
            continue
        d = torch.get_default_dtype() if isinstance(v, float) else _dtype(v) if not isinstance(v, int | complex) else None
        if d in table:
            found.append(table[d])
    return (max(r for r, _ in found), max(a for _, a in found)) if found else (0.0, 0.0)


def _out_of_range(x, lo, hi, max_exclusive):
    """None when lo <= x <= hi (or < hi with max_exclusive) element-wise, else what is outside."""
    h = _t(x).double()
    if h.numel() == 0:
        return None
    if lo is not None and not bool((h >= lo).all()):
        return f"values below {lo}: min is {h.min().item()}"
    if hi is not None and bool(((h >= hi) if max_exclusive else (h > hi)).any()):
        return f"values above {'or at ' if max_exclusive else ''}{hi}: max is {h.max().item()}"
    return None


@contextlib.contextmanager
def _raises(exc, match=None):
    """The block must raise exc (or a subclass), its message matching the regex `match`."""
    try:
        yield
    except exc as e:
        if match and not re.search(match, str(e)):
            raise AssertionError(f"{type(e).__name__} raised, but its message {str(e)[:300]!r} "
                                 f"does not match {match!r}") from None
        return
    except Exception as e:  # noqa: BLE001 - the wrong exception type is the finding
        raise AssertionError(f"expected {exc.__name__}, got {type(e).__name__}: {str(e)[:300]}") from None
    raise AssertionError(f"expected {exc.__name__}, but nothing was raised")


def _np(v):
    """A value as the numpy side of matches_numpy sees it: tensors (and lists of them) as ndarrays."""
    if isinstance(v, torch.Tensor):
        h = v.detach().cpu()
        return (h.float() if h.dtype == torch.bfloat16 else h).numpy()
    if isinstance(v, list) and v and all(isinstance(t, torch.Tensor) for t in v):
        return [_np(t) for t in v]
    return v


def _gradcheck(fn, inputs, fast=False):
    """torch.autograd.gradcheck in float64 with the suite's tolerances; True when gradients agree.
    Inputs with no elements have no derivative to compare: they are passed without requires_grad
    (some backends give empty dims stride 0, which gradcheck refuses in a differentiable input).  `fast`: gradcheck's fast_mode (one random projection)."""
    inputs = tuple(t.detach().to(torch.float64).requires_grad_(t.numel() > 0) if isinstance(t, torch.Tensor) else t
                   for t in inputs)
    if not any(isinstance(t, torch.Tensor) and t.requires_grad for t in inputs):
        return True
    return torch.autograd.gradcheck(fn, inputs, raise_exception=False, eps=1e-6, atol=1e-5, rtol=1e-3,
                                    fast_mode=fast)


# Which helpers a helper's source calls (a snippet copies those too).
ALL = ["_t", "_mismatch", "_span", "_writes_reach", "_shares", "_truth", "_dtype", "_tol", "_out_of_range", "_raises",
       "_np", "_gradcheck"]   # definition order of a snippet: a helper's dependencies come before it
