"""`given` inputs: dtypes and groups, shapes, contiguity, grad, dependent options and value pools.

Inputs are built by the real loader from `given` mappings and drawn by real Hypothesis: `draws`
collects what a run would see, `find` proves an input is reachable (a 0-dim tensor, an empty one).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import yaml
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from conformance.engine import runner
from conformance.lang import dtypes, spec

CPU = torch.device("cpu")


def load(given_: dict, expect: list | None = None) -> tuple[list[spec.Spec], list]:
    raw = {"id": "engine/given-case", "title": "given, in-process", "covers": ["B-CR-1"],
           "source": {"doc": "https://pytorch.org/docs/stable/", "quote": "a given case"},
           "settings": {"max_examples": 5}, "given": given_, "expect": expect or [{"holds": "True"}]}
    return spec.load_text(yaml.safe_dump(raw, sort_keys=False), "given-case.yaml")


def load_error(given_: dict) -> str:
    specs, errors = load(given_)
    assert specs == [] and len(errors) == 1
    return f"{errors[0].key}: {errors[0].message}"


class _Draws:
    """What `Given.draw` expects of Hypothesis's data object: a `draw(strategy)` method."""

    def __init__(self, draw: Any):
        self.draw = draw


def inputs(given_: dict) -> st.SearchStrategy[dict[str, Any]]:
    specs, errors = load(given_)
    assert errors == [], errors
    givens = specs[0].given

    @st.composite
    def draw_all(draw: Any) -> dict[str, Any]:
        env: dict[str, Any] = {**spec.base_namespace(), "device": CPU}
        for name, g in givens:
            env[name] = g.draw(_Draws(draw), env, CPU)
        return {name: env[name] for name, _ in givens}

    return draw_all()


def draws(given_: dict, n: int = 60) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    @settings(max_examples=n, database=None, suppress_health_check=list(HealthCheck))
    @given(inputs(given_))
    def collect(example: dict[str, Any]) -> None:
        seen.append(example)

    collect()
    assert seen
    return seen


def reachable(given_: dict, predicate: Any) -> dict[str, Any]:
    return find(inputs(given_), predicate,
                settings=settings(max_examples=2000, database=None, suppress_health_check=list(HealthCheck)))


# -- dtypes ------------------------------------------------------------------------------------

def test_groups_expand_in_order_without_duplicates():
    assert dtypes.expand("floating") == ["float32", "float64"]
    assert dtypes.expand(["int64", "signed", "float64"]) == ["int64", "int8", "int16", "int32", "float64"]
    assert dtypes.expand(["all"]) == dtypes.GROUPS["all"]
    with pytest.raises(ValueError, match="unknown dtype 'float33'"):
        dtypes.expand(["float33"])


def test_tensor_dtypes_come_from_the_list_and_groups():
    g = {"x": {"tensor": {"dtype": ["floating", "int64"], "shape": [2]}}}
    wanted = {torch.float32, torch.float64, torch.int64}
    assert {ex["x"].dtype for ex in draws(g)} <= wanted
    for d in wanted:  # every listed dtype is drawn, not just the first
        reachable(g, lambda ex, d=d: ex["x"].dtype == d)


def test_ndarray_and_dtype_kinds():
    g = {"a": {"ndarray": {"dtype": ["integral"], "shape": [3]}}, "d": {"dtype": ["all_floating"]}}
    for ex in draws(g):
        assert isinstance(ex["a"], np.ndarray) and ex["a"].dtype.name in dtypes.GROUPS["integral"]
        assert ex["d"] in {torch.float16, torch.bfloat16, torch.float32, torch.float64}
    reachable(g, lambda ex: ex["d"] == torch.bfloat16)


def test_bfloat16_tensors_are_drawn_and_ndarrays_refuse_it():
    for ex in draws({"x": {"tensor": {"dtype": "bfloat16", "shape": [3]}}}, 10):
        assert ex["x"].dtype == torch.bfloat16
    assert "NumPy has no bfloat16" in load_error({"a": {"ndarray": {"dtype": ["bfloat16"]}}})


def test_a_tensor_needs_a_dtype():
    assert "needs a dtype" in load_error({"x": {"tensor": {"shape": [2]}}})


# -- shapes ------------------------------------------------------------------------------------

def test_shape_bounds_are_respected():
    g = {"x": {"tensor": {"dtype": ["float32"], "shape": {"min_dims": 1, "max_dims": 2, "min_side": 2,
                                                          "max_side": 3}}}}
    for ex in draws(g):
        assert 1 <= ex["x"].dim() <= 2 and all(2 <= s <= 3 for s in ex["x"].shape)


def test_default_shapes_include_zero_dim_empty_and_four_dims():
    g = {"x": {"tensor": {"dtype": ["int64"]}}}
    for ex in draws(g):
        assert ex["x"].dim() <= 4 and all(s <= 5 for s in ex["x"].shape)
    assert reachable(g, lambda ex: ex["x"].dim() == 0)["x"].shape == ()
    empty = reachable(g, lambda ex: ex["x"].dim() >= 2 and ex["x"].numel() == 0)["x"]
    assert 0 in empty.shape
    reachable(g, lambda ex: ex["x"].dim() == 4)


def test_fixed_and_expression_shapes_and_the_shape_kind():
    g = {"n": {"integers": {"min": 1, "max": 3}}, "s": {"shape": {"min_dims": 2, "max_dims": 2}},
         "x": {"tensor": {"dtype": ["float32"], "shape": "(n, n + 1)"}},
         "y": {"ndarray": {"dtype": ["float64"], "shape": [2, 0, 1]}},
         "z": {"tensor": {"dtype": ["uint8"], "shape": "s"}}}
    for ex in draws(g):
        assert ex["x"].shape == (ex["n"], ex["n"] + 1)
        assert ex["y"].shape == (2, 0, 1)
        assert isinstance(ex["s"], tuple) and len(ex["s"]) == 2 and tuple(ex["z"].shape) == ex["s"]


# -- contiguity ------------------------------------------------------------------------------

def test_non_contiguous_inputs_are_really_non_contiguous():
    g = {"x": {"tensor": {"dtype": ["float32", "int64"], "contiguous": False}},
         "a": {"ndarray": {"dtype": ["float64"], "contiguous": False}}}
    seen = draws(g, 100)
    for ex in seen:
        assert not ex["x"].is_contiguous(), (tuple(ex["x"].shape), ex["x"].stride())
        assert not ex["a"].flags.c_contiguous, (ex["a"].shape, ex["a"].strides)
    # also when the last dimension has size 1: another dimension carries the stride
    for ex in draws({"x": {"tensor": {"dtype": ["float32"], "shape": [3, 1], "contiguous": False}}}, 5):
        assert not ex["x"].is_contiguous()


def test_contiguous_inputs_by_default_and_both_with_any():
    for ex in draws({"x": {"tensor": {"dtype": ["float32"]}}}):
        assert ex["x"].is_contiguous()
    g = {"x": {"tensor": {"dtype": ["float32"], "shape": [2, 3], "contiguous": "any"}}}
    reachable(g, lambda ex: ex["x"].is_contiguous())
    reachable(g, lambda ex: not ex["x"].is_contiguous())


def test_a_shape_that_cannot_be_non_contiguous_is_never_handed_over():
    specs, errors = load({"x": {"tensor": {"dtype": ["float32"], "shape": [1, 1], "contiguous": False}}},
                         [{"not_contiguous": "x"}])
    assert errors == []
    with pytest.raises(Unsatisfiable):
        runner.build_test(specs[0], "cpu", runner.Record())()


def test_contiguous_takes_true_false_or_any():
    assert "expected true, false or any" in load_error({"x": {"tensor": {"dtype": ["float32"], "contiguous": "no"}}})


# -- requires_grad -----------------------------------------------------------------------------

def test_requires_grad_gives_float_leaves():
    g = {"x": {"tensor": {"dtype": ["all_floating"], "shape": {"min_dims": 1}, "requires_grad": True,
                          "contiguous": "any"}}}
    for ex in draws(g, 30):
        x = ex["x"]
        assert x.requires_grad and x.is_leaf and x.grad_fn is None and x.dtype.is_floating_point


@pytest.mark.parametrize("dtype", [["int64"], ["float32", "bool"], ["all"], ["integral"]])
def test_requires_grad_only_for_floating_dtypes(dtype: list[str]):
    message = load_error({"x": {"tensor": {"dtype": dtype, "requires_grad": True}}})
    assert message.startswith("given.x.tensor.requires_grad: only floating dtypes can require grad")


def test_requires_grad_is_a_boolean():
    assert "expected true or false" in load_error({"x": {"tensor": {"dtype": ["float32"], "requires_grad": "yes"}}})


# -- expressions over earlier inputs ---------------------------------------------------------

def test_options_refer_to_earlier_inputs():
    g = {"x": {"tensor": {"dtype": ["float32"], "shape": {"min_dims": 1, "max_dims": 3, "min_side": 1}}},
         "y": {"tensor": {"dtype": ["int64"], "shape": "x.shape"}},
         "d": {"integers": {"min": 0, "max": "x.dim() - 1"}},
         "k": {"sampled_from": "[s for s in x.shape]"},
         "total": {"value": "x.numel() * 2"},
         "z": {"tensor": {"dtype": ["int64"], "shape": [4], "elements": {"min": "d", "max": "d + 1"}}},
         "xs": {"lists": {"of": {"tensor": {"dtype": ["float64"], "shape": "x.shape"}}, "min_size": 1,
                          "max_size": "x.dim()"}}}
    for ex in draws(g, 40):
        x = ex["x"]
        assert ex["y"].shape == x.shape and 0 <= ex["d"] < x.dim() and ex["k"] in x.shape
        assert ex["total"] == x.numel() * 2
        assert bool(((ex["z"] >= ex["d"]) & (ex["z"] <= ex["d"] + 1)).all())
        assert 1 <= len(ex["xs"]) <= x.dim() and all(t.shape == x.shape for t in ex["xs"])


def test_an_option_cannot_refer_to_a_later_input():
    message = load_error({"y": {"tensor": {"dtype": ["float32"], "shape": "x.shape"}},
                          "x": {"tensor": {"dtype": ["float32"]}}})
    assert message.startswith("given.y.tensor.shape: undefined name 'x'")


def test_input_names_must_not_shadow_the_namespace():
    assert "invalid input name 'torch'" in load_error({"torch": {"integers": {}}})


# -- elements: bounds, specials, pools ---------------------------------------------------------

def test_elements_are_finite_and_bounded_by_default():
    for ex in draws({"x": {"tensor": {"dtype": ["float16", "float64"], "shape": [6]}},
                     "i": {"tensor": {"dtype": ["int8"], "shape": [6], "elements": {"min": -3, "max": 200}}}}):
        assert bool(ex["x"].isfinite().all()) and bool((ex["x"].abs() <= 100).all())
        assert bool(((ex["i"] >= -3) & (ex["i"] <= 127)).all())  # clipped to the dtype's range


def test_nan_and_infinity_only_when_asked():
    g = {"x": {"tensor": {"dtype": ["float32"], "shape": [3],
                          "elements": {"allow_nan": True, "allow_infinity": True}}}}
    reachable(g, lambda ex: bool(ex["x"].isnan().any()))
    reachable(g, lambda ex: bool(ex["x"].isinf().any()))
    f = {"f": {"floats": {"allow_nan": True, "allow_infinity": True}}}
    reachable(f, lambda ex: ex["f"] != ex["f"])
    reachable(f, lambda ex: ex["f"] == float("-inf"))
    for ex in draws({"x": {"tensor": {"dtype": ["float32"], "shape": [3]}}, "f": {"floats": {}}}):
        assert bool(ex["x"].isfinite().all()) and abs(ex["f"]) <= 1e3


def test_a_pool_of_values_makes_ties():
    g = {"x": {"tensor": {"dtype": ["float32", "int64"], "shape": {"min_dims": 1, "min_side": 4},
                          "elements": {"pool": [0, 1, 2]}}}}
    for ex in draws(g):
        x = ex["x"]
        assert set(x.flatten().tolist()) <= {0, 1, 2}
        assert x.unique().numel() < x.numel()  # 4+ elements from a pool of 3 values repeat one
    reachable(g, lambda ex: ex["x"].unique().numel() == 1)


def test_a_pool_can_be_an_expression_over_earlier_inputs():
    g = {"p": {"sampled_from": [[5, 6], [7]]},
         "x": {"tensor": {"dtype": ["int64"], "shape": [4], "elements": {"pool": "p"}}}}
    for ex in draws(g, 30):
        assert set(ex["x"].tolist()) <= set(ex["p"])


def test_unknown_element_options_are_load_errors():
    message = load_error({"x": {"tensor": {"dtype": ["float32"], "elements": {"maximum": 3}}}})
    assert "unknown option 'maximum' for elements" in message


# -- scalars, lists, placement ------------------------------------------------------------------

def test_scalar_kinds():
    g = {"i": {"integers": {"min": -2, "max": 2}}, "f": {"floats": {"min": 0.5, "max": 1.5, "width": 32}},
         "b": {"booleans": {}}, "c": {"sampled_from": ["mean", "sum"]}}
    for ex in draws(g):
        assert -2 <= ex["i"] <= 2 and 0.5 <= ex["f"] <= 1.5 and isinstance(ex["b"], bool)
        assert ex["c"] in ("mean", "sum")
    assert "booleans takes no options" in load_error({"b": {"booleans": {"p": 0.5}}})
    assert "needs at least one value" in load_error({"c": {"sampled_from": []}})
    assert "lists needs `of:`" in load_error({"xs": {"lists": {"max_size": 2}}})


def test_tensors_are_placed_on_the_device_under_test_or_pinned_to_cpu():
    for ex in draws({"x": {"tensor": {"dtype": ["float32"], "device": "cpu"}},
                     "y": {"tensor": {"dtype": ["float32"]}}}, 10):
        assert ex["x"].device.type == "cpu" and ex["y"].device == CPU
    assert "expected under_test or cpu" in load_error({"x": {"tensor": {"dtype": ["float32"], "device": "cuda"}}})


def test_random_ops_reproduce_from_the_drawn_seed():
    specs, errors = load({"x": {"tensor": {"dtype": ["float32"], "shape": [3]}}},
                         [{"matches_cpu": ["torch.rand(4) + x.sum()", "torch.randn(2)"]}])
    assert errors == []
    record = runner.Record()
    runner.build_test(specs[0], "cpu", record)()  # the rerun draws the same random numbers
    assert record.seed is not None and record.examples >= 1
