"""The fault catalogue itself: size, behaviour ids, targets, exact undo, unknown names, xdist workers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conformance.lang import behaviours, spec
from conformance.tools import faults

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "mutate"
ABSENT = object()
MIN_FAULTS = 40


def real_catalogue() -> dict[str, faults.Fault]:
    """The shipped catalogue only: test-only faults a developer's environment may have loaded are left out."""
    return {n: f for n, f in faults.catalogue().items()
            if getattr(f.make, "__module__", "").startswith("conformance.tools.faults.")}


def test_catalogue_has_at_least_40_faults() -> None:
    cat = real_catalogue()
    areas = Counter(f.make.__module__.rsplit(".", 1)[-1] for f in cat.values())
    # Expected to fail while the catalogue is being written: the message says where it stands.
    n = len(cat)
    assert n >= MIN_FAULTS, (
        f"fault catalogue has {n} faults, the issue asks for at least {MIN_FAULTS}; "
        f"per area: {dict(sorted(areas.items()))}")


def test_every_fault_names_what_it_breaks() -> None:
    # `breaks` holds behaviour ids of behaviours.md, spec ids, or a family prefix ending in "/"
    # (see mutate.targets_of); each must name something that exists, or the fault proves nothing.

    specs, _ = spec.load_paths([ROOT / "specs"])
    ids = {s.id for s in specs}
    known = behaviours.ids() | ids

    def exists(b: str) -> bool:
        return b in known or (b.endswith("/") and any(i.startswith(b) for i in ids))

    problems = {n: [b for b in f.breaks if not exists(b)] or "breaks nothing"
                for n, f in real_catalogue().items() if not f.breaks or not all(map(exists, f.breaks))}
    assert not problems, f"faults naming behaviours or specs that do not exist: {problems}"


def test_every_fault_is_described_and_has_a_usable_name() -> None:
    # Names travel comma-separated on command lines and in an environment variable.
    bad = [n for n, f in real_catalogue().items()
           if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", n) or len(f.description.strip()) < 10]
    assert not bad, f"faults with an unusable name or no real description: {bad}"


def test_every_target_resolves_in_the_installed_torch() -> None:
    problems = {}
    for name, f in real_catalogue().items():
        try:
            owner, attr = faults.registry._owner(f.target)
            getattr(owner, attr)
        except (AttributeError, ValueError, ImportError) as e:
            problems[name] = f"{f.target}: {type(e).__name__}: {e}"
    assert not problems, f"fault targets that do not resolve: {problems}"


def _snapshot(owner: Any, attr: str) -> tuple[Any, Any]:
    return vars(owner).get(attr, ABSENT), getattr(owner, attr)


def test_activating_and_undoing_each_fault_restores_the_original_exactly() -> None:
    problems: dict[str, str] = {}
    for name, f in real_catalogue().items():
        owner, attr = faults.registry._owner(f.target)
        own_before, seen_before = _snapshot(owner, attr)
        undo = faults.activate([name])
        try:
            if getattr(owner, attr) == seen_before:
                problems[name] = f"activating it leaves {f.target} unchanged"
        finally:
            undo()
        own_after, seen_after = _snapshot(owner, attr)
        # `is` on what the owner holds itself: an inherited method must not come back as a shadowing copy.
        if own_after is not own_before:
            problems[name] = (f"undo left {f.target} as {own_after!r} in the owner's namespace "
                              f"(was {'inherited' if own_before is ABSENT else repr(own_before)})")
        elif seen_after != seen_before:
            problems[name] = f"undo did not restore {f.target}"
    assert not problems, problems


def test_an_unknown_name_raises_and_patches_nothing() -> None:
    import torch
    first = next(iter(real_catalogue().values()), None)
    names = ([first.name] if first else []) + ["no-such-fault"]
    before = {a: vars(torch.Tensor).get(a, ABSENT) for a in dir(torch.Tensor)}
    with pytest.raises(faults.UnknownFault, match="unknown fault 'no-such-fault'"):
        faults.activate(names)
    after = {a: vars(torch.Tensor).get(a, ABSENT) for a in dir(torch.Tensor)}
    assert after == before
    with pytest.raises(faults.UnknownFault, match="did you mean"):
        faults.parse("view-copiez" if "view-copies" in real_catalogue() else (first.name + "x" if first else "x"))


def _pytest(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in (faults.ENV, faults.MODULES_ENV, "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider", "--device", "cpu"],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_fault_is_active_inside_xdist_workers(how: str, tmp_path: Path) -> None:
    from conformance import results
    out = tmp_path / "r.json"
    env = {faults.MODULES_ENV: str(FIXTURES / "faults.py")}
    args = [str(FIXTURES / "specs" / "creation.yaml"), "-n", "2", "--conformance-json", str(out)]
    if how == "option":
        args += ["--fault", "fixture-zeros-are-ones"]
    else:
        env[faults.ENV] = "fixture-zeros-are-ones"
    proc = _pytest(args, env)
    assert "2 workers" in proc.stdout, proc.stdout[-2000:]   # the specs ran in workers, not the controller
    doc = results.load(out)
    status = {r["spec_id"]: r["status"] for r in doc["results"]}
    # The fault breaks torch.zeros only: the zeros spec fails in its worker, the arange spec still passes.
    assert status == {"fixture/zeros-are-zero": "failed", "fixture/arange-excludes-end": "passed"}, \
        proc.stdout[-3000:]
    assert doc["environment"]["fault"] == "fixture-zeros-are-ones"
    assert proc.returncode == 1


def test_an_unknown_fault_is_a_usage_error_of_the_pytest_run() -> None:
    proc = _pytest([str(FIXTURES / "specs" / "creation.yaml"), "--fault", "no-such-fault"], {})
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "unknown fault 'no-such-fault'" in proc.stderr + proc.stdout
