"""Results from many machines as one document set: split by environment, deduplicated, merged.

An *environment* is one torch build (its version string), one NumPy major version and one device
(`cuda`, with its model: `NVIDIA H100 80GB HBM3`; `cpu` with the machine's architecture).  A run's
document covers several devices, so it is split into one slice per device; slices of the same
environment from different runs (CI shards, several GPU boxes that all also ran `cpu`) are merged
into one results document.  When two runs both hold the same spec x device of an environment, the
newer run (`created`) wins and a warning names both files.

The merged output is a *results set*: `{"schema": "torch-conformance/results-set", "documents": [...]}`,
each document a valid results document (one environment each).  `load_documents` reads either form,
so the gate and the baseline take single runs and sets alike.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.results import contract as results

SET_SCHEMA = "torch-conformance/results-set"
SET_VERSION = 1
STATUSES = results.STATUSES
ANY_DEVICE = results.ANY_DEVICE


@dataclass(frozen=True, order=True)
class Env:
    """One torch build x NumPy major x device: the unit in which results are compared."""

    torch: str
    numpy: str       # major version only: "2"; a patch release of NumPy is not a new environment
    device: str      # the device string the run used: "cpu", "cuda", "cuda:1", a backend's name
    model: str       # device model ("" when the run did not know it)
    available: bool = True

    @property
    def where(self) -> str:
        if not self.available:
            return f"{self.device} (not available)"
        return f"{self.device} ({self.model})" if self.model else self.device

    @property
    def label(self) -> str:
        return f"torch {self.torch}, numpy {self.numpy}.x, {self.where}"

    @property
    def slug(self) -> str:
        """A file-name-safe form, for `--split`."""
        raw = f"torch{self.torch}-np{self.numpy}-{self.device}-{self.model if self.available else 'absent'}"
        return "".join(c if c.isalnum() or c in ".-_" else "_" for c in raw)

    def versionless(self) -> Env:
        """The device alone: how `gate --across-versions` pairs environments."""
        return Env("*", "*", self.device, self.model, self.available)


def env_of(doc: dict[str, Any], device: str) -> Env:
    env = doc["environment"]
    target = env.get("execution_targets", {}).get(device) or {}
    devs = {d["name"]: d for d in env.get("devices", [])}
    present = bool(devs.get(device, {}).get("available", True))
    model = (target.get("device_model") or "") if present else ""
    return Env(env["torch"]["version"], str(env.get("numpy", "?")).split(".")[0], device, model, present)


def doc_devices(doc: dict[str, Any]) -> list[str]:
    """Devices a run covered: those it declared, then any only its results name."""
    out = [d["name"] for d in doc["environment"].get("devices", [])]
    for r in doc["results"]:
        if r["device"] != ANY_DEVICE and r["device"] not in out:
            out.append(r["device"])
    return out


def envs_of(doc: dict[str, Any]) -> dict[Env, list[dict[str, Any]]]:
    """Split one run's results by environment."""
    devs = doc_devices(doc)
    out: dict[Env, list[dict[str, Any]]] = {env_of(doc, d): [] for d in devs}
    by_device = {d: env_of(doc, d) for d in devs}
    for r in doc["results"]:
        targets = list(by_device.values()) if r["device"] == ANY_DEVICE else [by_device[r["device"]]]
        for e in targets:
            out[e].append(r)
    return out


# -- reading -------------------------------------------------------------------------------------


def _check_doc(doc: Any, where: str) -> None:
    """The checks `results.load` makes, for a document held inside a results set."""
    results.validate(doc, where)


def load_documents(path: str | Path) -> list[dict[str, Any]]:
    """The results documents in PATH (one run, or a results set); ResultsError naming the file."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return [results.load(p)]  # let the canonical loader word the error
    if not (isinstance(data, dict) and data.get("schema") == SET_SCHEMA):
        return [results.load(p)]
    if data.get("schema_version") != SET_VERSION:
        raise results.ResultsError(f"{p}: unknown results-set version {data.get('schema_version')!r}; "
                                   f"this tool reads version {SET_VERSION}")
    docs = data.get("documents")
    if not isinstance(docs, list):
        raise results.ResultsError(f"{p}: results set without a \"documents\" list")
    for i, d in enumerate(docs):
        _check_doc(d, f"{p}: documents[{i}]")
    return docs


# -- merging -------------------------------------------------------------------------------------


@dataclass
class _Part:
    source: str                 # file name, for warnings
    doc: dict[str, Any]
    order: int                  # argument position: breaks ties between equal timestamps

    @property
    def age(self) -> tuple[str, str, int]:
        return (_utc(self.doc["created"]), _utc(self.doc.get("started") or self.doc["created"]), self.order)


def _utc(stamp: str) -> str:
    """ISO timestamps compared as UTC: runners in different time zones still order correctly."""
    try:
        t = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat()


@dataclass
class Merged:
    documents: list[dict[str, Any]]
    envs: list[Env]                         # parallel to documents
    warnings: list[str] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)


def merge(inputs: Iterable[tuple[str, dict[str, Any]]]) -> Merged:
    """Merge (name, document) pairs into one results document per environment."""
    parts = [_Part(name, doc, i) for i, (name, doc) in enumerate(inputs)]
    by_env: dict[Env, list[tuple[_Part, list[dict[str, Any]]]]] = {}
    warnings: list[str] = []
    for part in parts:
        if part.doc["environment"].get("fault"):
            warnings.append(f"{part.source}: ran with fault {part.doc['environment']['fault']!r} active; "
                            "its results describe a deliberately broken torch")
        for env, rows in envs_of(part.doc).items():
            by_env.setdefault(env, []).append((part, rows))
    envs = sorted(by_env)
    docs = [_merge_env(env, by_env[env], warnings) for env in envs]
    sources = [{"file": p.source, "run_id": p.doc["run_id"], "created": p.doc["created"],
                "hostname": p.doc["environment"].get("hostname")} for p in parts]
    return Merged(docs, envs, warnings, sources)


def _merge_env(env: Env, contributions: list[tuple[_Part, list[dict[str, Any]]]],
               warnings: list[str]) -> dict[str, Any]:
    # Oldest first, so a newer run's row simply replaces an older one.
    contributions = sorted(contributions, key=lambda c: c[0].age)
    kept: dict[tuple[str, str], tuple[_Part, dict[str, Any]]] = {}
    clashes: dict[tuple[str, str], list[str]] = {}   # (older file, newer file) -> keys in both
    differing: dict[tuple[str, str], list[str]] = {}
    for part, rows in contributions:
        for r in rows:
            key = (r["spec_id"], r["device"])
            if key in kept:
                old_part, old = kept[key]
                if old_part is not part:
                    pair = (old_part.source, part.source)
                    clashes.setdefault(pair, []).append(f"{key[0]}[{key[1]}]")
                    if old["status"] != r["status"]:
                        differing.setdefault(pair, []).append(
                            f"{key[0]}[{key[1]}] {old['status']} -> {r['status']}")
            kept[key] = (part, r)
    for (older, newer), keys in clashes.items():
        diff = differing.get((older, newer), [])
        detail = f"; {len(diff)} differ: " + ", ".join(diff[:5]) + (" ..." if len(diff) > 5 else "") if diff else ""
        warnings.append(f"{env.label}: {newer} and {older} both hold {len(keys)} result(s) "
                        f"(e.g. {keys[0]}); kept {newer} (newer){detail}")
    rows_out = sorted((dict(r) for _, r in kept.values()), key=lambda r: (r["spec_id"], r["device"]))
    newest = contributions[-1][0].doc
    return _document(env, newest, [c[0] for c in contributions], rows_out)


def _document(env: Env, newest: dict[str, Any], parts: list[_Part], rows: list[dict[str, Any]]) -> dict[str, Any]:
    environment = copy.deepcopy(newest["environment"])
    # Keep only this environment's device: one document describes one environment.
    environment["devices"] = [d for d in environment.get("devices", []) if d.get("name") == env.device]
    environment["execution_targets"] = {k: v for k, v in environment.get("execution_targets", {}).items()
                                        if k == env.device}
    summary = {s: 0 for s in STATUSES}
    for r in rows:
        summary[r["status"]] += 1
    summary["total"] = len(rows)
    coverage: dict[str, set[str]] = {}
    for p in parts:
        for bid, ids in p.doc.get("coverage", {}).items():
            coverage.setdefault(bid, set()).update(ids)
    run_ids = sorted(p.doc["run_id"] for p in parts)
    doc = {
        "schema": results.SCHEMA,
        "schema_version": results.SCHEMA_VERSION,
        # Deterministic: merging the same runs again gives the same id.
        "run_id": uuid.uuid5(uuid.NAMESPACE_URL, env.slug + ":" + ",".join(run_ids)).hex,
        "created": newest["created"],
        "started": min((p.doc.get("started") or p.doc["created"] for p in parts), key=_utc),
        "command": list(newest.get("command", [])),
        "exit_status": max(int(p.doc.get("exit_status", 0)) for p in parts),
        "environment": environment,
        "summary": summary,
        "coverage": {bid: sorted(ids) for bid, ids in coverage.items()},
        "results": rows,
        "merged_from": [{"file": p.source, "run_id": p.doc["run_id"], "created": p.doc["created"],
                         "hostname": p.doc["environment"].get("hostname")} for p in parts],
    }
    return doc


def merge_files(paths: list[str | Path]) -> Merged:
    """Load every file (runs or sets) and merge them; ResultsError on the first unusable file."""
    inputs = []
    for p in paths:
        for doc in load_documents(p):
            inputs.append((str(p), doc))
    return merge(inputs)


def write_set(merged: Merged, path: Path, kind: str = "merged") -> None:
    data = {
        "schema": SET_SCHEMA,
        "schema_version": SET_VERSION,
        "kind": kind,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "sources": merged.sources,
        "warnings": merged.warnings,
        "documents": merged.documents,
    }
    results.write(data, path)
