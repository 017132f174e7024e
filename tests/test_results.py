"""The results document of a real run: schema, statuses, falsifying examples, and reading it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
import torch
from conftest import ROOT, run_suite

from conformance import results
from conformance.lang import behaviours
from conformance.lang.values import describe

ENGINE = Path(__file__).parent / "fixtures" / "engine"
FILES: list[str | Path] = [p.relative_to(ROOT) for p in sorted((ENGINE / "run").glob("*.yaml"))]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    folder = tmp_path_factory.mktemp("results")
    doc = run_suite(FILES, folder, None, "--hypothesis-profile", "dev", devices="cpu")
    return doc, folder / "results.json"


def entry(doc: dict[str, Any], spec_id: str) -> dict[str, Any]:
    (e,) = [r for r in doc["results"] if r["spec_id"] == spec_id]
    return e


def test_the_document_validates_against_its_schema(run: tuple[dict[str, Any], Path]):
    _, path = run
    doc = results.load(path)  # validates, raising ResultsError otherwise
    jsonschema.Draft202012Validator(results.schema()).validate(doc)
    assert doc["schema"] == results.SCHEMA and doc["schema_version"] == results.SCHEMA_VERSION
    assert not path.with_suffix(".json.tmp").exists()  # written atomically


def test_one_entry_per_item_and_a_consistent_summary(run: tuple[dict[str, Any], Path]):
    doc, _ = run
    nodeids = [r["nodeid"] for r in doc["results"]]
    assert len(nodeids) == len(set(nodeids)) == len(FILES)  # one spec per file, cpu only
    counts = {s: sum(r["status"] == s for r in doc["results"]) for s in doc["summary"] if s != "total"}
    assert {k: v for k, v in doc["summary"].items() if k != "total"} == counts
    assert doc["summary"]["total"] == len(nodeids)
    assert {r["spec_id"]: r["status"] for r in doc["results"]} == {
        "engine/run-cpu-only": "passed", "engine/run-fail": "failed", "engine/run-known": "xfailed",
        "engine/run-old-torch": "skipped", "engine/run-pass": "passed", "engine/run-step-error": "failed",
    }
    assert doc["exit_status"] == pytest.ExitCode.TESTS_FAILED


def test_a_check_failure_carries_its_falsifying_example(run: tuple[dict[str, Any], Path]):
    doc, _ = run
    e = entry(doc, "engine/run-fail")
    assert e["failure_kind"] == "check" and e["error_type"] == "CheckFailed"
    assert e["error"].startswith("expect[0] equal ['y', 'x'] (tests/fixtures/engine/run/fail.yaml:14)")
    assert (e["file"], e["line"], e["covers"], e["area"]) == ("tests/fixtures/engine/run/fail.yaml", 2, ["B-AR-1"],
                                                              "engine")
    assert e["source"]["quote"] == "Adds other, scaled by alpha, to input."
    example = e["falsifying"]
    assert isinstance(example["seed"], int)
    x = example["inputs"]["x"]
    assert (x["kind"], x["dtype"], x["shape"], x["device"]) == ("tensor", "int64", [2, 2], "cpu")
    assert x["values"] == [[0, 0], [0, 0]]  # shrunk to the simplest example
    assert x["repr"].startswith("tensor([[0, 0],")
    assert e["reproduce"]["command"].startswith(f"python -m pytest '{e['nodeid']}' --device cpu")
    assert "--hypothesis-profile dev" in e["reproduce"]["command"]
    assert e["blob"] and e["blob"].startswith("@reproduce_failure(") and e["reproduce"]["blob"] == e["blob"]


def test_an_exception_in_a_step_is_its_own_failure_kind(run: tuple[dict[str, Any], Path]):
    doc, _ = run
    e = entry(doc, "engine/run-step-error")
    assert e["failure_kind"] == "exception" and e["error_type"] == "RuntimeError"
    assert e["error"] == ("RuntimeError: shape '[7]' is invalid for input of size 6\n"
                          "in step 1 of engine/run-step-error: y = x.view(7)")
    assert e["falsifying"]["inputs"]["x"]["shape"] == [2, 3]


def test_passing_and_skipped_entries_carry_no_failure(run: tuple[dict[str, Any], Path]):
    doc, _ = run
    for spec_id in ("engine/run-pass", "engine/run-old-torch", "engine/run-known"):
        e = entry(doc, spec_id)
        assert "falsifying" not in e and "reproduce" not in e
    assert entry(doc, "engine/run-pass")["examples"] == 10 and entry(doc, "engine/run-old-torch")["examples"] == 0
    # a known divergence keeps its reason, and says which check failed (the report's "≠ cpu" reads it)
    known = entry(doc, "engine/run-known")
    assert known["status"] == "xfailed" and known["reason"].startswith("known divergence")
    assert known["check"]["index"] == 0 and "error" not in known


def test_ndarray_inputs_are_described_too(run: tuple[dict[str, Any], Path]):
    # a passing spec keeps no example, so describe one through the same function the plugin uses
    d = describe(np.arange(6, dtype=np.int32).reshape(2, 3)[:, ::2])
    assert (d["kind"], d["dtype"], d["shape"], d["stride"], d["contiguous"]) == ("ndarray", "int32", [2, 2], [3, 2],
                                                                                   False)
    assert d["values"] == [[0, 2], [3, 5]]
    big = describe(torch.zeros(1000))
    assert big["values"] is None and big["shape"] == [1000]


def test_coverage_lists_every_behaviour(run: tuple[dict[str, Any], Path]):
    doc, _ = run
    assert set(doc["coverage"]) == behaviours.ids()
    assert sorted(doc["coverage"]["B-AR-1"]) == ["engine/run-fail", "engine/run-pass"]
    assert doc["coverage"]["B-TV-1"] == []


def test_the_environment_describes_this_machine(run: tuple[dict[str, Any], Path]):
    doc, _ = run
    env = doc["environment"]
    assert env["torch"]["version"] == torch.__version__
    assert [d["name"] for d in env["devices"]] == ["cpu"]
    assert env["execution_targets"]["cpu"]["kind"] == "cpu"
    assert env["fault"] is None


# -- reading results back -------------------------------------------------------------------------

def _write(path: Path, content: Any) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_load_names_the_file_for_every_unusable_input(tmp_path: Path, run: tuple[dict[str, Any], Path]):
    good = json.loads(run[1].read_text())
    cases = {
        "missing.json": (None, "no such results file"),
        "truncated.json": ('{"schema": "torch-conformance/res', "not valid JSON"),
        "other.json": ({"hello": 1}, "not a torch-conformance results file"),
        "future.json": ({**good, "schema_version": 99}, "unknown results schema version 99"),
        "bad-status.json": ({**good, "results": [{**good["results"][0], "status": "exploded"}]},
                            "invalid results document at results/0/status"),
        "no-summary.json": ({k: v for k, v in good.items() if k != "summary"}, "'summary' is a required property"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name if content is None else _write(tmp_path / name, content)
        with pytest.raises(results.ResultsError) as info:
            results.load(path)
        assert str(info.value).startswith(str(path)) and message in str(info.value), name
