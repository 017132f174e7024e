"""Expected failures kept as data: `--known-failures FILE` marks the listed specs xfail.

FILE holds one entry a line: a spec id (`inplace/add_-returns-self`, every device) or a spec id
with a device (`inplace/add_-returns-self[cuda]`: devices of that type; `[cuda:1]`: that one only).
`#` starts a comment.  An entry naming no spec collected in the run is an error, never ignored: a
typo would otherwise leave a failure unexpected and the file silently stale.

A backend team keeps such a file next to its CI job instead of editing the specs; the items show as
`xfailed` with the reason "known failure (FILE)", never block the gate, and show as `xpassed` (the
gate says "remove it from FILE") once the backend is fixed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from conformance.errors import UsageError
from conformance.pytest_plugin.items import SpecItem

OPTION = "known_failures"
_ENTRY = re.compile(r"^(?P<id>[^\s\[\]#]+)(?:\[(?P<device>[^\s\[\]]+)\])?$")


class KnownFailuresError(UsageError):
    """A malformed known-failures file; the message is `file:line: problem`."""


@dataclass(frozen=True)
class Entry:
    spec_id: str
    device: str | None
    line: int

    def matches(self, spec_id: str, device: str) -> bool:
        if spec_id != self.spec_id:
            return False
        if self.device is None or self.device == device:
            return True
        # `[cuda]` names the device type: it covers cuda:0 and cuda:1 too.
        return ":" not in self.device and torch.device(device).type == self.device


def parse(text: str, file: str) -> list[Entry]:
    entries = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = _ENTRY.match(line)
        if not m:
            raise KnownFailuresError(f"{file}:{n}: cannot read {line!r}; expected a spec id or spec_id[device]")
        device = m.group("device")
        if device is not None:
            try:
                torch.device(device)
            except (RuntimeError, ValueError):
                raise KnownFailuresError(f"{file}:{n}: {device!r} is not a torch device string") from None
        entries.append(Entry(m.group("id"), device, n))
    return entries


def load(path: str | Path) -> list[Entry]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise KnownFailuresError(f"{p}: cannot read known-failures file: {e}") from None
    return parse(text, str(path))


def addoption(group: pytest.OptionGroup) -> None:
    group.addoption("--known-failures", dest=OPTION, metavar="FILE", default=None,
                    help="mark the spec ids listed in FILE (one a line, `spec_id` or `spec_id[device]`, "
                         "# comments) as expected failures; an id no spec has is an error")


def configure(config: pytest.Config) -> None:
    path = config.getoption(OPTION, None)
    if not path:
        return
    try:
        entries = load(path)
    except KnownFailuresError as e:
        raise pytest.UsageError(str(e)) from None
    config.pluginmanager.register(_Marker(entries, str(path)), "conformance-known-failures")


class _Marker:
    def __init__(self, entries: list[Entry], file: str):
        self.entries, self.file = entries, file

    def _unknown(self, ids: set[str]) -> str | None:
        lines = []
        for e in self.entries:
            if e.spec_id not in ids:
                close = difflib.get_close_matches(e.spec_id, sorted(ids), n=1)
                lines.append(f"{self.file}:{e.line}: no spec {e.spec_id!r} in this run"
                             + (f"; did you mean {close[0]!r}?" if close else ""))
        if not lines:
            return None
        return ("--known-failures: " + "\n".join(lines)
                + "\n(ids are checked against the specs collected by this run)")

    # tryfirst: check against everything collected, before -k / -m deselect items.
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        specs = [i for i in items if isinstance(i, SpecItem)]
        # An xdist worker leaves the verdict to the controller (below): an error raised here would
        # only crash the worker, not stop the run with the message.
        if not hasattr(config, "workerinput"):
            problem = self._unknown({i.spec.id for i in specs})
            if problem:
                raise pytest.UsageError(problem)
        reason = f"known failure ({self.file})"
        for item in specs:
            if any(e.matches(item.spec.id, item.device) for e in self.entries):
                item.add_marker(pytest.mark.xfail(reason=reason, strict=False))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: object, ids: list[str]) -> None:
        # Spec items are named `path::spec_id[device]`.
        spec_ids = {i.rsplit("::", 1)[-1].rsplit("[", 1)[0] for i in ids if i.endswith("]")}
        problem = self._unknown(spec_ids)
        if problem:
            pytest.exit(problem, returncode=pytest.ExitCode.USAGE_ERROR)
