"""The CI gate and the baseline command, on results of real runs of the fixture specs.

The runs (real pytest subprocesses, real torch, a real injected fault) are made once per module:
a clean run and a second clean run, a run with `add_-returns-new` (breaks Tensor.add_), the same
fault with the broken spec listed in a known-failures file, and a run that never started.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_suite

from conformance import cli
from conformance.pytest_plugin import known_failures
from conformance.results import merge

GATE = ROOT / "tests" / "fixtures" / "gate"
SPECS = [GATE / "specs" / "inplace.yaml", GATE / "specs" / "creation.yaml", GATE / "known" / "specs" / "known.yaml"]
ADD_SPEC = "gate-fixture/add_-returns-self"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("gate-runs")
    known = d / "known-failures.txt"
    known.write_text(f"# broken by the fault on purpose\n{ADD_SPEC}[cpu]\n")
    unknown = d / "unknown.txt"
    unknown.write_text("gate-fixture/no-such-spec\n")
    docs = {
        "clean": run_suite(SPECS, d, name="clean"),
        "clean2": run_suite(SPECS, d, name="clean2"),
        "fault": run_suite(SPECS, d, "add_-returns-new", name="fault"),
        "known": run_suite(SPECS, d, "add_-returns-new", "--known-failures", str(known), name="known"),
        "usage": run_suite(SPECS, d, None, "--known-failures", str(unknown), name="usage"),
    }
    # The runs did what the tests below rely on.
    assert {r["status"] for r in docs["clean"]["results"] if r["spec_id"] == ADD_SPEC} == {"passed"}
    assert {r["status"] for r in docs["fault"]["results"] if r["spec_id"] == ADD_SPEC} == {"failed"}
    assert {r["status"] for r in docs["known"]["results"] if r["spec_id"] == ADD_SPEC} == {"xfailed"}
    assert docs["usage"]["exit_status"] == 4, docs["usage"]["_output"]
    return {name: d / f"{name}.json" for name in docs}


def gate(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = cli.main(["gate", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_baseline_then_injected_fault_regresses(runs, tmp_path, capsys):
    base = tmp_path / "baseline.json"
    assert cli.main(["baseline", "--from", str(runs["clean"]), "-o", str(base)]) == 0
    capsys.readouterr()
    assert json.loads(base.read_text())["kind"] == "baseline"

    code, out, _ = gate(capsys, "--baseline", base, "--current", runs["fault"])
    assert code == 1, out
    regressed = out.split("REGRESSED (1):", 1)[1].split("\n\n", 1)[0]
    # Which behaviour, where, and why.
    assert ADD_SPEC + " [cpu]" in regressed
    assert "Tensor.add_ writes the sum into self and returns self" in regressed
    assert "covers B-IP-1, B-IP-2" in regressed
    assert "cpu (" in regressed and "torch " in regressed
    assert "passed -> failed: expect[0] same_object" in regressed
    # Only the broken behaviour regressed: its out-of-place twin still holds.
    assert "gate-fixture/add-out-of-place" not in regressed
    assert out.rstrip().endswith("gate: FAIL: 1 behaviour(s) regressed")


def test_clean_against_clean_passes(runs, capsys):
    code, out, _ = gate(capsys, "--baseline", runs["clean"], "--current", runs["clean2"])
    assert code == 0, out
    assert "REGRESSED" not in out
    assert out.rstrip().endswith("gate: PASS: no behaviour regressed")


def test_known_divergences_and_failures_never_block(runs, capsys):
    code, out, _ = gate(capsys, "--baseline", runs["clean"], "--current", runs["known"])
    assert code == 0, out
    failing = out.split("STILL FAILING", 1)[1]
    # The spec's own `known:` entry, and the known-failures file.
    assert "gate-fixture/known-still-diverges [cpu]" in failing
    assert "known divergence: stand-in divergence for the gate tests" in failing
    assert ADD_SPEC + " [cpu]" in failing and "known failure (" in failing
    assert "newly marked known" in failing
    # An expired entry: fixed, with what to remove.
    fixed = out.split("FIXED (1):", 1)[1].split("\n\n", 1)[0]
    assert "gate-fixture/known-expired [cpu]" in fixed
    assert "remove the known entry (fixed upstream, entry not yet removed)" in fixed


def test_expired_known_failure_says_which_file(runs, tmp_path, capsys):
    # Listed as a known failure, but the behaviour holds (no fault): xpassed.
    listed = tmp_path / "team-known.txt"
    listed.write_text(f"{ADD_SPEC}\n")
    run_suite([SPECS[0]], tmp_path, None, "--known-failures", str(listed), name="expired")
    code, out, _ = gate(capsys, "--baseline", runs["clean"], "--current", tmp_path / "expired.json")
    assert code == 0, out
    assert f"fixed: remove it from {listed}" in out


def test_fixed_behaviour_reported(runs, capsys):
    code, out, _ = gate(capsys, "--baseline", runs["fault"], "--current", runs["clean"])
    assert code == 0, out
    assert ADD_SPEC + " [cpu]" in out.split("FIXED", 1)[1]
    assert "failed -> passed" in out


def test_markdown_for_step_summaries(runs, tmp_path, capsys):
    code, out, _ = gate(capsys, "--baseline", runs["clean"], "--current", runs["fault"], "--format", "markdown")
    assert code == 1
    assert out.startswith("### Conformance gate: FAIL: 1 behaviour(s) regressed")
    assert "| environment | compared | regressed | fixed | new | removed | still failing | not run |" in out
    row = next(line for line in out.splitlines() if line.startswith("| torch "))
    assert row.split("|")[3].strip() == "1"          # the regressed column
    assert "#### Regressed (1)" in out
    assert f"- **{ADD_SPEC}** [cpu]" in out
    # --output appends, as GitHub's step summary file expects from several steps.
    summary = tmp_path / "summary.md"
    summary.write_text("previous step\n")
    code, out, _ = gate(capsys, "--baseline", runs["clean"], "--current", runs["clean2"],
                        "--format", "markdown", "--output", summary)
    assert code == 0 and "details in" in out
    text = summary.read_text()
    assert text.startswith("previous step\n### Conformance gate: PASS")


def test_several_current_files_are_merged(runs, tmp_path, capsys):
    # Two shards of one environment, from separate runs.
    run_suite([SPECS[0]], tmp_path, "add_-returns-new", name="shard1")
    run_suite(SPECS[1:], tmp_path, name="shard2")
    code, out, _ = gate(capsys, "--baseline", runs["clean"], "--current", tmp_path / "shard1.json",
                        tmp_path / "shard2.json")
    assert code == 1, out
    assert "REGRESSED (1):" in out and ADD_SPEC in out
    assert "REMOVED" not in out                         # the shards together cover the baseline


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"results": []}', "not a torch-conformance results file"),
    ('{"schema": "torch-conformance/results-set", "schema_version": 1, "documents": [{"schema": 1}]}',
     "documents[0]: not a torch-conformance results file"),
])
def test_unusable_input_exits_2(runs, tmp_path, capsys, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    for args in (["--baseline", bad, "--current", runs["clean"]], ["--baseline", runs["clean"], "--current", bad]):
        code, out, err = gate(capsys, *args)
        assert code == 2
        assert str(bad) in err and message in err


def test_missing_file_exits_2(runs, tmp_path, capsys):
    code, _, err = gate(capsys, "--baseline", tmp_path / "nowhere.json", "--current", runs["clean"])
    assert code == 2 and "nowhere.json: no such results file" in err


def test_incomplete_run_cannot_gate(runs, capsys):
    code, _, err = gate(capsys, "--baseline", runs["clean"], "--current", runs["usage"])
    assert code == 2
    assert "usage.json: the run did not complete (pytest exit status 4: usage error)" in err


def test_no_common_environment_exits_2(runs, capsys):
    # Recorded on a GPU box with another torch build: nothing here shares its environment.
    recorded = GATE / "results" / "h200-torch2.11-clean.json"
    code, _, err = gate(capsys, "--baseline", recorded, "--current", runs["clean"])
    assert code == 2
    assert "share no environment" in err and "torch 2.11.0+cu130, numpy 2.x, cuda (NVIDIA H200)" in err
    # Matched by device alone, the cpu results compare (the H200 box's cuda ones are not checked).
    code, out, _ = gate(capsys, "--baseline", recorded, "--current", runs["clean"], "--across-versions")
    assert code == 0, out
    assert "cuda (NVIDIA H200) is in the baseline but not in the current results" in out


def test_spec_file_that_stops_loading_regresses(tmp_path, capsys):
    spec = tmp_path / "specs" / "creation.yaml"
    spec.parent.mkdir()
    spec.write_text(SPECS[1].read_text())
    run_suite([spec], tmp_path, name="loads")
    spec.write_text(SPECS[1].read_text().replace("expect:", "expectations:"))   # a typo'd key
    run_suite([spec], tmp_path, name="broken")
    code, out, _ = gate(capsys, "--baseline", tmp_path / "loads.json", "--current", tmp_path / "broken.json")
    assert code == 1, out
    regressed = out.split("REGRESSED (1):", 1)[1]
    assert "gate-fixture/zeros [cpu]" in regressed
    assert "passed -> absent: spec file no longer loads:" in regressed


def test_strict_refuses_a_missing_environment(runs, tmp_path, capsys):
    # The baseline ran cpu and meta; the current run only cpu (as if the meta job uploaded nothing).
    run_suite([SPECS[1]], tmp_path, devices="cpu,meta", name="two-devices")
    base = tmp_path / "two-devices.json"
    code, out, _ = gate(capsys, "--baseline", base, "--current", runs["clean"])
    assert code == 0 and "meta is in the baseline but not in the current results" in out
    code, _, err = gate(capsys, "--baseline", base, "--current", runs["clean"], "--strict")
    assert code == 2 and "--strict: no current results for" in err and "meta" in err


def test_across_versions_still_gates(runs, capsys):
    # The fault injected here, against a baseline recorded with another torch build: matched by device.
    recorded = GATE / "results" / "h200-torch2.11-clean.json"
    code, out, _ = gate(capsys, "--baseline", recorded, "--current", runs["fault"], "--across-versions")
    assert code == 1, out
    assert f"{ADD_SPEC} [cpu]" in out.split("REGRESSED (1):", 1)[1]
    assert "against a baseline of torch 2.11.0+cu130, numpy 2.x, cpu (x86_64)" in out


def test_baseline_refuses_faulted_or_incomplete_runs(runs, tmp_path, capsys):
    out = tmp_path / "b.json"
    assert cli.main(["baseline", "--from", str(runs["fault"]), "-o", str(out)]) == 2
    assert "add_-returns-new" in capsys.readouterr().err
    assert cli.main(["baseline", "--from", str(runs["usage"]), "-o", str(out)]) == 2
    assert "did not complete" in capsys.readouterr().err
    assert not out.exists()


def test_baseline_is_only_written_deliberately(runs, tmp_path, capsys):
    base = tmp_path / "baseline.json"
    assert cli.main(["baseline", "--from", str(runs["clean"]), "-o", str(base)]) == 0
    before = base.read_bytes()
    gate(capsys, "--baseline", base, "--current", runs["fault"])
    gate(capsys, "--baseline", base, "--current", runs["clean2"])
    assert base.read_bytes() == before
    # The baseline reads back as the documents it was made from.
    (doc,) = merge.load_documents(base)
    assert {r["spec_id"] for r in doc["results"]} == {r["spec_id"] for r in json.loads(runs["clean"].read_text())["results"]}


@pytest.mark.parametrize("line, message", [
    ("gate-fixture/zeros[not a device]", "1: cannot read 'gate-fixture/zeros[not a device]'"),
    ("gate-fixture/zeros[gpu0]", "1: 'gpu0' is not a torch device string"),
])
def test_known_failures_file_errors(tmp_path, line, message):
    bad = tmp_path / "kf.txt"
    bad.write_text(line + "\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", str(SPECS[1]), "-p", "no:cacheprovider", "--device", "cpu",
                           "--known-failures", str(bad)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 4
    assert f"{bad}:{message}" in proc.stderr


def test_known_failures_entries_match_devices():
    entries = known_failures.parse("a/b  # all devices\n\n# comment\nc/d[cuda]\ne/f[cuda:1]\n", "kf.txt")
    assert [(e.spec_id, e.device, e.line) for e in entries] == [("a/b", None, 1), ("c/d", "cuda", 4),
                                                                 ("e/f", "cuda:1", 5)]
    a, c, e = entries
    assert a.matches("a/b", "cpu") and a.matches("a/b", "cuda:0")
    assert c.matches("c/d", "cuda") and c.matches("c/d", "cuda:1") and not c.matches("c/d", "cpu")
    assert e.matches("e/f", "cuda:1") and not e.matches("e/f", "cuda:0") and not e.matches("e/f", "cuda")
    assert not a.matches("a/bc", "cpu")
