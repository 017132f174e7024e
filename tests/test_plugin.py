"""The pytest plugin, driven as users drive it: `python -m pytest SPEC_FILES` in a subprocess.

Fixture folders are ignored by tests/conftest.py when pytest walks `tests/`, so runs name the fixture
files explicitly.  One serial and one real-xdist run of the same files are shared by the tests here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import ROOT, run_suite

ENGINE = Path(__file__).parent / "fixtures" / "engine"
FILES: list[str | Path] = [
    p.relative_to(ROOT) for p in [*sorted((ENGINE / "run").glob("*.yaml")), ENGINE / "mixed" / "several.yaml",
                                  *sorted((ENGINE / "duplicate-ids").glob("*.yaml"))]
]
PASS_FILE = (ENGINE / "run" / "pass.yaml").relative_to(ROOT)
SPEC_IDS = ["engine/run-cpu-only", "engine/run-fail", "engine/run-known", "engine/run-old-torch",
            "engine/run-pass", "engine/run-step-error", "engine/mixed-first", "engine/mixed-third",
            "engine/same-id"]
CUDA = torch.cuda.is_available()


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_suite(FILES, tmp_path_factory.mktemp("serial"), None, "--hypothesis-profile", "dev",
                     devices="cpu,cuda")


@pytest.fixture(scope="module")
def parallel(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_suite(FILES, tmp_path_factory.mktemp("xdist"), None, "--hypothesis-profile", "dev", "-n", "2",
                     devices="cpu,cuda")


def by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Item name (`spec-id[device]`, `invalid-spec:LINE`) -> result; the two same-id items are left out."""
    return {r["nodeid"].split("::", 1)[1]: r for r in doc["results"] if r["spec_id"] != "engine/same-id"}


def test_items_are_named_spec_id_and_device(serial: dict[str, Any]):
    names = {r["nodeid"].split("::", 1)[1] for r in serial["results"]}
    expected = {f"{sid}[{dev}]" for sid in SPEC_IDS for dev in ("cpu", "cuda")} | {"invalid-spec:21"}
    assert names == expected
    for r in serial["results"]:
        if r["device"] != "*":
            assert r["nodeid"].endswith(f"::{r['spec_id']}[{r['device']}]")
            assert r["nodeid"].startswith("tests/fixtures/engine/")


def test_an_absent_device_is_not_run_never_passed(serial: dict[str, Any]):
    items = by_name(serial)
    cuda = {n: r for n, r in items.items() if r["device"] == "cuda"}
    assert len(cuda) == len(SPEC_IDS) - 1
    if CUDA:  # a GPU box: the same run is a real cuda run
        assert items["engine/run-pass[cuda]"]["status"] == "passed"
        return
    for name, r in cuda.items():
        assert r["status"] != "passed", name
        if name == "engine/run-cpu-only[cuda]" or name == "engine/run-step-error[cuda]":
            assert r["reason"] == "not applicable: spec applies to cpu only"
        else:
            assert (r["status"], r["reason"]) == ("skipped", "not run: cuda not available"), name
    (dev,) = [d for d in serial["environment"]["devices"] if d["name"] == "cuda"]
    assert dev["available"] is False and dev["reason"] == "cuda not available"


def test_cuda_alone_on_a_cpu_machine_runs_nothing(tmp_path: Path):
    doc = run_suite([str(PASS_FILE)], tmp_path, None, "--hypothesis-profile", "dev", devices="cuda")
    (entry,) = doc["results"]
    if CUDA:
        assert entry["status"] == "passed"
    else:
        assert (entry["status"], entry["reason"]) == ("skipped", "not run: cuda not available")
        assert doc["summary"]["passed"] == 0 and doc["summary"]["skipped"] == 1


def test_an_unknown_device_is_a_usage_error(tmp_path: Path):
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", str(PASS_FILE), "-p", "no:cacheprovider",
                           "--device", "bogus", "--conformance-json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout + proc.stderr
    assert "--device: 'bogus' is not a torch device string" in proc.stderr
    assert not out.exists()


def test_known_divergences_are_xfailed(serial: dict[str, Any]):
    r = by_name(serial)["engine/run-known[cpu]"]
    assert r["status"] == "xfailed"
    assert r["reason"] == "known divergence: engine fixture, a divergence declared for every torch and device"


def test_a_torch_specifier_that_does_not_match_skips_as_not_applicable(serial: dict[str, Any]):
    r = by_name(serial)["engine/run-old-torch[cpu]"]
    assert r["status"] == "skipped"
    assert r["reason"] == f"not applicable: needs torch <1.0, have {torch.__version__}"


def test_a_broken_spec_is_one_failing_item_and_its_neighbours_run(serial: dict[str, Any]):
    items = by_name(serial)
    broken = items["invalid-spec:21"]
    assert broken["status"] == "error" and broken["failure_kind"] == "spec"
    assert broken["error"].startswith("tests/fixtures/engine/mixed/several.yaml:21: steps[0]: unknown name 'torch.zeroes'")
    assert "invalid spec: tests/fixtures/engine/mixed/several.yaml:21: steps[0]: unknown name 'torch.zeroes'" \
        in serial["_output"]
    assert items["engine/mixed-first[cpu]"]["status"] == "passed"
    assert items["engine/mixed-third[cpu]"]["status"] == "passed"
    assert not any(r["spec_id"] == "engine/mixed-broken" for r in serial["results"])
    assert serial["exit_status"] == pytest.ExitCode.TESTS_FAILED


def test_a_duplicate_id_errors_the_second_spec_only(serial: dict[str, Any]):
    dup = [r for r in serial["results"] if r["spec_id"] == "engine/same-id" and r["device"] == "cpu"]
    status = {Path(r["file"]).name: r for r in dup}
    assert status["first.yaml"]["status"] == "passed"
    second = status["second.yaml"]
    assert second["status"] == "error" and second["failure_kind"] == "spec"
    assert "second.yaml:7: id: duplicate spec id 'engine/same-id'" in second["error"]


def test_a_failure_prints_the_promise_and_the_falsifying_example(serial: dict[str, Any]):
    out = serial["_output"]
    assert "engine/run-fail on cpu: x + 1 equals x (deliberately false)" in out
    assert "documented promise: 'Adds other, scaled by alpha, to input.'" in out
    assert "falsifying example:" in out and "x = tensor([[" in out
    assert "expect[0] equal ['y', 'x'] (tests/fixtures/engine/run/fail.yaml:14)" in out
    assert "in step 1 of engine/run-step-error: y = x.view(7)" in out


def test_the_chosen_profile_is_recorded_and_used(serial: dict[str, Any]):
    profile = serial["environment"]["hypothesis"]["profile"]
    assert profile["name"] == "dev" and profile["max_examples"] == 10 and profile["ours"] is True
    assert by_name(serial)["engine/run-pass[cpu]"]["examples"] == 10
    assert by_name(serial)["engine/mixed-first[cpu]"]["examples"] <= 3  # the spec's own cap wins when lower


def test_our_ci_profile_wins_over_hypothesis_ci_under_CI_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CI", "1")  # makes Hypothesis load its own `ci` profile (100 examples) on import
    doc = run_suite([str(PASS_FILE)], tmp_path, None, "--hypothesis-profile", "ci", devices="cpu")
    profile = doc["environment"]["hypothesis"]["profile"]
    assert profile == {"name": "ci", "max_examples": 25, "derandomize": True, "deadline": None,
                       "database": None, "ours": True}
    (entry,) = doc["results"]
    # 25 valid examples (a few more calls when an oversized draw is discarded); Hypothesis's ci runs 100
    assert entry["status"] == "passed" and 25 <= entry["examples"] < 100


def test_xdist_gives_the_serial_statuses_with_one_entry_per_item(serial: dict[str, Any], parallel: dict[str, Any]):
    def statuses(doc: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
        return {r["nodeid"]: (r["status"], r["reason"]) for r in doc["results"]}

    assert statuses(parallel) == statuses(serial)
    nodeids = [r["nodeid"] for r in parallel["results"]]
    assert len(nodeids) == len(set(nodeids)) == 2 * (len(SPEC_IDS) + 1) + 1
    assert parallel["summary"] == serial["summary"]
    assert parallel["exit_status"] == serial["exit_status"] == pytest.ExitCode.TESTS_FAILED
    # the controller never collects: coverage is rebuilt from what the workers reported
    assert parallel["coverage"]["B-AR-1"] == serial["coverage"]["B-AR-1"]
    fail = [r for r in parallel["results"] if r["spec_id"] == "engine/run-fail" and r["device"] == "cpu"][0]
    assert fail["falsifying"]["inputs"]["x"]["shape"] == [2, 2]
