"""A file read and checked once, shared by ``validate`` and ``import`` (and ``import --dry-run``).

:func:`open_checked` gives the file as read — from the cache of checked files
(:mod:`inventory_tools.checked_cache`) when these very bytes were read before by this very code,
else read now — and :meth:`CheckedFile.check` its validation report: the one kept with it when
that verdict was reached in the same circumstances (:class:`CheckKey`), else checked again from
the cells already read. ``keep()`` leaves both for the next command.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any, Callable

from ._lazy import lazy_import
from . import checked_cache
from .reading import Table, read_table_with
from .validation import ValidationReport, Validator

pd = lazy_import("pandas", globals())  # imported on first use: it loads while a sheet parses (issue 17)


@dataclass(frozen=True)
class CheckKey:
    """What a verdict depends on besides the file: the store it was checked against (identity and
    state: any write since makes it a different store), the export base, and the set of checks.
    A verdict is reused only under an equal key, and never when the store's state is unknown."""

    store: str | None  # identity (None: checked without a store)
    store_state: str | None  # the store's state token when checked (None: unknown, never reused)
    base_export_id: str | None
    options: tuple = ()  # the checks' own switches (e.g. strict, blank_clears)

    @classmethod
    def of(cls, store, base_export_id: str | None, options: tuple = ()) -> "CheckKey":
        if store is None:
            return cls(None, "no store", base_export_id, options)
        return cls(store.identity(), store.state_token(), base_export_id, options)

    @staticmethod
    def options_for(*, strict: bool = False, blank_clears: bool = False) -> tuple:
        """The checks' switches as a key part (and as Validator keywords: ``dict(options)``)."""
        return tuple(sorted({"strict": strict, "blank_clears": blank_clears}.items()))

    @property
    def reusable(self) -> bool:
        return self.store_state is not None


@dataclass
class CheckedFile:
    path: str
    table: Table
    digest: str | None = None  # None: the cache is off (or the file could not be hashed)
    verdicts: dict[CheckKey, ValidationReport] = field(default_factory=dict)

    def check(self, key: CheckKey, *, store=None, base: pd.DataFrame | None = None, validator: Validator | None = None,
              options: tuple = (), progress: Callable[[int], None] | None = None) -> ValidationReport:
        """The report under ``key``: kept from an earlier check in the same circumstances, or made now.

        ``store`` (a Store or a callable opening one) and ``base`` are what a new check uses;
        ``validator``: one already prepared for this table (it may have loaded the base meanwhile);
        ``options``: :meth:`CheckKey.options_for`."""
        if key.reusable and key in self.verdicts:
            return self.verdicts[key]
        if validator is None:
            validator = Validator(store, base, **dict(options))
            validator.attach(self.table)  # (from the cache: its cells are the kept columns)
        report = validator.run(progress)
        self.verdicts = {key: report} if key.reusable else {}
        return report

    def keep(self) -> bool:
        """Leave the file as read, and its verdict, for the next command (never fails the command)."""
        if self.digest is None:
            return False
        return checked_cache.save(self.digest, self.table, self.verdicts)

    def release_cells(self, report: ValidationReport | None = None) -> None:
        """Drop the cell values (hundreds of MB for a big sheet) once checked: reports need the
        problems, the cell addresses and each row's ProductCode and Name, not the other values.
        (A cache entry the CLI writes after exit, :meth:`keep`, holds the factorised columns
        until then: up to 250,000 rows, some tens of MB.)"""
        from . import columns as cols

        self.table.release_cells()
        if report is not None:
            report.frame = report.frame[[c for c in (cols.KEY, "Name") if c in report.frame.columns]]
        gc.collect()


def open_checked(path, alongside: Callable[[dict | None], Any] | None = None) -> tuple[CheckedFile, Any, bool]:
    """(the file as read, ``alongside(manifest)``'s result, whether it was read now).

    From the cache when these bytes were read before (``alongside`` is then not called: the caller
    does its store work itself); else read now, ``alongside`` running while the sheet is parsed."""
    digest = checked_cache.digest_if_enabled(path)
    kept = checked_cache.load(digest, path) if digest else None
    if kept is not None:
        table, verdicts = kept
        return CheckedFile(str(path), table, digest, verdicts), None, False
    table, side = read_table_with(path, alongside)
    return CheckedFile(str(path), table, digest), side, True


def validate_file(path, *, store=None, strict: bool = False, progress_total: Callable[[int], Any] | None = None,
                  keep: bool = True) -> tuple[CheckedFile, ValidationReport]:
    """``validate FILE``: the file read (or taken from the cache) and checked against ``store`` (or
    none), its export base being the one its manifest names if the store still has it.

    ``progress_total(n)`` is called with the number of steps once known and returns the
    ``advance(k)`` callable (a progress bar); ``keep`` leaves the result for the next command."""
    from .reading import overlap_with_parse
    from .validation import progress_steps

    options = CheckKey.options_for(strict=strict)
    validator = Validator(store, None, **dict(options))

    def alongside(manifest):
        if overlap_with_parse(manifest):  # a big file's base waits until the parsed sheet is freed
            validator.load_base(manifest)
        from .validation import checks  # noqa: F401  (pandera: half a second of imports, taken while the sheet parses)

    checked, _, fresh = open_checked(path, alongside)
    if fresh:  # read now: the validator may have loaded the base meanwhile
        validator.attach(checked.table)
    manifest = checked.table.manifest or {}
    key = CheckKey.of(store, manifest.get("export_id") if store is not None else None, options)
    advance = progress_total(progress_steps(checked.table)) if progress_total else None
    report = checked.check(key, store=store, validator=validator if fresh else None, options=options,
                           progress=advance)
    if keep:
        checked.keep()
    return checked, report
