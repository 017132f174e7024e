"""conformance/devices.py (parse, availability, applies, describe), real runs of specs/devices on cuda and
meta, and scripts/gpu-check.sh on this machine (cuda absent: its cells must come out as "not run").
"""

from __future__ import annotations

import importlib.util
import os
import platform
import subprocess
from pathlib import Path

import pytest
import torch
from conftest import ROOT, SPECS, statuses

from conformance import results
from conformance.engine import devices

HAS_CUDA = torch.cuda.is_available()
META_SPECS = {"devices/to-other-device-metadata", "devices/to-returns-self-when-unchanged",
              "devices/cuda-availability-consistent"}


# -- parse ----------------------------------------------------------------------------------------

def test_parse_defaults_to_cpu_and_cuda() -> None:
    assert devices.parse(None) == devices.parse("") == ["cpu", "cuda"]


def test_parse_keeps_order_strips_and_drops_repeats() -> None:
    assert devices.parse(" cuda:1, cpu ,meta,cpu,") == ["cuda:1", "cpu", "meta"]


@pytest.mark.parametrize("name", ["mps", "xpu", "privateuseone", "cuda:3", "hpu"])
def test_parse_accepts_any_torch_device_string(name: str) -> None:
    assert devices.parse(name) == [name]


@pytest.mark.parametrize("option,message", [("gpu", "'gpu' is not a torch device string"),
                                            ("cuda:x", "'cuda:x' is not a torch device string"),
                                            (" , ", "no device in")])
def test_parse_rejects_what_torch_rejects(option: str, message: str) -> None:
    with pytest.raises(devices.DeviceError, match=message):
        devices.parse(option)


# -- availability -----------------------------------------------------------------------------------

def test_cpu_and_meta_are_always_available() -> None:
    assert devices.availability("cpu") == (True, "")
    assert devices.availability("meta") == (True, "")


def test_cuda_availability_follows_torch() -> None:
    ok, reason = devices.availability("cuda")
    assert ok is HAS_CUDA
    assert reason == ("" if HAS_CUDA else "cuda not available")


def test_a_cuda_index_beyond_the_count_is_absent() -> None:
    n = torch.cuda.device_count()
    ok, reason = devices.availability(f"cuda:{n}")
    assert ok is False
    assert reason == (f"cuda:{n} not available (device_count={n})" if HAS_CUDA else "cuda not available")


def test_an_absent_backend_is_absent_with_the_reason_torch_gave() -> None:
    # no PrivateUse1 backend is registered in this process: allocating on it fails, and that is the reason
    ok, reason = devices.availability("privateuseone")
    assert ok is False
    assert reason.startswith("privateuseone not available (") and len(reason) < 200


# -- applies ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec_devices,device,expected", [
    (None, "cpu", (True, "")),
    (None, "cuda:1", (True, "")),
    (None, "meta", (False, "not applicable: meta has no data; spec does not list meta")),
    (("cpu", "cuda", "meta"), "meta", (True, "")),
    (("cuda",), "cuda:1", (True, "")),      # a spec lists device types; an indexed device matches its type
    (("cuda:1",), "cuda:1", (True, "")),
    (("cuda",), "cpu", (False, "not applicable: spec applies to cuda only")),
    (("cpu", "meta"), "cuda", (False, "not applicable: spec applies to cpu, meta only")),
])
def test_applies(spec_devices: tuple[str, ...] | None, device: str, expected: tuple[bool, str]) -> None:
    assert devices.applies(spec_devices, device) == expected


# -- describe --------------------------------------------------------------------------------------

def test_describe_cpu() -> None:
    d = devices.describe("cpu")
    assert (d["name"], d["type"], d["available"], d["reason"]) == ("cpu", "cpu", True, None)
    assert d["execution_target"]["kind"] == "cpu"
    assert d["execution_target"]["runtime_version"] == torch.__version__
    assert d["execution_target"]["device_model"] == (platform.processor() or platform.machine())


def test_describe_meta_is_available_and_shape_only() -> None:
    d = devices.describe("meta")
    assert (d["type"], d["available"], d["execution_target"]["kind"]) == ("meta", True, "meta")
    assert d["execution_target"]["device_model"] is None


def test_describe_cuda() -> None:
    d = devices.describe("cuda")
    assert d["execution_target"]["kind"] == "gpu"
    assert d["execution_target"]["runtime_version"] == torch.version.cuda
    if HAS_CUDA:
        assert d["available"] is True
        assert d["execution_target"]["device_model"] == torch.cuda.get_device_name(torch.cuda.current_device())
        assert d["memory_bytes"] > 0 and "." in d["capability"]
    else:
        assert (d["available"], d["reason"]) == (False, "cuda not available")
        assert d["execution_target"]["device_model"] is None and "capability" not in d


# -- real runs -------------------------------------------------------------------------------------

def test_a_cuda_and_meta_run_of_specs_devices(suite, tmp_path: Path) -> None:
    doc = suite([SPECS / "devices"], devices="cuda,meta")
    results.load(tmp_path / "results.json")  # the written document validates against the schema
    cuda, meta = statuses(doc, "cuda"), statuses(doc, "meta")
    assert set(cuda) == set(meta) and len(cuda) >= 10
    if HAS_CUDA:
        assert set(cuda.values()) == {"passed"}, doc["_output"]
    else:
        # an absent device is never a pass: every cuda cell is "not run", with the reason
        for r in doc["results"]:
            if r["device"] == "cuda":
                assert (r["status"], r["reason"]) == ("skipped", "not run: cuda not available"), r["spec_id"]
        assert doc["summary"]["passed"] == len(META_SPECS)
    assert {k for k, v in meta.items() if v == "passed"} == META_SPECS
    for r in doc["results"]:
        if r["device"] == "meta" and r["spec_id"] not in META_SPECS:
            assert r["status"] == "skipped" and r["reason"] in (
                "not applicable: meta has no data; spec does not list meta",
                "not applicable: spec applies to cuda only"), r
    env = {d["name"]: d for d in doc["environment"]["devices"]}
    assert env["cuda"]["available"] is HAS_CUDA and env["meta"]["available"] is True
    assert doc["environment"]["execution_targets"]["cuda"]["kind"] == "gpu"
    assert doc["exit_status"] == 0


def test_gpu_check_script_without_a_gpu_reports_cuda_as_not_run(tmp_path: Path) -> None:
    out = tmp_path / "gpu"
    env = {k: v for k, v in os.environ.items() if k not in ("CONFORMANCE_FAULT", "PYTEST_XDIST_WORKER")}
    # the plugin loaded by module name (as on a GPU box where the package is not pip-installed), 2 workers
    env.update(SPECS="specs/devices/to-returns-self.yaml", WORKERS="2", CONFORMANCE_PLUGIN_FROM_SOURCE="1")
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "gpu-check.sh"), str(out)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = results.load(out / "results.json")
    cells = {(r["spec_id"], r["device"]): r["status"] for r in doc["results"]}
    ids = ("devices/to-returns-self-when-unchanged", "devices/to-copies-when-changed")
    assert {(i, "cpu") for i in ids} <= {k for k, v in cells.items() if v == "passed"}
    summary = [ln for ln in proc.stdout.splitlines() if ln.startswith("gpu-check: cpu:")]
    assert len(summary) == 1, proc.stdout
    assert "cpu: 2 passed 0 failed 0 error 0 skipped" in summary[0]
    assert f"torch {torch.__version__}" in summary[0] and " wall " in summary[0]
    if HAS_CUDA:
        assert "cuda: 2 passed" in summary[0]
    else:
        assert "cuda: 0 passed 0 failed 0 error 2 skipped" in summary[0]
        assert "WARNING: cuda not available" in proc.stdout
        assert {cells[(i, "cuda")] for i in ids} == {"skipped"}
    assert "bringing up nodes" in (out / "pytest.log").read_text()  # xdist workers loaded the plugin too
    has_report = importlib.util.find_spec("conformance.outputs.report") is not None
    assert (out / "index.html").exists() == has_report or "HTML report failed" in proc.stderr


def test_gpu_check_script_refuses_a_missing_outdir_argument() -> None:
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "gpu-check.sh")], capture_output=True, text=True)
    assert proc.returncode == 2 and "usage:" in proc.stderr
