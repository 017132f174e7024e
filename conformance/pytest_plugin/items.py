"""The pytest items: a spec file is a collector, each spec x device one item.

Per-item state lives in the item stash (RECORD); the run's devices in the config stash (DEVICES).
The recorder and known-failures plugins read items through this module; it imports neither.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from packaging.version import Version

from conformance.engine import devices, runner
from conformance.errors import SpecError
from conformance.lang import checks
from conformance.lang import spec as spec_mod
from conformance.lang.values import describe, short

RECORD = pytest.StashKey[runner.Record]()
DEVICES = pytest.StashKey[list[str]]()


def torch_version() -> Version:
    return Version(torch.__version__.split("+")[0])


class SpecFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        name = display_path(self.path, self.config)
        try:
            specs, errors = spec_mod.load_file(self.path, display=name)
            for spec in specs:   # everything an item needs at collection time, checked here
                for k in spec.known:
                    if k.device is not None:
                        torch.device(k.device)
        except Exception as e:  # noqa: BLE001 - one broken file never stops the collection of the others
            specs, errors = [], [SpecError(name, None, "", f"cannot collect this file: {type(e).__name__}: {e}")]
        for err in errors:
            yield SpecErrorItem.from_parent(self, name=f"invalid-spec:{err.line or 0}", error=err)
        for spec in specs:
            for device in self.config.stash[DEVICES]:
                yield SpecItem.from_parent(self, name=f"{spec.id}[{device}]", spec=spec, device=device)


class SpecErrorItem(pytest.Item):
    """A spec file that does not load: one failing item with the located message."""

    def __init__(self, *, error: SpecError, **kw: Any):
        super().__init__(**kw)
        self.error = error

    def runtest(self) -> None:
        raise self.error

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, SpecError):
            return f"invalid spec: {excinfo.value}"
        return str(excinfo.getrepr(style="short"))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, (self.error.line or 1) - 1, f"invalid spec {self.error.file}"


class SpecItem(pytest.Item):
    """One spec on one device."""

    def __init__(self, *, spec: spec_mod.Spec, device: str, **kw: Any):
        super().__init__(**kw)
        self.spec, self.device = spec, device
        self.stash[RECORD] = runner.Record()
        for k in spec.known:
            if self._known_applies(k):
                self.add_marker(pytest.mark.xfail(reason=f"known divergence: {k.reason}", strict=False))
        # One xdist group per area keeps an area's specs on one worker (shared warm-up, imports).
        self.add_marker(pytest.mark.xdist_group(spec.area))

    def _known_applies(self, k: spec_mod.Known) -> bool:
        if k.torch is not None and torch_version() not in k.torch:
            return False
        if k.device is not None and torch.device(k.device).type != torch.device(self.device).type:
            return False
        if k.numpy is not None:
            if Version(np.__version__) not in k.numpy:
                return False
        return True

    def setup(self) -> None:
        dup = self.config.stash.get(DUPLICATES, {}).get(self.nodeid)
        if dup is not None:
            raise dup
        ok, reason = devices.applies(self.spec.devices, self.device)
        if not ok:
            pytest.skip(reason)
        ok, reason = devices.availability(self.device)
        if not ok:
            pytest.skip(f"not run: {reason}")
        if self.spec.torch is not None and torch_version() not in self.spec.torch:
            pytest.skip(f"not applicable: needs torch {self.spec.torch}, have {torch.__version__}")
        for module in self.spec.requires:
            try:
                __import__(module)
            except ImportError as e:
                pytest.skip(f"not run: {module} not installed ({type(e).__name__})")

    def runtest(self) -> None:
        runner.run(runner.build_test(self.spec, self.device, self.stash[RECORD]))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        try:
            return self._describe_failure(excinfo)
        except Exception as e:  # noqa: BLE001 - describing a failure must never end the run (an INTERNALERROR)
            return (f"{self.spec.id} on {self.device}: {self.spec.title}\n  error: {error_text(excinfo.value)}\n"
                    f"  (the failure could not be described in full: {type(e).__name__}: {str(e)[:200]})")

    def _describe_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str:
        if isinstance(excinfo.value, SpecError):
            return f"invalid spec: {excinfo.value}"
        rec = self.stash[RECORD]
        src = self.spec.source
        lines = [
            f"{self.spec.id} on {self.device}: {self.spec.title}",
            f"  spec: {self.spec.file}:{self.spec.line}   covers: {', '.join(self.spec.covers)}",
            f"  documented promise: {src.get('quote', '')!r}",
            f"  source: {src.get('doc') or src.get('note')}",
            "  falsifying example:",
            f"    torch.manual_seed({rec.seed})",
            *(f"    {name} = {short(v, 500)}" for name, v in rec.inputs.items()),
            "  error:",
            *("    " + ln for ln in error_text(excinfo.value).splitlines()),
        ]
        return "\n".join(lines)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, self.spec.line - 1, f"{self.spec.id} [{self.device}]"


def display_path(path: Path, config: pytest.Config) -> str:
    """Spec paths in messages and results are relative to the rootdir when possible."""
    try:
        return str(path.resolve().relative_to(config.rootpath.resolve()))
    except ValueError:
        return str(path)


def error_text(exc: BaseException) -> str:
    """The exception without torch/hypothesis internals: type, message, and our notes."""
    if isinstance(exc, BaseExceptionGroup):
        return "\n".join(f"[{i}] {error_text(e)}" for i, e in enumerate(exc.exceptions))
    notes = [n for n in getattr(exc, "__notes__", []) if n.startswith("in step")]
    head = str(exc) if isinstance(exc, checks.CheckFailed) else f"{type(exc).__name__}: {exc}"
    return "\n".join([head, *notes])


def falsifying(item: SpecItem) -> dict[str, Any]:
    rec = item.stash[RECORD]
    return {"seed": rec.seed, "inputs": {k: describe(v) for k, v in rec.inputs.items()}}


DUPLICATES = pytest.StashKey[dict[str, SpecError]]()   # nodeid -> the duplicate-id error it raises at setup
