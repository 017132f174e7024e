"""Every check kind fails on a wrongly behaving input and passes on the right one.

Specs are compiled in-process from YAML text (the real loader) and run as real Hypothesis tests
(the real runner); only the `expect` differs between the passing and the failing mirror.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import torch
import yaml

from conformance.engine import runner
from conformance.lang import checks, spec
from conformance.lang.checks import CheckFailed

F32_2x3 = {"x": {"tensor": {"dtype": ["float32"], "shape": [2, 3]}}}
I64_3 = {"x": {"tensor": {"dtype": ["int64"], "shape": [3]}}}
F64_3 = {"x": {"tensor": {"dtype": ["float64"], "shape": [3]}}}
GRAD = {"x": {"tensor": {"dtype": ["float64"], "shape": [3], "requires_grad": True}}}
UNIT = {"x": {"tensor": {"dtype": ["float32"], "shape": [4], "elements": {"min": 0, "max": 1}}}}


@dataclass
class Case:
    given: dict
    steps: list[str]
    passing: list[dict]                                          # expectations that must hold
    failing: list[tuple[dict, str]] = field(default_factory=list)  # (expectation, message substring)


CASES: dict[str, Case] = {
    "equal": Case(I64_3, ["y = x + 1"], [{"equal": ["y", "x + 1"]}, {"equal": ["x.tolist()", "x"]}],
                  [({"equal": ["y", "x"]}, "not equal"), ({"equal": ["x", "x[:2]"]}, "shapes differ")]),
    "not_equal": Case(I64_3, ["y = x + 1"], [{"not_equal": ["y", "x"]}],
                      [({"not_equal": ["y", "x + 1"]}, "values are equal but must differ")]),
    "close": Case(F64_3, [], [{"close": ["x + 1e-9", "x"]}, {"close": ["x + 1e-3", "x"], "atol": 1e-2}],
                  [({"close": ["x + 1e-3", "x"]}, "close (rtol=1e-07, atol=1e-07)"),
                   ({"close": ["x + 1e-3", "x"], "atol": 1e-4}, "atol=0.0001")]),
    "shares_memory": Case(F32_2x3, ["v = x.view(6)", "c = x.clone()", "a = x.numpy()"],
                          [{"shares_memory": ["v", "x"]}, {"shares_memory": ["a", "x"]}],
                          [({"shares_memory": ["c", "x"]}, "do not share memory"),
                           ({"shares_memory": ["x.numpy().copy()", "x"]}, "do not share memory")]),
    "not_shares_memory": Case(F32_2x3, ["v = x.view(6)", "c = x.clone()"], [{"not_shares_memory": ["c", "x"]}],
                              [({"not_shares_memory": ["v", "x"]}, "share memory but must not")]),
    "same_object": Case(I64_3, ["y = x.add_(1)", "z = x.add(1)"], [{"same_object": ["y", "x"]}],
                        [({"same_object": ["z", "x"]}, "expected the same object")]),
    "not_same_object": Case(I64_3, ["y = x.add_(1)", "z = x.add(1)"], [{"not_same_object": ["z", "x"]}],
                            [({"not_same_object": ["y", "x"]}, "expected a new object")]),
    "shape": Case(F32_2x3, [], [{"shape": ["x", [2, 3]]}, {"shape": ["x.sum(0)", 3]}],
                  [({"shape": ["x", [3, 2]]}, "shape (2, 3) != expected (3, 2)")]),
    "dtype": Case(F32_2x3, [], [{"dtype": ["x", "float32"]}, {"dtype": ["x.numpy()", "torch.float32"]}],
                  [({"dtype": ["x", "float64"]}, "dtype torch.float32 != expected torch.float64"),
                   ({"dtype": ["x", "'float32'"]}, "is not a dtype")]),
    "device": Case(F32_2x3, [], [{"device": ["x", "device"]}, {"device": ["x.numpy()", "'cpu'"]}],
                   [({"device": ["x", "'meta'"]}, "device cpu != expected meta")]),
    "is_contiguous": Case(F32_2x3, [], [{"is_contiguous": "x"}, {"is_contiguous": "x.t().contiguous()"}],
                          [({"is_contiguous": "x.t()"}, "tensor is not contiguous")]),
    "not_contiguous": Case(F32_2x3, [], [{"not_contiguous": "x.t()"}],
                           [({"not_contiguous": "x"}, "contiguous but must not be")]),
    "requires_grad": Case(GRAD, [], [{"requires_grad": ["x", True]}, {"requires_grad": ["x.detach()", False]}],
                          [({"requires_grad": ["x", False]}, "requires_grad is True, expected False")]),
    "has_grad_fn": Case(GRAD, ["y = x * 2"], [{"has_grad_fn": "y"}],
                        [({"has_grad_fn": "x"}, "grad_fn is None")]),
    "no_grad_fn": Case(GRAD, ["y = x * 2"], [{"no_grad_fn": "x"}, {"no_grad_fn": "y.detach()"}],
                       [({"no_grad_fn": "y"}, "expected None")]),
    "isinstance": Case(F32_2x3, [], [{"isinstance": ["x", "torch.Tensor"]}, {"isinstance": ["x.shape", "tuple"]}],
                       [({"isinstance": ["x", "np.ndarray"]}, "Tensor is not an instance of ndarray")]),
    "len": Case(F32_2x3, [], [{"len": ["x", 2]}, {"len": ["x.t()", "x.shape[1]"]}],
                [({"len": ["x", 3]}, "len is 2, expected 3")]),
    "holds": Case(F32_2x3, [], [{"holds": "x.numel() == 6"}, {"holds": "x == x"}],
                  [({"holds": "x.numel() == 0"}, "the expression is false"),
                   ({"holds": "x > x"}, "the expression is false")]),
    "in_range": Case(UNIT, [], [{"in_range": "x", "min": 0, "max": 1}, {"in_range": "x[:0] + 5", "max": 1}],
                     [({"in_range": "x + 2", "max": 1.5}, "values above 1.5"),
                      ({"in_range": "x - 2", "min": -1}, "values below -1"),
                      ({"in_range": "torch.ones(3)", "max": 1, "max_exclusive": True}, "values above or at 1")]),
    "raises": Case(F32_2x3, [], [{"raises": "RuntimeError", "when": "x.view(7)", "match": "invalid for input"},
                                 {"raises": "RuntimeError", "when": ["y = x.t()", "y.view(6)"]}],
                   [({"raises": "RuntimeError", "when": "x.view(6)"}, "but nothing was raised"),
                    ({"raises": "ValueError", "when": "x.view(7)"}, "expected ValueError, got RuntimeError"),
                    ({"raises": "RuntimeError", "when": "x.view(7)", "match": "^no such words"}, "does not match")]),
    "matches_numpy": Case(F32_2x3, [], [{"matches_numpy": "x.sum(0)", "numpy": "np.sum(x, 0)"},
                                        {"matches_numpy": "x.t()", "numpy": "x.T", "exact": True}],
                          [({"matches_numpy": "x.sum(0)", "numpy": "np.sum(x, 1)"}, "shapes differ"),
                           ({"matches_numpy": "x.cumsum(1)", "numpy": "np.cumsum(x, 1) + 1"}, "matches_numpy")]),
    # np.random is outside the per-example torch seed: a value built from it does not reproduce on cpu.
    "matches_cpu": Case(F32_2x3, ["y = x * 2", "r = x + torch.from_numpy(np.random.rand(3))"],
                        [{"matches_cpu": ["y", "x.sum()"]}, {"matches_cpu": "torch.rand(3) + x"}],
                        [({"matches_cpu": ["y", "r"]}, "matches_cpu[1] on cpu vs cpu")]),
    "gradcheck": Case(GRAD, [], [{"gradcheck": "torch.sin", "inputs": ["x"]}],
                      # relu has no derivative at 0: the numerical estimate there is 0.5, autograd says 0
                      [({"gradcheck": "torch.relu", "inputs": ["x * 0"]}, "analytical and numerical")]),
}


def compile_spec(given: dict, steps: list[str], expect: list[dict], max_examples: int = 3) -> spec.Spec:
    raw = {
        "id": "engine/check-case", "title": "one check, in-process",
        "covers": ["B-CR-1"], "source": {"doc": "https://pytorch.org/docs/stable/", "quote": "a check case"},
        "settings": {"max_examples": max_examples}, "given": given, "steps": steps, "expect": expect,
    }
    specs, errors = spec.load_text(yaml.safe_dump(raw, sort_keys=False), "check-case.yaml")
    assert errors == [], errors
    return specs[0]


def run_spec(s: spec.Spec) -> runner.Record:
    record = runner.Record()
    runner.build_test(s, "cpu", record)()
    return record


def test_every_check_kind_has_a_passing_and_a_failing_case():
    assert set(CASES) == set(checks.CHECKS), "a check kind without a test here can never be trusted to fail"
    for kind, case in CASES.items():
        assert case.failing, f"{kind} has no failing case"
        assert all(kind in e for e in case.passing) and all(kind in e for e, _ in case.failing)


PASSING = [(k, i) for k, c in CASES.items() for i in range(len(c.passing))]
FAILING = [(k, i) for k, c in CASES.items() for i in range(len(c.failing))]


@pytest.mark.parametrize("kind,i", PASSING, ids=[f"{k}-{i}" for k, i in PASSING])
def test_check_passes_on_the_right_behaviour(kind: str, i: int):
    case = CASES[kind]
    record = run_spec(compile_spec(case.given, case.steps, [case.passing[i]]))
    assert record.examples >= 1


@pytest.mark.parametrize("kind,i", FAILING, ids=[f"{k}-{i}" for k, i in FAILING])
def test_check_fails_on_a_wrong_behaviour(kind: str, i: int):
    case = CASES[kind]
    expectation, message = case.failing[i]
    s = compile_spec(case.given, case.steps, [expectation])
    record = runner.Record()
    with pytest.raises(CheckFailed) as info:
        runner.build_test(s, "cpu", record)()
    text = str(info.value)
    assert text.startswith(f"expect[0] {kind} "), text
    assert message in text
    assert "check-case.yaml:" in text        # the failing expectation is located
    assert set(record.inputs) == set(case.given)  # the falsifying example was kept


def test_only_the_failing_expectation_is_named():
    s = compile_spec(F32_2x3, [], [{"shape": ["x", [2, 3]]}, {"len": ["x", 2]}, {"dtype": ["x", "int64"]}])
    with pytest.raises(CheckFailed, match=r"^expect\[2\] dtype "):
        run_spec(s)


# -- real torch functions patched to misbehave inside the test --------------------------------

VIEW_SPEC: tuple[dict, list[str], list[dict]] = (F32_2x3, ["v = x.view(6)", "v[0] = 42"],
             [{"shares_memory": ["v", "x"]}, {"holds": "x[0, 0] == 42"}])


def test_shares_memory_fails_when_view_copies(monkeypatch: pytest.MonkeyPatch):
    s = compile_spec(*VIEW_SPEC)
    run_spec(s)  # the real view shares memory
    original = torch.Tensor.view

    def copying_view(self: torch.Tensor, *shape: Any) -> torch.Tensor:
        return original(self, *shape).clone()

    monkeypatch.setattr(torch.Tensor, "view", copying_view)
    with pytest.raises(CheckFailed, match=r"expect\[0\] shares_memory .*do not share memory"):
        run_spec(s)


def test_same_object_fails_when_an_in_place_op_returns_a_new_tensor(monkeypatch: pytest.MonkeyPatch):
    s = compile_spec(I64_3, ["y = x.add_(1)"], [{"same_object": ["y", "x"]}])
    run_spec(s)
    monkeypatch.setattr(torch.Tensor, "add_", lambda self, other, alpha=1: self.add(other, alpha=alpha))
    with pytest.raises(CheckFailed, match="expected the same object"):
        run_spec(s)


class _SinWithWrongGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * x.cos() * 2  # twice the true derivative


def test_gradcheck_fails_on_a_wrong_backward(monkeypatch: pytest.MonkeyPatch):
    s = compile_spec(GRAD, [], [{"gradcheck": "torch.sin", "inputs": ["x"]}])
    run_spec(s)
    monkeypatch.setattr(torch, "sin", _SinWithWrongGrad.apply)
    with pytest.raises(CheckFailed, match="analytical and numerical gradients differ"):
        run_spec(s)


def test_matches_numpy_fails_when_torch_sum_is_off_by_one(monkeypatch: pytest.MonkeyPatch):
    s = compile_spec(I64_3, [], [{"matches_numpy": "torch.sum(x)", "numpy": "np.sum(x)", "exact": True}])
    run_spec(s)
    original = torch.sum
    monkeypatch.setattr(torch, "sum", lambda *a, **kw: original(*a, **kw) + 1)
    with pytest.raises(CheckFailed, match="matches_numpy"):
        run_spec(s)


# -- the registry's own contract -------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(checks.CHECKS))
def test_every_kind_documents_itself(kind: str):
    k = checks.CHECKS[kind]
    assert k.name == kind and k.doc and k.python and k.params
    assert set(k.required) <= set(k.options) | set(k.expr_options) | set(k.block_options)


def test_exception_type_accepts_only_exception_classes():
    assert checks.exception_type(RuntimeError) is RuntimeError
    for bad in (len, "RuntimeError", BaseException, KeyboardInterrupt, 3):
        with pytest.raises(TypeError):
            checks.exception_type(bad)
