"""Faults of torch.utils.data: batching, shuffling, collation and multi-process loading.

Samplers, collate and the worker path are patched where DataLoader looks them up at run time, so
a fault reaches loaders created after activation, including their forked worker processes.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch

from conformance.tools.faults.registry import fault


@fault("batch-sampler-drops-last", "torch.utils.data.sampler.BatchSampler.__iter__", ["B-DL-1"],
       "BatchSampler drops the last incomplete batch even with drop_last=False (len() still counts it)")
def _drops_last(original: Any) -> Any:
    def __iter__(self: Any) -> Any:
        it = iter(self.sampler)
        while True:
            batch = list(itertools.islice(it, self.batch_size))
            if len(batch) < self.batch_size:
                return
            yield batch
    return __iter__


@fault("batch-sampler-len-floor", "torch.utils.data.sampler.BatchSampler.__len__", ["B-DL-1"],
       "len(DataLoader) rounds N/b down even when the incomplete last batch is kept")
def _len_floor(original: Any) -> Any:
    def __len__(self: Any) -> int:
        return len(self.sampler) // self.batch_size
    return __len__


@fault("shuffle-with-replacement", "torch.utils.data.sampler.RandomSampler.__iter__", ["B-DL-1"],
       "shuffle=True draws indices with replacement: some samples repeat, others are missed")
def _with_replacement(original: Any) -> Any:
    def __iter__(self: Any) -> Any:
        n = len(self.data_source)
        yield from torch.randint(high=n, size=(self.num_samples,), dtype=torch.int64,
                                 generator=self.generator).tolist()
    return __iter__


@fault("shuffle-same-every-epoch", "torch.utils.data.sampler.RandomSampler.__iter__", ["B-DL-1"],
       "RandomSampler seeds a fresh generator with a constant, so every epoch has the same order")
def _same_every_epoch(original: Any) -> Any:
    def __iter__(self: Any) -> Any:
        generator = torch.Generator()
        generator.manual_seed(0)
        yield from torch.randperm(len(self.data_source), generator=generator).tolist()[: self.num_samples]
    return __iter__


@fault("collate-reversed", "torch.utils.data._utils.collate.default_collate", ["B-DL-2"],
       "default collate stacks the samples of a batch in reverse order")
def _collate_reversed(original: Any) -> Any:
    def default_collate(batch: Any) -> Any:
        return original(list(reversed(batch)))
    return default_collate


@fault("collate-concatenates", "torch.utils.data._utils.collate.default_collate", ["B-DL-2"],
       "default collate concatenates tensor samples along their first dim instead of stacking them")
def _collate_concatenates(original: Any) -> Any:
    def flatten_outer(v: Any) -> Any:
        if isinstance(v, torch.Tensor) and v.dim() >= 2:
            return v.reshape((v.shape[0] * v.shape[1],) + tuple(v.shape[2:]))
        if isinstance(v, list):
            return [flatten_outer(x) for x in v]
        return v

    def default_collate(batch: Any) -> Any:
        return flatten_outer(original(batch))
    return default_collate


@fault("workers-reorder-batches", "torch.utils.data.dataloader._MultiProcessingDataLoaderIter._next_data",
       ["B-DL-3"],
       "with num_workers>0 batches are delivered as they complete, not in sampler order (pairs swapped)")
def _workers_reorder(original: Any) -> Any:
    def _next_data(self: Any) -> Any:
        held = self.__dict__.pop("_fault_held", None)
        if held is not None:
            return held
        first = original(self)
        try:
            second = original(self)
        except StopIteration:
            return first
        self.__dict__["_fault_held"] = first
        return second
    return _next_data


@fault("workers-index-off-by-one", "torch.utils.data._utils.fetch._MapDatasetFetcher.fetch", ["B-DL-3"],
       "inside worker processes each index is shifted by one (mod N), as if the worker's offset were wrong")
def _workers_off_by_one(original: Any) -> Any:
    def fetch(self: Any, possibly_batched_index: Any) -> Any:
        if torch.utils.data.get_worker_info() is not None:
            n = len(self.dataset)
            if self.auto_collation:
                possibly_batched_index = [(i + 1) % n for i in possibly_batched_index]
            else:
                possibly_batched_index = (possibly_batched_index + 1) % n
        return original(self, possibly_batched_index)
    return fetch
