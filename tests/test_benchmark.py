"""The benchmark script itself: it runs, its twins check the same properties as the specs, and
compilation happens at load time only.  (No timing is asserted: these machines are noisy.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import twins  # noqa: E402

from conformance.engine import runner  # noqa: E402
from conformance.lang import spec  # noqa: E402
from conformance.tools import faults  # noqa: E402

BENCH = ROOT / "benchmarks" / "specs" / "bench.yaml"


def test_every_bench_spec_has_a_twin() -> None:
    specs, errors = spec.load_file(BENCH)
    assert not errors
    assert {s.id for s in specs} == set(twins.TWINS)
    assert len(specs) >= 6


@pytest.mark.parametrize("fault,spec_id", [("view-copies", "bench/view-shares"),
                                           ("add_-returns-new", "bench/inplace-add")])
def test_twin_and_spec_fail_on_the_same_fault(fault: str, spec_id: str) -> None:
    specs, _ = spec.load_file(BENCH)
    sp = next(s for s in specs if s.id == spec_id)
    fast = settings(max_examples=10, derandomize=True, database=None, deadline=None)
    undo = faults.activate(fault)
    try:
        # The spec fails with a CheckFailed, the twin with a plain assert: both AssertionErrors.
        with pytest.raises(AssertionError):
            fast(runner.build_test(sp, "cpu", runner.Record()))()
        with pytest.raises(AssertionError):
            fast(twins.make(twins.TWINS[spec_id]))()
    finally:
        undo()
    fast(runner.build_test(sp, "cpu", runner.Record()))()  # and both pass on the real torch
    fast(twins.make(twins.TWINS[spec_id]))()


def test_quick_run_prints_ratios_and_compiles_once(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--skip-suite",
                           "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "geometric mean" in proc.stdout and "x" in proc.stdout
    data = json.loads(out.read_text())
    assert set(data["overhead"]) >= set(twins.TWINS) | {"geometric_mean"}
    assert all(v > 0 for v in data["overhead"].values())
    assert data["compile_counts"]["compiled_while_running"] == 0
    assert data["compile_counts"]["examples"] >= 10
    assert data["collection"]["specs"] == 100
