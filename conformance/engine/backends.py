"""Backends as data: what a device needs before specs can run on it, in one YAML profile per device type.

A profile (engine/backend_profiles/*.yaml, or a file named by `--backend-profile` /
CONFORMANCE_BACKEND_PROFILES) says:

- `device`: the torch device type it describes (`xla`, `cuda`, a PrivateUse1 name);
- `import`: modules that register the device when imported (`torch_xla`);
- `env`: environment defaults set before that import (`PJRT_DEVICE: CPU`), never overriding the user's;
- `sync`: a dotted callable run after a spec's steps, before its checks read values (lazy backends);
- `unsupported_dtypes`: dtypes the backend does not implement; examples drawing them are not run there;
- `max_examples`: the example budget per spec on this device (a lower cap than the Hypothesis profile);
- `seed`: dotted callables that seed an example's generators (default `torch.manual_seed`); a backend
  whose generator `torch.manual_seed` does not reach names its own too, or a failing example does not replay;
- `shrink`: false to report the first failing example as drawn (shrinking recompiles on lazy backends);
- `fast_gradcheck`: true runs gradcheck's fast_mode (one random projection instead of one
  evaluation per element: on a backend that compiles per graph, the element-wise form is minutes);
- `error_messages`: false when the backend words its errors its own way: `raises` checks then check the
  exception type but not a spec's `match:` (the documentation promises types, rarely wording);
- `execution_target`: how results describe it (`kind`, `backend`, `runtime_version` as a dotted name).

Profiles are the run's own configuration, trusted like the command line, unlike specs.  The engine has
no `if device == ...`: a new backend is a new profile.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import torch
import yaml

from conformance.errors import UsageError

ENV = "CONFORMANCE_BACKEND_PROFILES"   # extra profile files, os.pathsep-separated
KEYS = {"device", "description", "import", "env", "sync", "seed", "unsupported_dtypes", "max_examples", "shrink",
        "error_messages", "fast_gradcheck", "execution_target"}
DEFAULT_SEED = ("torch.manual_seed",)


class BackendError(UsageError):
    """A profile that cannot be read or used; the message names the file."""


@dataclass(frozen=True)
class Backend:
    device: str
    description: str = ""
    imports: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    sync: str | None = None
    unsupported_dtypes: tuple[str, ...] = ()
    max_examples: int | None = None
    seed: tuple[str, ...] = DEFAULT_SEED
    shrink: bool = True
    error_messages: bool = True
    fast_gradcheck: bool = False
    execution_target: dict[str, Any] = field(default_factory=dict)
    file: str = "(built in)"

    def unsupported(self) -> frozenset[torch.dtype]:
        return frozenset(getattr(torch, name) for name in self.unsupported_dtypes)


def _resolve(dotted: str) -> Any:
    """A dotted name: the longest importable module prefix, then attributes (torch_xla.sync)."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for p in parts[i:]:
            obj = getattr(obj, p)
        return obj
    raise ImportError(f"no module in {dotted!r}")


def parse(data: Any, file: str) -> Backend:
    if not isinstance(data, dict) or not isinstance(data.get("device"), str):
        raise BackendError(f"{file}: a backend profile is a mapping with `device: <torch device type>`")
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise BackendError(f"{file}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(KEYS))}")
    for name in data.get("unsupported_dtypes") or []:
        if not isinstance(getattr(torch, str(name), None), torch.dtype):
            raise BackendError(f"{file}: unsupported_dtypes: {name!r} is not a torch dtype name")
    budget = data.get("max_examples")
    if budget is not None and (not isinstance(budget, int) or budget < 1):
        raise BackendError(f"{file}: max_examples must be a positive integer, got {budget!r}")
    for key in ("shrink", "error_messages", "fast_gradcheck"):
        if not isinstance(data.get(key, True), bool):
            raise BackendError(f"{file}: {key} must be true or false, got {data[key]!r}")
    seed = data.get("seed", list(DEFAULT_SEED))
    seed = [seed] if isinstance(seed, str) else seed
    if not isinstance(seed, list) or not seed or not all(isinstance(x, str) and x for x in seed):
        raise BackendError(f"{file}: seed must be a dotted callable name or a list of them, got {seed!r}")
    return Backend(device=data["device"], description=str(data.get("description") or ""),
                   imports=tuple(data.get("import") or ()), env={str(k): str(v) for k, v in (data.get("env") or {}).items()},
                   sync=data.get("sync"), seed=tuple(seed), unsupported_dtypes=tuple(data.get("unsupported_dtypes") or ()),
                   max_examples=budget, shrink=data.get("shrink", True), error_messages=data.get("error_messages", True),
                   fast_gradcheck=data.get("fast_gradcheck", False),
                   execution_target=dict(data.get("execution_target") or {}), file=file)


def _load(path: Path | Any, file: str) -> Backend:
    try:
        return parse(yaml.safe_load(path.read_text(encoding="utf-8")), file)
    except (OSError, yaml.YAMLError) as e:
        raise BackendError(f"{file}: cannot read backend profile: {e}") from None


@functools.cache
def registry(extra: tuple[str, ...] = ()) -> dict[str, Backend]:
    """Built-in profiles, then extra files (later ones replace a device's earlier profile)."""
    out: dict[str, Backend] = {}
    folder = resources.files("conformance.engine").joinpath("backend_profiles")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml") and not entry.name.endswith("-example.yaml"):
            b = _load(entry, f"conformance/engine/backend_profiles/{entry.name}")
            out[b.device] = b
    for f in [*filter(None, os.environ.get(ENV, "").split(os.pathsep)), *extra]:
        b = _load(Path(f), f)
        out[b.device] = b
    return out


_EXTRA: list[str] = []


def add_profiles(paths: list[str]) -> None:
    """Profiles named on the command line (--backend-profile), for this process."""
    _EXTRA[:] = list(dict.fromkeys([*_EXTRA, *paths]))
    forget()


def forget() -> None:
    """Drop what was read and resolved, so that profiles added or changed since take effect."""
    for cached in (registry, prepare, synchroniser, seeders):
        cached.cache_clear()


def for_device(device: str) -> Backend:
    kind = torch.device(device).type if device else "cpu"
    return registry(tuple(_EXTRA)).get(kind) or Backend(device=kind)


@functools.cache
def prepare(device: str) -> str | None:
    """Make the device usable: environment defaults, then the backend's imports.  A reason when it fails."""
    b = for_device(device)
    for key, value in b.env.items():
        os.environ.setdefault(key, value)
    for module in b.imports:
        try:
            importlib.import_module(module)
        except Exception as e:  # noqa: BLE001 - an absent or broken backend is "not run", not a crash
            return f"{b.device} backend not importable ({module}: {type(e).__name__}: {str(e).splitlines()[0][:160]})"
    return None


@functools.cache
def synchroniser(device: str) -> Callable[[], Any] | None:
    b = for_device(device)
    if not b.sync or prepare(device):
        return None
    return _resolve(b.sync)


@functools.cache
def seeders(device: str) -> tuple[Callable[[int], Any], ...]:
    """The profile's seed callables, resolved once (torch.manual_seed when the backend is unusable)."""
    b = for_device(device)
    names = b.seed if not prepare(device) else DEFAULT_SEED
    return tuple(_resolve(n) for n in names)


def seed(device: str | torch.device, value: int) -> None:
    for fn in seeders(str(device)):
        fn(value)


def sync(device: str | torch.device) -> None:
    """Wait for the device's queued work (lazy/async backends) before values are read."""
    fn = synchroniser(str(device))
    if fn is not None:
        fn()


def describe_target(device: str) -> dict[str, Any]:
    """The profile's execution_target with dotted names (runtime_version) read from the installed packages."""
    b = for_device(device)
    target = dict(b.execution_target)
    version = target.get("runtime_version")
    if isinstance(version, str) and "." in version and not version[0].isdigit():
        try:
            target["runtime_version"] = str(_resolve(version))
        except (ImportError, AttributeError):
            target["runtime_version"] = None
    if b.description:
        target.setdefault("description", b.description)
    return target
