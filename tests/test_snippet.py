"""Standalone reproduction snippets: built from real failing results, run with plain `python`.

A snippet must fail the same way as the suite (AssertionError from the same check) while the fault
is active in its process, and pass when it is not.  Snippets of passing examples (drawn by the real
runner) must pass too: that exercises every input kind and check template the fixtures use.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, run_suite
from hypothesis import settings

from conformance.engine import runner
from conformance.lang import snippet
from conformance.lang import spec as spec_mod
from conformance.lang.values import describe

FIXTURES = ROOT / "tests" / "fixtures" / "report" / "specs"
FAULTS = "add_-returns-new,view-copies"
# The check each fault breaks first in the fixture specs.
EXPECTED = {"inplace/add_-returns-self": "same_object", "views/view-shares-storage": "shares_memory"}


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One real run of the fixture specs with both faults active."""
    return run_suite(sorted(FIXTURES.glob("*.yaml")), tmp_path_factory.mktemp("snippet"), FAULTS,
                     "--hypothesis-profile", "ci")  # shrunk examples make the snippets


def _run(code_path: Path, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    if fault:  # the fault patches torch in the snippet's own process, as the suite did in its workers
        cmd = [sys.executable, "-c",
               f"from conformance.tools import faults; faults.activate({fault!r}); "
               f"exec(compile(open({str(code_path)!r}).read(), {str(code_path)!r}, 'exec'))"]
    else:
        cmd = [sys.executable, str(code_path)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=code_path.parent)


def test_snippet_fails_like_the_suite_and_passes_without_the_fault(faulty: dict[str, Any], tmp_path: Path) -> None:
    failed = {r["spec_id"]: r for r in faulty["results"] if r["status"] == "failed"}
    assert set(EXPECTED) <= set(failed), faulty["_output"]
    for spec_id, kind in EXPECTED.items():
        entry = failed[spec_id]
        snip = snippet.build(entry, fault=faulty["environment"]["fault"])
        assert snip.text is not None, snip.notes
        assert (snip.check_kind, snip.check_index) == (kind, 0)
        text = snip.text
        # Standalone: nothing of the suite is imported; inputs are literals; the seed is set.
        assert "conformance" not in "\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))
        assert f"torch.manual_seed({entry['falsifying']['seed']})" in text
        path = tmp_path / (spec_id.replace("/", "_") + ".py")
        path.write_text(text)

        broken = _run(path, FAULTS)
        assert broken.returncode != 0, broken.stdout
        last = broken.stderr.strip().splitlines()[-1]
        assert last == f"AssertionError: {kind}", broken.stderr[-2000:]

        clean = _run(path)
        assert clean.returncode == 0, clean.stderr[-2000:]


def test_snippet_when_the_spec_file_is_gone(faulty: dict[str, Any], tmp_path: Path) -> None:
    entry = next(r for r in faulty["results"] if r["status"] == "failed")
    moved = dict(entry, file=str(tmp_path / "deleted" / "inplace.yaml"))
    snip = snippet.build(moved)
    assert snip.text is None
    assert any("is gone" in n and "deleted/inplace.yaml" in n for n in snip.notes), snip.notes


def _examples(spec: spec_mod.Spec, device: str = "cpu") -> dict[str, Any]:
    """A real example drawn and run by the suite's runner, recorded as the results would record it."""
    rec = runner.Record()
    settings(max_examples=5, derandomize=True, database=None, deadline=None)(runner.build_test(spec, device, rec))()
    return {"seed": rec.seed, "inputs": {k: describe(v) for k, v in rec.inputs.items()}}


@pytest.mark.parametrize("spec_id", ["views/noncontiguous-input", "numpy-bridge/from-noncontiguous-ndarray",
                                     "nn/module-helper-registers", "shape/reshape-matches-numpy",
                                     "inplace/zero-then-fill", "views/view-shares-storage"])
def test_snippet_of_a_passing_example_passes(spec_id: str, tmp_path: Path) -> None:
    specs, errors = spec_mod.load_paths([FIXTURES])
    assert not errors, errors
    spec = next(s for s in specs if s.id == spec_id)
    entry = {"spec_id": spec.id, "device": "cpu", "file": spec.file, "line": spec.line, "source": spec.source,
             "failure_kind": "check", "falsifying": _examples(spec)}
    entry = json.loads(json.dumps(entry, default=str))  # exactly what a results file holds
    snip = snippet.build(entry)
    assert snip.text is not None, snip.notes
    if spec_id == "views/noncontiguous-input":
        # The drawn layout is rebuilt (from the recorded strides, or the spec's slicing), so
        # not_contiguous holds in the snippet as in the suite.
        assert "[..., ::2]" in snip.text or "torch.empty_strided(" in snip.text
    if spec_id == "nn/module-helper-registers":
        assert "helpers = types.SimpleNamespace(" in snip.text and "def params(module" in snip.text
    if spec_id == "shape/reshape-matches-numpy":
        assert "with _raises(RuntimeError, 'invalid for input of size'):" in snip.text
    path = tmp_path / "snippet.py"
    path.write_text(snip.text)
    proc = _run(path)
    assert proc.returncode == 0, f"{snip.text}\n{proc.stderr[-2000:]}"


def test_literals_survive_nan_inf_and_empty_shapes(tmp_path: Path) -> None:
    import torch
    x = torch.tensor([[float("nan"), float("inf"), -float("inf"), 1.5]]).t()  # non-contiguous, with NaN/inf
    e = torch.zeros(2, 0, 3, dtype=torch.int64)
    conv = snippet._Inputs("cpu", [])
    src = "\n".join(["import torch", "DEVICE = torch.device('cpu')",
                     *conv.assign("x", json.loads(json.dumps(describe(x.contiguous())))),
                     *conv.assign("e", json.loads(json.dumps(describe(e)))),
                     "assert x.shape == (4, 1) and x[0].isnan().all() and x[1].item() == float('inf')",
                     "assert e.shape == (2, 0, 3) and e.dtype == torch.int64"])
    path = tmp_path / "lit.py"
    path.write_text(src)
    proc = _run(path)
    assert proc.returncode == 0, f"{src}\n{proc.stderr}"
