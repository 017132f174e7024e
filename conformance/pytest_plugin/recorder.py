"""The recorder: one results document per run, merged correctly across pytest-xdist workers.

Workers attach a small dict to each report (`user_properties`, which xdist serialises); only the
controlling process aggregates and writes.  The document's contract (schema, statuses, atomic write)
is conformance.results; this module only fills it in from pytest's reports.
"""

from __future__ import annotations

import atexit
import datetime as dt
import os
import platform
import sys
import uuid
from pathlib import Path
from typing import Any

import hypothesis
import numpy as np
import pytest
import torch

from conformance import __version__, results
from conformance.engine import devices, profiles
from conformance.errors import SpecError
from conformance.lang import api, behaviours, checks, drift, snippet
from conformance.pytest_plugin.items import DEVICES, RECORD, SpecErrorItem, SpecItem, error_text, falsifying

PROP = "conformance"
# The exit status a results file carries while (or because) its run did not finish: pytest's
# "internal error", which `conformance gate` refuses (exit 2) like any incomplete run.
INCOMPLETE_STATUS = 3
# How the run's specs were isolated (conformance.pytest_plugin.isolation fills it in): results JSON "isolation".
ISOLATION = pytest.StashKey[dict[str, Any]]()


def environment(device_names: list[str], profile: str, seed: Any) -> dict[str, Any]:
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    devs = [devices.describe(d) for d in device_names]
    return {
        "torch": {"version": torch.__version__, "git_version": torch.version.git_version,
                  "cuda": torch.version.cuda, "cudnn": cudnn, "debug": torch.version.debug},
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "hostname": platform.node(),
        "hypothesis": {"version": hypothesis.__version__, "profile": profiles.describe(profile), "seed": seed},
        "conformance": __version__,
        "devices": devs,
        "execution_targets": {d["name"]: d["execution_target"] for d in devs},
        "fault": os.environ.get("CONFORMANCE_FAULT") or None,
    }


def _status(rep: pytest.TestReport, current: str | None) -> str | None:
    """Fold the three phase reports of one item into one status."""
    xfail = hasattr(rep, "wasxfail")
    if rep.when == "setup":
        if rep.skipped:
            return "xfailed" if xfail else "skipped"
        if rep.failed:
            return "error"
        return current
    if rep.when == "call":
        if xfail:
            return "xfailed" if rep.skipped else "xpassed"
        return {"passed": "passed", "failed": "failed", "skipped": "skipped"}[rep.outcome]
    if rep.when == "teardown" and rep.failed:
        return "error"
    return current


def _reason(rep: pytest.TestReport) -> str | None:
    if hasattr(rep, "wasxfail"):
        return str(rep.wasxfail) or None
    if rep.skipped and isinstance(rep.longrepr, tuple):
        return str(rep.longrepr[2]).removeprefix("Skipped: ")
    return None


def spec_fields(item: SpecItem) -> dict[str, Any]:
    """What a result says about its spec (also written where a worker that dies can be read)."""
    return {"spec_id": item.spec.id, "device": item.device, "title": item.spec.title,
            "area": item.spec.area, "covers": list(item.spec.covers), "file": item.spec.file,
            "line": item.spec.line, "source": item.spec.source}


class ResultsPlugin:
    def __init__(self, config: pytest.Config, profile: str):
        self.config = config
        self.profile = profile
        self.path = config.getoption("conformance_json")
        self.is_worker = hasattr(config, "workerinput")
        self.items: dict[str, dict[str, Any]] = {}
        self.specs: dict[str, Any] = {}
        self.started = dt.datetime.now(dt.UTC)
        self.session: pytest.Session | None = None
        self.written = False

    # -- workers and serial runs: attach per-item data to the report -----------------------------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        rep = outcome.get_result()
        if isinstance(item, SpecItem):
            data: dict[str, Any] = {
                **spec_fields(item),
                "examples": item.stash[RECORD].examples,
                "stats": item.stash[RECORD].stats,
            }
            # An expected failure (a known divergence) records only which check failed (the report's
            # "differs from cpu" marker reads it); its reason stays the known entry's text.
            if call.excinfo is not None and rep.skipped and hasattr(rep, "wasxfail"):
                failed = _failed_check(call.excinfo.value)
                if failed is not None:
                    data["check"] = failed
            if rep.failed and call.excinfo is not None:
                exc = call.excinfo.value
                data["error"] = error_text(exc)
                data["error_type"] = type(exc).__name__
                # A duplicate id is raised at setup as a SpecError: a spec problem, not a torch one.
                data["failure_kind"] = ("spec" if isinstance(exc, SpecError) else
                                        "check" if isinstance(exc, AssertionError) else "exception")
                failed = _failed_check(exc)
                if failed is not None:
                    data["check"] = failed
                if rep.when == "call":
                    data["falsifying"] = falsifying(item)
                    data["blob"] = _blob(exc)
            rep.user_properties.append((PROP, data))
        elif isinstance(item, SpecErrorItem):
            rep.user_properties.append((PROP, {
                "spec_id": f"invalid-spec:{item.error.file}", "device": "*", "title": "invalid spec file",
                "area": "invalid", "covers": [], "file": item.error.file, "line": item.error.line,
                "source": {}, "examples": 0, "error": str(item.error), "error_type": "SpecError",
                "failure_kind": "spec",
            }))

    # -- the controller (or a serial run): aggregate -------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        props: list[dict[str, Any]] = [v for k, v in report.user_properties if k == PROP]  # type: ignore[misc]
        if not props:
            return
        entry = self.items.setdefault(report.nodeid, {"nodeid": report.nodeid, "status": None,
                                                      "duration": 0.0, "reason": None})
        entry.update({k: v for k, v in props[-1].items() if v is not None or k not in entry})
        entry["duration"] = round(entry["duration"] + report.duration, 6)
        entry["status"] = _status(report, entry["status"])
        if props[-1].get("failure_kind") == "spec":
            entry["status"] = "error"
        if props[-1].get("status") in ("crashed", "timeout"):  # the worker running it died (isolation)
            entry["status"] = props[-1]["status"]
        entry["reason"] = _reason(report) or entry["reason"]

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            if isinstance(item, SpecItem):
                self.specs.setdefault(item.spec.id, item.spec)

    # -- the document is written on every way out ---------------------------------------------
    # At the start a placeholder that says "incomplete" replaces any older file (a gate never reads
    # a stale green file of an earlier run); the session's end writes the real one; if the session
    # never ends (internal error, an exit from inside a hook), unconfigure or atexit write what was
    # recorded, marked incomplete.  Only a kill of this very process leaves the placeholder.
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.is_worker or not self.path:
            return
        self.session = session
        self._write(session, INCOMPLETE_STATUS, "the run has not finished: it was killed or exited early")
        atexit.register(self._fallback)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.is_worker or not self.path:
            return
        self._write(session, int(session.exitstatus), None)
        self.written = True

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._fallback()
        atexit.unregister(self._fallback)

    def _fallback(self) -> None:
        if self.is_worker or not self.path or self.written or self.session is None:
            return
        self.written = True
        try:
            self._write(self.session, INCOMPLETE_STATUS,
                        "the session ended before it finished (an internal error or an exit from inside pytest)")
        except Exception as e:  # noqa: BLE001 - the last resort: say so, never raise at exit
            sys.stderr.write(f"conformance: could not write {self.path}: {type(e).__name__}: {e}\n")

    def _write(self, session: pytest.Session, exit_status: int, incomplete: str | None) -> None:
        doc = self.document(session, exit_status)
        if incomplete:
            doc["incomplete"] = incomplete
        results.write(doc, Path(self.path))

    def _snippet(self, entry: dict[str, Any]) -> dict[str, Any]:
        """A standalone reproduction, built now: the spec and torch are at hand, the report has neither."""
        spec = self.specs.get(entry["spec_id"])
        try:
            return _snippet_of(entry, spec, os.environ.get("CONFORMANCE_FAULT") or None)
        except Exception as e:  # a snippet is a convenience: never lose the results over it
            return {"text": None, "notes": [f"no snippet: {type(e).__name__}: {e}"]}

    def document(self, session: pytest.Session, exit_status: int | None = None) -> dict[str, Any]:
        entries = []
        for entry in self.items.values():
            e = dict(entry)
            e["status"] = e["status"] or "error"
            if e["status"] in results.FAILING:
                e["reproduce"] = reproduce(e, self.profile, self.config)
                if e.get("falsifying") and "spec refused" not in str(e.get("error") or ""):
                    # a refused spec tried to leave the sandbox: never hand it out as plain Python
                    e["snippet"] = self._snippet(e)
            entries.append(e)
        entries.sort(key=lambda r: (r["spec_id"], r["device"]))
        summary = {s: 0 for s in results.STATUSES}
        for r in entries:
            summary[r["status"]] += 1
        summary["total"] = len(entries)
        seed = self.config.getoption("hypothesis_seed", None)
        # With xdist the controller never collects: rebuild spec coverage from the results.
        specs = list(self.specs.values()) or _SpecLike.from_results(entries)
        sources = {r["spec_id"]: r["source"] for r in entries if r.get("source")}
        return {
            "drift": drift.for_results(sources),
            "schema": results.SCHEMA,
            "schema_version": results.SCHEMA_VERSION,
            "run_id": uuid.uuid4().hex,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "started": self.started.isoformat(timespec="seconds"),
            "command": sys.argv,
            "exit_status": int(session.exitstatus) if exit_status is None else exit_status,
            "isolation": self.config.stash.get(ISOLATION, None),
            "environment": environment(self.config.stash[DEVICES], self.profile, seed),
            "summary": summary,
            "coverage": behaviours.coverage(specs),
            "api_coverage": api.summary(api.coverage(specs)) if specs else None,
            "results": entries,
        }


def _snippet_of(entry: dict[str, Any], spec: Any, fault: str | None) -> dict[str, Any]:
    s = snippet.build(entry, spec=spec, fault=fault)
    return {"text": s.text, "notes": s.notes, "check_index": s.check_index, "check_kind": s.check_kind}


class _SpecLike:
    """What coverage needs of a spec (id, covers, source), rebuilt from results where the process
    writing them never collected (xdist's controller; an isolated serial run is one)."""

    def __init__(self, covers: list[str], spec_id: str, source: dict[str, Any] | None = None):
        self.covers, self.id, self.source = covers, spec_id, source or {}

    @classmethod
    def from_results(cls, entries: list[dict]) -> list[_SpecLike]:
        seen: dict[str, _SpecLike] = {}
        for r in entries:
            if r.get("device") != results.ANY_DEVICE and (r.get("covers") or r.get("source")):
                seen.setdefault(r["spec_id"], cls(r.get("covers") or [], r["spec_id"], r.get("source")))
        return list(seen.values())


def _failed_check(exc: BaseException) -> dict[str, Any] | None:
    """Which expectation failed, as data (Hypothesis may wrap several failures in a group)."""
    if isinstance(exc, checks.CheckFailed) and exc.index is not None:
        return exc.as_data()
    if isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions:
            found = _failed_check(sub)
            if found is not None:
                return found
    return None


def _blob(exc: BaseException) -> str | None:
    for note in getattr(exc, "__notes__", []):
        if "@reproduce_failure(" in note:
            return note[note.index("@reproduce_failure("):].strip()
    return None


def reproduce(entry: dict[str, Any], profile: str, config: pytest.Config | None = None) -> dict[str, Any]:
    seed = config.getoption("hypothesis_seed", None) if config else None
    cmd = (f"python -m pytest '{entry['nodeid']}' --device {entry['device']} "
           f"--hypothesis-profile {profile}" + (f" --hypothesis-seed {seed}" if seed is not None else ""))
    return {"command": cmd, "blob": entry.get("blob")}
