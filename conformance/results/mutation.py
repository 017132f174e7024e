"""The document `conformance mutate --json` writes: which fault was caught by which spec."""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from conformance.results.contract import ResultsError, read_json, write

SCHEMA = "torch-conformance/mutate"
SCHEMA_VERSION = 1


@functools.cache
def schema() -> dict[str, Any]:
    return json.loads(resources.files("conformance.results").joinpath("schemas/mutate.schema.json").read_text())


def problems(doc: dict[str, Any]) -> list[str]:
    """Schema violations of a mutate document, as `path: message` (empty: valid)."""
    v = jsonschema.Draft202012Validator(schema())
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}"
            for e in sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))]


def save(doc: dict[str, Any], path: Path) -> None:
    found = problems(doc)
    if found:   # a bug of the writer, not the user's input: never write a document readers would reject
        raise AssertionError("mutate document does not match its schema: " + "; ".join(found))
    write(doc, path)


def load(path: str | Path) -> dict[str, Any]:
    """Read and validate a mutate document (for reports); ResultsError naming the file if unusable."""
    doc = read_json(path, "mutate document")
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or doc.get("schema_version") != SCHEMA_VERSION:
        raise ResultsError(f"{path}: not a {SCHEMA} version {SCHEMA_VERSION} document")
    found = problems(doc)
    if found:
        raise ResultsError(f"{path}: invalid mutate document at {found[0]}")
    return doc
