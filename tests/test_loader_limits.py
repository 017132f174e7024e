"""Hostile or malformed YAML is refused cheaply, at file:line, and never stops the other files loading."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conformance.errors import SpecError
from conformance.lang import spec, yamlmarks

BILLION_LAUGHS = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9))
VALID = (Path(__file__).parent / "fixtures" / "engine" / "run" / "pass.yaml").read_text()


def only_error(text: str, name: str = "bad.yaml", seconds: float = 0.5) -> SpecError:
    start = time.perf_counter()
    specs, errors = spec.load_text(text, name)
    assert time.perf_counter() - start < seconds
    assert specs == [] and len(errors) == 1, errors
    return errors[0]


@pytest.mark.parametrize("text, line", [
    (BILLION_LAUGHS, 1),
    ("id: &x [*x]\n", 1),                                   # a recursive alias
    ("title: ok\nid: &i a/b\nother: *i\n", 2),              # an anchor is refused where it is set
    ("- &s {id: a/b}\n- *s\n", 1),
], ids=["billion-laughs", "recursive", "anchor", "list"])
def test_anchors_and_aliases_are_refused_in_one_line_before_expanding(text: str, line: int):
    e = only_error(text)
    assert str(e) == f"bad.yaml:{line}: {yamlmarks.ALIAS_MESSAGE}"


@pytest.mark.parametrize("text, line, message", [
    ("id: a/b\ntitle: !!python/object:os.system x\n", 2, "YAML tags are not allowed"),
    ("id: !!str 5\n", 1, "YAML tags are not allowed"),
    ("id: ! x\n", 1, "YAML tags are not allowed"),
    ("id: " + "[" * 100 + "]" * 100 + "\n", 1, "nesting deeper than 64 levels"),
    ("id: a\n" + "x: " + "9" * 5000 + "\n", 2, "number too large"),
    ("a: 1\n---\nb: 2\n", 2, "one YAML document"),
    ("? [a, b]\n: 1\n", 1, "a mapping key must be a plain value"),
    ("a: " + "x" * (yamlmarks.MAX_CHARS + 1), 1, "spec file too large"),
    ("[" + ", ".join(["1"] * (yamlmarks.MAX_NODES + 1)) + "]", 1, f"more than {yamlmarks.MAX_NODES} values"),
], ids=["python-tag", "str-tag", "bang", "deep", "big-int", "two-documents", "list-key", "size", "values"])
def test_what_spec_files_do_not_need_is_refused_at_its_line(text: str, line: int, message: str):
    e = only_error(text, seconds=5)
    assert e.line == line and message in e.message, str(e)


def test_dates_stay_text_and_plain_data_loads_as_before():
    data, lines = yamlmarks.load("a: 2020-01-01\nb: [1, 0x10, 1.5, yes, ~, 'q']\nc: |\n  text\n")
    assert data == {"a": "2020-01-01", "b": [1, 16, 1.5, True, None, "q"], "c": "text\n"}
    assert lines[("b", 1)] == 2 and lines[("c",)] == 4


def test_a_bad_known_device_is_a_load_error_not_a_run_interruption():
    text = VALID.rstrip("\n") + "\nknown:\n  - {device: gpu0, reason: not a device}\n"
    e = only_error(text, "known.yaml")
    assert e.key == "known[0].device" and "unknown device 'gpu0'" in e.message
    assert e.line == text.count("\n")


def test_one_broken_file_never_stops_the_others(tmp_path: Path):
    (tmp_path / "a-laughs.yaml").write_text(BILLION_LAUGHS)
    (tmp_path / "b-binary.yaml").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "c-huge.yaml").write_text("a: " + "x" * (4 * yamlmarks.MAX_CHARS + 10))
    (tmp_path / "d-good.yaml").write_text(VALID)
    start = time.perf_counter()
    specs, errors = spec.load_paths([tmp_path])
    assert time.perf_counter() - start < 5
    assert [s.id for s in specs] == ["engine/run-pass"]
    assert sorted(Path(e.file).name for e in errors) == ["a-laughs.yaml", "b-binary.yaml", "c-huge.yaml"]
