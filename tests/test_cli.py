"""`conformance validate | list | list --coverage | run` on fixture spec folders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from conformance import cli
from conformance.lang import behaviours

ENGINE = Path(__file__).parent / "fixtures" / "engine"
RUN = ENGINE / "run"
RUN_IDS = ["engine/run-cpu-only", "engine/run-fail", "engine/run-known", "engine/run-old-torch",
           "engine/run-pass", "engine/run-step-error"]


def main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- validate ----------------------------------------------------------------------------------

def test_validate_prints_every_problem_located_and_exits_1(capsys: pytest.CaptureFixture[str]):
    from test_loader import CASES  # the expected file:line of every malformed fixture
    code, out, err = main(capsys, "validate", str(ENGINE / "malformed"))
    assert code == 1
    assert out.startswith("0 spec(s) valid, ")
    for name, (line, message, _) in CASES.items():
        located = [ln for ln in err.splitlines() if ln.startswith(f"error: {ENGINE / 'malformed' / name}:{line}: ")]
        assert located and message in located[0], name


def test_validate_a_good_folder_exits_0(capsys: pytest.CaptureFixture[str]):
    code, out, err = main(capsys, "validate", str(RUN))
    assert (code, out.strip(), err) == (0, "6 spec(s) valid, 0 error(s)", "")


def test_validate_reports_duplicate_ids_across_files(capsys: pytest.CaptureFixture[str]):
    code, out, err = main(capsys, "validate", str(ENGINE / "duplicate-ids"))
    assert code == 1 and "2 spec(s) valid, 1 error(s)" in out
    assert f"{ENGINE / 'duplicate-ids' / 'second.yaml'}:7: id: duplicate spec id 'engine/same-id'" in err


def test_validate_a_file_with_one_broken_spec_counts_the_good_ones(capsys: pytest.CaptureFixture[str]):
    code, out, err = main(capsys, "validate", str(ENGINE / "mixed" / "several.yaml"))
    assert code == 1 and out.strip() == "2 spec(s) valid, 1 error(s)"
    assert "several.yaml:21: steps[0]: unknown name 'torch.zeroes'" in err and "did you mean torch.zeros?" in err


# -- list ------------------------------------------------------------------------------------

def test_list_shows_every_spec(capsys: pytest.CaptureFixture[str]):
    code, out, _ = main(capsys, "list", str(RUN))
    assert code == 0 and out.rstrip().endswith("6 specs")
    listed = [ln.split()[0] for ln in out.splitlines()[:-2]]
    assert listed == RUN_IDS


def test_list_json(capsys: pytest.CaptureFixture[str]):
    code, out, _ = main(capsys, "list", "--json", str(RUN))
    rows = json.loads(out)
    assert code == 0 and [r["id"] for r in rows] == RUN_IDS
    cpu_only = rows[0]
    assert cpu_only["devices"] == ["cpu"] and cpu_only["covers"] == ["B-NP-1"]
    assert cpu_only["file"] == f"{RUN / 'cpu-only.yaml'}:1"


def test_list_still_lists_good_specs_when_one_is_broken(capsys: pytest.CaptureFixture[str]):
    code, out, err = main(capsys, "list", str(ENGINE / "mixed"))
    assert code == 1 and "unknown name 'torch.zeroes'" in err
    assert [ln.split()[0] for ln in out.splitlines()[:-2]] == ["engine/mixed-first", "engine/mixed-third"]


def test_list_coverage_lists_every_behaviour_and_the_uncovered(capsys: pytest.CaptureFixture[str]):
    code, out, _ = main(capsys, "list", "--coverage", str(RUN))
    assert code == 0
    rows = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith("B-")}
    every = [b.id for b in behaviours.load()]
    assert list(rows) == every  # every id, in the order of behaviours.md
    assert rows["B-AR-1"].rstrip().endswith("engine/run-fail, engine/run-pass")
    assert rows["B-NP-1"].rstrip().endswith("engine/run-cpu-only")
    assert rows["B-TV-1"].rstrip().endswith("UNCOVERED")
    covered = {"B-AR-1", "B-AR-2", "B-AR-3", "B-NP-1", "B-SH-3"}
    assert {b for b, ln in rows.items() if not ln.rstrip().endswith("UNCOVERED")} == covered
    assert f"{len(covered)}/{len(every)} behaviour ids covered by 6 specs" in out


def test_list_coverage_json(capsys: pytest.CaptureFixture[str]):
    code, out, _ = main(capsys, "list", "--coverage", "--json", str(RUN))
    doc = json.loads(out)
    assert code == 0 and set(doc["coverage"]) == behaviours.ids()
    assert doc["coverage"]["B-SH-3"] == ["engine/run-step-error"]
    assert set(doc["uncovered"]) == behaviours.ids() - {"B-AR-1", "B-AR-2", "B-AR-3", "B-NP-1", "B-SH-3"}


# -- run ---------------------------------------------------------------------------------------

def conformance_run(folder: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CONFORMANCE_FAULT", "PYTEST_XDIST_WORKER")}
    return subprocess.run([sys.executable, "-m", "conformance.cli", "run", str(folder), "--device", "cpu",
                           "--profile", "dev", "--json", str(out), *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


def test_run_on_a_folder_writes_json_and_returns_pytests_exit_code(tmp_path: Path):
    # a copy outside tests/: a plain folder of specs, named on the command line
    folder = tmp_path / "fixture-dir"
    shutil.copytree(RUN, folder)
    out = tmp_path / "reports" / "run.json"
    proc = conformance_run(folder, out)
    assert proc.returncode == pytest.ExitCode.TESTS_FAILED, proc.stdout[-2000:]
    doc = json.loads(out.read_text())
    assert doc["exit_status"] == proc.returncode
    assert sorted(r["spec_id"] for r in doc["results"]) == RUN_IDS
    assert doc["environment"]["hypothesis"]["profile"]["name"] == "dev"

    for name in ("fail.yaml", "step-error.yaml"):
        (folder / name).unlink()
    proc = conformance_run(folder, out, "--", "-q")
    assert proc.returncode == pytest.ExitCode.OK, proc.stdout[-2000:]
    doc = json.loads(out.read_text())
    assert doc["exit_status"] == 0 and doc["summary"]["failed"] == 0 and doc["summary"]["passed"] == 2


def test_an_unknown_subcommand_or_profile_is_refused(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        cli.main(["run", "--profile", "forever"])
    assert info.value.code == 2 and "invalid choice: 'forever'" in capsys.readouterr().err
