"""The HTML report: one self-contained page, specs x environments (torch version x device).

`render(paths, out)` reads results documents (single runs or results sets), builds a model
(`build`), and writes the page through Jinja2 templates (autoescaped; CSS and JS inline, nothing
fetched).  A cell held by several runs of the same environment shows the newest run's result, and
the page and stderr say so.  Optional: `baseline` marks changed cells, `junit` writes JUnit XML,
`mutate` adds the detection-power section.  Files are written to a temporary name and renamed, so
a reader never sees half a page.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jinja2
import markupsafe
from packaging.version import InvalidVersion, Version

from conformance.lang import behaviours
from conformance.outputs import junit as junit_xml
from conformance.results import ANY_DEVICE, PASSING, STATUSES, ResultsError, merge, mutation, write_text
from conformance.results import FAILING as BAD  # noqa: E402

GOOD = PASSING


# -- the model ------------------------------------------------------------------------------------

@dataclass
class ResultsRun:
    path: str
    doc: dict[str, Any]
    order: int

    @property
    def env(self) -> dict[str, Any]:
        return self.doc["environment"]

    @property
    def age(self) -> tuple[dt.datetime, int]:
        return (_when(self.doc["created"]), self.order)

    @property
    def label(self) -> str:
        return f"{self.path} ({self.doc['created']})"


@dataclass
class Column:
    key: tuple
    torch: str
    device: str
    model: str | None
    numpy: str
    fault: str | None
    runs: list[ResultsRun] = field(default_factory=list)   # every run holding a cell of this column
    label: str = ""
    index: int = 0

    @property
    def newest(self) -> ResultsRun:
        return max(self.runs, key=lambda r: r.age)

    @property
    def slug(self) -> str:
        return f"c{self.index}"


@dataclass
class Cell:
    column: Column
    result: dict[str, Any] | None        # None: this spec is not in any run of the column
    run: ResultsRun | None = None
    shadowed: list[ResultsRun] = field(default_factory=list)
    change: str | None = None            # with a baseline: regressed / fixed / new / changed
    before: str | None = None
    snippet: dict[str, Any] | None = None   # as recorded: {text, notes, check_index, check_kind}

    @property
    def status(self) -> str | None:
        return self.result["status"] if self.result else None

    @property
    def cls(self) -> str:
        """The display class: pass, fail, error, skip, xfail, xpass, notrun, na, absent."""
        s = self.status
        if s is None:
            return "absent"
        if s == "skipped":
            reason = (self.result or {}).get("reason") or ""
            if reason.startswith("not run:"):
                return "notrun"
            if reason.startswith("not applicable:"):
                return "na"
            return "skip"
        return {"passed": "pass", "failed": "fail", "error": "error", "crashed": "crash", "timeout": "timeout",
                "xfailed": "xfail", "xpassed": "xpass"}[s]

    @property
    def text(self) -> str:
        return LABELS[self.cls]

    @property
    def differs_from_cpu(self) -> bool:
        """The failed expectation (a failure or a known divergence) is `matches_cpu`: this device computes
        other values than the CPU."""
        return bool(self.result and (self.status in BAD or self.status == "xfailed")
                    and (self.result.get("check") or {}).get("kind") == "matches_cpu")

    @property
    def reason(self) -> str:
        r = self.result or {}
        if self.cls == "absent":
            return "not in this run"
        return r.get("reason") or ""


LABELS = {"pass": "pass", "fail": "FAIL", "error": "ERROR", "crash": "CRASH", "timeout": "TIMEOUT",
          "skip": "skipped", "xfail": "xfail",
          "xpass": "xpass", "notrun": "not run", "na": "n/a", "absent": "–"}
DESCRIBE = {"pass": "passed", "fail": "failed: a documented property does not hold",
            "error": "error: the spec could not run",
            "crash": "crashed: the process running the spec died (signal or exit)",
            "timeout": "timeout: the spec ran past its time limit and was killed", "skip": "skipped", "xfail": "known divergence (xfail)",
            "xpass": "known divergence, but passed (xpass)", "notrun": "not run", "na": "not applicable",
            "absent": "not in this run"}


@dataclass
class Row:
    spec_id: str
    title: str
    area: str
    covers: list[str]
    file: str | None
    line: int | None
    source: dict[str, Any]
    cells: list[Cell]
    drift: list[dict[str, Any] | None] = field(default_factory=list)
    index: int = 0

    @property
    def bad(self) -> bool:
        return any(c.status in BAD for c in self.cells)

    @property
    def details(self) -> list[Cell]:
        return [c for c in self.cells if c.cls not in ("pass", "absent")]

    @property
    def anchor(self) -> str:
        return f"r{self.index}"


@dataclass
class Report:
    runs: list[ResultsRun]
    columns: list[Column]
    rows: list[Row]
    areas: list[tuple[str, list[Row]]]
    warnings: list[str]
    counts: dict[str, int]
    by_area: dict[str, Counter[str]]
    by_column: list[Counter[str]]
    coverage: dict[str, Any]
    api: list[dict[str, Any]]           # public-API coverage per torch version (newest run that has it)
    drift_columns: list[tuple[str, ResultsRun]]
    baseline: dict[str, Any] | None
    mutate: dict[str, Any] | None
    generated: str


def _when(stamp: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _version_key(text: str) -> tuple:
    try:
        return (0, Version(text), "")
    except InvalidVersion:
        return (1, Version("0"), text)


def load_documents(path: str | Path) -> list[dict[str, Any]]:
    """The results documents in PATH: one run, or a results set (`conformance merge`)."""
    return merge.load_documents(path)


def load_mutate(path: str | Path) -> dict[str, Any]:
    return mutation.load(path)


def _column_key(env: dict[str, Any], device: str) -> tuple:
    target = (env.get("execution_targets") or {}).get(device) or {}
    return (env["torch"]["version"], device, target.get("device_model"), env["numpy"].split(".")[0],
            env.get("fault"))


def _devices_of(doc: dict[str, Any]) -> list[str]:
    names = [d["name"] for d in doc["environment"].get("devices", [])]
    for r in doc["results"]:
        if r["device"] != ANY_DEVICE and r["device"] not in names:
            names.append(r["device"])
    return names


def build(paths: list[str | Path], baseline: str | Path | None = None, mutate: str | Path | None = None,
          snippets: bool = True) -> Report:
    runs = [ResultsRun(str(p), doc, i) for i, p in enumerate(paths) for doc in load_documents(p)]
    if not runs:
        raise ResultsError("no results files given")
    base_doc = _baseline(baseline) if baseline else None
    mutate_doc = load_mutate(mutate) if mutate else None

    columns: dict[tuple, Column] = {}
    held: dict[tuple, dict[str, list[tuple[ResultsRun, dict]]]] = defaultdict(lambda: defaultdict(list))
    for run in sorted(runs, key=lambda r: r.age):
        devs = _devices_of(run.doc)
        for d in devs:
            key = _column_key(run.env, d)
            col = columns.setdefault(key, Column(key, key[0], d, key[2], key[3], key[4]))
            if run not in col.runs:
                col.runs.append(run)
        for r in run.doc["results"]:
            # A spec file that did not load belongs to the whole run: shown in its first device's column.
            device = devs[0] if r["device"] == ANY_DEVICE and devs else r["device"]
            held[_column_key(run.env, device)][r["spec_id"]].append((run, r))

    # Real builds first, mutation (fault) runs after; older torch versions left; devices as first seen.
    cols = sorted(columns.values(), key=lambda c: (c.fault is not None, c.fault or "", _version_key(c.torch)))
    numpy_differs = len({c.numpy for c in cols}) > 1
    for i, c in enumerate(cols):
        c.index = i
        c.label = " · ".join(x for x in (f"torch {c.torch}", f"{c.device} ({c.model})" if c.model else c.device,
                                         numpy_differs and f"numpy {c.numpy}", c.fault and f"fault {c.fault}") if x)

    warnings: list[str] = []
    rows_by_id: dict[str, Row] = {}
    for c in cols:
        overlap: Counter = Counter()
        for spec_id, entries in held[c.key].items():
            run, r = max(entries, key=lambda e: e[0].age)
            shadowed = [e[0] for e in entries if e[0] is not run]
            for s in shadowed:
                overlap[s.label] += 1
            row = rows_by_id.get(spec_id)
            if row is None:
                row = rows_by_id[spec_id] = Row(spec_id, r.get("title") or spec_id, r.get("area") or
                                                spec_id.split("/", 1)[0], list(r.get("covers") or []),
                                                r.get("file"), r.get("line"), r.get("source") or {},
                                                [Cell(col, None) for col in cols])
            row.cells[c.index] = Cell(c, r, run, shadowed)
        if overlap:
            newest = c.newest
            warnings.append(f"{c.label}: {sum(overlap.values())} result(s) were in more than one run; the newest "
                            f"run wins ({newest.label}); older: {', '.join(sorted(overlap))}")
    for run in runs:
        if run.env.get("fault"):
            warnings.append(f"{run.label} ran with the fault {run.env['fault']!r} active: a mutation run, not a real build")

    rows = sorted(rows_by_id.values(), key=lambda r: (r.area, r.spec_id))
    for i, row in enumerate(rows):
        row.index = i

    if base_doc is not None:
        _mark_changes(rows, base_doc)
    if snippets:
        # Snippets are built when a failure is recorded (the recorder has the spec and torch at hand);
        # the report only shows what the results carry.
        for row in rows:
            for cell in row.cells:
                if cell.status in BAD and cell.result and cell.result.get("falsifying"):
                    cell.snippet = cell.result.get("snippet") or {
                        "text": None, "notes": ["these results carry no snippet (recorded by an older run)"]}

    by_area: dict[str, Counter[str]] = defaultdict(Counter)
    by_column: list[Counter[str]] = [Counter() for _ in cols]
    for row in rows:
        for cell in row.cells:
            if cell.status:
                # statuses as the JSON counts them, plus the three kinds of skip (notrun, na, skip)
                keys = [cell.status] + ([cell.cls] if cell.status == "skipped" else [])
                by_area[row.area].update(keys)
                by_column[cell.column.index].update(keys)
    counts: Counter[str] = Counter()
    for per_col in by_column:
        counts.update(per_col)
    counts["total"] = sum(counts[s] for s in STATUSES)
    for tally in [*by_area.values(), *by_column]:
        tally["total"] = sum(tally[s] for s in STATUSES)

    drift_columns = _drift_columns(cols)
    for row in rows:
        row.drift = [(run.doc.get("drift") or {}).get("specs", {}).get(row.spec_id) for _, run in drift_columns]

    areas: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        areas[row.area].append(row)
    return Report(runs=runs, columns=cols, rows=rows, areas=list(areas.items()), warnings=warnings,
                  counts=dict(counts), by_area=dict(by_area), by_column=by_column,
                  coverage=_coverage(runs, cols), api=_api_coverage(cols), drift_columns=drift_columns,
                  baseline=_baseline_summary(rows, base_doc, baseline) if base_doc is not None else None,
                  mutate=_mutate_view(mutate_doc, mutate) if mutate_doc is not None else None,
                  generated=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))


# -- baseline -------------------------------------------------------------------------------------

def _baseline(path: str | Path) -> dict[str, Any]:
    """spec id x device -> status of the baseline (the newest run wins when it holds several)."""
    docs = sorted(load_documents(path), key=lambda d: _when(d["created"]))
    cells: dict[tuple[str, str], str] = {}
    for d in docs:
        for r in d["results"]:
            cells[(r["spec_id"], r["device"])] = r["status"]
    return {"cells": cells, "docs": docs}


def _mark_changes(rows: list[Row], base: dict[str, Any]) -> None:
    for row in rows:
        for cell in row.cells:
            if cell.status is None:
                continue
            before = base["cells"].get((row.spec_id, cell.result["device"]))  # type: ignore[index]
            cell.before = before
            if before is None:
                cell.change = "new"
            elif cell.status in BAD and before in GOOD:
                cell.change = "regressed"
            elif before in BAD and cell.status in GOOD:
                cell.change = "fixed"
            elif before != cell.status:
                cell.change = "changed"


def _baseline_summary(rows: list[Row], base: dict[str, Any], path: Any) -> dict[str, Any]:
    changes: dict[str, list[tuple[Row, Cell]]] = {k: [] for k in ("regressed", "fixed", "new", "changed")}
    now = set()
    for row in rows:
        for cell in row.cells:
            if cell.result:
                now.add((row.spec_id, cell.result["device"]))
            if cell.change:
                changes[cell.change].append((row, cell))
    gone = sorted(k for k in base["cells"] if k not in now and k[1] != ANY_DEVICE)
    newest = base["docs"][-1] if base["docs"] else {}
    return {"path": str(path), "created": newest.get("created"),
            "torch": (newest.get("environment") or {}).get("torch", {}).get("version"),
            "changes": changes, "gone": gone}


# -- coverage, drift, mutate ----------------------------------------------------------------------

def _coverage(runs: list[ResultsRun], cols: list[Column]) -> dict[str, Any]:
    used = {id(r) for c in cols for r in c.runs}
    cov: dict[str, set[str]] = {}
    for run in runs:
        if id(run) in used:
            for bid, specs in run.doc.get("coverage", {}).items():
                cov.setdefault(bid, set()).update(specs)
    known = {b.id: b for b in behaviours.load()}
    items: list[dict[str, Any]] = []
    for bid in sorted(cov, key=_behaviour_order):
        b = known.get(bid)
        items.append({"id": bid, "area": b.area if b else "(not in behaviours.md)", "text": b.text if b else "",
                      "specs": sorted(cov[bid])})
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for it in items:
        groups[it["area"]].append(it)
    covered = sum(1 for it in items if it["specs"])
    return {"items": items, "groups": list(groups.items()), "covered": covered, "total": len(items),
            "uncovered": [it for it in items if not it["specs"]]}


def _api_coverage(cols: list[Column]) -> list[dict[str, Any]]:
    """One entry per torch version: covered/total public callables per namespace, as that run counted."""
    by_torch: dict[str, dict[str, Any]] = {}
    for col in cols:
        doc = col.newest.doc
        if doc.get("api_coverage") and col.torch not in by_torch:
            by_torch[col.torch] = doc["api_coverage"]
    return [{"torch": v, "covered": a["covered"], "total": a["total"],
             "namespaces": [(ns, len(x["covered"]), x["total"], x["covered"]) for ns, x in a["namespaces"].items()]}
            for v, a in sorted(by_torch.items(), key=lambda kv: _version_key(kv[0]))]


def _behaviour_order(bid: str) -> tuple:
    parts = bid.split("-")
    return (parts[1] if len(parts) > 1 else bid, int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0)


def _drift_columns(cols: list[Column]) -> list[tuple[str, ResultsRun]]:
    """One drift column per torch version whose newest run carries `drift`."""
    by_torch: dict[str, ResultsRun] = {}
    for c in cols:
        for run in c.runs:
            if run.doc.get("drift") and (c.torch not in by_torch or by_torch[c.torch].age < run.age):
                by_torch[c.torch] = run
    return [(f"docs drift · torch {t}", run) for t, run in by_torch.items()]


def _mutate_view(doc: dict[str, Any], path: Any) -> dict[str, Any]:
    faults = sorted(doc["faults"], key=lambda f: (f["killed"], f["name"]))  # survivors first
    return {"path": str(path), "doc": doc, "faults": faults,
            "survivors": [f for f in faults if not f["killed"]]}


# -- rendering ------------------------------------------------------------------------------------

def _safe_url(url: Any) -> str | None:
    """Only http(s) links reach the page (a spec's `doc` is data, not markup)."""
    if not isinstance(url, str):
        return None
    return url if urlparse(url).scheme in ("http", "https") else None


def _environment():  # type: ignore[no-untyped-def]
    env = jinja2.Environment(loader=jinja2.PackageLoader("conformance.outputs", "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["safe_url"] = _safe_url
    env.filters["short_hash"] = lambda h: (h or "")[:12]
    return env


def to_html(report: Report) -> str:
    env = _environment()
    static = {name: markupsafe.Markup(env.loader.get_source(env, name)[0])  # type: ignore[union-attr]
              for name in ("report.css", "report.js")}
    return env.get_template("report.html.j2").render(
        r=report, statuses=STATUSES, labels=LABELS, describe=DESCRIBE, css=static["report.css"],
        js=static["report.js"])


write_atomic = write_text  # one atomic writer: results.contract


def render(paths: list[str | Path], out: Path, baseline: str | Path | None = None,
           junit: str | Path | None = None, mutate: str | Path | None = None) -> Report:
    """Read results (ResultsError naming the file on bad input), write the page (and JUnit XML)."""
    report = build(paths, baseline=baseline, mutate=mutate)
    page = to_html(report)
    for w in report.warnings:
        print(f"conformance report: warning: {w}", file=sys.stderr)
    write_atomic(page, Path(out))
    if junit:
        # junit reads the Report model; it never imports this module
        write_atomic(junit_xml.to_xml(report), Path(junit))
    return report


# -- command line ---------------------------------------------------------------------------------

def cmd_report(args: argparse.Namespace, extra: list[str]) -> int:
    try:
        report = render(args.results, Path(args.output), baseline=args.baseline, junit=args.junitxml,
                        mutate=args.mutate)
    except OSError as e:
        raise ResultsError(f"cannot write the report: {e}") from None
    c = report.counts
    print(f"conformance: report written to {args.output} ({len(report.rows)} specs x {len(report.columns)} "
          f"environments: {c.get('passed', 0)} passed, {c.get('failed', 0)} failed, {c.get('error', 0)} error, "
          f"{c.get('crashed', 0)} crashed, {c.get('timeout', 0)} timeout, "
          f"{c.get('skipped', 0)} skipped, {c.get('xfailed', 0)} xfailed)")
    if args.junitxml:
        print(f"conformance: JUnit XML written to {args.junitxml}")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("report", help="render results JSON as one self-contained HTML page",
                       description="Render one or more results files (runs or results sets) as one HTML page: "
                                   "specs x environments (torch version x device).  Exit 2 on unusable input.")
    p.add_argument("results", nargs="+", help="results JSON files (conformance run --json / pytest --conformance-json)")
    p.add_argument("-o", "--output", default="reports/index.html", help="the HTML page (default: reports/index.html)")
    p.add_argument("--baseline", metavar="OLD.json", help="mark cells that changed since this results file")
    p.add_argument("--junitxml", metavar="PATH", help="also write JUnit XML for CI systems")
    p.add_argument("--mutate", metavar="MUTATE.json", help="add the detection-power section (conformance mutate --json)")
    p.set_defaults(func=cmd_report)
