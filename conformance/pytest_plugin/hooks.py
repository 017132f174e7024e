"""The pytest plugin's hooks: options, configuration, collection.

Registered through the `pytest11` entry point, so `python -m pytest specs` just works.  Options are
declared here, in one place.  One module per concern: `items` (spec files and spec x device items),
`known_failures` (expected failures as data), `recorder` (the results JSON); this module wires them.
Faults are a separate plugin (conformance.tools.faults.plugin) that this one knows nothing about.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hypothesis import settings

from conformance.engine import backends, devices, profiles
from conformance.lang import spec as spec_mod
from conformance.pytest_plugin import isolation, known_failures, recorder
from conformance.pytest_plugin.items import DEVICES, DUPLICATES, SpecFile, SpecItem


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "torch-conformance")
    group.addoption("--device", default=os.environ.get("CONFORMANCE_DEVICES"),
                    help="comma-separated torch devices to run specs on (default: cpu,cuda; "
                         "an absent device is reported as not run)")
    group.addoption("--conformance-json", metavar="PATH", default=None,
                    help="write the run's results (one JSON document) to PATH")
    group.addoption("--backend-profile", action="append", default=[], metavar="YAML",
                    help="a backend profile (what a device needs: imports, environment, sync, dtypes); "
                         "see conformance/engine/backend_profiles/")
    known_failures.addoption(group)
    isolation.addoption(group)
    parser.addini("conformance_specs", "directories whose YAML files are specs", type="paths", default=[])


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config: pytest.Config) -> object:
    isolation.configure_mode(config)   # before pytest-xdist turns -n into workers
    return (yield)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    # Load *our* profile last: Hypothesis may already have loaded its built-in `ci` (CI=1).
    name = config.getoption("hypothesis_profile", None) or profiles.DEFAULT
    profiles.register()
    settings.load_profile(name)
    known_failures.configure(config)
    if os.environ.get("PYTEST_XDIST_WORKER") and "CONFORMANCE_TORCH_THREADS" not in os.environ:
        # Each xdist worker is a process of its own: intra-op threads on top oversubscribe the cores
        # (spec tensors are tiny, far below torch's parallel grain size anyway).
        torch.set_num_threads(1)
    elif os.environ.get("CONFORMANCE_TORCH_THREADS"):
        torch.set_num_threads(int(os.environ["CONFORMANCE_TORCH_THREADS"]))
    backends.add_profiles(config.getoption("backend_profile") or [])
    try:
        config.stash[DEVICES] = devices.parse(config.getoption("device"))
    except devices.DeviceError as e:
        raise pytest.UsageError(str(e)) from None
    if not config.pluginmanager.has_plugin("conformance-results"):
        config.pluginmanager.register(recorder.ResultsPlugin(config, name), "conformance-results")
    isolation.configure(config)


def pytest_sessionstart(session: pytest.Session) -> None:
    """In every process that runs specs, start each requested device's backend before the first spec.
    The autograd engine sizes its per-device queues at the first backward of the process; a device
    whose runtime starts later (torch_xla's PJRT client starts at its first tensor) is missing from
    them, and every later backward on it fails an INTERNAL ASSERT in engine.cpp."""
    config = session.config
    if hasattr(config, "workerinput") or config.getoption("dist", "no") == "no":
        for device in config.stash.get(DEVICES, []):
            devices.availability(device)


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
        config.stash[DUPLICATES] = bad
