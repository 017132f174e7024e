"""torchvision specs (B-TV-1..2): skipped with a reason where torchvision is absent, never passed;
where it is installed, the clean run passes and each transform fault fails exactly the specs listed.

Runs are the real suite in a pytest subprocess (the `suite` fixture) on the CPU with the ci profile.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml
from conftest import SPECS

from conformance.lang import drift, spec
from conformance.tools import faults
from conformance.tools.faults import vision

AREA = SPECS / "vision"
BEHAVIOURS = {"B-TV-1", "B-TV-2"}
HAVE_TORCHVISION = importlib.util.find_spec("torchvision") is not None
needs_torchvision = pytest.mark.skipif(not HAVE_TORCHVISION, reason="torchvision not installed")

TO_TENSOR = {"vision/to-tensor-hwc-uint8", "vision/to-tensor-full-range"}


def area_specs() -> list[spec.Spec]:
    specs, errors = spec.load_paths([AREA])
    assert not errors, errors
    return specs


def test_specs_cover_both_behaviours_and_declare_torchvision() -> None:
    specs = area_specs()
    assert BEHAVIOURS <= set().union(*(s.covers for s in specs))
    assert all(s.requires == ("torchvision",) for s in specs)


def test_faults_are_declared_and_registered_only_with_torchvision() -> None:
    caught = {f: ids for f, ids in yaml.safe_load((Path(__file__).with_name("fault_matrix.yaml")).read_text()).items()
              if all(i.startswith("vision/") for i in ids)}
    assert set(vision.DECLARED) == set(caught)
    assert all(set(breaks) <= BEHAVIOURS for _, breaks, _ in vision.DECLARED.values())
    assert all(target.startswith("torchvision.transforms.") for target, _, _ in vision.DECLARED.values())
    assert set().union(*map(set, caught.values())) == {s.id for s in area_specs()}
    registered = {n for n, f in faults.catalogue().items() if f.make.__module__ == "conformance.tools.faults.vision"}
    # Without torchvision the targets cannot be patched: listing them would only make `--fault` crash.
    assert registered == (set(caught) if HAVE_TORCHVISION else set())


@pytest.mark.skipif(HAVE_TORCHVISION, reason="torchvision is installed: the specs run instead")
def test_without_torchvision_every_spec_is_skipped_with_the_reason(suite) -> None:
    doc = suite([AREA])
    cpu = [r for r in doc["results"] if r["device"] == "cpu"]
    assert {r["spec_id"] for r in cpu} == {s.id for s in area_specs()}
    for r in cpu:
        assert r["status"] == "skipped", r      # not run, so never reported as passed
        assert "torchvision not installed" in r["reason"], r["reason"]
    assert doc["summary"]["passed"] == 0
    assert doc["exit_status"] == 0


@needs_torchvision
def test_quotes_are_in_the_installed_docstrings() -> None:
    found = {s.id: drift.check_one(s.id, s.source) for s in area_specs()}
    assert {k: d.status for k, d in found.items() if d.status != "current"} == {}


