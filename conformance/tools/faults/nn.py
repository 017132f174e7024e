"""Faults of torch.nn modules and losses: layers, containers, registration, losses, train/eval.

Each one mimics a plausible regression in a module's forward or in nn.Module itself and still
returns tensors of the right dtype (and usually the right shape).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from conformance.tools.faults.registry import fault


@fault("linear-no-bias", "torch.nn.Linear.forward", ["B-NN-1"],
       "nn.Linear's forward drops the bias term: x @ W.T instead of x @ W.T + b")
def _linear_no_bias(original: Any) -> Any:
    def forward(self: Any, input: torch.Tensor) -> torch.Tensor:
        return F.linear(input, self.weight)
    return forward


@fault("relu-leaky", "torch.nn.ReLU.forward", ["B-NN-2"],
       "nn.ReLU behaves as a leaky ReLU (slope 0.01 for negative inputs), unlike F.relu")
def _relu_leaky(original: Any) -> Any:
    def forward(self: Any, input: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(input, 0.01)
    return forward


@fault("flatten-batch-dim", "torch.nn.Flatten.forward", ["B-NN-2"],
       "nn.Flatten flattens from dim 0, merging the batch dimension into the features")
def _flatten_batch(original: Any) -> Any:
    def forward(self: Any, input: torch.Tensor) -> torch.Tensor:
        return input.flatten(0, self.end_dim)
    return forward


@fault("sequential-reversed", "torch.nn.Sequential.forward", ["B-NN-2"],
       "nn.Sequential applies its modules last to first")
def _sequential_reversed(original: Any) -> Any:
    def forward(self: Any, input: Any) -> Any:
        for module in reversed(list(self)):
            input = module(input)
        return input
    return forward


@fault("conv2d-same-padding", "torch.nn.Conv2d.forward", ["B-NN-3"],
       "nn.Conv2d pads by kernel_size // 2 although padding defaults to 0, so H and W do not shrink")
def _conv_same_padding(original: Any) -> Any:
    def forward(self: Any, input: torch.Tensor) -> torch.Tensor:
        pad = tuple(k // 2 for k in self.kernel_size)
        return F.conv2d(input, self.weight, self.bias, self.stride, pad, self.dilation, self.groups)
    return forward


@fault("conv2d-flipped-kernel", "torch.nn.Conv2d.forward", ["B-NN-3"],
       "nn.Conv2d computes a true convolution (kernel flipped) instead of the documented cross-correlation")
def _conv_flipped(original: Any) -> Any:
    def forward(self: Any, input: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(input, self.weight.flip(-1, -2), self.bias)
    return forward


@fault("module-setattr-unregistered", "torch.nn.Module.__setattr__", ["B-NN-4", "B-NN-6"],
       "submodules assigned as attributes become plain attributes: not registered, so their parameters, "
       ".to() conversion and train/eval mode are lost")
def _setattr_unregistered(original: Any) -> Any:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if isinstance(value, torch.nn.Module) and name not in self.__dict__.get("_modules", {}):
            object.__setattr__(self, name, value)
            return
        original(self, name, value)
    return __setattr__


@fault("bce-sum", "torch.nn.BCELoss.forward", ["B-NN-5"],
       "nn.BCELoss's default reduction sums the element-wise losses instead of averaging them")
def _bce_sum(original: Any) -> Any:
    def forward(self: Any, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        reduction = "sum" if self.reduction == "mean" else self.reduction
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=reduction)
    return forward


@fault("mse-root", "torch.nn.MSELoss.forward", ["B-NN-5"],
       "nn.MSELoss returns the root of the mean squared error (RMSE) with the default reduction")
def _mse_root(original: Any) -> Any:
    def forward(self: Any, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        out = original(self, input, target)
        return out.sqrt() if self.reduction == "mean" else out
    return forward


@fault("cross-entropy-no-log-softmax", "torch.nn.CrossEntropyLoss.forward", ["B-NN-5"],
       "nn.CrossEntropyLoss feeds the raw logits to nll_loss, skipping the log-softmax")
def _ce_no_log_softmax(original: Any) -> Any:
    def forward(self: Any, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)
    return forward


@fault("train-not-recursive", "torch.nn.Module.train", ["B-NN-6"],
       "Module.train(mode) (and so eval()) sets `training` on the module itself but not on its children")
def _train_not_recursive(original: Any) -> Any:
    def train(self: Any, mode: bool = True) -> Any:
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        return self
    return train


@fault("dropout-active-in-eval", "torch.nn.Dropout.forward", ["B-NN-6"],
       "nn.Dropout ignores the module mode and keeps dropping elements in evaluation")
def _dropout_in_eval(original: Any) -> Any:
    def forward(self: Any, input: torch.Tensor) -> torch.Tensor:
        return F.dropout(input, self.p, True, self.inplace)
    return forward


@fault("dropout-no-rescale", "torch.nn.Dropout.forward", ["B-NN-6"],
       "nn.Dropout zeroes elements in training but does not scale the kept ones by 1/(1-p)")
def _dropout_no_rescale(original: Any) -> Any:
    def forward(self: Any, input: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return input
        keep = torch.rand_like(input) >= self.p
        return input * keep
    return forward
