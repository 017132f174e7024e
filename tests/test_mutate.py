"""`conformance mutate` end to end: real pytest subprocesses with real injected (fixture) faults.

Fixture specs and faults live in tests/fixtures/mutate/ (see faults.py there for who catches what), so
these tests do not move when the real specs/ and catalogue do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.tools import faults, mutate

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "mutate"
SPECS = str(FIXTURES / "specs")
ALL3 = "fixture-zeros-are-ones,fixture-arange-includes-end,fixture-view-copies"


# The fixture faults never crash or hang a spec, so the per-fault pytest runs need no worker process
# (each would import torch once more); the isolation of mutate runs is tests/test_isolation.py's subject.
IN_PROCESS = ("--", "--spec-isolation", "off")


def conformance(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in (faults.ENV, "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT")}
    env[faults.MODULES_ENV] = str(FIXTURES / "faults.py")
    return subprocess.run([sys.executable, "-m", "conformance.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, env=env, timeout=900)


def explain(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-3000:]}"


def test_a_campaign_with_two_jobs(tmp_path: Path) -> None:
    """Killed by its targeted spec, killed only in the fallback, survived; one real run, two jobs."""
    out = tmp_path / "mutate.json"
    proc = conformance("mutate", SPECS, "--faults", ALL3, "--jobs", "2", "--json", str(out), *IN_PROCESS)
    assert out.exists(), explain(proc)
    doc = json.loads(out.read_text())
    assert mutate.validate(doc) == []
    # `breaks` names behaviour ids, spec ids or a family prefix, as the shipped catalogue does
    named = json.loads(out.read_text())
    named["faults"][0]["breaks"] = ["B-AR-1", "reductions/amax", "promotion/"]
    assert mutate.validate(named) == []
    named["faults"][0]["breaks"] = ["not an id"]
    assert mutate.validate(named) != []

    # K/N, the survivors, and exit 1 below the (default, 100%) threshold.
    assert "killed 2/3 (66.7%)" in proc.stdout, explain(proc)
    survived = proc.stdout.split("survived:", 1)[1]
    assert "fixture-view-copies" in survived and "fixture-zeros-are-ones" not in survived
    assert doc["score"] == {"killed": 2, "total": 3, "percent": 66.7}
    assert proc.returncode == 1, explain(proc)
    assert "below the threshold of 100%" in proc.stdout

    # Which spec caught which fault.
    by_name = {f["name"]: f for f in doc["faults"]}
    assert [f["name"] for f in doc["faults"]] == ALL3.split(",")
    assert by_name["fixture-zeros-are-ones"]["caught_by"] == ["fixture/zeros-are-zero"]
    # No fixture spec covers B-NP-4: only the whole-suite fallback can catch this one.
    assert by_name["fixture-arange-includes-end"]["caught_by"] == ["fixture/arange-excludes-end"]
    assert by_name["fixture-view-copies"] == {
        "name": "fixture-view-copies", "target": "torch.Tensor.view", "breaks": ["B-SH-3", "B-VW-1"],
        "description": "Tensor.view returns a copy with the requested shape", "killed": False, "caught_by": [],
        "duration": by_name["fixture-view-copies"]["duration"]}
    assert doc["specs"] == {"fixture/zeros-are-zero": ["fixture-zeros-are-ones"],
                            "fixture/arange-excludes-end": ["fixture-arange-includes-end"],
                            "fixture/cuda-only": [],
                            "fixture/view-keeps-values": []}
    # Why each spec no fault broke: a weak check, or a spec that cannot run on this device at all.
    assert doc["unproven"] == [
        {"spec_id": "fixture/cuda-only", "reason": "skipped on cpu even without faults (not applicable: spec "
                                                   "applies to cuda only), so no fault can fail it"},
        {"spec_id": "fixture/view-keeps-values",
         "reason": "did not notice the faults that break its behaviours (fixture-view-copies)"}]
    assert doc["clean"]["passed"] is True


def test_exits_0_at_the_threshold(tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    proc = conformance("mutate", SPECS, "--faults", "fixture-zeros-are-ones", "--json", str(out), *IN_PROCESS)
    assert proc.returncode == 0, explain(proc)
    assert "killed 1/1 (100%)" in proc.stdout
    doc = mutate.load(out)
    # Only the specs the chosen fault needs are run (cheap CI subsets); the others are listed as untested.
    assert "clean run: 1 spec(s) passed" in proc.stdout
    reasons = {u["spec_id"]: u["reason"] for u in doc["unproven"]}
    assert reasons["fixture/arange-excludes-end"].startswith("not run against the faults")
    assert doc["score"] == {"killed": 1, "total": 1, "percent": 100.0}


@pytest.mark.parametrize(("killed", "total", "threshold", "below"), [
    (2, 3, 66.7, False), (2, 3, 66.8, True), (2, 3, 100, True), (3, 3, 100, False), (0, 3, 0, False),
])
def test_threshold_is_judged_on_the_printed_percentage(killed: int, total: int, threshold: float,
                                                       below: bool) -> None:
    score = {"killed": killed, "total": total, "percent": round(100 * killed / total, 1)}
    assert mutate.below_threshold(score, threshold) is below


def test_a_failing_clean_run_stops_with_exit_2_naming_the_specs(tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    proc = conformance("mutate", str(FIXTURES / "broken" / "specs"), "--json", str(out), *IN_PROCESS)
    assert proc.returncode == 2, explain(proc)
    assert "fixture/ones-are-two [cpu]" in proc.stderr
    assert "fixture/ones-are-one" not in proc.stderr   # the passing spec is not blamed
    assert "killed" not in proc.stdout                  # no fault was run
    doc = mutate.load(out)
    assert doc["clean"]["passed"] is False and doc["faults"] == []


def test_unknown_fault_names_exit_2_with_a_clear_message() -> None:
    proc = conformance("mutate", SPECS, "--faults", "fixture-zeros-are-ones,fixture-zeros-are-one")
    assert proc.returncode == 2, explain(proc)
    assert "unknown fault 'fixture-zeros-are-one'; did you mean 'fixture-zeros-are-ones'?" in proc.stderr
    assert "clean run" not in proc.stdout


def test_list_prints_the_catalogue() -> None:
    proc = conformance("mutate", "--list")
    assert proc.returncode == 0, explain(proc)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("fixture-arange-includes-end "))
    assert line.split()[:3] == ["fixture-arange-includes-end", "torch.arange", "B-NP-4"]
    assert line.endswith("torch.arange also yields its end point")
    count = len(faults.catalogue()) + 3   # the shipped catalogue plus the three fixture faults
    assert f"\n{count} fault(s)" in proc.stdout


def test_the_unproven_reasons_file_loads() -> None:
    reasons = mutate.unproven_reasons()
    assert all(isinstance(k, str) and v for k, v in reasons.items())


def test_the_fallback_tries_neighbouring_and_fast_specs_first() -> None:
    class S:
        def __init__(self, sid: str, covers: list[str]):
            self.id, self.covers = sid, covers
    fault = faults.Fault("f", "torch.zeros", ("B-VW-1",), "d", lambda o: o)
    specs = [S("far-fast", ["B-CR-1"]), S("near-slow", ["B-VW-3"]), S("near-fast", ["B-VW-2"]),
             S("far-unknown", ["B-NN-1"])]
    order = mutate.fallback_order(fault, specs, {"far-fast": 0.1, "near-slow": 5.0, "near-fast": 0.2})
    assert [s.id for s in order] == ["near-fast", "near-slow", "far-fast", "far-unknown"]
    assert [s.id for s in mutate.targeted(fault, specs + [S("hit", ["B-VW-1", "B-CR-1"])])] == ["hit"]


def test_a_reason_from_the_data_file_wins_and_the_document_validates() -> None:
    class S:
        def __init__(self, sid: str, covers: list[str]):
            self.id, self.covers = sid, covers
    caught = faults.Fault("f-caught", "torch.zeros", ("B-CR-3",), "d", lambda o: o)
    other = faults.Fault("f-other", "torch.ones", ("B-CR-3",), "d", lambda o: o)
    specs = [S("a/catches", ["B-CR-3"]), S("a/explained", ["B-CR-3"]), S("a/uncovered", ["B-TV-1"])]
    outcomes = [mutate.FaultOutcome(caught, caught_by=["a/catches"], duration=1.0), mutate.FaultOutcome(other)]
    doc = mutate.document(outcomes, specs, {"f-caught": caught, "f-other": other}, [caught, other],
                          {"a/explained": "checks metadata only"}, clean=(True, 2.5))
    assert mutate.validate(doc) == []
    assert doc["unproven"] == [{"spec_id": "a/explained", "reason": "checks metadata only"},
                               {"spec_id": "a/uncovered", "reason": mutate.NO_FAULT_BREAKS}]
    assert doc["score"] == {"killed": 1, "total": 2, "percent": 50.0}
    assert doc["specs"] == {"a/catches": ["f-caught"], "a/explained": [], "a/uncovered": []}
    doc["faults"][0]["extra"] = 1
    assert mutate.validate(doc) == ["faults/0: Additional properties are not allowed ('extra' was unexpected)"]
