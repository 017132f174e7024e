"""Isolation: a spec that crashes, aborts, exits or hangs the process running it is recorded as
`crashed` / `timeout` for that spec; the run goes on, writes its JSON and exits non-zero.

The crashing specs use only allowed API: test-only faults (tests/fixtures/isolation/faults.py, loaded
through CONFORMANCE_FAULT_MODULES) make Tensor.neg segfault, Tensor.exp abort, Tensor.sin call
os._exit(0) and Tensor.cos sleep forever.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from conformance import cli
from conformance.pytest_plugin import isolation

FIXTURES = Path(__file__).parent / "fixtures" / "isolation"
SPECS = sorted(str(p.relative_to(ROOT)) for p in (FIXTURES / "specs").glob("*.yaml"))
FAULTS = "isolation-segfault,isolation-abort,isolation-exit,isolation-hang"
LIMIT = 10  # seconds: a fresh worker's first spec must fit in it on a loaded 2-core machine


def run(tmp_path: Path, *extra: str, specs: list[str] = SPECS, faults: str = FAULTS) -> tuple[int, dict[str, Any], str, float]:
    out = tmp_path / "results.json"
    cmd = [sys.executable, "-m", "pytest", *specs, "-q", "-p", "no:cacheprovider", "--device", "cpu",
           "--hypothesis-profile", "dev", "--conformance-json", str(out), "--fault", faults,
           "--spec-timeout", str(LIMIT), *extra]
    env = {k: v for k, v in os.environ.items() if k not in ("CONFORMANCE_FAULT", "PYTEST_XDIST_WORKER")}
    env["CONFORMANCE_FAULT_MODULES"] = str(FIXTURES / "faults.py")
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    wall = time.monotonic() - start
    output = proc.stdout + proc.stderr[-3000:]
    assert out.exists(), f"no results written (exit {proc.returncode}):\n{output}"
    return proc.returncode, json.loads(out.read_text()), output, wall


def by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["spec_id"]: r for r in doc["results"]}


def test_a_serial_run_survives_a_segfault_and_records_it(tmp_path: Path):
    """The quick proof (one worker restart): crashed + passed, JSON written, exit status 1."""
    specs = [s for s in SPECS if s.endswith(("segfault.yaml", "benign.yaml"))]
    code, doc, output, _ = run(tmp_path, specs=specs, faults="isolation-segfault")
    assert {k: r["status"] for k, r in by_id(doc).items()} == {
        "isolation/segfault": "crashed", "isolation/benign": "passed"}, output
    assert "SIGSEGV (signal 11)" in by_id(doc)["isolation/segfault"]["error"]
    assert code == 1 and doc["exit_status"] == 1 and doc["isolation"]["workers"] is True


def test_a_known_crash_is_an_expected_failure_that_says_how_it_died(tmp_path: Path):
    """A backend that segfaults on a known divergence (torch_xla's cross_entropy): the known entry makes
    it xfailed, with the signal in its reason; the run's exit status is 0."""
    known = tmp_path / "known.txt"
    known.write_text("isolation/segfault[cpu]   # crashes on purpose\n")
    specs = [s for s in SPECS if s.endswith(("segfault.yaml", "benign.yaml"))]
    code, doc, output, _ = run(tmp_path, "--known-failures", str(known), specs=specs, faults="isolation-segfault")
    got = by_id(doc)
    assert {k: r["status"] for k, r in got.items()} == {"isolation/segfault": "xfailed", "isolation/benign": "passed"}, output
    assert "SIGSEGV (signal 11)" in got["isolation/segfault"]["reason"] and code == 0, output


# Every kind of death, serial and with two workers: four worker restarts and one time limit each
# (~30 s on an idle 2-core machine), hence `slow`.
@pytest.fixture(scope="module", params=[pytest.param("serial", marks=pytest.mark.slow),
                                        pytest.param("-n 2", marks=pytest.mark.slow)])
def crashing_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    extra = () if request.param == "serial" else ("-n", "2")
    return run(tmp_path_factory.mktemp("isolation"), *extra)


def test_each_death_is_recorded_for_its_own_spec_and_the_run_goes_on(crashing_run):
    code, doc, output, wall = crashing_run
    results = by_id(doc)
    assert {k: r["status"] for k, r in results.items()} == {
        "isolation/segfault": "crashed", "isolation/abort": "crashed", "isolation/exit": "crashed",
        "isolation/hang": "timeout", "isolation/benign": "passed"}, output
    assert code == 1 and doc["exit_status"] == 1, output
    assert "incomplete" not in doc
    assert doc["isolation"]["workers"] is True and doc["isolation"]["timeout_s"] == LIMIT
    assert doc["summary"]["crashed"] == 3 and doc["summary"]["timeout"] == 1 and doc["summary"]["passed"] == 1
    assert results["isolation/hang"]["duration"] < LIMIT + 30   # killed at the limit, not at the end of the sleep


def test_a_crash_names_the_signal_or_exit_status_and_shows_the_last_output(crashing_run):
    _, doc, output, _ = crashing_run
    results = by_id(doc)
    segv = results["isolation/segfault"]
    assert segv["error"].startswith("the worker process running this spec crashed: SIGSEGV (signal 11)")
    assert (segv["error_type"], segv["failure_kind"]) == ("SIGSEGV", "crash")
    # faulthandler's dump, innermost frame first: the patched Tensor.neg of the fault module
    assert "Fatal Python error: Segmentation fault" in segv["error"] and "faults.py" in segv["error"]
    assert "SIGABRT (signal 6)" in results["isolation/abort"]["error"]
    assert "exited with status 0 before the spec finished" in results["isolation/exit"]["error"]
    hang = results["isolation/hang"]
    assert hang["error"].startswith(f"timed out: the spec ran longer than {LIMIT} s")
    assert "faults.py" in hang["error"]          # where it hung
    assert (hang["error_type"], hang["failure_kind"]) == ("Timeout", "timeout")
    for r in results.values():                   # the recorded spec data survives the death of the worker
        assert r["title"] and r["file"].endswith(".yaml") and r["device"] == "cpu" and r["covers"] == ["B-AR-1"]
    assert "SIGSEGV (signal 11)" in output       # the terminal shows it too


def test_an_exit_inside_an_unisolated_run_leaves_an_incomplete_file_that_the_gate_refuses(tmp_path: Path):
    """Without isolation an os._exit(0) inside torch ends the whole run with status 0; the results
    file then still says `incomplete` (the placeholder written at the start), and the gate exits 2."""
    exit_spec = [s for s in SPECS if s.endswith("exit.yaml")]
    code, doc, output, _ = run(tmp_path, "--spec-isolation", "off", specs=exit_spec, faults="isolation-exit")
    assert code == 0, output
    assert doc["incomplete"] and doc["exit_status"] == 3 and doc["results"] == []
    baseline = tmp_path / "base.json"
    baseline.write_text(json.dumps({**doc, "incomplete": None, "exit_status": 0}))
    assert cli.main(["gate", "--baseline", str(baseline), "--current", str(tmp_path / "results.json")]) == 2


def test_a_missing_or_truncated_results_file_is_exit_2_in_the_gate(tmp_path: Path):
    truncated = tmp_path / "truncated.json"
    truncated.write_text('{"schema": "torch-conformance/results", "results": [')
    for current in (truncated, tmp_path / "missing.json"):
        assert cli.main(["gate", "--baseline", str(truncated), "--current", str(current)]) == 2


@pytest.mark.parametrize("code, limit, status, text", [
    (-signal.SIGSEGV, 5, "crashed", "SIGSEGV (signal 11)"),
    (-signal.SIGABRT, 5, "crashed", "SIGABRT (signal 6)"),
    (-signal.SIGKILL, 5, "crashed", "out-of-memory killer"),
    (-signal.SIGALRM, 5, "timeout", "longer than 5 s"),
    (0, 5, "crashed", "exited with status 0"),
    (3, 5, "crashed", "exited with status 3"),
    (None, 5, "crashed", "exit status unknown"),
])
def test_how_a_dead_worker_is_described(code: int | None, limit: float, status: str, text: str):
    got_status, _, message = isolation.describe_death(code, limit, [])
    assert got_status == status and text in message


@pytest.mark.parametrize("args, isolated", [
    (["specs"], True), (["specs/views/view-shares-storage.yaml::views/x[cpu]"], True),
    (["tests/fixtures/isolation/specs/benign.yaml"], True),
    (["tests"], False), (["tests/test_isolation.py"], False), ([str(ROOT)], False),
])
def test_auto_isolation_is_for_runs_of_spec_files_not_the_projects_own_tests(args: list[str], isolated: bool,
                                                                              monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)
    config = type("Config", (), {"args": args, "getini": staticmethod(lambda name: [])})()
    assert isolation._names_spec_files(config) is isolated  # type: ignore[arg-type]
