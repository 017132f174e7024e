"""Shared fixtures: run the real suite (real pytest, real torch) in a subprocess and read its JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# Fixture spec folders (some deliberately malformed) are inputs of tests, never collected themselves.
collect_ignore_glob = ["fixtures/*"]
collect_ignore = ["fault_matrix.yaml"]  # data of test_fault_matrix.py, not a spec

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

# Many tests start real pytest runs in subprocesses, each importing torch, hypothesis and numpy again
# (~1,400 modules).  Where the environment forbids bytecode files (PYTHONDONTWRITEBYTECODE, set on our
# CI image) every one of them recompiles all of those from source: about 2 s per subprocess.  Our own
# tests may cache bytecode; the xdist workers and subprocesses inherit this.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False


def run_suite(paths: list[str | Path], tmp_path: Path, fault: str | None = None, *extra: str,
              devices: str = "cpu", name: str = "results") -> dict[str, Any]:
    """Run `python -m pytest PATHS` with the plugin, optionally with a fault; return the results doc.

    The exit status is in doc["exit_status"]; the pytest output in doc["_output"] for assertion messages.
    """
    out = tmp_path / f"{name}.json"
    cmd = [sys.executable, "-m", "pytest", *map(str, paths), "-q", "-p", "no:cacheprovider",
           "--device", devices, "--conformance-json", str(out), *extra]
    if not any(a == "-n" or a.startswith(("--spec-isolation", "-n")) for a in extra):
        # In-process: these runs check results, gate and report, not isolation (tests/test_isolation.py
        # does); a worker process would import torch a second time per run.
        cmd += ["--spec-isolation", "off"]
    if fault:
        cmd += ["--fault", fault]
        if "--hypothesis-profile" not in extra:
            cmd += ["--hypothesis-profile", "mutate"]  # detection only: no shrinking
    env = {k: v for k, v in os.environ.items() if k not in ("CONFORMANCE_FAULT", "PYTEST_XDIST_WORKER")}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=900)
    if not out.exists():
        raise AssertionError(f"no results written (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    doc = json.loads(out.read_text())
    doc["_output"] = proc.stdout[-4000:] + proc.stderr[-2000:]
    return doc


def statuses(doc: dict[str, Any], device: str = "cpu") -> dict[str, str]:
    """spec id -> status on one device."""
    return {r["spec_id"]: r["status"] for r in doc["results"] if r["device"] == device}


def failed_ids(doc: dict[str, Any]) -> set[str]:
    return {r["spec_id"] for r in doc["results"] if r["status"] in ("failed", "error")}


@pytest.fixture
def suite(tmp_path: Path):
    """`suite(paths, fault=None, *extra)` -> results document of a real run."""
    def run(paths: list[str | Path], fault: str | None = None, *extra: str, **kw: Any) -> dict[str, Any]:
        return run_suite(paths, tmp_path, fault, *extra, **kw)
    return run
