"""The HTML report, JUnit XML and `conformance report`, from real runs of the report fixture specs.

Two real runs: a clean one on cpu and meta (two environments), and one with the `add_-returns-new`
fault on cpu (a real failure).  Copies of a real run with one field changed stand for a newer run of
the same environment and for another torch version.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, run_suite

from conformance import cli
from conformance.outputs import report
from conformance.results import ResultsError

FIXTURES = ROOT / "tests" / "fixtures" / "report" / "specs"
SPEC_FILES = sorted(FIXTURES.glob("*.yaml"))
STATUSES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
FAILING = "inplace/add_-returns-self"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("report-runs")
    clean = run_suite(SPEC_FILES, d, None, devices="cpu,meta", name="clean")
    faulty = run_suite(SPEC_FILES, d, "add_-returns-new", "--hypothesis-profile", "ci", devices="cpu", name="faulty")
    assert clean["summary"]["failed"] == 0, clean["_output"]
    assert [r["spec_id"] for r in faulty["results"] if r["status"] == "failed"] == [FAILING], faulty["_output"]
    return {"clean": d / "clean.json", "faulty": d / "faulty.json", "dir": d}


def _doc(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _variant(src: Path, dst: Path, **changes: Any) -> Path:
    """A copy of a real results file with a few fields changed (dotted keys)."""
    doc = _doc(src)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        target = doc
        for p in parents:
            target = target[p]
        target[last] = value
    dst.write_text(json.dumps(doc))
    return dst


def _shown_counts(page: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', page)}


def main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- one run ----------------------------------------------------------------------------------------

def test_single_run_counts_match_the_json(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "index.html"
    rep = report.render([runs["faulty"]], out)
    doc = _doc(runs["faulty"])
    page = out.read_text()
    shown = _shown_counts(page)
    for s in (*STATUSES, "total"):
        assert shown[s] == doc["summary"][s] == rep.counts.get(s, 0), s
    reasons = [r["reason"] or "" for r in doc["results"] if r["status"] == "skipped"]
    assert shown["notrun"] == sum(r.startswith("not run:") for r in reasons)
    assert shown["na"] == sum(r.startswith("not applicable:") for r in reasons)
    cov = doc["coverage"]
    assert f"{sum(1 for v in cov.values() if v)} / {len(cov)}" in page
    # one column per device of the run, one row per spec
    assert [c.device for c in rep.columns] == ["cpu"]
    assert {r.spec_id for r in rep.rows} == {r["spec_id"] for r in doc["results"]}


def test_failure_details_promise_example_error_reproduce_snippet(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "index.html"
    report.render([runs["faulty"]], out)
    page = out.read_text()
    text = html.unescape(page)  # Jinja and html.escape spell quotes differently
    entry = next(r for r in _doc(runs["faulty"])["results"] if r["status"] == "failed")
    assert f"<blockquote>{entry['source']['quote']}</blockquote>" in text
    assert f'href="{entry["source"]["doc"]}"' in page
    for name, inp in entry["falsifying"]["inputs"].items():
        assert f"<code>{name}</code></td><td><code>{inp['repr']}</code>" in text
    assert entry["error"].splitlines()[0] in text
    assert entry["reproduce"]["command"] in text
    assert entry["reproduce"]["blob"] in text
    # the standalone snippet, escaped inside a <pre>
    snip = re.search(r'<pre class="snippet" id="[^"]+">(.*?)</pre>', page, re.S)
    assert snip is not None
    code = html.unescape(snip.group(1))
    assert "torch.manual_seed(" in code and "assert (r) is (x), 'same_object'" in code
    compile(code, "snippet", "exec")
    # skipped cells carry their reason; the xfail its known divergence
    assert "not applicable: needs torch >=99" in text
    assert "known divergence: floating-point rounding" in text


def test_page_is_self_contained(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "index.html"
    report.render([runs["faulty"], runs["clean"]], out)
    page = out.read_text()
    assert not re.search(r"<(script|img|iframe|link|source|video|audio)\b[^>]*\bsrc=", page, re.I)
    assert not re.search(r"<link\b[^>]*href=\"(?!data:)", page, re.I)
    assert "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page  # the browser itself refuses any fetch
    assert page.count("<script>") == 1 and page.count("<style>") == 1


def test_everything_is_escaped(runs: dict[str, Path], tmp_path: Path) -> None:
    doc = _doc(runs["faulty"])
    for r in doc["results"]:
        if r["status"] == "failed":
            r["title"] = "<script>alert(1)</script> & co"
            r["source"] = dict(r["source"], doc="javascript:alert(1)", quote='"><img src=x onerror=alert(1)>')
            r["error"] = "</pre><b>bold</b>"
    src = tmp_path / "hostile.json"
    src.write_text(json.dumps(doc))
    out = tmp_path / "index.html"
    report.render([src], out)
    page = out.read_text()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'href="javascript:' not in page
    assert "</pre><b>bold</b>" not in page


# -- several runs -----------------------------------------------------------------------------------

def test_two_environments_and_a_second_torch_version(runs: dict[str, Path], tmp_path: Path) -> None:
    other = _variant(runs["clean"], tmp_path / "other.json", **{"environment.torch.version": "2.14.0a0+gitabc"})
    out = tmp_path / "index.html"
    rep = report.render([runs["clean"], other], out)
    labels = [c.label for c in rep.columns]
    assert [(c.torch, c.device) for c in rep.columns] == [
        ("2.13.0+cpu", "cpu"), ("2.13.0+cpu", "meta"), ("2.14.0a0+gitabc", "cpu"), ("2.14.0a0+gitabc", "meta")]
    page = out.read_text()
    for label in labels:
        assert f'title="{html.escape(label)}"' in page
    doc = _doc(runs["clean"])
    for col in rep.columns:  # per-environment counts come from that environment's results only
        mine = [r for r in doc["results"] if r["device"] == col.device]
        assert rep.by_column[col.index]["total"] == len(mine)
        assert rep.by_column[col.index]["passed"] == sum(r["status"] == "passed" for r in mine)
    assert rep.counts["total"] == 2 * doc["summary"]["total"]
    meta_na = [c for row in rep.rows for c in row.cells if c.column.device == "meta"]
    assert meta_na and all(c.cls == "na" for c in meta_na)  # meta has no data: every fixture is n/a there
    assert not rep.warnings


def test_newest_run_of_an_environment_wins_and_the_page_says_so(runs: dict[str, Path], tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    older = _doc(runs["clean"])
    newer = _variant(runs["clean"], tmp_path / "newer.json", created="2999-01-01T00:00:00+00:00", run_id="newer")
    out = tmp_path / "index.html"
    rep = report.render([newer, runs["clean"]], out)  # argument order does not matter; `created` does
    err = capsys.readouterr().err
    assert len(rep.columns) == 2
    for row in rep.rows:
        for cell in row.cells:
            assert cell.run is not None and cell.run.doc["run_id"] == "newer"
            assert [r.doc["run_id"] for r in cell.shadowed] == [older["run_id"]]
    assert len(rep.warnings) == 2 and all("newest run wins" in w and str(newer) in w for w in rep.warnings)
    page = out.read_text()
    assert page.count('class="warn"') == 2 and html.escape(str(runs["clean"])) in page
    assert err.count("conformance report: warning:") == 2 and "newest run wins" in err
    assert rep.counts["total"] == older["summary"]["total"]  # not counted twice


def test_drift_column_when_results_carry_drift(runs: dict[str, Path], tmp_path: Path) -> None:
    doc = _doc(runs["faulty"])
    if "drift" not in doc:  # written by the docs drift check when it runs with the suite
        doc["drift"] = {"specs": {FAILING: {"status": "reworded", "object": "torch.Tensor.add_", "similarity": 0.5}}}
    src = tmp_path / "drift.json"
    src.write_text(json.dumps(doc))
    out = tmp_path / "index.html"
    rep = report.render([src], out)
    assert len(rep.drift_columns) == 1
    page = out.read_text()
    assert "docs drift · torch 2.13.0" in page
    for row in rep.rows:
        want = doc["drift"]["specs"].get(row.spec_id)
        got = row.drift[0]
        assert (got or {}).get("status") == (want or {}).get("status")
        if want:
            assert re.search(rf'id="{row.anchor}".*?<td class="drift d-{want["status"]}"', page, re.S)


# -- baseline -------------------------------------------------------------------------------------

def test_baseline_marks_regressed_fixed_and_new(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "index.html"
    rep = report.render([runs["faulty"]], out, baseline=runs["clean"])
    b = rep.baseline
    assert b is not None
    assert [(row.spec_id, cell.before, cell.status) for row, cell in b["changes"]["regressed"]] == [
        (FAILING, "passed", "failed")]
    assert not b["changes"]["fixed"] and not b["changes"]["new"]
    assert {d for _, d in b["gone"]} == {"meta"}  # the baseline also ran meta
    page = out.read_text()
    assert page.count('data-change="regressed"') == 1 and "▼ regressed" in page

    rep2 = report.render([runs["clean"]], tmp_path / "back.html", baseline=runs["faulty"])
    changes = rep2.baseline["changes"]  # type: ignore[index]
    assert [(r.spec_id, c.column.device) for r, c in changes["fixed"]] == [(FAILING, "cpu")]
    assert {c.column.device for _, c in changes["new"]} == {"meta"}
    assert 'data-change="fixed"' in (tmp_path / "back.html").read_text()


# -- JUnit XML --------------------------------------------------------------------------------------

def test_junit_xml_parses_and_counts_match(runs: dict[str, Path], tmp_path: Path) -> None:
    xml_path = tmp_path / "junit.xml"
    rep = report.render([runs["clean"], runs["faulty"]], tmp_path / "index.html", junit=xml_path)
    root = ET.parse(xml_path).getroot()
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [c.label for c in rep.columns]
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for suite, col in zip(suites, rep.columns, strict=True):
        cases = suite.findall("testcase")
        got = {"tests": len(cases), "failures": len(suite.findall("testcase/failure")),
               "errors": len(suite.findall("testcase/error")), "skipped": len(suite.findall("testcase/skipped"))}
        for k, v in got.items():
            assert int(suite.get(k)) == v, (col.label, k)
            totals[k] += v
        c = rep.by_column[col.index]
        assert got == {"tests": c["total"], "failures": c["failed"], "errors": c["error"],
                       "skipped": c["skipped"] + c["xfailed"]}
    assert {k: int(root.get(k)) for k in totals} == totals
    faulty = _doc(runs["faulty"])
    fault_suite = next(s for s in suites if "fault add_-returns-new" in s.get("name", ""))
    assert int(fault_suite.get("tests")) == faulty["summary"]["total"]
    failure = fault_suite.find(f"testcase[@name='{FAILING}[cpu]']/failure")
    assert failure is not None and failure.get("type") == "CheckFailed"
    assert "reproduce: python -m pytest" in (failure.text or "")


# -- detection power --------------------------------------------------------------------------------

def test_mutate_section_from_a_real_mutation_run(runs: dict[str, Path], tmp_path: Path) -> None:
    mutate_json = tmp_path / "mutate.json"
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "mutate", str(FIXTURES / "views.yaml"),
                           "--faults", "view-copies,view-copies-when-incompatible", "--json", str(mutate_json),
                           "--threshold", "0", "--", "--spec-isolation", "off"],   # in-process pytest runs
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert mutate_json.exists(), proc.stdout + proc.stderr
    m = _doc(mutate_json)
    out = tmp_path / "index.html"
    rep = report.render([runs["clean"]], out, mutate=mutate_json)
    assert rep.mutate is not None
    page = out.read_text()
    s = m["score"]
    assert f"{s['killed']} / {s['total']} faults caught" in page
    killed = {f["name"]: f for f in m["faults"]}
    assert killed["view-copies"]["killed"] and not killed["view-copies-when-incompatible"]["killed"]
    assert re.search(r'<tr class="survived" data-fault="view-copies-when-incompatible">.*?SURVIVED', page, re.S)
    assert re.search(r'data-fault="view-copies">.*?<code>views/view-shares-storage</code>', page, re.S)
    for u in m["unproven"]:
        assert f"<code>{u['spec_id']}</code>: {u['reason']}" in html.unescape(page)


# -- bad input --------------------------------------------------------------------------------------

def _bad_inputs(runs: dict[str, Path], d: Path) -> dict[str, tuple[Path, str]]:
    text = runs["clean"].read_text()
    (d / "truncated.json").write_text(text[: len(text) // 2])
    (d / "other.json").write_text(json.dumps({"schema": "something-else", "results": []}))
    (d / "garbage.json").write_text("not json at all")
    future = _variant(runs["clean"], d / "future.json", schema_version=99)
    return {"truncated": (d / "truncated.json", "not valid JSON"),
            "other": (d / "other.json", "not a torch-conformance results file"),
            "garbage": (d / "garbage.json", "not valid JSON"),
            "future": (future, "unknown results schema version 99"),
            "missing": (d / "missing.json", "no such results file")}


def test_bad_inputs_exit_2_naming_the_file_and_leave_no_page(runs: dict[str, Path], tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out" / "index.html"
    out.parent.mkdir()
    out.write_text("previous page")
    for name, (path, message) in _bad_inputs(runs, tmp_path).items():
        code, stdout, err = main(capsys, "report", str(runs["clean"]), str(path), "-o", str(out))
        assert code == 2, name
        assert f"conformance report: error: {path}: " in err and message in err, (name, err)
        assert out.read_text() == "previous page", name  # never a half-written or replaced page
        assert [p.name for p in out.parent.iterdir()] == ["index.html"], name  # no temporary left behind
        with pytest.raises(ResultsError, match=re.escape(str(path))):
            report.render([path], out)
    for option in ("--baseline", "--mutate"):
        bad = tmp_path / "garbage.json"
        code, _, err = main(capsys, "report", str(runs["clean"]), option, str(bad), "-o", str(out))
        assert code == 2 and str(bad) in err, (option, err)
        assert out.read_text() == "previous page"


def test_cli_writes_page_and_junit(runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, junit = tmp_path / "r" / "index.html", tmp_path / "r" / "junit.xml"
    code, stdout, err = main(capsys, "report", str(runs["faulty"]), "-o", str(out), "--junitxml", str(junit),
                             "--baseline", str(runs["clean"]))
    assert code == 0, err
    assert out.read_text().startswith("<!DOCTYPE html>") and ET.parse(junit).getroot().tag == "testsuites"
    assert f"report written to {out}" in stdout and "1 failed" in stdout


def test_run_html_renders_the_report(tmp_path: Path) -> None:
    """`conformance run --html` (the run command calls report.render on the JSON it wrote)."""
    out = tmp_path / "run" / "index.html"
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "run", str(FIXTURES / "inplace.yaml"),
                           "--device", "cpu", "--profile", "dev", "--html", str(out), "--", "-q"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    page = out.read_text()
    assert _shown_counts(page)["passed"] == 2 and "inplace/zero-then-fill" in page


def test_build_without_results_is_an_error() -> None:
    with pytest.raises(ResultsError):
        report.build([])


def test_results_set_from_merge_is_read(runs: dict[str, Path], tmp_path: Path) -> None:
    """A results set (`conformance merge`: one document per environment) renders like its inputs."""
    pytest.importorskip("conformance.results.merge", reason="results sets come from `conformance merge`")
    other = _variant(runs["clean"], tmp_path / "other.json", **{"environment.torch.version": "2.14.0a0+gitabc"})
    merged = tmp_path / "set.json"
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "merge", str(runs["clean"]), str(other),
                           "-o", str(merged)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert merged.exists(), proc.stdout + proc.stderr
    rep = report.build([merged], snippets=False)
    direct = report.build([runs["clean"], other], snippets=False)
    assert rep.counts == direct.counts
    assert [(c.torch, c.device) for c in rep.columns] == [(c.torch, c.device) for c in direct.columns]


def test_a_device_that_computes_other_values_than_cpu_is_marked(runs: dict[str, Path], tmp_path: Path) -> None:
    # "≠ cpu" on a cell whose failed check is matches_cpu, also when it is a known divergence (xfailed);
    # not on a failure of another check.
    doc = _doc(runs["clean"])
    cpu = [r for r in doc["results"] if r["device"] == "cpu" and r["status"] == "passed"][:3]
    marked, known, other = (dict(r, device="xla", nodeid=r["nodeid"].replace("[cpu]", "[xla]")) for r in cpu)
    marked.update(status="failed", check={"index": 0, "kind": "matches_cpu", "line": 1})
    known.update(status="xfailed", reason="known divergence: observed", check={"index": 0, "kind": "matches_cpu", "line": 1})
    other.update(status="failed", check={"index": 0, "kind": "equal", "line": 1})
    doc["results"] += [marked, known, other]
    src = tmp_path / "xla.json"
    src.write_text(json.dumps(doc))
    report.render([src], tmp_path / "index.html")
    html = (tmp_path / "index.html").read_text()
    assert html.count('class="dcpu"') == 2, html.count('class="dcpu"')
