"""The sandbox against a red-team corpus: every attempted escape is refused, and leaves no trace.

tests/fixtures/redteam/*.yaml holds one attempted escape per file (frames, foreign functions
re-exported inside torch, denied functions reached another way, three-argument type(), file I/O,
processes, shared state, source.object, memory safety, resource bombs).  Each file's header says how it must end:

    # expect: load <text>      refused when the file is loaded: a SpecError at file:line, message has <text>
    # expect: run <text>       loads, and running it fails with a NameRefused whose message has <text>
    # expect: restored         runs, and the process-wide state it changed is back afterwards

and none may leave the marker file it would write on success.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings

from conformance.engine import runner
from conformance.errors import SpecError
from conformance.lang import names, spec

REDTEAM = Path(__file__).parent / "fixtures" / "redteam"
FILES = sorted(REDTEAM.glob("*.yaml"))
HEADER = re.compile(r"^# expect: (load|run|restored) ?(.*)$", re.M)
FAST = settings(max_examples=2, derandomize=True, database=None, deadline=None, report_multiple_bugs=False,
                suppress_health_check=list(HealthCheck))


def marker(path: Path) -> Path:
    return Path(f"/tmp/conformance-redteam-marker-{path.stem}")


def expectation(path: Path) -> tuple[str, str]:
    m = HEADER.search(path.read_text())
    assert m, f"{path.name}: no '# expect:' header"
    return m.group(1), m.group(2).strip()


def global_state() -> tuple:
    return (torch.get_default_dtype(), torch.is_grad_enabled(), torch.are_deterministic_algorithms_enabled(),
            torch.get_default_device(), np.geterr(), torch.get_printoptions() if hasattr(torch, "get_printoptions")
            else None, np.get_printoptions(), torch.get_num_threads())


def run_spec(s: spec.Spec) -> None:
    FAST(runner.build_test(s, "cpu", runner.Record()))()


def test_the_corpus_covers_every_class_of_escape():
    classes: dict[str, int] = {}
    for path in FILES:
        klass = re.search(r"^# class: (\S+)$", path.read_text(), re.M)
        assert klass, f"{path.name}: no '# class:' header"
        classes[klass.group(1)] = classes.get(klass.group(1), 0) + 1
    assert len(FILES) >= 45
    assert set(classes) >= {"values", "internals", "foreign", "denied", "type3", "files", "process", "state",
                            "object", "memory", "bombs"}, classes
    assert min(classes.values()) >= 4, classes


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_escape_is_refused(path: Path):
    mark = marker(path)
    mark.unlink(missing_ok=True)
    mode, text = expectation(path)
    display = f"redteam/{path.name}"
    before = global_state()
    t0 = time.perf_counter()
    specs, errors = spec.load_file(path, display=display)
    if mode == "load":
        assert errors and not specs, f"{path.name} loaded: {specs}"
        first = errors[0]
        assert isinstance(first, SpecError)
        assert first.line and str(first).startswith(f"{display}:{first.line}: "), str(first)
        assert any(t.strip() in first.message for t in text.split(" | ")), str(first)
    else:
        assert not errors, [str(e) for e in errors]
        assert len(specs) == 1
        if mode == "run":
            with pytest.raises(names.NameRefused) as info:
                run_spec(specs[0])
            assert any(t.strip() in str(info.value) for t in text.split(" | ")), str(info.value)
            assert "spec refused" in str(info.value)
        else:
            run_spec(specs[0])
            assert global_state() == before, "process-wide state changed by the spec was not restored"
    assert time.perf_counter() - t0 < 60, "a refusal must not take the time of the attack"
    assert not mark.exists(), f"{path.name} escaped: {mark} was written"
    assert global_state() == before


def test_type_names_are_never_imported():
    sys.modules.pop("this", None)
    for name in ("storage-type-imports-a-module", "typed-storage-type-imports-a-module"):
        specs, errors = spec.load_file(REDTEAM / f"{name}.yaml")
        with pytest.raises(names.NameRefused, match="a type name must name an allowed torch class"):
            run_spec(specs[0])
    assert "this" not in sys.modules


def test_source_objects_are_never_imported():
    sys.modules.pop("numpy.f2py", None)
    specs, errors = spec.load_file(REDTEAM / "object-lazy-module.yaml")
    assert errors and "numpy.f2py" not in sys.modules


def test_refusals_are_not_caught_by_a_raises_check(tmp_path: Path):
    # `raises: RuntimeError` around an escape must not turn the refusal into a pass
    path = tmp_path / "masked.yaml"
    path.write_text((REDTEAM / "type3-through-a-variable.yaml").read_text().replace(
        "expect:\n- holds: 'True'",
        "expect:\n- raises: TypeError\n  when: \"t = type\\nA = t('A', (), {})\""))
    specs, errors = spec.load_file(path)
    assert not errors, errors
    with pytest.raises(Exception) as info:
        run_spec(specs[0])
    assert "spec refused" in str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["torch-os-system", "type3-through-map", "bomb-nested-loops",
                                  "set-default-dtype-restored"])
def test_escape_is_refused_through_pytest(name: str, tmp_path: Path):
    """The same corpus, run the way users run specs: `python -m pytest FILE` with the plugin."""
    path = REDTEAM / f"{name}.yaml"
    marker(path).unlink(missing_ok=True)
    mode, text = expectation(path)
    proc = subprocess.run([sys.executable, "-m", "pytest", str(path), "-q", "-p", "no:cacheprovider",
                           "--device", "cpu", "--hypothesis-profile", "mutate"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    if mode == "restored":
        assert proc.returncode == 0, out[-2000:]
    else:
        assert proc.returncode != 0, out[-2000:]
        assert any(t.strip() in out for t in text.split(" | ")), out[-2000:]
    assert not marker(path).exists()
