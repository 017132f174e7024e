"""Fuzzing the loader: whatever a spec file holds, `spec.load_text` answers with specs or SpecErrors.

Three sources of input: documents generated from the shipped JSON Schema (hypothesis-jsonschema),
valid spec files mutated at a random place (a key dropped, a wrong type, random unicode, deep
nesting, huge numbers), and random text.  Any other exception is a loader bug.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.errors import SpecError
from conformance.lang import spec

hypothesis_jsonschema = pytest.importorskip("hypothesis_jsonschema")

ROOT = Path(__file__).resolve().parent.parent
# Valid files to mutate: a few shipped specs of different shapes and the engine's own fixtures.
SEEDS = [ROOT / p for p in ("specs/views/view-shares-storage.yaml", "specs/creation/zeros-ones-full.yaml",
                            "specs/nn/linear.yaml", "tests/fixtures/engine/run/pass.yaml",
                            "specs/autograd/partial-derivatives.yaml")]
SEEDS = [p for p in SEEDS if p.exists()]

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


def answer(text: str) -> tuple[list[Any], list[Any]]:
    """load_text must return (specs, errors); anything it raises fails the test with the input."""
    specs, errors = spec.load_text(text, "fuzz.yaml")
    assert all(isinstance(s, spec.Spec) for s in specs)
    assert all(isinstance(e, SpecError) for e in errors)
    for e in errors:
        assert str(e).startswith("fuzz.yaml"), str(e)
        assert "internal error" not in e.message, str(e)
    return specs, errors


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


# -- from the schema ------------------------------------------------------------------------------

def _bounded(node: Any) -> Any:
    """The shipped schema with small sizes added: arrays of at most 3 items, free-form objects of at
    most 3 keys with plain values, strings of at most 30 characters.  Same shape, cheaper to draw."""
    if isinstance(node, list):
        return [_bounded(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _bounded(v) for k, v in node.items()}
    if out.get("type") == "array":
        out.setdefault("maxItems", 3)
    if out.get("type") == "object" and "properties" not in out:
        out.setdefault("maxProperties", 3)
        out.setdefault("additionalProperties", {"type": ["string", "integer", "number", "boolean", "null", "array"],
                                                "maxItems": 3, "maxLength": 20,
                                                "items": {"type": ["string", "integer", "number"], "maxLength": 20}})
    if out.get("type") == "string" and "pattern" not in out:
        out.setdefault("maxLength", 30)
    return out


SPEC_SCHEMA = _bounded({**spec.schema()["$defs"]["spec"], "$defs": spec.schema()["$defs"]})


@settings(FUZZ, max_examples=100)
@given(hypothesis_jsonschema.from_schema(SPEC_SCHEMA))
def test_documents_generated_from_the_schema_load_or_give_spec_errors(doc: Any):
    answer(dump(doc))
    answer(dump([doc, doc]))   # a file holding a list of specs (here: a duplicate id)


# -- mutated valid files --------------------------------------------------------------------------

def _seed_data() -> list[Any]:
    return [yaml.safe_load(p.read_text()) for p in SEEDS]


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, prefix + (i,))
    return out


def _deep(depth: int) -> Any:
    value: Any = "x"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**300, max_value=10**1000),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), max_size=20),
    st.sampled_from(["x.", "torch.", "(((", "x[", "lambda: 0", "__import__('os')", "x" * 500, "\x00", "∀∃",
                     "'unterminated", "1e999", "-", "*", "&a", "!!python/object:os.system", "{", "[", ""]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.integers(1, 80).map(_deep),
)


def _mutate(data: Any, path: tuple, how: str, value: Any) -> Any:
    if not path:
        return value if how != "drop" else None
    parent = data
    for p in path[:-1]:
        parent = parent[p]
    last = path[-1]
    if how == "drop":
        del parent[last]
    elif how == "replace":
        parent[last] = value
    elif how == "wrap":
        parent[last] = [parent[last], value]
    elif how == "rename" and isinstance(parent, dict):
        parent[str(value)[:30] if not isinstance(value, dict | list) else "key"] = parent.pop(last)
    return data


@settings(FUZZ, max_examples=150)   # each example builds whole specs: the most expensive of the three
@given(st.data())
def test_mutated_valid_specs_load_or_give_spec_errors(data: st.DataObject):
    seeds = _seed_data()
    doc = seeds[data.draw(st.integers(0, len(seeds) - 1), label="seed file")]
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        paths = _paths(doc)
        path = data.draw(st.sampled_from(paths), label="path")
        how = data.draw(st.sampled_from(["drop", "replace", "wrap", "rename"]), label="how")
        doc = _mutate(doc, path, how, data.draw(VALUES, label="value"))
    try:
        text = dump(doc)
    except (yaml.YAMLError, RecursionError, ValueError):
        return  # not every Python value is YAML
    answer(text)


# -- random text ----------------------------------------------------------------------------------

YAML_PIECES = st.sampled_from(["id: ", "title: ", "expect:", "- ", "  ", "\n", ": ", "[", "]", "{", "}", "&a ", "*a",
                               "!!str ", "? ", "|\n", ">-\n", "'", '"', "#", "---\n", "...\n", "%YAML 1.1\n",
                               "steps:\n  - ", "given:\n  x: {tensor: {}}\n", "equal: [x, x]", "\t", "\ufeff"])


@FUZZ
@given(st.one_of(st.text(max_size=300),
                 st.lists(YAML_PIECES | st.text(max_size=8), max_size=60).map("".join),
                 st.binary(max_size=300).map(lambda b: b.decode("utf-8", errors="replace"))))
def test_random_text_loads_or_gives_spec_errors(text: str):
    answer(text)


def test_a_seed_file_itself_loads():
    """The mutation test starts from valid files: they must load, or it fuzzes nothing useful."""
    for p in SEEDS:
        specs, errors = spec.load_text(p.read_text(), str(p))
        assert specs and not errors, errors
    assert len(SEEDS) >= 3
