"""A backend no one here wrote: torch_xla on the host CPU (PJRT_DEVICE=CPU), through its profile only.

Runs where torch_xla is installed (`python -m pytest tests/test_xla.py -m slow` in the venv of
`tox -e torch2.9-xla`); elsewhere it is skipped with the reason.
Real subprocess runs: the specs pass or are known divergences on xla, an injected fault fails them,
and the gate built from an xla baseline passes against itself and fails on the regression.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from conftest import ROOT, run_suite, statuses

from conformance import cli

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("torch_xla") is None,
                       reason="not run: torch_xla is not installed (tox -e torch2.9-xla installs it)"),
]
SPECS = [ROOT / "specs" / "views", ROOT / "specs" / "inplace"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("xla-runs")
    clean = run_suite(SPECS, d, None, "-p", "torch_xla", devices="xla", name="clean")
    fault = run_suite(SPECS, d, "view-copies", "-p", "torch_xla", devices="xla", name="fault")
    assert clean["exit_status"] in (0, 1), clean["_output"]
    return {"clean": d / "clean.json", "fault": d / "fault.json", "clean_doc": clean, "fault_doc": fault}


def test_every_spec_passes_or_is_a_known_divergence_on_xla(runs) -> None:
    got = statuses(runs["clean_doc"], "xla")
    assert got and set(got.values()) <= {"passed", "xfailed", "xpassed", "skipped"}, {
        k: v for k, v in got.items() if v not in ("passed", "xfailed", "xpassed", "skipped")}
    target = runs["clean_doc"]["environment"]["execution_targets"]["xla"]
    assert target["kind"] == "xla" and target["backend"] == "torch_xla" and target["runtime_version"], target


def test_an_injected_fault_fails_specs_on_xla(runs) -> None:
    got = statuses(runs["fault_doc"], "xla")
    assert "failed" in got.values(), got


def test_gate_with_an_xla_baseline(runs, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tmp_path / "xla-baseline.json"
    assert cli.main(["baseline", "--from", str(runs["clean"]), "-o", str(base)]) == 0
    assert cli.main(["gate", "--baseline", str(base), "--current", str(runs["clean"])]) == 0
    capsys.readouterr()
    assert cli.main(["gate", "--baseline", str(base), "--current", str(runs["fault"])]) == 1
    out = capsys.readouterr().out
    assert "REGRESSED" in out and "[xla]" in out, out
    assert json.loads(base.read_text())["kind"] == "baseline"
