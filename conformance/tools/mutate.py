"""`conformance mutate`: prove the suite's detection power by running it against injected faults.

For every fault of the catalogue (conformance/faults) the suite runs in a separate pytest process with
the fault active; a fault is *killed* when some spec fails.  The run is cheap where it can be:

1. clean run: the specs about to be used must pass without any fault (else exit 2, naming them);
2. targeted run per fault: only the specs whose `covers` meet the fault's `breaks`, all of them, so
   every spec that notices the fault is recorded;
3. fallback per fault that survived step 2: the remaining specs with `--maxfail=1` (first catch wins),
   specs of the fault's behaviour areas first, fastest first.  Before the first fallback the remaining
   specs get their clean run too (with the whole catalogue they were all in step 1 already; with a few
   `--faults` they are often never needed, which keeps a CI subset cheap).

Fault runs go in parallel up to `--jobs`.  One JSON document (schemas/mutate.schema.json) records
which specs caught which fault, the specs no fault ever broke, and the score K/N.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import functools
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from conformance import results
from conformance.errors import ConformanceError
from conformance.lang import spec as spec_mod
from conformance.results import mutation
from conformance.tools import faults as faults_mod

SCHEMA, SCHEMA_VERSION = mutation.SCHEMA, mutation.SCHEMA_VERSION
FAILING = results.FAILING
NO_FAULT_BREAKS = "no fault in the catalogue breaks it"
# Environment a fault run must not inherit: a fault of the caller, or the identity of a test worker.
_STRIP_ENV = ("CONFORMANCE_FAULT", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_CURRENT_TEST")


class MutateError(ConformanceError):
    """Stops the command with exit status 2; the message says why."""


# -- pytest subprocesses ---------------------------------------------------------------------------

@dataclass
class PytestRun:
    """One pytest subprocess: its results document (None when it wrote none), exit status and output."""
    doc: dict[str, Any] | None
    code: int
    output: str
    duration: float
    timed_out: bool = False

    def failing(self, known: Iterable[str]) -> list[str]:
        """Ids of the known specs that failed or errored, in result order, each once."""
        known = set(known)
        out: list[str] = []
        for r in (self.doc or {}).get("results", []):
            if r["status"] in FAILING and r["spec_id"] in known and r["spec_id"] not in out:
                out.append(r["spec_id"])
        return out

    def tail(self, n: int = 2500) -> str:
        return self.output[-n:].strip()


class Pytest:
    """Starts `python -m pytest` runs of the suite; each in its own process group, so that a timeout or
    Ctrl-C also ends its xdist workers."""

    def __init__(self, device: str, profile: str, extra: list[str], timeout: float, workdir: Path):
        self.device, self.profile, self.extra, self.timeout, self.workdir = device, profile, extra, timeout, workdir
        self.env = {k: v for k, v in os.environ.items() if k not in _STRIP_ENV}
        self._live: set[subprocess.Popen[str]] = set()
        self._lock = threading.Lock()
        self._count = 0

    def run(self, targets: list[str], *, fault: str | None = None, workers: int = 0,
            maxfail: int | None = None) -> PytestRun:
        with self._lock:
            self._count += 1
            out = self.workdir / f"run-{self._count}.json"
        cmd = [sys.executable, "-m", "pytest", *targets, "-q", "--tb=short", "-p", "no:cacheprovider",
               "--device", self.device, "--hypothesis-profile", self.profile, "--conformance-json", str(out)]
        if fault:
            cmd += ["--fault", fault]
        if workers > 1:
            cmd += ["-n", str(workers)]
        if maxfail:
            cmd += [f"--maxfail={maxfail}"]
        cmd += self.extra
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=self.env, start_new_session=True)
        with self._lock:
            self._live.add(proc)
        timed_out = False
        try:
            output, _ = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            self._kill(proc)
            output, _ = proc.communicate()
        finally:
            with self._lock:
                self._live.discard(proc)
        duration = time.monotonic() - start
        doc = None
        if out.exists():
            try:
                doc = results.load(out)
            except results.ResultsError as e:
                output += f"\n{e}"
        return PytestRun(doc, proc.returncode, output or "", duration, timed_out)

    @staticmethod
    def _kill(proc: subprocess.Popen[str]) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def kill_all(self) -> None:
        with self._lock:
            for proc in list(self._live):
                self._kill(proc)


def node_ids(specs: Iterable[Any]) -> list[str]:
    """`file::spec-id` selects a spec on every device (pytest matches the name without `[device]`)."""
    return [f"{s.file}::{s.id}" for s in specs]


# -- planning ----------------------------------------------------------------------------------------

def _area(behaviour_id: str) -> str:
    return behaviour_id.rsplit("-", 1)[0]   # B-VW-1 -> B-VW


def targeted(fault: Any, specs: list[Any]) -> list[Any]:
    """The specs a fault must fail: those covering a behaviour id it breaks, or named by id / family.

    `breaks` holds behaviour ids (`B-AR-1`), spec ids (`unary/sin`) or a family prefix (`unary/`).
    """
    breaks = set(fault.breaks)
    prefixes = tuple(b for b in breaks if b.endswith("/"))
    return [s for s in specs if breaks & (set(s.covers) | {s.id}) or (prefixes and s.id.startswith(prefixes))]


def fallback_order(fault: Any, specs: list[Any], durations: dict[str, float]) -> list[Any]:
    """Under --maxfail=1 the order is the cost: neighbours of the broken behaviours first, then fast specs."""
    areas = {_area(b) for b in fault.breaks}

    def key(indexed: tuple[int, Any]) -> tuple[int, float, int]:
        i, s = indexed
        near = any(_area(c) in areas for c in s.covers)
        return (0 if near else 1, durations.get(s.id, math.inf), i)

    return [s for _, s in sorted(enumerate(specs), key=key)]


@dataclass
class FaultOutcome:
    fault: Any
    caught_by: list[str] = field(default_factory=list)
    duration: float = 0.0
    targeted: int = 0
    fallback: int = 0          # specs in the fallback run (0: none needed or none left)
    problem: str | None = None  # a run that could not decide (timeout, crash, no results)

    @property
    def killed(self) -> bool:
        return bool(self.caught_by)


def _judge(run: PytestRun, known: Iterable[str], outcome: FaultOutcome, what: str, timeout: float) -> None:
    outcome.duration += run.duration
    caught = run.failing(known)
    for sid in caught:
        if sid not in outcome.caught_by:
            outcome.caught_by.append(sid)
    if caught:
        return
    problem = None
    if run.timed_out:
        problem = f"{what} timed out after {timeout:g}s"
    elif run.doc is None or run.code not in (0, 1, 5):
        problem = f"{what} ended with pytest exit status {run.code} and no failing spec:\n{run.tail(1500)}"
    if problem:
        outcome.problem = problem if outcome.problem is None else f"{outcome.problem}\n{problem}"


def _check_clean(run: PytestRun, known: list[str], timeout: float) -> None:
    if run.timed_out:
        raise MutateError(f"the clean run timed out after {timeout:g}s")
    if run.doc is None:
        raise MutateError(f"the clean run wrote no results (pytest exit status {run.code}):\n{run.tail()}")
    bad = [r for r in run.doc["results"] if r["status"] in FAILING]
    if bad:
        lines = []
        for r in bad:
            first = ((r.get("error") or "").strip().splitlines() or [r["status"]])[0][:160]
            lines.append(f"  {r['spec_id']} [{r['device']}]: {first}")
        raise MutateError("the suite must pass without faults before faults can prove anything; "
                          f"{len(bad)} failing in the clean run:\n" + "\n".join(lines))
    if run.code != 0:
        raise MutateError(f"the clean run ended with pytest exit status {run.code}:\n{run.tail()}")
    missing = set(known) - {r["spec_id"] for r in run.doc["results"]}
    if missing:
        raise MutateError("the clean run did not run " + ", ".join(sorted(missing)))


# -- the command -------------------------------------------------------------------------------------

class Mutate:
    def __init__(self, args: argparse.Namespace, extra: list[str], out: Any = None):
        self.args = args
        self.extra = extra
        self.out = out or sys.stdout
        self._print_lock = threading.Lock()
        self.clean_time = 0.0
        self.not_run: dict[str, str] = {}   # spec id -> why it was skipped/xfailed in the clean run

    def say(self, text: str) -> None:
        with self._print_lock:
            print(text, file=self.out, flush=True)

    def run(self) -> int:
        args = self.args
        try:
            catalogue = dict(faults_mod.catalogue())
        except Exception as e:   # a catalogue module that does not import: say which, not a traceback
            raise MutateError(f"the fault catalogue does not load: {type(e).__name__}: {e}") from e
        try:
            selected = faults_mod.parse(args.faults) if args.faults else list(catalogue.values())
        except faults_mod.UnknownFault as e:
            raise MutateError(str(e)) from None
        if args.list:
            self.print_list(selected)
            return 0
        if not selected:
            raise MutateError("the fault catalogue is empty: nothing to prove")
        if args.jobs < 1:
            raise MutateError("--jobs must be at least 1")
        paths = args.paths or [spec_mod.default_specs()]
        specs, errors = spec_mod.load_paths(paths)
        if errors:
            raise MutateError("the specs do not load:\n" + "\n".join(f"  {e}" for e in errors))
        if not specs:
            raise MutateError(f"no specs found in {', '.join(map(str, paths))}")
        reasons = unproven_reasons()

        self.say(f"conformance mutate: {len(selected)} fault(s) against {len(specs)} spec(s) on "
                 f"{args.device}, {args.jobs} job(s)")
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="conformance-mutate-") as tmp:
            runner = Pytest(args.device, args.profile, self.extra, args.timeout, Path(tmp))
            try:
                outcomes = self.campaign(runner, selected, specs)
            except KeyboardInterrupt:
                self.say("conformance mutate: interrupted")
                return 130
            except MutateError:
                if args.json:   # a reader still learns that the clean run failed, and nothing was proven
                    write(document([], specs, catalogue, selected, reasons, clean=(False, self.clean_time)),
                          Path(args.json))
                raise
        # A considered reason from the data file beats the observation that a spec never ran here.
        doc = document(outcomes, specs, catalogue, selected, {**self.not_run, **reasons},
                       clean=(True, self.clean_time))
        if args.json:
            write(doc, Path(args.json))
        return self.summary(doc, outcomes, time.monotonic() - started)

    def campaign(self, runner: Pytest, selected: list[Any], specs: list[Any]) -> list[FaultOutcome]:
        args = self.args
        timeout = args.timeout
        ids = [s.id for s in specs]
        plans = {f.name: targeted(f, specs) for f in selected}
        # Clean set up front: everything for the whole catalogue, else just what the targeted runs use.
        if args.faults:
            wanted = {s.id for plan in plans.values() for s in plan}
            first = [s for s in specs if s.id in wanted]
        else:
            first = list(specs)
        durations: dict[str, float] = {}

        def clean(group: list[Any]) -> None:
            workers = args.jobs if args.jobs > 1 and len(group) > args.jobs else 0
            run = runner.run(node_ids(group), workers=workers)
            self.clean_time += run.duration
            _check_clean(run, [s.id for s in group], timeout)
            ran: set[str] = set()
            for r in run.doc["results"] if run.doc else []:
                durations[r["spec_id"]] = durations.get(r["spec_id"], 0.0) + r["duration"]
                if r["status"] in ("passed", "xpassed"):
                    ran.add(r["spec_id"])
                elif r["spec_id"] not in self.not_run:
                    self.not_run[r["spec_id"]] = (f"{r['status']} on {args.device} even without faults "
                                                  f"({r.get('reason') or 'no reason given'}), so no fault can fail it")
            for sid in ran:
                self.not_run.pop(sid, None)
            self.say(f"clean run: {len(group)} spec(s) passed in {run.duration:.1f}s")

        if first:
            clean(first)
        outcomes = {f.name: FaultOutcome(f, targeted=len(plans[f.name])) for f in selected}

        def targeted_run(f: Any) -> None:
            o = outcomes[f.name]
            if plans[f.name]:
                _judge(runner.run(node_ids(plans[f.name]), fault=f.name), ids, o, "the targeted run", timeout)
            if o.killed:
                self.report(o)

        def fallback_run(f: Any) -> None:
            o = outcomes[f.name]
            planned = {s.id for s in plans[f.name]}
            rest = fallback_order(f, [s for s in specs if s.id not in planned], durations)
            o.fallback = len(rest)
            if rest:
                _judge(runner.run(node_ids(rest), fault=f.name, maxfail=1), ids, o, "the fallback run", timeout)
            self.report(o)

        pool = cf.ThreadPoolExecutor(max_workers=args.jobs)
        try:
            for fut in [pool.submit(targeted_run, f) for f in selected]:
                fut.result()
            survivors = [f for f in selected if not outcomes[f.name].killed]
            if survivors:
                first_ids = {s.id for s in first}
                rest = [s for s in specs if s.id not in first_ids]
                if rest and any(len(plans[f.name]) < len(specs) for f in survivors):
                    clean(rest)
                for fut in [pool.submit(fallback_run, f) for f in survivors]:
                    fut.result()
        except BaseException:
            # Ctrl-C or a failed clean run: end the pytest runs in flight instead of waiting for them.
            pool.shutdown(wait=False, cancel_futures=True)
            runner.kill_all()
            raise
        pool.shutdown()
        return [outcomes[f.name] for f in selected]

    def report(self, o: FaultOutcome) -> None:
        f = o.fault
        if o.killed:
            more = f" (+{len(o.caught_by) - 1})" if len(o.caught_by) > 1 else ""
            via = "" if o.fallback == 0 else " [fallback]"
            self.say(f"  killed    {f.name:34} by {o.caught_by[0]}{more}{via}  {o.duration:.1f}s")
        else:
            how = f"{o.targeted} targeted spec(s)" + (f", then {o.fallback} more" if o.fallback else "")
            self.say(f"  SURVIVED  {f.name:34} {how}  {o.duration:.1f}s")
            if o.problem:
                self.say("            " + o.problem.replace("\n", "\n            "))

    def summary(self, doc: dict[str, Any], outcomes: list[FaultOutcome], wall: float) -> int:
        score = doc["score"]
        self.say(f"\nkilled {score['killed']}/{score['total']} ({score['percent']:g}%) in {wall:.1f}s")
        survived = [o for o in outcomes if not o.killed]
        if survived:
            self.say("survived:")
            for o in survived:
                f = o.fault
                self.say(f"  {f.name} ({f.target}; breaks {', '.join(f.breaks)}): {f.description}")
        if doc["unproven"] and not self.args.faults:
            self.say(f"{len(doc['unproven'])} spec(s) no fault broke:")
            for u in doc["unproven"]:
                self.say(f"  {u['spec_id']}: {u['reason']}")
        elif doc["unproven"]:   # a chosen few faults: most specs were never meant to be exercised
            self.say(f"{len(doc['unproven'])} spec(s) no selected fault broke (see \"unproven\" in the JSON)")
        if self.args.json:
            self.say(f"conformance mutate: written {self.args.json}")
        if below_threshold(score, self.args.threshold):
            self.say(f"conformance mutate: below the threshold of {self.args.threshold:g}%")
            return 1
        return 0

    def print_list(self, selected: list[Any]) -> None:
        width = max((len(f.name) for f in selected), default=0)
        twidth = max((len(f.target) for f in selected), default=0)
        for f in selected:
            self.say(f"{f.name:{width}}  {f.target:{twidth}}  {','.join(f.breaks):14}  {f.description}")
        self.say(f"\n{len(selected)} fault(s)")


def below_threshold(score: dict[str, Any], threshold: float) -> bool:
    """Judged on the percentage as printed (2/3 meets 66.7), but 100 means every fault, however many."""
    if threshold >= 100:
        return score["killed"] < score["total"]
    return score["percent"] < threshold


# -- the document ------------------------------------------------------------------------------------

@functools.cache
def _unproven_text() -> str:
    return resources.files("conformance.tools").joinpath("unproven.yaml").read_text(encoding="utf-8")


def unproven_reasons() -> dict[str, str]:
    """conformance/data/unproven.yaml: spec id -> why no fault can (or should) break it."""
    data = yaml.safe_load(_unproven_text()) or {}
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) and v.strip()
                                             for k, v in data.items()):
        raise MutateError("conformance/data/unproven.yaml must map spec ids to non-empty reasons")
    return {k: v.strip() for k, v in data.items()}


def _default_reason(spec: Any, catalogue: dict[str, Any], selected: list[Any]) -> str:
    covers = set(spec.covers)
    breaking = [f.name for f in catalogue.values() if covers & set(f.breaks)]
    if not breaking:
        return NO_FAULT_BREAKS
    ran = {f.name for f in selected}
    if not any(n in ran for n in breaking):
        return f"not run against the faults that break its behaviours ({', '.join(breaking)}): not selected"
    return f"did not notice the faults that break its behaviours ({', '.join(n for n in breaking if n in ran)})"


def document(outcomes: list[FaultOutcome], specs: list[Any], catalogue: dict[str, Any], selected: list[Any],
             reasons: dict[str, str], clean: tuple[bool, float]) -> dict[str, Any]:
    caught: dict[str, list[str]] = {s.id: [] for s in specs}
    for o in outcomes:
        for sid in o.caught_by:
            caught.setdefault(sid, []).append(o.fault.name)
    killed = sum(o.killed for o in outcomes)
    total = len(outcomes)
    unproven = [{"spec_id": s.id, "reason": reasons.get(s.id) or _default_reason(s, catalogue, selected)}
                for s in specs if outcomes and not caught[s.id]]
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "environment": {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version()},
        "clean": {"passed": clean[0], "duration": round(clean[1], 3)},
        "faults": [{
            "name": o.fault.name, "target": o.fault.target, "breaks": list(o.fault.breaks),
            "description": o.fault.description, "killed": o.killed, "caught_by": list(o.caught_by),
            "duration": round(o.duration, 3),
        } for o in outcomes],
        "specs": caught,
        "unproven": unproven,
        "score": {"killed": killed, "total": total, "percent": round(100.0 * killed / total, 1) if total else 0.0},
    }


# The document's contract (schema, validation, reading) lives with the other results documents.
schema, validate, write, load = mutation.schema, mutation.problems, mutation.save, mutation.load


def cmd_mutate(args: argparse.Namespace, extra: list[str]) -> int:
    return Mutate(args, extra).run()
