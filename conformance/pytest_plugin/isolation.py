"""Isolation: specs run in worker processes that the run survives.

The backend under test is exactly what crashes and hangs, so the process that records results never
runs a spec.  pytest-xdist provides the processes: a run without `-n` becomes a run with one worker
(`-n 1`), and xdist replaces a worker that dies.  This module adds what xdist leaves out:

* in each worker, a per-item wall-clock limit enforced by the kernel: `setitimer` delivers SIGALRM
  with its default action (terminate), which also ends a hang inside C code that holds the GIL; just
  before, faulthandler's own thread dumps every thread's stack.  A memory cap (RLIMIT_DATA).  A small
  log file per worker holding the item that runs now and faulthandler's output on a fatal signal;
* in the controller, when a worker dies while running an item: the item's result becomes `crashed`
  (with the signal or exit status) or `timeout` (with the limit), with the worker's last output, and
  the crash does not count against xdist's `--max-worker-restart` (only crashes outside an item do,
  e.g. while collecting).

Why workers and not a fork per spec (pytest-forked, pytest-isolate): a fork per item costs more than
an item of this suite and a forked child cannot use CUDA once the parent has; why not pytest-timeout:
its signal method cannot interrupt C code, its thread method ends the whole process, with no result
for the item.  Options: --spec-isolation auto|on|off, --spec-timeout SECONDS, --spec-memory MB.
"""

from __future__ import annotations

import faulthandler
import json
import os
import resource
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

import pytest
import torch

from conformance.engine import devices, profiles
from conformance.pytest_plugin.items import DEVICES, SpecItem
from conformance.pytest_plugin.recorder import ISOLATION, PROP, spec_fields

KEY = "conformance_isolation"     # workerinput key: the settings a worker applies
GRACE_S = 0.5                     # between the stack dump and the kill
OUTPUT_LINES = 30                 # of a dead worker's log (stack dumps), in its result


def addoption(group: Any) -> None:
    group.addoption("--spec-isolation", choices=["auto", "on", "off"],
                    default=os.environ.get("CONFORMANCE_ISOLATION", "auto"),
                    help="run specs in worker processes the run survives (crash, abort, exit, hang): "
                         "auto (default) = on for runs of spec files without -n, --pdb or -s; "
                         "-n N runs are always isolated unless off")
    group.addoption("--spec-timeout", type=float, default=None, metavar="SECONDS",
                    help="wall-clock limit of one spec x device item; the worker is killed and the item "
                         "recorded as timeout (default: the Hypothesis profile's, 60 s for ci; 0: none)")
    group.addoption("--spec-memory", type=int, default=None, metavar="MB",
                    help=f"memory cap (RLIMIT_DATA) of each worker process (default {profiles.SPEC_MEMORY_MB} MB; "
                         "none by default where an accelerator is present; 0: none)")


# -- the controller: turn a plain run into a run with one worker ---------------------------------------

def _names_spec_files(config: pytest.Config) -> bool:
    """Do the run's arguments name spec files (not the project's own tests)?"""
    roots = [Path(p).resolve() for p in config.getini("conformance_specs")]
    for arg in config.args:
        path = Path(arg.split("::")[0])
        if path.suffix in (".yaml", ".yml"):
            return True
        if path.is_dir():
            resolved = path.resolve()
            if "specs" in resolved.parts or any(resolved.is_relative_to(r) for r in roots):
                return True
            # a folder of YAML files and no Python: a spec folder by another name (not tests/)
            if next(path.glob("*.y*ml"), None) is not None and next(path.glob("*.py"), None) is None:
                return True
    return False


def configure_mode(config: pytest.Config) -> None:
    """Before xdist reads its options: decide isolation; for a serial run, ask xdist for one worker."""
    if hasattr(config, "workerinput") or not config.pluginmanager.hasplugin("xdist"):
        if config.getoption("spec_isolation") == "on" and not hasattr(config, "workerinput"):
            raise pytest.UsageError("--spec-isolation on needs pytest-xdist (pip install pytest-xdist)")
        return
    mode = config.getoption("spec_isolation")
    if mode == "off" or config.option.numprocesses not in (None,):
        return  # -n given: the run has workers already (-n 0: the user asked for none)
    if mode == "auto":
        debugging = (config.getoption("usepdb", False) or config.getoption("trace", False)
                     or config.getoption("capture", "fd") == "no" or config.getoption("collectonly", False))
        if debugging or not _names_spec_files(config):
            return
    config.option.numprocesses = 1


def settings_of(config: pytest.Config) -> dict[str, Any]:
    profile = config.getoption("hypothesis_profile", None) or profiles.DEFAULT
    timeout = config.getoption("spec_timeout")
    memory = config.getoption("spec_memory")
    if memory is None:
        # No default cap where an accelerator is present: its driver maps large private regions into
        # the process (unverified on GPU machines); --spec-memory caps those runs explicitly.
        accelerators = [d for d in config.stash.get(DEVICES, []) if torch.device(d).type not in ("cpu", "meta")]
        memory = 0 if any(devices.availability(d)[0] for d in accelerators) else profiles.SPEC_MEMORY_MB
    return {
        "mode": config.getoption("spec_isolation"),
        "timeout_s": profiles.spec_timeout(profile) if timeout is None else float(timeout),
        "memory_mb": int(memory),
    }


class Controller:
    """Registered in the controller of an xdist run: passes settings to workers, explains deaths."""

    def __init__(self, config: pytest.Config, isolated: bool):
        self.config = config
        self.settings = settings_of(config) if isolated else None
        self.dir = Path(tempfile.mkdtemp(prefix="conformance-workers-"))
        config.stash[ISOLATION] = {"workers": True, **(self.settings or {"mode": "off"})}

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[KEY] = {"dir": str(self.dir), **(self.settings or {"timeout_s": 0, "memory_mb": 0})}

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        worker = getattr(report, "node", None)
        gateway = getattr(worker, "gateway", None)
        code = _exit_code(gateway)
        log = _read_log(self.dir / f"{getattr(gateway, 'id', '?')}.log")
        started = log[0] if log and isinstance(log[0], dict) else {}
        output = [ln for ln in log[1:] if isinstance(ln, str)]
        limit = (self.settings or {}).get("timeout_s") or 0
        status, error_type, head = describe_death(code, limit, output)
        # faulthandler writes the innermost frames first: the start of the output is what matters
        shown = output[:OUTPUT_LINES] + ([f"... ({len(output) - OUTPUT_LINES} more lines)"]
                                         if len(output) > OUTPUT_LINES else [])
        text = head + (("\nlast output of the worker:\n" + "\n".join(shown)) if shown else "")
        report.longrepr = f"{crashitem}\n{text}"
        fields = dict(started.get("fields") or {}) if started.get("nodeid") == crashitem else None
        known = (fields or {}).pop("known", None)
        if known:
            # A crash or hang the spec's `known` entry (or a known-failures file) expects: the item
            # is an expected failure like any other, with what happened in its reason.
            report.outcome, report.when = "skipped", "call"
            report.wasxfail = f"{known} [{status}: {head}]"  # type: ignore[attr-defined]
        report.user_properties.append((PROP, {
            **(fields or _fields_from_nodeid(crashitem)),
            "status": "xfailed" if known else status, "error": text, "error_type": error_type,
            "failure_kind": "timeout" if status == "timeout" else "crash",
        }))
        # A crash inside an item is the item's result, not a reason to stop the run: only crashes
        # outside items (collection) count against --max-worker-restart.
        dsession = self.config.pluginmanager.getplugin("dsession")
        if dsession is not None and getattr(dsession, "_max_worker_restart", None) is not None:
            dsession._max_worker_restart += 1

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _exit_code(gateway: Any) -> int | None:
    """The dead worker's exit status (negative: the signal), from execnet's Popen when it has one."""
    popen = getattr(getattr(gateway, "_io", None), "popen", None)
    if popen is None:
        return None
    try:
        return popen.wait(timeout=10)
    except Exception:  # noqa: BLE001 - still running or not ours to wait for: unknown
        return None


def _read_log(path: Path) -> list[Any]:
    """[start record (dict), output lines...] of a worker's log; [] when there is none."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    first, _, rest = text.partition("\n")
    try:
        head: Any = json.loads(first)
    except ValueError:
        head, rest = None, text
    return [head, *(ln.rstrip() for ln in rest.splitlines() if ln.strip())]


def _fields_from_nodeid(nodeid: str) -> dict[str, Any]:
    name = nodeid.split("::", 1)[-1]
    spec_id, _, device = name.rpartition("[")
    return {"spec_id": spec_id or name, "device": device.rstrip("]") or "*", "file": nodeid.split("::")[0]}


def signal_name(number: int) -> str:
    try:
        return f"{signal.Signals(number).name} (signal {number})"
    except ValueError:
        return f"signal {number}"


def describe_death(code: int | None, limit: float, tail: list[str]) -> tuple[str, str, str]:
    """(status, error_type, one-line explanation) for a worker that died while running an item."""
    timed_out = code == -signal.SIGALRM or (code is None and any(ln.startswith("Timeout (") for ln in tail))
    if timed_out and limit:
        return ("timeout", "Timeout",
                f"timed out: the spec ran longer than {limit:g} s (--spec-timeout); its worker was killed")
    if code is None:
        return "crashed", "WorkerCrash", "the worker process running this spec died (exit status unknown)"
    if code < 0:
        name = signal_name(-code)
        extra = " (killed from outside, e.g. by the kernel's out-of-memory killer)" if -code == signal.SIGKILL else ""
        return "crashed", name.split(" ")[0], f"the worker process running this spec crashed: {name}{extra}"
    return ("crashed", "WorkerExit",
            f"the worker process running this spec exited with status {code} before the spec finished "
            "(os._exit or exit() inside the code under test)")


# -- a worker: limits and a log per item ---------------------------------------------------------------

class Worker:
    def __init__(self, config: pytest.Config, settings: dict[str, Any]):
        self.timeout = float(settings.get("timeout_s") or 0)
        wid = config.workerinput.get("workerid", str(os.getpid()))  # type: ignore[attr-defined]
        self.fd = os.open(Path(settings["dir"]) / f"{wid}.log", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        faulthandler.enable(file=self.fd, all_threads=True)   # fatal signals: every thread's stack, to the log
        if self.timeout:
            try:
                signal.signal(signal.SIGALRM, signal.SIG_DFL)   # the kernel ends the process, GIL or not
            except ValueError:
                pass  # not the main thread: SIGALRM's disposition is the default already
        _warm_up()
        memory = int(settings.get("memory_mb") or 0)
        if memory:
            cap = memory * 1024 * 1024
            _, hard = resource.getrlimit(resource.RLIMIT_DATA)
            resource.setrlimit(resource.RLIMIT_DATA, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        fields = spec_fields(item) if isinstance(item, SpecItem) else None
        known = item.get_closest_marker("xfail")   # a known divergence or a known-failures entry
        if fields is not None and known is not None:
            fields = {**fields, "known": known.kwargs.get("reason", "known failure")}
        record = json.dumps({"nodeid": item.nodeid, "fields": fields}, default=str) + "\n"
        os.lseek(self.fd, 0, os.SEEK_SET)
        os.ftruncate(self.fd, 0)
        os.write(self.fd, record.encode())
        # Only spec items get the wall-clock limit: other tests sharing the run (the project's own
        # tests under xdist) are not the backend under test and may legitimately run longer.
        limited = bool(self.timeout) and isinstance(item, SpecItem)
        if limited:
            faulthandler.dump_traceback_later(self.timeout, exit=False, file=self.fd)
            signal.setitimer(signal.ITIMER_REAL, self.timeout + GRACE_S)
        try:
            return (yield)
        finally:
            if limited:
                signal.setitimer(signal.ITIMER_REAL, 0)
                faulthandler.cancel_dump_traceback_later()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        faulthandler.disable()
        os.close(self.fd)


def _warm_up() -> None:
    """Pay one-off costs before the first item's clock starts, not inside it: the first
    torch.testing.assert_close imports torch.distributed.tensor (seconds on a loaded machine)."""
    try:
        torch.testing.assert_close(torch.zeros(1), torch.zeros(1))
    except Exception:  # noqa: BLE001 - a warm-up only; the specs will meet any real problem
        pass


def configure(config: pytest.Config) -> None:
    """From the spec plugin's pytest_configure: register the worker or controller part."""
    if hasattr(config, "workerinput"):
        settings = config.workerinput.get(KEY)  # type: ignore[attr-defined]
        if settings and not config.pluginmanager.has_plugin("conformance-isolation"):
            config.pluginmanager.register(Worker(config, settings), "conformance-isolation")
        return
    dsession = config.pluginmanager.hasplugin("xdist") and config.getoption("dist", "no") != "no" \
        and bool(config.getoption("tx", None))
    if dsession and not config.getoption("collectonly", False):
        isolated = config.getoption("spec_isolation") != "off"
        config.pluginmanager.register(Controller(config, isolated), "conformance-isolation")
    else:
        config.stash[ISOLATION] = {"workers": False, "mode": "off"}
