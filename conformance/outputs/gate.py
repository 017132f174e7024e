"""The CI gate: did any documented behaviour that held in the baseline stop holding?

`conformance gate --baseline BASE.json --current CUR.json [CUR2.json ...]` compares results per
environment (torch build x NumPy major x device, see merge.Env) x spec x device:

    exit 0  nothing regressed
    exit 1  a behaviour that passed in the baseline now fails or errors
    exit 2  unusable input: a file that is not a results document, a run that did not complete,
            or baseline and current that share nothing to compare

Known divergences (`xfailed`: a spec's `known:` entry, or `--known-failures`) are reported, never
block; an expired one (`xpassed`) is reported as fixed, with the entry to remove.  Several current
files (CI shards, GPU boxes) are merged as `conformance merge` does.

`conformance baseline --from CUR.json -o BASE.json` writes a baseline; nothing else ever does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import results
from conformance.errors import ConformanceError
from conformance.results import merge

PASSING = ("passed", "xpassed")
FAILING = results.FAILING
# pytest exit statuses of runs that did not complete: their results are partial, never a verdict.
INCOMPLETE = {2: "interrupted", 3: "internal error", 4: "usage error", 5: "no tests collected"}

# Category -> (heading, what it means), in the order the report shows them.
CATEGORIES = {
    "regressed": ("regressed", "passed in the baseline, fails now: blocks the gate"),
    "fixed": ("fixed", "failed in the baseline or marked known, passes now"),
    "new": ("newly added", "not in the baseline"),
    "removed": ("removed", "in the baseline, absent now"),
    "failing": ("still failing", "known divergences and failures the baseline had too; never block"),
    "not_run": ("not run", "ran in the baseline, skipped now"),
}
# Categories listed in full; the others stop after this many lines each.
ALWAYS_LISTED = ("regressed",)
LIST_LIMIT = 25


class GateError(ConformanceError):
    """Input the gate cannot decide on; the message says which file and why."""


@dataclass
class Change:
    category: str
    env: merge.Env
    spec_id: str
    device: str
    title: str
    covers: list[str]
    before: str | None
    after: str | None
    why: str = ""

    @property
    def behaviour(self) -> str:
        covers = f" (covers {', '.join(self.covers)})" if self.covers else ""
        title = f' "{self.title}"' if self.title else ""
        return f"{self.spec_id} [{self.device}]{title}{covers}"

    @property
    def transition(self) -> str:
        return f"{self.before or 'absent'} -> {self.after or 'absent'}"


@dataclass
class GateVerdict:
    baseline: list[str]
    current: list[str]
    envs: list[tuple[merge.Env, int]]           # matched environments and how many results both hold
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unchecked: list[merge.Env] = field(default_factory=list)   # baseline environments absent now

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.category == "regressed"]

    def count(self, env: merge.Env, category: str) -> int:
        return sum(1 for c in self.changes if c.env == env and c.category == category)


def first_line(text: str | None) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def _known_note(reason: str | None) -> str:
    """What to do about an expired known entry, from the xfail reason the plugin wrote."""
    reason = reason or ""
    if reason.startswith("known failure ("):
        source = reason[len("known failure ("):].rsplit(")", 1)[0]   # a path may hold ")"
        return f"fixed: remove it from {source}"
    if reason.startswith("known divergence:"):
        return "fixed: remove the known entry (" + reason.removeprefix("known divergence:").strip() + ")"
    return "fixed: remove the xfail mark" + (f" ({reason})" if reason else "")


def classify(before: dict[str, Any] | None, after: dict[str, Any] | None) -> tuple[str | None, str]:
    """(category or None when unchanged, why) for one spec x device of one environment."""
    b = before["status"] if before else None
    a = after["status"] if after else None
    if a == "xpassed":
        return "fixed", _known_note(after.get("reason") if after else None)
    if a is None:
        return ("removed", "") if b is not None else (None, "")
    assert after is not None
    why = first_line(after.get("error")) or first_line(after.get("reason"))
    if b is None or b == "skipped":
        return ("new", why) if a != "skipped" else (None, "")
    if b in PASSING:
        if a in FAILING:
            return "regressed", why
        if a == "xfailed":
            return "failing", f"newly marked known ({why}); passed in the baseline"
        if a == "skipped":
            return "not_run", why
        return None, ""
    # The baseline already failed (or was a known divergence).
    if a == "passed":
        return "fixed", ""
    if a in FAILING or a == "xfailed":
        return "failing", why
    return "not_run", why


def _by_key(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["spec_id"], r["device"]): r for r in doc["results"]}


def _invalid_files(doc: dict[str, Any]) -> dict[str, str]:
    """Spec files of this run that did not load -> the load error."""
    return {r.get("file") or "": first_line(r.get("error")) for r in doc["results"]
            if r["device"] == merge.ANY_DEVICE and r["status"] in FAILING}


def _check_complete(name: str, doc: dict[str, Any]) -> None:
    if doc.get("incomplete"):   # the recorder's placeholder or fallback: the run never finished
        raise GateError(f"{name}: the run did not complete ({doc['incomplete']}); its results cannot gate anything")
    code = doc.get("exit_status")
    if code in INCOMPLETE:
        raise GateError(f"{name}: the run did not complete (pytest exit status {code}: {INCOMPLETE[code]}); "
                        "its results cannot gate anything")


def compare(baseline: merge.Merged, current: merge.Merged, *, across_versions: bool = False,
            baseline_names: list[str] | None = None, current_names: list[str] | None = None) -> GateVerdict:
    key: Callable[[merge.Env], merge.Env] = (lambda e: e.versionless()) if across_versions else (lambda e: e)

    def index(m: merge.Merged, side: str) -> dict[merge.Env, tuple[merge.Env, dict[str, Any]]]:
        out: dict[merge.Env, tuple[merge.Env, dict[str, Any]]] = {}
        for env, doc in zip(m.envs, m.documents, strict=True):
            k = key(env)
            if k in out:
                raise GateError(f"{side} holds several environments for {env.where} ({out[k][0].label}; "
                                f"{env.label}); --across-versions needs one per device")
            out[k] = (env, doc)
        return out

    base, cur = index(baseline, "the baseline"), index(current, "the current results")
    outcome = GateVerdict(baseline_names or [], current_names or [], [])
    for k, (env, doc) in sorted(cur.items()):
        if k not in base:
            outcome.warnings.append(f"no baseline for {env.label}: its {len(doc['results'])} result(s) gate nothing")
    for k, (env, _) in sorted(base.items()):
        if k not in cur:
            outcome.unchecked.append(env)
            outcome.warnings.append(f"{env.label} is in the baseline but not in the current results: not checked")
    for k in sorted(set(base) & set(cur)):
        benv, bdoc = base[k]
        cenv, cdoc = cur[k]
        if benv != cenv:
            outcome.warnings.append(f"comparing {cenv.label} against a baseline of {benv.label}")
        before, after = _by_key(bdoc), _by_key(cdoc)
        invalid = _invalid_files(cdoc)
        compared = len(set(before) & set(after))
        for spec_key in sorted(set(before) | set(after)):
            b, a = before.get(spec_key), after.get(spec_key)
            category, why = classify(b, a)
            if category == "removed" and b is not None:
                spec_file = b.get("file") or ""
                if spec_file in invalid:
                    # The spec did not vanish: its file stopped loading.  A passing behaviour lost is a regression.
                    category = "regressed" if b["status"] in PASSING else "failing"
                    why = f"spec file no longer loads: {invalid[spec_file]}"
                    compared += 1
                elif spec_key[1] == merge.ANY_DEVICE and b["status"] in FAILING:
                    category, why = "fixed", "the spec file loads now"
            if category is None:
                continue
            row = a or b or {}
            outcome.changes.append(Change(
                category, cenv, spec_key[0], spec_key[1], row.get("title", ""), list(row.get("covers", [])),
                b["status"] if b else None, a["status"] if a else None, why))
        outcome.envs.append((cenv, compared))
    if not outcome.envs:
        raise GateError("baseline and current results share no environment (baseline: "
                        + "; ".join(e.label for e in baseline.envs) + "; current: "
                        + "; ".join(e.label for e in current.envs)
                        + "). Write a baseline on this environment (`conformance baseline`) or compare "
                          "across torch/NumPy versions with --across-versions")
    if not any(n for _, n in outcome.envs):
        raise GateError("baseline and current results hold no spec x device in common: nothing to compare")
    return outcome


# -- rendering -----------------------------------------------------------------------------------


def _table_rows(outcome: GateVerdict) -> list[list[str]]:
    rows = []
    for env, compared in outcome.envs:
        rows.append([env.label, str(compared), *(str(outcome.count(env, c)) for c in CATEGORIES)])
    return rows


HEADERS = ["environment", "compared", "regressed", "fixed", "new", "removed", "still failing", "not run"]


def _verdict(outcome: GateVerdict) -> str:
    n = len(outcome.regressions)
    if n:
        return f"FAIL: {n} behaviour(s) regressed"
    return "PASS: no behaviour regressed"


def _limited(category: str, changes: list[Change]) -> tuple[list[Change], int]:
    if category in ALWAYS_LISTED or len(changes) <= LIST_LIMIT:
        return changes, 0
    return changes[:LIST_LIMIT], len(changes) - LIST_LIMIT


def render_text(outcome: GateVerdict) -> str:
    out = [f"conformance gate: baseline {', '.join(outcome.baseline)} vs current {', '.join(outcome.current)}", ""]
    rows = [HEADERS, *_table_rows(outcome)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    for r in rows:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    for category, (heading, meaning) in CATEGORIES.items():
        changes = [c for c in outcome.changes if c.category == category]
        if not changes:
            continue
        shown, more = _limited(category, changes)
        out += ["", f"{heading.upper()} ({len(changes)}): {meaning}"]
        for c in shown:
            out.append(f"  - {c.behaviour}")
            out.append(f"      {c.env.label}: {c.transition}" + (f": {c.why}" if c.why else ""))
        if more:
            out.append(f"  ... and {more} more")
    if outcome.warnings:
        out.append("")
        out += [f"warning: {w}" for w in outcome.warnings]
    out += ["", f"gate: {_verdict(outcome)}"]
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def render_markdown(outcome: GateVerdict) -> str:
    out = [f"### Conformance gate: {_verdict(outcome)}", "",
           f"Baseline {', '.join(_code(b) for b in outcome.baseline)}; "
           f"current {', '.join(_code(c) for c in outcome.current)}.", "",
           "| " + " | ".join(HEADERS) + " |",
           "|" + "|".join(["---"] + ["---:"] * (len(HEADERS) - 1)) + "|"]
    out += ["| " + " | ".join(_md(c) for c in r) + " |" for r in _table_rows(outcome)]
    for category, (heading, meaning) in CATEGORIES.items():
        changes = [c for c in outcome.changes if c.category == category]
        if not changes:
            continue
        shown, more = _limited(category, changes)
        out += ["", f"#### {heading[0].upper() + heading[1:]} ({len(changes)})", "", f"*{meaning}*", ""]
        for c in shown:
            covers = f" (covers {', '.join(c.covers)})" if c.covers else ""
            line = (f"- **{_md(c.spec_id)}** [{_md(c.device)}] {_md(c.title)}{covers} on "
                    f"{_code(c.env.label)}: {c.transition.replace('->', '→')}")
            out.append(line + (f": {_code(c.why)}" if c.why else ""))
        if more:
            out.append(f"- ... and {more} more")
    if outcome.warnings:
        out += ["", *(f"> warning: {_md(w)}  " for w in outcome.warnings)]
    return "\n".join(out) + "\n"


# -- command line --------------------------------------------------------------------------------


def _read(paths: list[str], side: str) -> tuple[list[tuple[str, dict[str, Any]]], merge.Merged]:
    inputs = [(str(p), doc) for p in paths for doc in merge.load_documents(p)]
    merged = merge.merge(inputs)
    for w in merged.warnings:
        print(f"warning: {side}: {w}", file=sys.stderr)
    return inputs, merged


def cmd_gate(args: argparse.Namespace, extra: list[str]) -> int:
    base_inputs, base = _read([args.baseline], "baseline")
    cur_inputs, cur = _read(args.current, "current")
    for name, doc in cur_inputs:
        _check_complete(name, doc)
    outcome = compare(base, cur, across_versions=args.across_versions,
                      baseline_names=[args.baseline], current_names=list(args.current))
    if args.strict and outcome.unchecked:
        raise GateError("--strict: no current results for " + "; ".join(e.label for e in outcome.unchecked)
                        + " (a job that uploaded nothing?)")
    text = render_markdown(outcome) if args.format == "markdown" else render_text(outcome)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        with open(args.output, "a", encoding="utf-8") as f:   # append: GITHUB_STEP_SUMMARY collects steps
            f.write(text)
        print(f"gate: {_verdict(outcome)} (details in {args.output})")
    else:
        sys.stdout.write(text)
    return 1 if outcome.regressions else 0


def cmd_baseline(args: argparse.Namespace, extra: list[str]) -> int:
    inputs = [(str(p), doc) for p in args.sources for doc in merge.load_documents(p)]
    for name, doc in inputs:
        _check_complete(name, doc)
        if doc["environment"].get("fault"):
            raise GateError(f"{name}: ran with fault {doc['environment']['fault']!r} active; "
                            "a baseline must describe the real torch")
    merged = merge.merge(inputs)
    for w in merged.warnings:
        print(f"warning: {w}", file=sys.stderr)
    merge.write_set(merged, Path(args.output), kind="baseline")
    print(f"conformance baseline: wrote {args.output} ({len(merged.documents)} environment(s))")
    for env, doc in zip(merged.envs, merged.documents, strict=True):
        s = doc["summary"]
        failing = sum(s.get(k, 0) for k in FAILING)
        print(f"  {env.label}: {s['passed'] + s['xpassed']} passing, {failing} failing, "
              f"{s['xfailed']} known, {s['skipped']} skipped")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser("gate", help="fail (exit 1) when a behaviour that passed in the baseline now fails",
                       description="Compare current results against a baseline per environment x spec x device. "
                                   "Exit 0: nothing regressed; 1: a behaviour that passed in the baseline now "
                                   "fails or errors; 2: unusable input.")
    g.add_argument("--baseline", required=True, metavar="BASE.json", help="a results file or results set")
    g.add_argument("--current", required=True, nargs="+", action="extend", metavar="CUR.json",
                   help="results of this run; several files (shards, machines) are merged")
    g.add_argument("--format", choices=["text", "markdown"], default="text")
    g.add_argument("--output", metavar="FILE",
                   help="append the report to FILE (e.g. $GITHUB_STEP_SUMMARY) instead of printing it")
    g.add_argument("--across-versions", action="store_true",
                   help="match environments by device only, ignoring the torch and NumPy versions "
                        "(a baseline of one release gating another: an upgrade, nightlies, NumPy 1 vs 2)")
    g.add_argument("--strict", action="store_true",
                   help="an environment of the baseline with no current results is an error (exit 2), "
                        "not a warning: a CI job that crashed or uploaded nothing cannot pass the gate")
    g.set_defaults(func=cmd_gate)

    b = sub.add_parser("baseline", help="write a baseline from results files (the gate never writes one)",
                       description="Merge results files into a baseline results set. Refuses runs that did not "
                                   "complete or ran with a fault active.")
    b.add_argument("--from", dest="sources", required=True, nargs="+", action="extend", metavar="CUR.json")
    b.add_argument("-o", "--output", required=True, metavar="BASE.json")
    b.set_defaults(func=cmd_baseline)
