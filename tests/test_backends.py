"""Backends as data: profiles load or fail naming their file, and each key changes what the runner does.

A test profile replaces the cpu profile for one test (backends.add_profiles, then undone), so every
key is exercised on the real runner with real torch; its callables live in this module.
"""

from __future__ import annotations

import textwrap
import weakref
from pathlib import Path

import pytest
import torch
import yaml
from hypothesis import Phase

from conformance.engine import backends, devices, runner
from conformance.lang import checks
from conformance.lang import spec as spec_mod

CALLS: list[tuple[str, object]] = []


def record_sync() -> None:
    CALLS.append(("sync", None))


def record_seed(value: int) -> None:
    CALLS.append(("seed", value))


@pytest.fixture
def profile(tmp_path: Path):
    """profile(yaml_text) -> that profile in effect for this test (the built-in ones come back after)."""
    saved = list(backends._EXTRA)

    def use(text: str) -> backends.Backend:
        f = tmp_path / f"profile{len(backends._EXTRA)}.yaml"
        f.write_text(textwrap.dedent(text))
        backends.add_profiles([str(f)])
        return backends.for_device(yaml.safe_load(f.read_text())["device"])

    CALLS.clear()
    yield use
    backends._EXTRA[:] = saved
    backends.forget()


def one_spec(steps: list[str], expect: list[dict], max_examples: int = 5) -> spec_mod.Spec:
    raw = {"id": "engine/backend-case", "title": "a backend case", "covers": ["B-CR-1"],
           "source": {"doc": "https://pytorch.org/docs/stable/", "quote": "a backend case"},
           "settings": {"max_examples": max_examples},
           "given": {"x": {"tensor": {"dtype": "float32", "shape": {"max_dims": 2, "max_side": 3}}}},
           "steps": steps, "expect": expect}
    specs, errors = spec_mod.load_text(yaml.safe_dump(raw, sort_keys=False), "backend-case.yaml")
    assert errors == [], errors
    return specs[0]


def test_the_built_in_profiles_load_and_describe_their_devices() -> None:
    reg = backends.registry()
    assert {"cpu", "cuda", "meta", "xla"} <= set(reg)
    xla = reg["xla"]
    assert xla.imports == ("torch_xla",) and xla.env["PJRT_DEVICE"] == "CPU" and xla.sync == "torch_xla.sync"
    assert xla.shrink is False and xla.error_messages is False and xla.max_examples is not None
    assert "torch_xla.manual_seed" in xla.seed
    # a device with no profile gets the defaults: nothing to import, torch.manual_seed, every check as written
    other = backends.for_device("mps")
    assert other.imports == () and other.seed == backends.DEFAULT_SEED and other.shrink and other.error_messages


def test_the_privateuse1_template_is_a_valid_profile() -> None:
    path = Path(backends.__file__).parent / "backend_profiles" / "privateuse1-example.yaml"
    b = backends.parse(yaml.safe_load(path.read_text()), str(path))
    assert b.device == "my_backend" and b.imports == ("my_backend_package",)


@pytest.mark.parametrize("text,message", [
    ("description: no device", "a backend profile is a mapping with `device:"),
    ("device: cpu\nsyncc: x", "unknown key 'syncc'"),
    ("device: cpu\nunsupported_dtypes: [float33]", "'float33' is not a torch dtype name"),
    ("device: cpu\nmax_examples: 0", "max_examples must be a positive integer, got 0"),
    ("device: cpu\nshrink: sometimes", "shrink must be true or false, got 'sometimes'"),
    ("device: cpu\nerror_messages: 1", "error_messages must be true or false, got 1"),
    ("device: cpu\nseed: []", "seed must be a dotted callable name or a list of them, got []"),
    ("device: [cpu", "cannot read backend profile"),
])
def test_a_bad_profile_is_an_error_naming_its_file(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(backends.BackendError) as info:
        backends._load(f, str(f))
    assert str(info.value).startswith(f"{f}: ") and message in str(info.value)


def test_an_unimportable_backend_is_not_run_with_the_reason(profile) -> None:
    profile("device: meta\nimport: [no_such_backend_package]\n")
    ok, reason = devices.availability("meta")
    assert not ok and "no_such_backend_package" in reason and "ModuleNotFoundError" in reason


def test_seed_and_sync_callables_run_for_every_example(profile) -> None:
    profile("device: cpu\nseed: [torch.manual_seed, test_backends.record_seed]\nsync: test_backends.record_sync\n")
    record = runner.Record()
    runner.run(runner.build_test(one_spec(["y = x.clone()"], [{"equal": ["y", "x"]}]), "cpu", record))
    seeds = [v for k, v in CALLS if k == "seed"]
    assert record.examples >= 2 and len(seeds) == record.examples and seeds[-1] == record.seed
    # twice per example: once its inputs exist (before a step can fail a lazy graph), once after its steps
    assert [k for k, _ in CALLS].count("sync") == 2 * record.examples


def test_max_examples_caps_the_spec_budget_on_that_device(profile) -> None:
    profile("device: cpu\nmax_examples: 2\n")
    record = runner.Record()
    runner.run(runner.build_test(one_spec(["y = x"], [{"equal": ["y", "x"]}], max_examples=20), "cpu", record))
    assert record.examples == 2


def test_shrink_false_reports_the_first_failing_example_as_drawn(profile) -> None:
    s = one_spec(["y = x"], [{"equal": ["y", "x"]}])
    assert Phase.shrink in runner.build_test(s, "cpu", runner.Record())._hypothesis_internal_use_settings.phases
    profile("device: cpu\nshrink: false\n")
    phases = runner.build_test(s, "cpu", runner.Record())._hypothesis_internal_use_settings.phases
    assert Phase.shrink not in phases and Phase.generate in phases


def test_error_messages_false_checks_the_exception_type_but_not_the_wording(profile) -> None:
    wrong_words = one_spec(["y = x"], [{"raises": "RuntimeError", "when": "torch.zeros(2) + torch.zeros(3)",
                                        "match": "words this backend does not use"}])
    wrong_type = one_spec(["y = x"], [{"raises": "TypeError", "when": "torch.zeros(2) + torch.zeros(3)"}])
    with pytest.raises(checks.CheckFailed, match="does not match"):
        runner.run(runner.build_test(wrong_words, "cpu", runner.Record()))
    profile("device: cpu\nerror_messages: false\n")
    runner.run(runner.build_test(wrong_words, "cpu", runner.Record()))
    with pytest.raises(checks.CheckFailed, match="expected TypeError, got RuntimeError"):
        runner.run(runner.build_test(wrong_type, "cpu", runner.Record()))


def test_a_failed_examples_tensors_are_released_when_its_run_ends(monkeypatch) -> None:
    # On torch_xla a live tensor whose graph failed to compile fails every later sync: one spec's
    # finding must not outlive its run, or it fails every spec after it in that worker.
    made: list[weakref.ref] = []
    original = torch.Tensor.neg

    def neg(self: torch.Tensor) -> torch.Tensor:
        out = original(self)
        made.append(weakref.ref(out))
        return out

    monkeypatch.setattr(torch.Tensor, "neg", neg)
    s = one_spec(["y = x.neg()", "z = [y, [y]]"], [{"equal": ["y", "x + 1"]}])
    with pytest.raises(checks.CheckFailed):
        runner.run(runner.build_test(s, "cpu", runner.Record()))
    assert made and all(r() is None for r in made)


def test_memory_checks_observe_aliasing_by_writing_where_storage_has_no_address(monkeypatch) -> None:
    # torch_xla's storages have no data_ptr: a view is then what the documentation says it is, a
    # tensor through which writes reach the base.  The probe puts every value back.
    from conformance.lang import check_helpers as h

    def no_address(x: object) -> tuple[int, int]:
        raise RuntimeError("invalid python storage")

    monkeypatch.setattr(h, "_span", no_address)
    for x in [torch.arange(6.0).reshape(2, 3), torch.tensor([[float("nan"), 0.0], [1.0, -0.0]]),
              torch.arange(6).reshape(3, 2), torch.tensor([[True, False], [False, False]])]:
        before = x.clone()
        assert h._shares(x, x.t()) is True and h._shares(x[1], x) is True and h._shares(x.view(-1), x) is True
        assert h._shares(x, x.clone()) is False and h._shares(x[0], x[1]) is False
        assert torch.equal(x.isnan() if x.is_floating_point() else x, before.isnan() if x.is_floating_point() else before)
        assert h._mismatch(x, before, 0, 0) is None
    assert h._shares(torch.zeros(0), torch.zeros(0)) is None           # empty: nothing to observe
    assert h._shares(torch.zeros(1).expand(3), torch.zeros(3)) is False  # written through the other one


def test_the_write_probe_never_writes_into_an_expanded_view(monkeypatch) -> None:
    # Elements of an expanded tensor share memory: writing through one is undefined (on torch_xla it
    # corrupted the base).  The probe writes into the other tensor, or says it cannot tell.
    from conformance.lang import check_helpers as h
    monkeypatch.setattr(h, "_span", lambda x: (_ for _ in ()).throw(RuntimeError("invalid python storage")))
    a = torch.arange(3.0)
    e = a.expand(4, 3)
    assert h._shares(e, a) is True and h._shares(a, e) is True
    assert torch.equal(a, torch.arange(3.0))
    assert h._shares(e, torch.zeros(4, 3)) is False
    assert h._shares(e, a.clone().expand(2, 3)) is None    # both expanded: not observable
