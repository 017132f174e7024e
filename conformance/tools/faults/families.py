"""Faults of the op families (specs/families/): one realistic backend bug per row class.

Each breaks one documented promise of one callable (a wrong branch, a wrong promotion, a lost
keepdim, an option silently ignored, a wrong constant) while returning plausible tensors.  `breaks`
names the family rows (spec ids) that document the promise.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from conformance.tools.faults.registry import fault


def _kw(out: Any) -> dict[str, Any]:
    return {} if out is None else {"out": out}


@fault("remainder-dividend-sign", "torch.remainder", ["binary/remainder"],
       "torch.remainder takes the sign of the dividend (C fmod) instead of the divisor's, as documented")
def _remainder_truncates(original: Any) -> Any:
    def remainder(input: Any, other: Any, *, out: Any = None) -> Any:
        if isinstance(input, torch.Tensor) and isinstance(other, torch.Tensor | int | float):
            return torch.fmod(input, other, **_kw(out))
        return original(input, other, **_kw(out))
    return remainder


@fault("add-int-float-keeps-int", "torch.add", ["binary/add", "promotion/"],
       "torch.add of an integer tensor and a floating tensor keeps the integer dtype (a wrong type promotion)")
def _add_int_float_keeps_int(original: Any) -> Any:
    def add(input: Any, other: Any, *, alpha: Any = 1, out: Any = None) -> Any:
        r = original(input, other, alpha=alpha, **_kw(out))
        if (out is None and isinstance(input, torch.Tensor) and isinstance(other, torch.Tensor)
                and not input.is_floating_point() and input.dtype != torch.bool and other.is_floating_point()
                and not input.is_complex()):
            return r.to(input.dtype)
        return r
    return add


@fault("amax-keepdim-ignored", "torch.amax", ["reductions/amax"],
       "torch.amax ignores keepdim=True and squeezes the reduced dimensions")
def _amax_keepdim_ignored(original: Any) -> Any:
    def amax(input: Any, dim: Any = (), keepdim: bool = False, *, out: Any = None) -> Any:
        return original(input, dim, False, **_kw(out))
    return amax


@fault("var-correction-ignored", "torch.var", ["reductions/var"],
       "torch.var ignores `correction` (and `unbiased`) and always applies Bessel's correction 1")
def _var_correction_ignored(original: Any) -> Any:
    def var(input: Any, *args: Any, **kw: Any) -> Any:
        kw.pop("correction", None)
        kw.pop("unbiased", None)
        args = tuple(a for a in args if not isinstance(a, bool))
        return original(input, *args, **kw)
    return var


@fault("logsumexp-unstable", "torch.logsumexp", ["reductions/logsumexp"],
       "torch.logsumexp computes log(sum(exp(x))) without subtracting the maximum: overflows to inf on large inputs")
def _logsumexp_unstable(original: Any) -> Any:
    def logsumexp(input: Any, dim: Any = (), keepdim: bool = False, *, out: Any = None) -> Any:
        return torch.log(torch.sum(torch.exp(input), dim=dim, keepdim=keepdim))
    return logsumexp


@fault("kthvalue-off-by-one", "torch.kthvalue", ["reductions/kthvalue"],
       "torch.kthvalue returns the (k+1)-th smallest element (a 0-based index used as 1-based) when one exists")
def _kthvalue_off_by_one(original: Any) -> Any:
    def kthvalue(input: Any, k: int, dim: int = -1, keepdim: bool = False, *, out: Any = None) -> Any:
        n = input.shape[dim] if input.dim() else 1
        return original(input, min(k + 1, n), dim, keepdim, **_kw(out))
    return kthvalue


@fault("gelu-tanh-ignored", "torch.nn.functional.gelu", ["activations/gelu", "activations/module-gelu"],
       "F.gelu ignores approximate='tanh' and always computes the exact erf form")
def _gelu_tanh_ignored(original: Any) -> Any:
    def gelu(input: Any, approximate: str = "none") -> Any:
        return original(input)
    return gelu


@fault("softplus-beta-ignored", "torch.nn.functional.softplus", ["activations/softplus", "activations/module-softplus"],
       "F.softplus ignores beta (computes log(1 + exp(x)) whatever beta is)")
def _softplus_beta_ignored(original: Any) -> Any:
    def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
        return original(input, 1.0, threshold)
    return softplus


@fault("avg-pool2d-count-include-pad-ignored", "torch.nn.functional.avg_pool2d",
       ["nn-layers/avg_pool2d", "nn-layers/module-avgpool2d"],
       "F.avg_pool2d ignores count_include_pad=False: padded zeros always count in the divisor")
def _avg_pool2d_pad_ignored(original: Any) -> Any:
    def avg_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                   count_include_pad: bool = True, divisor_override: Any = None) -> Any:
        return original(input, kernel_size, stride, padding, ceil_mode, True, divisor_override)
    return avg_pool2d


@fault("mse-sum-is-mean", "torch.nn.functional.mse_loss", ["losses/mse_loss", "losses/module-mseloss"],
       "F.mse_loss with reduction='sum' returns the mean")
def _mse_sum_is_mean(original: Any) -> Any:
    def mse_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 weight: Any = None) -> Any:
        if reduction == "sum":
            reduction = "mean"
        return original(input, target, reduction=reduction)
    return mse_loss


@fault("nll-weighted-mean-by-count", "torch.nn.functional.nll_loss", ["losses/nll_loss", "losses/module-nllloss"],
       "F.nll_loss with class weights and reduction='mean' divides by the number of targets instead of "
       "the sum of their weights")
def _nll_weighted_mean_by_count(original: Any) -> Any:
    def nll_loss(input: Any, target: Any, weight: Any = None, size_average: Any = None, ignore_index: int = -100,
                 reduce: Any = None, reduction: str = "mean") -> Any:
        if weight is not None and reduction == "mean":
            total = original(input, target, weight=weight, ignore_index=ignore_index, reduction="sum")
            count = (target != ignore_index).sum()
            return total / count
        return original(input, target, weight=weight, ignore_index=ignore_index, reduction=reduction)
    return nll_loss


@fault("index-add-repeated-overwrites", "torch.Tensor.index_add_", ["indexing/index-add-inplace", "indexing/index-add"],
       "Tensor.index_add_ with repeated indices keeps only one contribution per index instead of accumulating")
def _index_add_overwrites(original: Any) -> Any:
    def index_add_(self: Any, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Any:
        if index.numel() and index.unique().numel() != index.numel():
            return self.index_copy_(dim, index, self.index_select(dim, index) + alpha * source)
        return original(self, dim, index, source, alpha=alpha)
    return index_add_


@fault("randint-includes-high", "torch.randint", ["random/randint"],
       "torch.randint draws from [low, high] instead of the documented half-open [low, high)")
def _randint_includes_high(original: Any) -> Any:
    def randint(*args: Any, **kw: Any) -> Any:
        ints = [a for a in args if isinstance(a, int)]
        if len(ints) == 1:
            args = (ints[0] + 1, *args[1:])
        elif len(ints) >= 2:
            args = (args[0], args[1] + 1, *args[2:])
        elif "high" in kw:
            kw["high"] = kw["high"] + 1
        return original(*args, **kw)
    return randint


@fault("interpolate-align-corners-ignored", "torch.nn.functional.interpolate",
       ["nn-layers/interpolate", "nn-layers/module-upsample"],
       "F.interpolate ignores align_corners=True for the linear modes")
def _interpolate_align_corners(original: Any) -> Any:
    def interpolate(input: Any, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                    align_corners: Any = None, recompute_scale_factor: Any = None, antialias: bool = False) -> Any:
        if align_corners:
            align_corners = False
        return original(input, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias)
    return interpolate


@fault("embedding-padding-grad", "torch.nn.functional.embedding", ["nn-layers/embedding", "nn-layers/module-embedding"],
       "F.embedding lets gradient flow into the padding_idx row (documented: it receives no gradient)")
def _embedding_padding_grad(original: Any) -> Any:
    def embedding(input: Any, weight: Any, padding_idx: Any = None, max_norm: Any = None, norm_type: float = 2.0,
                  scale_grad_by_freq: bool = False, sparse: bool = False) -> Any:
        return original(input, weight, None, max_norm, norm_type, scale_grad_by_freq, sparse)
    return embedding


@fault("flip-negative-dims-ignored", "torch.flip", ["shape-ops/flip"],
       "torch.flip ignores negative entries of dims (flips only the dims given as non-negative)")
def _flip_negative_dims(original: Any) -> Any:
    def flip(input: Any, dims: Any) -> Any:
        dims = [d for d in (dims if isinstance(dims, list | tuple) else [dims]) if d >= 0]
        return original(input, dims) if dims else input.clone()
    return flip


_ = F  # the functional namespace is patched by dotted target names above
