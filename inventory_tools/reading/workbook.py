"""Workbooks (.xlsx, .xlsm, .ods) through python-calamine: which sheet, its manifest, its rows."""
from __future__ import annotations

import contextlib
import functools
import os
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator

from ..cellref import col_letter
from ..errors import FileReadError
from ..sheets import DATA_SHEET, MANIFEST_SHEET
from ..values import fold
from .build import build_table
from .headers import HEADER_SCAN_ROWS, header_row_of
from .package import calamine_ready_copy
from .scan import scan_ods, scan_xlsx
from .sniff import damaged
from .table import Problem, Table


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


def read_workbook(path: Path, kind: str, alongside: Callable[[dict | None], Any] | None) -> tuple[Table, Any]:
    """The data sheet of a workbook as a :class:`Table`, plus ``alongside(manifest)``'s result
    (run on this thread while calamine parses the sheet on another)."""
    wb = open_workbook(path, kind)
    names = list(wb.sheet_names)
    man_name = next((n for n in names if n.casefold() == MANIFEST_SHEET.casefold()), None)
    manifest = _manifest(path, wb, man_name) if man_name else None
    sheet = _data_sheet(path, wb, names, manifest, man_name)
    flags: dict[tuple[int, int], tuple[str, str | None]] = {}
    hidden: list[int] = []
    side, side_error = None, None
    with ThreadPoolExecutor(1, thread_name_prefix="calamine") as pool:
        parsing = pool.submit(_calamine_call, path, functools.partial(wb.get_sheet_by_name, sheet))
        try:  # meanwhile, on this thread: the formula/error scan and the caller's own work
            if kind == "xlsx":
                flags, hidden = scan_xlsx(path, sheet)
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
    _merged_cells(table, merged)
    _hidden_rows(table, hidden)
    return table, side


def _manifest(path: Path, wb, name: str) -> dict:
    """The hidden manifest sheet (key, value rows) of a workbook we exported."""
    rows = _calamine_call(path, lambda: wb.get_sheet_by_name(name).to_python(skip_empty_area=False))
    manifest = {}
    for r in rows:
        if len(r) >= 1 and isinstance(r[0], str) and r[0].strip():
            v = r[1] if len(r) > 1 else None
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            manifest[r[0].strip()] = "" if v is None else (v if isinstance(v, str) else str(v))
    return manifest


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


def _merged_cells(table: Table, ranges) -> None:
    """Merged cells hold one value for several cells: the others would read as blank (= clear)."""
    position = {r: i for i, r in enumerate(table.row_numbers)}
    letters = {v: k for k, v in table.column_letters.items()}
    for (r0, c0), (r1, c1) in ranges:
        first = next((position[r + 1] for r in range(r0, r1 + 1) if r + 1 in position), None)
        if first is None:
            continue  # a merged title above the header, or outside the data
        ref = f"{col_letter(c0)}{r0 + 1}:{col_letter(c1)}{r1 + 1}"
        table.problems.append(Problem(
            sheet=table.sheet, row=r0 + 1, column=letters.get(col_letter(c0)), cell=f"{col_letter(c0)}{r0 + 1}",
            value=ref, rule="cell.merged", severity="error",
            message=f"cells {ref} are merged: only the first holds a value, the others would read as blank",
            hint="unmerge them (Home → Merge & Center → Unmerge Cells) and fill in every cell", index=first))


def _hidden_rows(table: Table, hidden: list[int]) -> None:
    """Rows hidden in the sheet are imported like any other: say so, since nobody can see them."""
    position = {r: i for i, r in enumerate(table.row_numbers)} if hidden else {}
    for r in hidden:
        if r in position:
            table.problems.append(Problem(
                sheet=table.sheet, row=r, column=None, cell=f"A{r}", value=None, rule="row.hidden",
                severity="warning", message=f"row {r} is hidden; it was read and will be imported like the others",
                hint="unhide the rows (select all → right-click → Unhide) to see what will be imported",
                index=position[r]))
