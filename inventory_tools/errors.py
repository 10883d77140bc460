"""Typed errors and exit codes.

Every error a user can cause carries where it happened (file, sheet, cell) and a hint,
so the CLI can print one clear line instead of a traceback.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass


class ExitCode(enum.IntEnum):
    OK = 0
    DATA = 1  # the data has problems: invalid cells, conflicts, refused items
    USAGE = 2
    FAILED = 3  # could not do the job: unreadable file, network, auth, store
    INTERRUPTED = 130


@dataclass
class ToolError(Exception):
    """Base of every expected failure. ``str()`` is the user-facing message."""

    message: str
    hint: str = ""
    file: str | None = None
    sheet: str | None = None
    cell: str | None = None
    exit_code: ExitCode = ExitCode.FAILED

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def location(self) -> str:
        parts = [p for p in (self.file, self.sheet) if p]
        where = " › ".join(parts)
        if self.cell:
            where = f"{where}!{self.cell}" if where else self.cell
        return where

    def __str__(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class UsageError(ToolError):
    def __init__(self, message: str, hint: str = "", **kw):
        super().__init__(message, hint, exit_code=ExitCode.USAGE, **kw)


class FileReadError(ToolError):
    """The file cannot be read at all (not a workbook, corrupt, encrypted...)."""


class StoreError(ToolError):
    """The store is unavailable, locked, foreign or too new."""


class DataError(ToolError):
    """The data has problems; nothing (or only what is reported) was applied."""

    def __init__(self, message: str, hint: str = "", **kw):
        super().__init__(message, hint, exit_code=ExitCode.DATA, **kw)


class RemoteError(ToolError):
    """A remote API (Xero, Cin7) could not be used: network, auth, limits."""
