"""Detection power, in-process: the clean suite passes and every fault is caught by the specs it must break.

One table drives it all (tests/fault_matrix.yaml: fault -> specs that must fail).  Specs run in this
process through the real loader and runner with real torch; a fault is a real patch of torch applied
with `faults.activate` and undone after.  The same proof with one pytest subprocess per fault is
`conformance mutate` (tox -e mutate; a quick subset runs in .ci/run).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from hypothesis import settings
from packaging.version import Version

from conformance.engine import devices, profiles, runner
from conformance.errors import SpecError
from conformance.lang import spec as spec_mod
from conformance.tools import faults, mutate

ROOT = Path(__file__).resolve().parent.parent
SPECS = Path(os.environ.get("CONFORMANCE_TEST_SPECS", ROOT / "specs"))   # another folder: for developing specs
MATRIX_FILE = Path(__file__).with_name("fault_matrix.yaml")
TORCH = Version(torch.__version__.split("+")[0])
BYSTANDERS = 6   # neighbours per fault that must still pass


@functools.cache
def matrix() -> dict[str, list[str]]:
    data = yaml.safe_load(MATRIX_FILE.read_text())
    assert isinstance(data, dict) and all(isinstance(v, list) and v for v in data.values()), MATRIX_FILE
    return data


@functools.cache
def all_specs() -> dict[str, spec_mod.Spec]:
    specs, errors = spec_mod.load_paths([SPECS])
    assert not errors, "\n".join(map(str, errors))
    return {s.id: s for s in specs}


def shipped_faults() -> dict[str, faults.Fault]:
    return {n: f for n, f in faults.catalogue().items()
            if getattr(f.make, "__module__", "").startswith("conformance.tools.faults.")}


def _known_applies(spec: spec_mod.Spec, device: str) -> bool:
    for k in spec.known:
        if k.torch is not None and TORCH not in k.torch:
            continue
        if k.device is not None and torch.device(k.device).type != torch.device(device).type:
            continue
        return True
    return False


def run_in_process(spec: spec_mod.Spec, device: str = "cpu", profile: str = "mutate") -> tuple[str, str]:
    """(status, detail) of one spec on one device, as the plugin would record it."""
    ok, why = devices.applies(spec.devices, device)
    if not ok:
        return "skipped", why
    ok, why = devices.availability(device)
    if not ok:
        return "skipped", why
    if spec.torch is not None and TORCH not in spec.torch:
        return "skipped", f"needs torch {spec.torch}"
    for module in spec.requires:
        try:
            __import__(module)
        except ImportError:
            return "skipped", f"{module} not installed"
    profiles.register()
    previous = settings.get_current_profile_name()
    settings.load_profile(profile)
    try:
        runner.run(runner.build_test(spec, device, runner.Record()))
    except SpecError as e:
        return "error", str(e)
    except Exception as e:  # noqa: BLE001 - any failure of the spec is the finding
        return ("xfailed" if _known_applies(spec, device) else "failed"), f"{type(e).__name__}: {e}"[:2000]
    finally:
        settings.load_profile(previous)
    return ("xpassed" if _known_applies(spec, device) else "passed"), ""


def run_in_process_applies(spec: spec_mod.Spec, device: str = "cpu") -> bool:
    if not devices.applies(spec.devices, device)[0]:
        return False
    for module in spec.requires:
        try:
            __import__(module)
        except ImportError:
            return False
    return spec.torch is None or TORCH in spec.torch


def _is_hand_written(s: spec_mod.Spec) -> bool:
    return "/families/" not in s.file.replace("\\", "/")


AREAS = sorted({s.area for s in all_specs().values()})


# The clean check runs each spec's first 10 derandomized examples of the ci profile (explicit examples
# included): enough to catch a spec an edit broke, at 40% of the cost.  The suite's own runs (`conformance
# run`, tox, .ci/run's mutate clean runs) use all 25.
settings.register_profile("clean-check", parent=settings.get_profile(profiles.DEFAULT), max_examples=10)


@pytest.mark.parametrize("area", AREAS)
def test_clean_suite_passes(area: str) -> None:
    """With no fault active every spec of the area passes (or is a known divergence, or not run here)."""
    bad = {}
    for s in all_specs().values():
        if s.area != area:
            continue
        status, detail = run_in_process(s, profile="clean-check")
        if status not in ("passed", "xfailed", "xpassed", "skipped"):
            bad[s.id] = f"{status}: {detail[:500]}"
    assert bad == {}


def test_matrix_lists_every_shipped_fault() -> None:
    """Every registered fault has its line; a line without a registered fault is an optional package's."""
    assert set(shipped_faults()) - set(matrix()) == set()
    for name in set(matrix()) - set(shipped_faults()):
        assert all(all_specs()[i].requires for i in matrix()[name]), f"{name} is in the matrix but not registered"


def test_matrix_names_existing_specs() -> None:
    unknown = {f: sorted(set(ids) - set(all_specs())) for f, ids in matrix().items() if set(ids) - set(all_specs())}
    assert unknown == {}


def test_every_hand_written_spec_is_proven_by_a_fault_or_says_why() -> None:
    """A spec that cannot fail is a defect: each is caught by some fault, or data/unproven.yaml says why."""
    caught = set().union(*map(set, matrix().values()))
    reasons = mutate.unproven_reasons()
    # Specs that cannot run here (accelerator-only, an absent optional package) or that are a known
    # divergence on cpu are proven where they run (tests/test_area_devices.py on a GPU, conformance mutate).
    def runs_here(s: spec_mod.Spec) -> bool:
        return run_in_process_applies(s) and not _known_applies(s, "cpu")
    silent = sorted(i for i, s in all_specs().items()
                    if _is_hand_written(s) and runs_here(s) and i not in caught and i not in reasons)
    assert silent == []


def _claims(fault: faults.Fault, s: spec_mod.Spec) -> bool:
    """Does the fault say it breaks this spec (a behaviour it covers, its id, or its family)?"""
    return any(b in s.covers or b == s.id or (b.endswith("/") and s.id.startswith(b)) for b in fault.breaks)


@pytest.mark.parametrize("name", sorted(matrix()))
def test_fault_is_caught(name: str) -> None:
    """Every listed spec fails with the fault active; neighbouring specs that the fault does not claim
    to break still pass (a fault must not look caught because it broke the world)."""
    fault = shipped_faults().get(name)
    if fault is None:
        pytest.skip(f"not run: fault {name} is registered only with an optional package (its specs need "
                    f"{sorted({r for i in matrix()[name] for r in all_specs()[i].requires})})")
    expected = matrix()[name]
    specs = all_specs()
    files = {specs[i].file for i in expected}
    # Bystanders: the neighbours in the same spec files that the fault does not claim to break (a few,
    # chosen deterministically, so that a fault breaking everything cannot look targeted).
    bystanders = sorted((s for s in specs.values() if s.file in files and s.id not in expected and not _claims(fault, s)),
                        key=lambda s: s.id)[:BYSTANDERS]
    undo = faults.activate(name)
    try:
        outcome: dict[str, Any] = {i: run_in_process(specs[i]) for i in expected}
        collateral = {s.id: run_in_process(s) for s in bystanders}
    finally:
        undo()
    missed = {i: o for i, o in outcome.items() if o[0] not in ("failed", "error")}
    assert missed == {}, f"{name}: these specs did not notice the fault"
    broken = {i: o[1][:300] for i, o in collateral.items() if o[0] in ("failed", "error")}
    assert broken == {}, f"{name}: failed specs it does not claim to break (covers {fault.breaks})"
