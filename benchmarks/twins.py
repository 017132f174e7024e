"""Hand-written Hypothesis twins of benchmarks/specs/bench.yaml: the same properties, the same
strategies drawn in the same order, written as ordinary `@given` tests (see `make`).  The engine's overhead is
the spec-generated test's time over its twin's.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

SEEDS = st.integers(0, 2**31 - 1)
DEVICE = torch.device("cpu")
F32 = dict(allow_nan=False, allow_infinity=False, allow_subnormal=False)


def floats(dtype: str) -> st.SearchStrategy:
    return st.floats(-100.0, 100.0, width=32 if dtype == "float32" else 64, **F32)


def elements(dtype: str) -> st.SearchStrategy:
    return floats(dtype) if dtype.startswith("float") else st.integers(-20, 20)


def creation_zeros(data):
    torch.random.default_generator.manual_seed(data.draw(SEEDS))  # as the engine seeds a cpu item
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
    dt = data.draw(st.sampled_from([torch.int64, torch.float32, torch.float64]))
    z = torch.zeros(shape, dtype=dt, device=DEVICE)
    assert tuple(z.shape) == shape
    assert z.dtype == dt
    assert bool((z == 0).all())


def numpy_from_numpy(data):
    torch.random.default_generator.manual_seed(data.draw(SEEDS))  # as the engine seeds a cpu item
    name = data.draw(st.sampled_from(["float32", "float64", "int64"]))
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5))
    a = data.draw(hnp.arrays(np.dtype(name), shape, elements=elements(name)))
    t = torch.from_numpy(a)
    t.fill_(1)
    assert np.shares_memory(t.numpy(), a)
    assert torch.equal(torch.from_numpy(a.copy()), t)


def view_shares(data):
    torch.random.default_generator.manual_seed(data.draw(SEEDS))  # as the engine seeds a cpu item
    name = data.draw(st.sampled_from(["float32", "int64"]))
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5))
    x = torch.from_numpy(data.draw(hnp.arrays(np.dtype(name), shape, elements=elements(name)))).to(DEVICE)
    v = x.view(-1)
    v[0] = 7
    assert v.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    assert bool(x.reshape(-1)[0] == 7)
    assert tuple(v.shape) == (x.numel(),)


def inplace_add(data):
    torch.random.default_generator.manual_seed(data.draw(SEEDS))  # as the engine seeds a cpu item
    n1 = data.draw(st.sampled_from(["float32", "float64"]))
    s1 = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    x = torch.from_numpy(data.draw(hnp.arrays(np.dtype(n1), s1, elements=floats(n1))))
    n2 = data.draw(st.sampled_from(["float32", "float64"]))
    y = torch.from_numpy(data.draw(hnp.arrays(np.dtype(n2), tuple(x.shape), elements=floats(n2))))
    x0 = x.clone()
    r = x.add_(y)
    assert r is x
    torch.testing.assert_close(x, x0 + y, check_dtype=False)


def autograd_square(data):
    torch.random.default_generator.manual_seed(data.draw(SEEDS))  # as the engine seeds a cpu item
    name = data.draw(st.sampled_from(["float32", "float64"]))
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    x = torch.from_numpy(data.draw(hnp.arrays(np.dtype(name), shape, elements=floats(name)))).requires_grad_(True)
    y = x ** 2
    y.sum().backward()
    torch.testing.assert_close(x.grad, 2 * x.detach())
    assert y.grad_fn is not None


def sgd_step(data):
    torch.random.default_generator.manual_seed(data.draw(SEEDS))  # as the engine seeds a cpu item
    n = data.draw(st.integers(1, 8))
    i = data.draw(st.integers(1, 6))
    lr = data.draw(st.floats(0.001, 0.5))
    x = torch.from_numpy(data.draw(hnp.arrays(np.float32, (n, i), elements=st.floats(-3, 3, width=32, **F32))))
    m = torch.nn.Linear(i, 1).to(DEVICE)
    opt = torch.optim.SGD(m.parameters(), lr=lr)
    opt.zero_grad()
    m(x).pow(2).mean().backward()
    w0 = m.weight.detach().clone()
    g = m.weight.grad.detach().clone()
    opt.step()
    torch.testing.assert_close(m.weight.detach(), w0 - lr * g)


def make(prop):
    """A fresh `@given` test of a twin property (each test object can take settings once)."""
    return given(st.data())(prop)


TWINS = {
    "bench/creation-zeros": creation_zeros,
    "bench/numpy-from-numpy": numpy_from_numpy,
    "bench/view-shares": view_shares,
    "bench/inplace-add": inplace_add,
    "bench/autograd-square": autograd_square,
    "bench/sgd-step": sgd_step,
}
