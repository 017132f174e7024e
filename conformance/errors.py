"""The one error type of spec loading: it always knows where the problem is."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SpecError(Exception):
    """A problem in a spec file, located at file:line and a key path like ``expect[2].shape``."""

    file: str
    line: int | None
    key: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class ExprError(Exception):
    """A problem in one expression; the loader turns it into a located SpecError."""

    def __init__(self, message: str, hint: str = "", offset_line: int = 0):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.offset_line = offset_line  # line inside a multi-line step block (0-based)
