"""Documentation drift: the quote is found in the real docstring, and a changed docstring is noticed."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from conformance.lang import drift

SOURCE = {"object": "torch.from_numpy", "quote": "The returned tensor and ndarray share the same memory."}


def _with_doc(monkeypatch: pytest.MonkeyPatch, doc: str) -> None:
    original = torch.from_numpy

    def from_numpy(a):  # a stand-in whose only difference is its docstring
        return original(a)

    from_numpy.__doc__ = doc
    monkeypatch.setattr(torch, "from_numpy", from_numpy)


def test_real_docstring_is_current() -> None:
    d = drift.check_one("numpy-bridge/x", SOURCE)
    assert d.status == "current", d


def test_reworded_docstring_is_reported_with_a_diff(monkeypatch: pytest.MonkeyPatch) -> None:
    _with_doc(monkeypatch, "Creates a Tensor from a numpy.ndarray.\n\nThe returned tensor and :attr:`ndarray` "
                           "share the same underlying memory buffer.")
    d = drift.check_one("numpy-bridge/x", SOURCE)
    assert d.status == "reworded", d
    assert d.similarity is not None and 0.8 <= d.similarity < 1.0
    assert d.diff and "underlying" in d.diff


def test_dropped_promise_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    _with_doc(monkeypatch, "Creates a Tensor from a numpy.ndarray. The result is always a fresh copy.")
    d = drift.check_one("numpy-bridge/x", SOURCE)
    assert d.status == "missing", d


def test_no_object_or_no_docstring_is_no_quote(monkeypatch: pytest.MonkeyPatch) -> None:
    assert drift.check_one("a/b", {"quote": "something promised"}).status == "no-quote"
    _with_doc(monkeypatch, "")
    assert drift.check_one("a/b", SOURCE).status == "no-quote"


def test_markup_is_normalised() -> None:
    assert drift.normalise("Returns :attr:`self`  with ``dim``\n  *kept*") == "returns self with dim kept"
    assert drift.normalise(":func:`~torch.foo.bar` x") == "bar x"


def test_unknown_object_is_a_load_error(tmp_path) -> None:
    from conformance.lang import spec
    f = tmp_path / "s.yaml"
    f.write_text(
        "id: a/b\ntitle: t t t\ncovers: [B-CR-1]\n"
        "source: {doc: 'https://pytorch.org', object: torch.no_such_thing, quote: 'words here'}\n"
        "expect: [{holds: 'True'}]\n"
    )
    specs, errors = spec.load_file(f)
    assert not specs and len(errors) == 1
    assert errors[0].line == 4 and "does not exist" in errors[0].message and errors[0].key == "source.object"


def test_cli_exit_codes(tmp_path) -> None:
    good = tmp_path / "specs" / "good.yaml"
    good.parent.mkdir()
    good.write_text(
        "id: a/good\ntitle: t t t\ncovers: [B-NP-1]\n"
        f"source: {{doc: 'https://pytorch.org', object: torch.from_numpy, quote: '{SOURCE['quote']}'}}\n"
        "expect: [{holds: 'True'}]\n"
    )
    run = [sys.executable, "-m", "conformance.cli", "docs-check", str(good.parent)]
    ok = subprocess.run(run, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "current 1" in ok.stdout
    bad = tmp_path / "specs" / "bad.yaml"
    bad.write_text(good.read_text().replace("a/good", "a/bad").replace("share the same memory", "are always copies"))
    drift = subprocess.run(run, capture_output=True, text=True)
    assert drift.returncode == 1, drift.stdout + drift.stderr
    assert "a/bad" in drift.stdout


def test_page_quotes_and_absent_optional_packages_are_no_quote() -> None:
    page = drift.check_one("a/b", {**SOURCE, "quote_from": "page"})
    assert page.status == "no-quote" and "page" in (page.reason or "")
    absent = drift.check_one("a/b", {"object": "no_such_package_xyz.thing", "quote": "words words"})
    assert absent.status == "no-quote" and "not installed" in (absent.reason or "")


def test_every_spec_of_the_suite_names_its_documented_object() -> None:
    from pathlib import Path

    from conformance.lang import spec
    specs, errors = spec.load_paths([Path(__file__).resolve().parent.parent / "specs"])
    assert not errors, errors[:3]
    assert [s.id for s in specs if not s.source.get("object")] == []
