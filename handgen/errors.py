"""User-facing errors: the CLI prints these as one line and exits non-zero (no traceback)."""

from __future__ import annotations

from pathlib import Path


class HandgenError(Exception):
    """An error the user can fix (bad input, missing files, wrong options)."""


class InputFileError(HandgenError, ValueError):
    """A specific input file is missing, unreadable or malformed; the message names it."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class OutputWriteError(HandgenError, OSError):
    """An output could not be written (read-only or full disk, a file where a folder should be, ...)."""
