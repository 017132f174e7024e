"""`conformance merge`: results of separate real runs become one document per environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, run_suite

from conformance import cli, results
from conformance.results import merge

GATE = ROOT / "tests" / "fixtures" / "gate" / "specs"
INPLACE, CREATION = GATE / "inplace.yaml", GATE / "creation.yaml"
ADD_SPEC = "gate-fixture/add_-returns-self"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Separate runs, in this order (so `created` grows): two shards, then a faulted rerun of one."""
    d = tmp_path_factory.mktemp("merge-runs")
    run_suite([INPLACE], d, devices="cpu,meta", name="shard-inplace")
    run_suite([CREATION], d, name="shard-creation")
    run_suite([INPLACE], d, "add_-returns-new", name="rerun-inplace")
    return {n: d / f"{n}.json" for n in ("shard-inplace", "shard-creation", "rerun-inplace")}


def statuses(doc: dict) -> dict[tuple[str, str], str]:
    return {(r["spec_id"], r["device"]): r["status"] for r in doc["results"]}


def test_separate_runs_merge_into_one_document_per_environment(runs, tmp_path, capsys):
    out = tmp_path / "merged.json"
    split = tmp_path / "split"
    assert cli.main(["merge", str(runs["shard-inplace"]), str(runs["shard-creation"]), "-o", str(out),
                     "--split", str(split)]) == 0
    assert "warning" not in capsys.readouterr().err          # no spec x device ran twice
    docs = merge.load_documents(out)
    # cpu from both shards in one document; meta (only the first shard ran it) in its own.
    by_device = {d["environment"]["devices"][0]["name"]: d for d in docs}
    assert sorted(by_device) == ["cpu", "meta"]
    cpu = by_device["cpu"]
    assert statuses(cpu) == {("gate-fixture/add-out-of-place", "cpu"): "passed", (ADD_SPEC, "cpu"): "passed",
                             ("gate-fixture/zeros", "cpu"): "passed"}
    assert cpu["summary"]["passed"] == cpu["summary"]["total"] == 3
    assert list(cpu["environment"]["execution_targets"]) == ["cpu"]
    assert {m["file"] for m in cpu["merged_from"]} == {str(runs["shard-inplace"]), str(runs["shard-creation"])}
    assert "gate-fixture/zeros" in cpu["coverage"]["B-CR-3"] and ADD_SPEC in cpu["coverage"]["B-IP-1"]
    assert {s for s in by_device["meta"]["summary"] if by_device["meta"]["summary"][s]} == {"skipped", "total"}
    # --split writes plain results documents that the canonical loader accepts.
    files = sorted(split.glob("results-*.json"))
    assert len(files) == 2
    assert sorted(statuses(results.load(f)).items() for f in files) == sorted(statuses(d).items() for d in docs)


def test_conflicting_duplicate_newest_wins_with_warning(runs, tmp_path, capsys):
    older, newer = runs["shard-inplace"], runs["rerun-inplace"]
    created = [json.loads(p.read_text())["created"] for p in (older, newer)]
    assert created[0] <= created[1]
    out = tmp_path / "merged.json"
    # The newer run wins whatever the order of the arguments.
    for order in ([older, newer], [newer, older]):
        assert cli.main(["merge", *map(str, order), "-o", str(out)]) == 0
        err = capsys.readouterr().err
        cpu = next(d for d in merge.load_documents(out) if d["environment"]["devices"][0]["name"] == "cpu")
        assert statuses(cpu)[(ADD_SPEC, "cpu")] == "failed"
        assert cpu["summary"]["failed"] == 1
        warning = next(line for line in err.splitlines() if "both hold" in line)
        assert str(older) in warning and str(newer) in warning
        assert f"kept {newer} (newer)" in warning
        assert f"{ADD_SPEC}[cpu] passed -> failed" in warning
    # The faulted run is called out too.
    assert "ran with fault 'add_-returns-new' active" in err


def test_merging_a_merged_set_again_is_stable(runs, tmp_path, capsys):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert cli.main(["merge", str(runs["shard-inplace"]), str(runs["shard-creation"]), "-o", str(first)]) == 0
    assert cli.main(["merge", str(first), "-o", str(second)]) == 0
    capsys.readouterr()
    a, b = merge.load_documents(first), merge.load_documents(second)
    assert [statuses(d) for d in a] == [statuses(d) for d in b]
    assert all(m["file"] == str(first) for d in b for m in d["merged_from"])


def test_unusable_file_exits_2_naming_it(runs, tmp_path, capsys):
    bad = tmp_path / "half.json"
    bad.write_text(runs["shard-creation"].read_text()[:200])
    assert cli.main(["merge", str(runs["shard-creation"]), str(bad), "-o", str(tmp_path / "m.json")]) == 2
    assert f"{bad}: not valid JSON" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()


RECORDED = ROOT / "tests" / "fixtures" / "gate" / "results"


def test_gpu_box_results_merge_with_a_cpu_run(runs, tmp_path, capsys):
    """A recorded H200 run (cpu + cuda, torch 2.11) and a CPU run made here: separate environments."""
    gpu = RECORDED / "h200-torch2.11-clean.json"
    out = tmp_path / "merged.json"
    assert cli.main(["merge", str(gpu), str(runs["shard-creation"]), "-o", str(out)]) == 0
    assert "both hold" not in capsys.readouterr().err        # different torch builds never clash
    labels = {e.label for e in merge.merge_files([out]).envs}
    assert "torch 2.11.0+cu130, numpy 2.x, cuda (NVIDIA H200)" in labels
    assert "torch 2.11.0+cu130, numpy 2.x, cpu (x86_64)" in labels
    here = json.loads(runs["shard-creation"].read_text())["environment"]["torch"]["version"]
    assert any(label.startswith(f"torch {here}, ") for label in labels) and len(labels) == 3


def test_gate_on_recorded_gpu_runs(capsys):
    """The injected fault on the GPU box regresses add_ on both of its devices."""
    code = cli.main(["gate", "--baseline", str(RECORDED / "h200-torch2.11-clean.json"),
                     "--current", str(RECORDED / "h200-torch2.11-fault.json")])
    out = capsys.readouterr().out
    assert code == 1
    regressed = out.split("REGRESSED (2):", 1)[1].split("\n\n", 1)[0]
    assert f"{ADD_SPEC} [cpu]" in regressed and f"{ADD_SPEC} [cuda]" in regressed
    assert "cuda (NVIDIA H200): passed -> failed" in regressed
