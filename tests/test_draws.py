"""Draws that make faults show (issue 14): shared sides, related shapes, boundary dims and indices,
call forms, precise values, explicit examples, target, the example budget and the draw statistics.

Inputs are built by the real loader and drawn by real Hypothesis (the helpers of test_strategies);
specs run through the real runner.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from test_strategies import draws, inputs, load_error, reachable

from conformance import cli
from conformance.engine import profiles, runner
from conformance.lang import spec, strategies
from conformance.lang.strategies import precision
from conformance.outputs import stats as stats_view

ROOT = Path(__file__).resolve().parent.parent


def share(examples: list[dict[str, Any]], predicate: Any) -> float:
    return sum(1 for ex in examples if predicate(ex)) / len(examples)


def equal_sides(*shapes: tuple[int, ...]) -> bool:
    sides = [s for shape in shapes for s in shape]
    return len(sides) != len(set(sides))


def run_spec(raw: dict, profile: str = "ci") -> runner.Record:
    base = {"id": "engine/draw-case", "title": "a draw case", "source": {"doc": "https://pytorch.org/docs/stable/",
                                                                      "quote": "a draw case"}}
    specs, errors = spec.load_text(yaml.safe_dump({**base, **raw}, sort_keys=False), "draw-case.yaml")
    assert errors == [], errors
    previous = settings.get_current_profile_name()
    profiles.register()
    settings.load_profile(profile)
    record = runner.Record()
    try:
        runner.build_test(specs[0], "cpu", record)()
    finally:
        settings.load_profile(previous)
    return record


# -- shared sides ------------------------------------------------------------------------------

def test_two_inputs_of_one_example_share_sides_often():
    g = {"a": {"tensor": {"dtype": "float32", "shape": {"min_dims": 2, "max_dims": 2}}},
         "b": {"tensor": {"dtype": "float32", "shape": {"min_dims": 2, "max_dims": 2}}},
         "n": {"side": {"min": 1, "max": 5}}, "m": {"side": {"min": 1, "max": 5}}}
    seen = draws(g, 200)
    assert share(seen, lambda ex: ex["a"].shape[0] == ex["a"].shape[1]) >= 0.2      # square
    assert share(seen, lambda ex: ex["a"].shape[1] == ex["b"].shape[0]) >= 0.2      # chainable a @ b
    assert share(seen, lambda ex: ex["n"] == ex["m"]) >= 0.2
    assert share(seen, lambda ex: not equal_sides(tuple(ex["a"].shape))) >= 0.3     # distinct sides too
    assert share(seen, lambda ex: 0 in ex["a"].shape) <= 0.25                         # empties, not too many
    reachable(g, lambda ex: ex["a"].shape == (0, 3))
    reachable(g, lambda ex: ex["a"].shape == (1, 4))


def test_the_pool_keeps_the_bounds_of_each_shape():
    g = {"a": {"tensor": {"dtype": "int64", "shape": {"min_dims": 1, "max_dims": 3, "min_side": 4, "max_side": 6}}},
         "b": {"shape": {"max_dims": 3, "max_side": 2}}, "n": {"side": {"min": 3, "max": 3}}}
    for ex in draws(g, 100):
        assert all(4 <= s <= 6 for s in ex["a"].shape) and all(s <= 2 for s in ex["b"]) and ex["n"] == 3


def test_independent_sides_opt_out_of_the_pool():
    for ex in draws({"s": {"shape": {"min_dims": 2, "max_dims": 2, "sides": "independent"}}}, 20):
        assert len(ex["s"]) == 2
    assert "expected shared or independent" in load_error({"s": {"shape": {"sides": "pooled"}}})


def test_failures_shrink_to_small_simple_shapes():
    """A property that fails whenever a side is >= 3 shrinks to a 1-dim shape of side 3."""
    found = find(inputs({"x": {"tensor": {"dtype": "float32", "shape": {"max_dims": 4}}}}),
                 lambda ex: max(ex["x"].shape, default=0) >= 3,
                 settings=settings(max_examples=500, database=None, suppress_health_check=list(HealthCheck)))
    assert tuple(found["x"].shape) == (3,)
    square = find(inputs({"x": {"tensor": {"dtype": "float32", "shape": {"min_dims": 2, "max_dims": 3}}}}),
                  lambda ex: ex["x"].shape[-1] == ex["x"].shape[-2] >= 2,
                  settings=settings(max_examples=500, database=None, suppress_health_check=list(HealthCheck)))
    assert tuple(square["x"].shape) == (2, 2)


# -- relating inputs -------------------------------------------------------------------------------

def test_same_as_square_and_broadcastable_with():
    g = {"x": {"tensor": {"dtype": "float32", "shape": {"max_dims": 3}}},
         "y": {"tensor": {"dtype": "int64", "shape": {"same_as": "x"}}},
         "m": {"tensor": {"dtype": "float32", "shape": {"square": True, "max_dims": 3}}},
         "b": {"tensor": {"dtype": "float32", "shape": {"broadcastable_with": "x"}}}}
    seen = draws(g, 150)
    for ex in seen:
        assert ex["y"].shape == ex["x"].shape
        assert ex["m"].dim() >= 2 and ex["m"].shape[-1] == ex["m"].shape[-2]
        assert torch.broadcast_shapes(ex["x"].shape, ex["b"].shape) is not None
    # the broadcast partner is sometimes of more dims, sometimes stretched from 1
    assert share(seen, lambda ex: ex["b"].dim() > ex["x"].dim()) > 0
    reachable(g, lambda ex: ex["x"].dim() >= 1 and ex["b"].dim() == ex["x"].dim()
              and 1 in ex["b"].shape and 1 not in ex["x"].shape)


def test_relating_options_are_checked_at_load():
    assert "cannot be combined" in load_error({"x": {"tensor": {"dtype": "float32"}},
                                               "y": {"shape": {"same_as": "x", "max_dims": 2}}})
    assert "square and broadcastable_with cannot be combined" in load_error(
        {"x": {"shape": {}}, "y": {"shape": {"square": True, "broadcastable_with": "x"}}})
    assert "undefined name 'z'" in load_error({"y": {"shape": {"same_as": "z"}}})


# -- dims and indices at the boundaries --------------------------------------------------------------

def test_dims_are_valid_boundary_biased_and_in_both_forms():
    g = {"x": {"tensor": {"dtype": "float32", "shape": {"min_dims": 0, "max_dims": 4}}}, "d": {"dim": {"of": "x"}},
         "u": {"dim": {"of": "x", "insert": True}}, "p": {"dim": {"of": "x", "negative": False}}}
    seen = draws(g, 200)
    for ex in seen:
        n = max(ex["x"].dim(), 1)
        assert -n <= ex["d"] < n and -(ex["x"].dim() + 1) <= ex["u"] <= ex["x"].dim() and 0 <= ex["p"] < n
        ex["x"].sum(ex["d"])               # torch accepts every drawn dim
        ex["x"].unsqueeze(ex["u"])
    multi = [ex for ex in seen if ex["x"].dim() >= 3]
    assert share(multi, lambda ex: ex["d"] % ex["x"].dim() in (0, ex["x"].dim() - 1)) >= 0.6
    assert 0.2 <= share(seen, lambda ex: ex["d"] < 0) <= 0.8


def test_indices_cover_first_last_and_the_end():
    g = {"x": {"tensor": {"dtype": "float32", "shape": {"min_dims": 1, "max_dims": 2, "min_side": 1}}},
         "i": {"index": {"of": "x"}}, "e": {"index": {"of": "x", "dim": -1, "end": True}}}
    for ex in draws(g, 100):
        n = ex["x"].shape[0]
        assert -n <= ex["i"] < n and ex["x"][ex["i"]] is not None
        assert -ex["x"].shape[-1] <= ex["e"] <= ex["x"].shape[-1]
    reachable(g, lambda ex: ex["e"] == ex["x"].shape[-1])
    reachable(g, lambda ex: ex["i"] == -ex["x"].shape[0])


def test_integers_biased_to_boundaries():
    # (a second input: Hypothesis never repeats an example, and k alone has few distinct boundary ones)
    seen = draws({"k": {"integers": {"min": -50, "max": 50, "bias": "boundaries"}}, "f": {"floats": {}}}, 200)
    assert share(seen, lambda ex: ex["k"] in (0, -50, 50, -1, 1, -49, 49)) >= 0.35
    assert "expected boundaries" in load_error({"k": {"integers": {"bias": "edges"}}})


# -- call forms -----------------------------------------------------------------------------------

def test_form_draws_each_listed_form():
    g = {"how": {"form": ["method", "function", "out"]}}
    assert {ex["how"] for ex in draws(g, 60)} == {"method", "function", "out"}
    assert "forms are listed twice" in load_error({"how": {"form": ["a", "a"]}})
    assert "expected a non-empty list of forms" in load_error({"how": {"form": "method"}})


def test_size_args_spell_one_size_every_documented_way():
    g = {"shape": {"shape": {"min_dims": 0, "max_dims": 3, "min_side": 1}},
         "s": {"size_args": {"of": "shape", "pack": ["varargs", "tuple", "list"], "infer": "any"}}}
    packs, places = Counter(), Counter()
    for ex in draws(g, 200):
        s, shape = ex["s"], ex["shape"]
        x = torch.arange(math.prod(shape)).reshape(shape)
        assert x.view(*s).shape == shape and x.reshape(*s).shape == shape      # every spelling means `shape`
        size = list(s[0]) if len(s) == 1 and isinstance(s[0], tuple | list) else list(s)
        packs["tuple" if isinstance(s[0] if s else None, tuple) else "list" if s and isinstance(s[0], list)
              else "varargs"] += 1
        places[size.index(-1) if -1 in size else None] += 1
        assert size.count(-1) <= 1 and (s or shape == ())
    assert set(packs) == {"varargs", "tuple", "list"}
    assert {None, 0, 1, 2} <= set(places)


def test_size_args_never_infer_next_to_a_zero_and_never_varargs_for_0_dim():
    g = {"s": {"size_args": {"of": "(0, 3)", "infer": "always"}}, "e": {"size_args": {"of": "()", "pack": ["varargs"]}}}
    for ex in draws(g, 30):
        assert ex["s"] in ((-1, 3), ((-1, 3),)) and ex["e"] == ((),)


def test_call_spells_positional_keyword_and_defaulted_arguments():
    g = {"d": {"integers": {"min": 0, "max": 1}}, "keep": {"booleans": {}},
         "c": {"call": {"params": {"dim": "d", "keepdim": "keep"}, "keyword_only": {"dtype": "torch.float64"},
                        "defaults": {"keepdim": False}}}}
    x = torch.arange(6.0).reshape(2, 3)
    spellings = Counter()
    for ex in draws(g, 200):
        args, kwargs = ex["c"]
        want = torch.sum(x, ex["d"], keepdim=ex["keep"], dtype=torch.float64)
        assert torch.equal(torch.sum(x, *args, **kwargs), want) and kwargs["dtype"] == torch.float64
        spellings[(len(args), tuple(sorted(kwargs)))] += 1
    assert {(2, ("dtype",)), (1, ("dtype", "keepdim")), (0, ("dim", "dtype", "keepdim")),
            (1, ("dtype",)), (0, ("dim", "dtype"))} <= set(spellings)
    assert "defaults name unknown parameters" in load_error({"c": {"call": {"params": {"dim": 0}, "defaults": {"keep": 1}}}})
    assert "min_positional" in load_error({"c": {"call": {"params": {"dim": 0}, "min_positional": 2}}})


# -- precise values -------------------------------------------------------------------------------

def test_precise_values_are_exact_in_their_dtype_and_not_in_a_narrower_one():
    narrower = {torch.float64: [torch.float32], torch.float32: [torch.float16, torch.bfloat16],
                torch.int64: [torch.int32], torch.int32: [torch.int16], torch.int16: [torch.int8]}
    for dtype, narrow in narrower.items():
        for v in precision.PRECISE[str(dtype).removeprefix("torch.")]:
            t = torch.tensor(v, dtype=dtype)
            assert t.item() == v
            assert any(t.to(n).to(dtype).item() != v for n in narrow), (dtype, v)


def test_precision_options_mix_precise_values_in():
    g = {"f": {"floats": {"precision": "float64"}}, "i": {"integers": {"precision": "int64"}},
         "b": {"integers": {"min": -10, "max": 10, "precision": "int64"}},
         "x": {"tensor": {"dtype": ["float64", "int64"], "shape": [6], "elements": {"precise": True}}}}
    seen = draws(g, 150)
    assert share(seen, lambda ex: ex["f"] in precision.PRECISE["float64"]) >= 0.2
    assert share(seen, lambda ex: ex["i"] in precision.PRECISE["int64"]) >= 0.2
    assert all(-10 <= ex["b"] <= 10 for ex in seen)                  # explicit bounds still hold
    assert share(seen, lambda ex: bool(np.isin(ex["x"].numpy(), precision.PRECISE[str(ex["x"].dtype)[6:]]).any())) >= 0.3
    assert "expected one of" in load_error({"f": {"floats": {"precision": "float16"}}})


# -- explicit examples, target, budget ---------------------------------------------------------------

def test_explicit_examples_run_first_with_the_given_values():
    record = run_spec({
        "given": {"x": {"tensor": {"dtype": "float64"}}, "how": {"form": ["method", "function"]},
                  "n": {"value": "x.numel()"}},
        "examples": [{"x": "torch.zeros(2, 0, 3, device=device)", "how": "function"}, {"x": [[0.1, 2.0]], "how": "method"}],
        "steps": ["s = x.sum() if how == 'method' else torch.sum(x)"],
        "expect": [{"holds": "n == x.numel()"}]})
    # every example that drew its inputs is in the stats (one Hypothesis abandons mid-draw is not)
    assert 2 < record.stats["examples"] <= record.examples


def test_a_failing_explicit_example_is_the_falsifying_one():
    with pytest.raises(Exception, match="expect\\[0\\]"):
        run_spec({"given": {"x": {"tensor": {"dtype": "int64"}}},
                  "examples": [{"x": [7, 8]}],
                  "expect": [{"holds": "(x != 7).all()"}]})


def test_explicit_examples_are_checked_at_load():
    base = {"x": {"tensor": {"dtype": "float32"}}, "d": {"dim": {"of": "x"}}}
    raw = {"id": "engine/ex", "title": "examples", "source": {"doc": "https://pytorch.org/docs/stable/", "quote": "q q q"},
           "given": base, "expect": [{"holds": "True"}]}
    for examples, message in (([{"x": [1.0]}], "does not give ['d']"), ([{"x": [1.0], "d": 0, "z": 1}], "'z' is not an input"),
                              ([{"x": "y + 1", "d": 0}], "undefined name 'y'")):
        _, errs = spec.load_text(yaml.safe_dump({**raw, "examples": examples}, sort_keys=False), "ex.yaml")
        assert len(errs) == 1 and message in errs[0].message and errs[0].key.startswith("examples[0]"), errs


def test_target_steers_towards_larger_values():
    record = run_spec({"settings": {"max_examples": 40, "target": "float(x.numel())"},
                       "given": {"x": {"tensor": {"dtype": "float32", "shape": {"max_dims": 4}}}},
                       "expect": [{"holds": "True"}]})
    assert record.examples >= 40


@pytest.mark.parametrize(("asked", "profile", "runs"), [(5, "ci", 5), (60, "ci", 60), (1000, "ci", 100), (30, "dev", 30),
                                                        (1000, "dev", 40)])
def test_the_example_budget_goes_both_ways_with_a_cap(asked: int, profile: str, runs: int):
    assert profiles.spec_budget(settings.get_profile(profile).max_examples, asked) == runs
    record = run_spec({"settings": {"max_examples": asked}, "given": {"n": {"integers": {"min": 0, "max": 10**9}}},
                       "expect": [{"holds": "True"}]}, profile)
    assert record.stats["examples"] == runs


# -- statistics --------------------------------------------------------------------------------------

def test_stats_count_equal_sides_sizes_and_forms():
    record = run_spec({"given": {"x": {"tensor": {"dtype": "float32", "shape": {"min_dims": 2, "max_dims": 3}}},
                                 "d": {"dim": {"of": "x"}}, "how": {"form": ["method", "function"]}},
                       "expect": [{"holds": "True"}]})
    s = record.stats
    assert s["examples"] == 25 and s["shaped"] == 25
    assert s["equal_sides"] >= 5 and 0 <= s["size_0"] <= 25 and s["size_1"] >= 1
    assert set(s["forms"]["how"]) == {"method", "function"} and sum(s["forms"]["how"].values()) == 25
    assert sum(s["forms"]["d"].values()) == 25


def test_the_stats_view_reads_the_results_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    doc = {"results": [{"spec_id": "a/b", "device": "cpu", "stats": {"examples": 10, "shaped": 8, "equal_sides": 4,
                                                                      "size_0": 1, "size_1": 2,
                                                                      "forms": {"how": {"method": 6, "function": 4}}}},
                       {"spec_id": "a/c", "device": "cpu"}]}
    text = stats_view.table(doc)
    assert "a/b[cpu]" in text and "50.0%" in text and "how: method 60%, function 40%" in text and "a/c" not in text
    f = tmp_path / "r.json"
    f.write_text(json.dumps({**doc, "schema": "x"}))
    # the CLI reads the file through the results contract; a minimal document is refused there, so go direct
    assert stats_view.totals(doc)["equal_sides"] == 4
    assert cli.build_parser().parse_args(["stats", str(f)]).file == str(f)


def test_every_hand_written_spec_with_shaped_examples_meets_the_equal_sides_share():
    """Across the hand-written specs (ci draws only, no steps): equal sides in >= 20% of shaped examples."""
    total = Counter()
    for path in sorted((ROOT / "specs").iterdir()):
        if not path.is_dir() or path.name == "families":
            continue
        for s in spec.load_paths([path])[0]:
            if any(type(g).__name__ in ("Tensor", "NDArray", "Shape", "Side") for _, g in s.given):
                total.update(_draw_only(s))
    assert total["shaped"] > 500
    assert total["equal_sides"] / total["shaped"] >= 0.2


def _draw_only(s: spec.Spec, n: int = 10) -> Counter:
    """The draw statistics of n examples of a spec's `given` alone (the steps are not run)."""
    out = strategies.DrawStats()

    @settings(max_examples=n, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def collect(data: Any) -> None:
        env = {**spec.base_namespace(), "device": torch.device("cpu")}
        try:
            for name, g in s.given:
                env[name] = g.draw(data, env, torch.device("cpu"))
        except Exception:  # noqa: BLE001 - a draw the spec would reject or that needs its steps
            return
        out.add(env.get(strategies.LOG_KEY))

    collect()
    return Counter({k: v for k, v in out.as_dict().items() if isinstance(v, int)})
