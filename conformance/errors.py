"""The one error hierarchy: every problem the user can cause is a ConformanceError.

The CLI maps a ConformanceError to one line on stderr and exit code 2, in one place (cli.main);
anything else escaping is a bug of ours and keeps its traceback.  Stdlib only: every layer imports it.
"""

from __future__ import annotations

from dataclasses import dataclass


class ConformanceError(Exception):
    """Bad input (a spec, a results file, an option): reported as a message, exit code 2."""

    exit_code = 2


@dataclass
class SpecError(ConformanceError):
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


class ExprError(ConformanceError):
    """A problem in one expression; the loader turns it into a located SpecError."""

    def __init__(self, message: str, hint: str = "", offset_line: int = 0):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.offset_line = offset_line  # line inside a multi-line step block (0-based)


class OptionError(ConformanceError):
    """A bad option of a `given` strategy; the loader turns it into a located SpecError."""

    def __init__(self, key: str, message: str, hint: str = ""):
        super().__init__(message)
        self.key, self.message, self.hint = key, message, hint


class UsageError(ConformanceError):
    """A bad command-line option or combination (devices, known-failures file, fault name, ...)."""
