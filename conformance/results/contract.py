"""One run's results document: its vocabulary, schema, reading and atomic writing.

Defined once here; the recorder writes it, merge/gate/report/mutate read it.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from conformance.errors import ConformanceError

SCHEMA = "torch-conformance/results"
SCHEMA_VERSION = 1
# Every status an item can end in; `crashed` and `timeout` come from the isolation of a run.
STATUSES = ("passed", "failed", "error", "crashed", "timeout", "skipped", "xfailed", "xpassed")
FAILING = ("failed", "error", "crashed", "timeout")
# A known divergence that holds (xfailed) or no longer shows (xpassed) is not a failure.
PASSING = ("passed", "xfailed", "xpassed")
# Results of a spec file that did not load carry this device: they belong to every device of the run.
ANY_DEVICE = "*"


class ResultsError(ConformanceError):
    """A file that is not a usable results document; the message names the file."""


@functools.cache
def schema() -> dict[str, Any]:
    text = resources.files("conformance.results").joinpath("schemas/results.schema.json").read_text()
    return json.loads(text)


def validate(doc: Any, where: str) -> None:
    """Raise ResultsError (naming `where`) unless `doc` is a results document this tool reads."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise ResultsError(f"{where}: not a torch-conformance results file (missing \"schema\": \"{SCHEMA}\")")
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise ResultsError(f"{where}: unknown results schema version {doc.get('schema_version')!r}; "
                           f"this tool reads version {SCHEMA_VERSION}")
    errors = sorted(jsonschema.Draft202012Validator(schema()).iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        at = "/".join(map(str, first.absolute_path)) or "(top level)"
        raise ResultsError(f"{where}: invalid results document at {at}: {first.message}")


def read_json(path: str | Path, what: str = "results file") -> Any:
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{p}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ResultsError(f"{p}: cannot read: {e}") from None
    except json.JSONDecodeError as e:
        raise ResultsError(f"{p}: not valid JSON (truncated or corrupt?) at line {e.lineno}: {e.msg}") from None


def load(path: str | Path) -> dict[str, Any]:
    """Read and validate a results file; ResultsError (naming the file) on anything unusable."""
    doc = read_json(path)
    validate(doc, str(path))
    return doc


def write_text(text: str, out: Path) -> None:
    """Write beside `out`, then rename: a reader never sees half a file."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; results and pages are meant to be shared
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write(doc: dict[str, Any], path: Path) -> None:
    write_text(json.dumps(doc, indent=1, default=str), Path(path))
