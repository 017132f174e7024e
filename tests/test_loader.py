"""Spec loading: every malformed spec is rejected at the right file:line, with a message that helps."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.errors import SpecError
from conformance.lang import spec, yamlmarks

ENGINE = Path(__file__).parent / "fixtures" / "engine"
MALFORMED = ENGINE / "malformed"

# file -> (line the error must point at, substring of the message, substring of the hint or None)
CASES: dict[str, tuple[int, str, str | None]] = {
    "yaml-syntax.yaml": (9, "YAML syntax error", "indentation"),
    "empty.yaml": (1, "empty spec file", None),
    "unknown-top-key.yaml": (7, "unknown key 'exepct'", "did you mean 'expect'?"),
    "covers-string.yaml": (3, "expected array, got str", None),
    "missing-required.yaml": (1, "'expect' is required", None),
    "duplicate-key.yaml": (11, "duplicate key 'steps'", "last one"),
    "unknown-torch-name.yaml": (9, "unknown name 'torch.frobnicate'", None),
    "builtin-open.yaml": (8, "name 'open' is not allowed", None),
    "builtin-getattr.yaml": (10, "name 'getattr' is not allowed", None),
    "builtin-dunder-import.yaml": (8, "name '__import__' is not allowed", None),
    "dunder-attribute.yaml": (10, "dunder attribute '__class__'", None),
    "import-statement.yaml": (8, "import statements are not allowed", None),
    "lambda.yaml": (8, "lambdas are not allowed", None),
    # the `def` is on the second line of a block scalar: the error points at that very line
    "def-block.yaml": (11, "function bodies are not allowed", None),
    "undefined-variable.yaml": (12, "undefined name 'valeu'", "did you mean 'value'?"),
    "unknown-check.yaml": (11, "unknown check kind 'equals'", "did you mean 'equal'?"),
    "check-arity.yaml": (10, "check 'equal' takes 2 argument(s)", "equal: [actual, expected]"),
    "unknown-check-option.yaml": (11, "unknown option 'rtoll' for check 'close'", "rtol"),
    "unknown-dtype.yaml": (8, "unknown dtype 'float33'", None),
    "unknown-device.yaml": (7, "unknown device 'gpu'", "cuda"),
    "unknown-behaviour.yaml": (3, "unknown behaviour id 'B-CR-99'", "did you mean"),
    "invalid-version.yaml": (7, "invalid version specifier '>=>2.1'", "PEP 440"),
    "unknown-given-kind.yaml": (9, "unknown input kind 'tenser'", "did you mean 'tensor'?"),
    "unknown-given-option.yaml": (12, "unknown option 'contigous' for tensor", "did you mean 'contiguous'?"),
    "raises-non-exception.yaml": (8, "'len' is not an allowed exception type", None),
    "file-io-torch-save.yaml": (10, "attribute 'save' reads or writes files; use helpers.roundtrip", None),
    "module-outside-allow-list.yaml": (8, "module 'os', which is outside the allow-list", None),
    "requires-grad-int.yaml": (8, "only floating dtypes can require grad", None),
}


def test_every_malformed_fixture_has_an_expectation():
    on_disk = {p.name for p in MALFORMED.glob("*.yaml")}
    assert on_disk == set(CASES)
    assert len(on_disk) >= 12


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_spec_is_rejected_at_file_line(name: str):
    line, message, hint = CASES[name]
    display = f"malformed/{name}"
    specs, errors = spec.load_file(MALFORMED / name, display=display)
    assert specs == [], f"{name} must not load"
    assert errors, f"{name} loaded without an error"
    first = errors[0]
    assert isinstance(first, SpecError)
    assert (first.file, first.line) == (display, line), str(first)
    assert message in first.message, str(first)
    if hint is not None:
        assert hint in first.hint, str(first)
    # The one-line form is what `validate` and pytest show: it starts with file:line.
    assert str(first).startswith(f"{display}:{line}: ")


def test_yaml_syntax_error_also_says_where_the_unclosed_mapping_began():
    _, errors = spec.load_file(MALFORMED / "yaml-syntax.yaml")
    assert "starts at line 8" in errors[0].message


def test_unknown_top_level_key_names_the_key_path():
    _, errors = spec.load_file(MALFORMED / "unknown-top-key.yaml")
    assert errors[0].key == "exepct"


def test_expression_errors_carry_the_key_path():
    _, errors = spec.load_file(MALFORMED / "undefined-variable.yaml")
    assert errors[0].key == "expect[0].equal[1]"
    _, errors = spec.load_file(MALFORMED / "unknown-given-option.yaml")
    assert errors[0].key == "given.x.tensor.contigous"


def test_duplicate_ids_across_two_files_point_at_the_second_id():
    folder = ENGINE / "duplicate-ids"
    specs, errors = spec.load_paths([folder])
    assert [s.id for s in specs] == ["engine/same-id", "engine/same-id"]
    assert len(errors) == 1
    err = errors[0]
    assert err.file.endswith("second.yaml")
    assert err.line == 7  # the `id:` line, after a comment and other keys
    assert "duplicate spec id 'engine/same-id'" in err.message
    assert "first.yaml:1" in err.hint


def test_one_broken_spec_does_not_hide_the_others_in_its_file():
    specs, errors = spec.load_file(ENGINE / "mixed" / "several.yaml", display="several.yaml")
    assert [s.id for s in specs] == ["engine/mixed-first", "engine/mixed-third"]
    assert len(errors) == 1
    assert (errors[0].line, errors[0].key) == (21, "steps[0]")
    assert "unknown name 'torch.zeroes'" in errors[0].message
    assert "torch.zeros" in errors[0].hint


def test_every_problem_of_a_folder_is_reported():
    specs, errors = spec.load_paths([MALFORMED])
    assert specs == []
    reported = {Path(e.file).name for e in errors}
    assert reported == set(CASES)


def test_a_valid_spec_compiles_with_lines_and_inputs_in_order():
    specs, errors = spec.load_file(ENGINE / "run" / "cpu-only.yaml", display="cpu-only.yaml")
    assert errors == []
    (s,) = specs
    assert s.id == "engine/run-cpu-only" and s.area == "engine"
    assert s.devices == ("cpu",) and s.max_examples == 3
    assert [name for name, _ in s.given] == ["a"]
    assert [e.kind for e in s.expect] == ["shares_memory", "dtype"]
    assert [e.line for e in s.expect] == [14, 15]
    assert (s.line, s.id_line) == (1, 1)


def test_list_files_locate_each_spec_and_its_keys():
    text = (ENGINE / "mixed" / "several.yaml").read_text()
    data, lines = yamlmarks.load(text)
    assert isinstance(data, list) and len(data) == 3
    assert yamlmarks.line_of(lines, (0, "id")) == 2
    assert yamlmarks.line_of(lines, (2, "expect", 0)) == 35
    # an unrecorded path falls back to its nearest recorded ancestor
    assert yamlmarks.line_of(lines, (2, "expect", 0, "nothing")) == 35
    assert yamlmarks.format_path(("expect", 2, "shape")) == "expect[2].shape"


def test_a_file_holding_a_scalar_is_rejected():
    specs, errors = spec.load_text("just a string\n", "scalar.yaml")
    assert specs == [] and errors[0].line == 1
    assert "mapping or a list of mappings" in errors[0].message


def test_an_unreadable_file_is_a_located_error(tmp_path: Path):
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"id: caf\xe9\n")
    specs, errors = spec.load_file(bad)
    assert specs == [] and "cannot read spec file" in errors[0].message


def test_source_seed_is_a_deprecated_spelling_of_note() -> None:
    import warnings

    text = (Path(__file__).resolve().parent.parent / "specs" / "arith" / "mm.yaml").read_text()
    assert "\n  note: " in text or "\n    note: " in text
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        specs, errors = spec.load_text(text.replace("note:", "seed:", 1), "old.yaml")
    assert errors == [] and specs[0].source["note"]
    assert "seed" not in specs[0].source
    assert any("old.yaml:" in str(w.message) and "source.seed is deprecated" in str(w.message) for w in caught)
