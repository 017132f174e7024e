"""The pytest plugin: spec files become items, one per spec x device.

Registered through the `pytest11` entry point, so `python -m pytest specs` just works.  Options are
declared here, in one place; per-item state lives in the item stash.  Results recording is its own
plugin module (results.py), registered from here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import settings
from packaging.version import Version

from . import devices, known_failures, profiles, runner
from . import spec as spec_mod
from .errors import SpecError
from .values import describe, short

RECORD = pytest.StashKey[runner.Record]()
DEVICES = pytest.StashKey[list[str]]()


def torch_version() -> Version:
    return Version(torch.__version__.split("+")[0])


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "torch-conformance")
    group.addoption("--device", default=os.environ.get("CONFORMANCE_DEVICES"),
                    help="comma-separated torch devices to run specs on (default: cpu,cuda; "
                         "an absent device is reported as not run)")
    group.addoption("--conformance-json", metavar="PATH", default=None,
                    help="write the run's results (one JSON document) to PATH")
    group.addoption("--fault", default=None, metavar="NAMES",
                    help="activate faults of the catalogue (comma-separated) for this run, workers included")
    known_failures.addoption(group)
    parser.addini("conformance_specs", "directories whose YAML files are specs", type="paths", default=[])


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    # Load *our* profile last: Hypothesis may already have loaded its built-in `ci` (CI=1).
    name = config.getoption("hypothesis_profile", None) or profiles.DEFAULT
    profiles.register()
    settings.load_profile(name)
    _activate_faults(config)
    known_failures.configure(config)
    if os.environ.get("PYTEST_XDIST_WORKER") and "CONFORMANCE_TORCH_THREADS" not in os.environ:
        # Each xdist worker is a process of its own: intra-op threads on top oversubscribe the cores
        # (spec tensors are tiny, far below torch's parallel grain size anyway).
        torch.set_num_threads(1)
    elif os.environ.get("CONFORMANCE_TORCH_THREADS"):
        torch.set_num_threads(int(os.environ["CONFORMANCE_TORCH_THREADS"]))
    try:
        config.stash[DEVICES] = devices.parse(config.getoption("device"))
    except devices.DeviceError as e:
        raise pytest.UsageError(str(e)) from None
    from . import results
    if not config.pluginmanager.has_plugin("conformance-results"):
        config.pluginmanager.register(results.ResultsPlugin(config, name), "conformance-results")


def _activate_faults(config: pytest.Config) -> None:
    """Faults from --fault or CONFORMANCE_FAULT; exported to the environment so xdist workers inherit."""
    from . import faults
    names = config.getoption("fault") or os.environ.get(faults.ENV)
    if not names:
        return
    try:
        undo = faults.activate(names)
    except faults.UnknownFault as e:
        raise pytest.UsageError(str(e)) from None
    previous = os.environ.get(faults.ENV)
    os.environ[faults.ENV] = names

    def cleanup() -> None:
        undo()
        if previous is None:
            os.environ.pop(faults.ENV, None)
        else:
            os.environ[faults.ENV] = previous

    config.add_cleanup(cleanup)


def _is_spec_path(file_path: Path, config: pytest.Config) -> bool:
    if file_path.suffix not in (".yaml", ".yml"):
        return False
    roots = [Path(p).resolve() for p in config.getini("conformance_specs")]
    resolved = file_path.resolve()
    if any(resolved.is_relative_to(r) for r in roots):
        return True
    # A YAML file inside a folder named `specs`, or named on the command line (itself, or a folder
    # holding it: `conformance run my_specs/`), is a spec.  A project's root does not count, so
    # `pytest .` there does not turn every data file of the project into a spec.
    if "specs" in resolved.parts[:-1]:
        return True
    project = config.rootpath.resolve() if config.inipath is not None else None
    for arg in config.args:
        named = Path(arg.split("::")[0]).resolve()
        if named == resolved:
            return True
        if named.is_dir() and resolved.is_relative_to(named) and not (
                project is not None and (named == project or named in project.parents)):
            return True
    return False


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _is_spec_path(file_path, parent.config) and file_path.name != "behaviours.yaml":
        return SpecFile.from_parent(parent, path=file_path)
    return None


class SpecFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        specs, errors = spec_mod.load_file(self.path, display=display_path(self.path, self.config))
        for err in errors:
            yield SpecErrorItem.from_parent(self, name=f"invalid-spec:{err.line or 0}", error=err)
        for spec in specs:
            for device in self.config.stash[DEVICES]:
                yield SpecItem.from_parent(self, name=f"{spec.id}[{device}]", spec=spec, device=device)


class SpecErrorItem(pytest.Item):
    """A spec file that does not load: one failing item with the located message."""

    def __init__(self, *, error: SpecError, **kw: Any):
        super().__init__(**kw)
        self.error = error

    def runtest(self) -> None:
        raise self.error

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, SpecError):
            return f"invalid spec: {excinfo.value}"
        return str(excinfo.getrepr(style="short"))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, (self.error.line or 1) - 1, f"invalid spec {self.error.file}"


class SpecItem(pytest.Item):
    """One spec on one device."""

    def __init__(self, *, spec: spec_mod.Spec, device: str, **kw: Any):
        super().__init__(**kw)
        self.spec, self.device = spec, device
        self.stash[RECORD] = runner.Record()
        for k in spec.known:
            if self._known_applies(k):
                self.add_marker(pytest.mark.xfail(reason=f"known divergence: {k.reason}", strict=False))
        # One xdist group per spec keeps a spec's devices together (shared warm-up, one worker).
        self.add_marker(pytest.mark.xdist_group(spec.area))

    def _known_applies(self, k: spec_mod.Known) -> bool:
        if k.torch is not None and torch_version() not in k.torch:
            return False
        if k.device is not None and torch.device(k.device).type != torch.device(self.device).type:
            return False
        if k.numpy is not None:
            import numpy as np
            if Version(np.__version__) not in k.numpy:
                return False
        return True

    def setup(self) -> None:
        dup = self.config.stash.get(_DUPLICATES, {}).get(self.nodeid)
        if dup is not None:
            raise dup
        ok, reason = devices.applies(self.spec.devices, self.device)
        if not ok:
            pytest.skip(reason)
        ok, reason = devices.availability(self.device)
        if not ok:
            pytest.skip(f"not run: {reason}")
        if self.spec.torch is not None and torch_version() not in self.spec.torch:
            pytest.skip(f"not applicable: needs torch {self.spec.torch}, have {torch.__version__}")
        for module in self.spec.requires:
            try:
                __import__(module)
            except ImportError as e:
                pytest.skip(f"not run: {module} not installed ({type(e).__name__})")

    def runtest(self) -> None:
        runner.build_test(self.spec, self.device, self.stash[RECORD])()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, SpecError):
            return f"invalid spec: {excinfo.value}"
        rec = self.stash[RECORD]
        src = self.spec.source
        lines = [
            f"{self.spec.id} on {self.device}: {self.spec.title}",
            f"  spec: {self.spec.file}:{self.spec.line}   covers: {', '.join(self.spec.covers)}",
            f"  documented promise: {src.get('quote', '')!r}",
            f"  source: {src.get('doc') or src.get('seed')}",
            "  falsifying example:",
            f"    torch.manual_seed({rec.seed})",
            *(f"    {name} = {short(v, 500)}" for name, v in rec.inputs.items()),
            "  error:",
            *("    " + ln for ln in error_text(excinfo.value).splitlines()),
        ]
        return "\n".join(lines)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, self.spec.line - 1, f"{self.spec.id} [{self.device}]"


def display_path(path: Path, config: pytest.Config) -> str:
    """Spec paths in messages and results are relative to the rootdir when possible."""
    try:
        return str(path.resolve().relative_to(config.rootpath.resolve()))
    except ValueError:
        return str(path)


def error_text(exc: BaseException) -> str:
    """The exception without torch/hypothesis internals: type, message, and our notes."""
    if isinstance(exc, BaseExceptionGroup):
        return "\n".join(f"[{i}] {error_text(e)}" for i, e in enumerate(exc.exceptions))
    notes = [n for n in getattr(exc, "__notes__", []) if n.startswith("in step")]
    head = str(exc) if type(exc).__name__ == "CheckFailed" else f"{type(exc).__name__}: {exc}"
    return "\n".join([head, *notes])


def falsifying(item: SpecItem) -> dict[str, Any]:
    rec = item.stash[RECORD]
    return {"seed": rec.seed, "inputs": {k: describe(v) for k, v in rec.inputs.items()}}


_DUPLICATES = pytest.StashKey[dict[str, SpecError]]()


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    specs: dict[str, spec_mod.Spec] = {}
    for item in items:
        if isinstance(item, SpecItem):
            specs.setdefault(item.spec.file + "::" + item.spec.id, item.spec)
    dups = {e.file + ":" + str(e.line): e for e in spec_mod.duplicate_ids(list(specs.values()))}
    if dups:
        bad = {}
        for item in items:
            if isinstance(item, SpecItem):
                key = f"{item.spec.file}:{item.spec.id_line or item.spec.line}"
                if key in dups:
                    bad[item.nodeid] = dups[key]
        config.stash[_DUPLICATES] = bad
