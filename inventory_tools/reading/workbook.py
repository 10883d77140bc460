"""Workbooks (.xlsx, .xlsm, .ods) through python-calamine: which sheet, its manifest, its rows."""
from __future__ import annotations

import contextlib
import functools
import os
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import FileReadError
from ..sheets import DATA_SHEET, MANIFEST_SHEET
from ..values import fold
from .build import build_table, manifest_of, mark_hidden, mark_merged
from .headers import HEADER_SCAN_ROWS, header_row_of
from .package import calamine_ready_copy
from .fast import NOT_RUN
from .scan import SheetScan, scan_ods, scan_xlsx
from .sniff import damaged
from .zipcopy import CannotCopy
from .table import Table


def _calamine():
    import python_calamine as pc

    return pc


def _calamine_call(path: Path, fn):
    with _calamine_errors(path):
        return fn()


#: python-calamine's errors in our words (its own texts never reach a user)
_CALAMINE_WORDS = (("ZipError", "the zip container is broken; the file may be truncated"),
                   ("XmlError", "a part of it is not well-formed XML"),
                   ("WorksheetNotFound", "a sheet listed in the workbook is missing"),
                   ("File not found", "a part it needs is missing"),
                   ("RelationshipNotFound", "a sheet listed in the workbook is missing"))


@contextlib.contextmanager
def _calamine_errors(path: Path):
    """python-calamine's errors as the FileReadError a user reads (damaged, password...)."""
    pc = _calamine()
    try:
        yield
    except pc.PasswordError:
        raise FileReadError("the workbook is password-protected (encrypted), so it cannot be read",
                            "open it, remove the password, save, and run again", file=str(path)) from None
    except pc.CalamineError as exc:
        words = next((w for name, w in _CALAMINE_WORDS if type(exc).__name__ == name or name in str(exc)), None)
        raise damaged(path, words or "its content is not what a spreadsheet holds") from None
    except (zipfile.BadZipFile, EOFError, ValueError, OSError):
        raise damaged(path, "the zip container is broken; the file may be truncated") from None
    except CannotCopy:  # a part laid out oddly and beyond 4 GB: the copy python-calamine needs cannot be made
        raise FileReadError("the workbook's parts are laid out in a way this tool cannot read at this size "
                            "(over 4 GB)", "open it in Excel or LibreOffice and save it again as .xlsx",
                            file=str(path)) from None


def open_workbook(path: Path, kind: str = "xlsx"):
    """python-calamine's workbook for ``path``. A genuine package calamine would refuse (an Excel
    4.0 macro sheet, a sheet ``state`` Excel tolerates, a workbook part not named workbook.xml)
    is read through a copy it accepts (:func:`~.package.calamine_ready_copy`): it is not damaged."""
    pc = _calamine()
    if kind == "xlsx":
        with _calamine_errors(path):
            copy = calamine_ready_copy(path)
        if copy is not None:
            try:
                return _calamine_call(path, lambda: pc.load_workbook(copy))
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(copy)  # calamine holds the file open: it stays readable until closed
    return _calamine_call(path, lambda: pc.load_workbook(str(path)))


#: ``INVENTORY_TOOLS_READER``: ``fast`` (default: fastexcel where it reads a file exactly,
#: python-calamine otherwise) or ``calamine`` (always python-calamine).
READER_ENV = "INVENTORY_TOOLS_READER"
#: Developer aids (named so the test suite's isolation leaves them set): ``IT_READER_CHECK=1``
#: reads every .xlsx both ways and raises if they differ; ``IT_READER_LOG=FILE`` appends which
#: reader read each file (and why python-calamine did).
CHECK_ENV, LOG_ENV = "IT_READER_CHECK", "IT_READER_LOG"


def read_workbook(path: Path, kind: str, alongside: Callable[[dict | None], Any] | None) -> tuple[Table, Any]:
    """The data sheet of a workbook as a :class:`Table`, plus ``alongside(manifest)``'s result
    (run on this thread while the sheet is parsed on another)."""
    mode = os.environ.get(READER_ENV, "fast").strip().lower()
    if kind != "xlsx" or mode == "calamine" or (_small(path) and not os.environ.get(CHECK_ENV)):
        table, side = read_calamine(path, kind, alongside)
        _log(path, table)
        return table, side
    from .fast import Fallback, read_xlsx

    try:
        table, side = read_xlsx(path, alongside)
    except Fallback as fb:
        table, side = read_calamine(path, kind, alongside, ran=fb)
        table.reader = f"python-calamine ({fb.reason})"
        _log(path, table)
        return table, side
    _log(path, table)
    if os.environ.get(CHECK_ENV):
        from .compare import same_tables

        same_tables(table, read_calamine(path, kind, None)[0])
    return table, side


#: Workbooks smaller than this (uncompressed, every part) are read by python-calamine: for a few
#: thousand cells it is quicker than preparing fastexcel's reading (about 20 ms), and start-up counts.
SMALL_WORKBOOK_BYTES = 4 << 20


def _small(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return sum(i.file_size for i in zf.infolist()) < SMALL_WORKBOOK_BYTES
    except (zipfile.BadZipFile, OSError, EOFError):
        return True  # python-calamine's path says what is wrong


def _log(path: Path, table: Table) -> None:
    log = os.environ.get(LOG_ENV)
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{path}\t{table.reader}\n")


def read_calamine(path: Path, kind: str, alongside: Callable[[dict | None], Any] | None, *, ran=None) -> tuple[Table, Any]:
    """:func:`read_workbook` through python-calamine. ``ran``: a fastexcel attempt that already ran
    ``alongside`` (its result, or the error it raised, is used instead of running it again)."""
    side, side_error = None, None
    if ran is not None and ran.side is not NOT_RUN:
        side, side_error, alongside = ran.side, ran.side_error, None
    wb = open_workbook(path, kind)
    names = list(wb.sheet_names)
    man_name = next((n for n in names if n.casefold() == MANIFEST_SHEET.casefold()), None)
    manifest = _manifest(path, wb, man_name) if man_name else None
    sheet = _data_sheet(path, wb, names, manifest, man_name)
    scan = SheetScan()
    flags: dict[tuple[int, int], tuple[str, str | None]] = {}
    with ThreadPoolExecutor(1, thread_name_prefix="calamine") as pool:
        parsing = pool.submit(_calamine_call, path, functools.partial(wb.get_sheet_by_name, sheet))
        try:  # meanwhile, on this thread: the formula/error scan and the caller's own work
            if kind == "xlsx":
                scan = scan_xlsx(path, sheet)
                flags = scan.flags
            elif kind == "ods":
                flags = scan_ods(path, sheet)
            if alongside is not None:
                side = alongside(manifest)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, after the parse is joined
            side_error = exc
        data_sheet = parsing.result()
    # The workbook keeps its shared-string table (every distinct text of the file) for as long as
    # it lives; the parsed sheet has its own copies, so let it go before converting the sheet.
    wb.close()
    del wb, parsing
    if side_error is not None:
        raise side_error
    merged = list(getattr(data_sheet, "merged_cell_ranges", None) or [])
    rows = _sheet_rows(path, data_sheet)
    del data_sheet  # only the row generator holds the parsed sheet now: it is freed once read through
    table = build_table(path, kind, sheet, rows, flags)
    table.manifest = manifest
    table.sheet_names = names
    mark_merged(table, merged)
    mark_hidden(table, scan.hidden)
    table.reader = "python-calamine"
    return table, side


def _manifest(path: Path, wb, name: str) -> dict:
    """The hidden manifest sheet (key, value rows) of a workbook we exported."""
    return manifest_of(_calamine_call(path, lambda: wb.get_sheet_by_name(name).to_python(skip_empty_area=False)))


def _data_sheet(path: Path, wb, names: list[str], manifest: dict | None, man_name: str | None) -> str:
    """The sheet to read: ``Inventory List``, else the one the manifest names, else the one sheet
    whose first rows hold a ProductCode header."""
    sheet = next((n for n in names if fold(n) == fold(DATA_SHEET)), None)
    if sheet is None and manifest and manifest.get("sheet") in names:
        sheet = manifest["sheet"]
    if sheet is not None:
        return sheet
    candidates = []
    for n in names:
        if n == man_name:
            continue
        probe = _calamine_call(path, lambda n=n: wb.get_sheet_by_name(n).to_python(
            skip_empty_area=False, nrows=HEADER_SCAN_ROWS))
        if header_row_of(probe) is not None:
            candidates.append(n)
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        raise FileReadError(f"more than one sheet has a ProductCode header: {', '.join(candidates)}",
                            f"rename the sheet to edit to '{DATA_SHEET}' (or delete the others) and run again",
                            file=str(path))
    raise FileReadError(f"no inventory sheet found; the sheets are: {', '.join(names) or '(none)'}",
                        f"the data sheet must be named '{DATA_SHEET}' or have a header row with ProductCode",
                        file=str(path))


def _sheet_rows(path: Path, sheet) -> Iterator[list]:
    """The sheet's rows from row 1 and column A (calamine starts rows at the first used column)."""
    pad = [""] * (sheet.start[1] if sheet.start else 0)
    with _calamine_errors(path):
        for row in sheet.iter_rows():
            yield pad + row if pad else row
