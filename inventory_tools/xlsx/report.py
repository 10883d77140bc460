"""``validate --report OUT.xlsx``: a workbook a person reads without help.

* A ``Problems`` sheet at the front: one row per problem, sorted by row then column, with the
  product's ProductCode and Name beside it, the rule's plain-language title (``schemas/rules.csv``),
  the message and the fix wrapped in wide columns, the rule id in a narrow one, a link to the
  cell; the header frozen and filterable.
* The user's data sheet: every problem cell filled (red error, yellow warning) and commented,
  and the first cell of each row with a problem filled the same way, so filtering column A by
  colour shows only those rows.

An .xlsx of up to :data:`COPY_LIMIT` cells (its own and the Problems sheet's) is copied with openpyxl (formatting and other sheets
kept: :mod:`.report_copy`); larger files, .ods, .csv, and any workbook openpyxl cannot copy
(Strict OOXML, pivot tables, XML entities, characters it refuses...) are rebuilt from their
values (:mod:`.report_rebuilt`), so a report is written for every file ``validate`` can read.
Never writes a formula; the file appears under its name only once complete.
"""
from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .. import columns as cols
from ..cellref import col_index
from ..reading import Problem, Table
from ..validation.rules import title

COMMENT_LIMIT = 10_000
COPY_LIMIT = 400_000  # cells (file + Problems sheet): up to this, an .xlsx report is an openpyxl copy
REPORT_CHUNK_ROWS = 5_000
PROBLEMS_HEAD = ["Cell", "ProductCode", "Name", "Column", "Value", "Severity", "Problem", "Message", "Fix", "Rule"]
PROBLEMS_WIDTHS = (24, 18, 30, 20, 18, 9, 36, 64, 56, 22)
WRAPPED = frozenset({"Name", "Problem", "Message", "Fix"})  # columns whose text wraps
ERROR_FILL, WARNING_FILL = "FFC7CE", "FFEB9C"
LINK_LIMIT = 65_000  # Excel's limit on hyperlinks in a sheet

# what a workbook's XML cannot hold, shown as [U+0001] in the report's own texts
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def visible(text: str) -> str:
    """Text a workbook can hold: characters XML forbids shown as ``[U+0001]``."""
    return _UNSAFE.sub(lambda m: f"[U+{ord(m.group()):04X}]", text) if _UNSAFE.search(text) else text


@dataclass
class Marks:
    """What the data sheet shows: (row, letter) → "error"|"warning" fill, and comment texts."""

    fills: dict[tuple[int, str], str]
    notes: dict[tuple[int, str], str]


@dataclass
class ProblemRow:
    target: str | None  # 'Inventory List'!G17, for the link
    values: list[str]
    severity: str


def write_report(report, out) -> Path:
    """Write the report workbook to ``out``; see the module's description."""
    return write_report_noting(report, out)[0]


def write_report_noting(report, out) -> tuple[Path, str | None]:
    """:func:`write_report`, plus a note for the user when the workbook could not be copied
    as it is (then the report is rebuilt from the file's values)."""
    from . import report_copy, report_rebuilt

    out = Path(out)
    t = report.table
    # openpyxl's work: the file's cells and the Problems sheet's (one row of cells per problem)
    cells = len(t.row_numbers) * max(len(t.column_letters) + len(t.extra_columns), 1) + \
        len(report.problems) * len(PROBLEMS_HEAD)
    note = None
    if t.kind == "xlsx" and cells <= COPY_LIMIT:
        try:
            with _atomic(out) as tmp:
                report_copy.write(report, tmp)
            return out, None
        except OSError:
            raise
        except Exception as exc:  # noqa: BLE001 - openpyxl fails on many real files; the values remain
            note = (f"the workbook's formatting could not be copied ({_why(exc)}), so the report shows its "
                    "values on a plain sheet")
    with _atomic(out) as tmp:
        report_rebuilt.write(report, tmp)
    return out, note


def _why(exc: Exception) -> str:
    causes = [exc]
    while causes[-1].__context__ is not None and len(causes) < 5:
        causes.append(causes[-1].__context__)
    if any(type(c).__name__ in ("EntitiesForbidden", "DTDForbidden", "ExternalReferenceForbidden") for c in causes):
        return "a part of it declares XML entities"
    if type(exc).__name__ == "IllegalCharacterError":
        return "it holds characters openpyxl refuses"
    return "openpyxl cannot read or write everything it holds"


@contextlib.contextmanager
def _atomic(out: Path):
    """A temporary name beside ``out``, renamed to it on success, removed on failure."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


# -- what both report paths show ---------------------------------------------------------------
def sheet_loc(t: Table, p: Problem) -> tuple[int, str] | None:
    """(row, letter) of the problem's cell in the report workbook (CSV: record N → row N+1)."""
    m = re.match(r"^([A-Z]+)(\d+)$", p.cell or "")
    if t.kind != "csv" and m:
        return int(m.group(2)), m.group(1)
    if p.index is not None:
        col = p.at or p.column
        if col not in t.column_letters:
            col = cols.KEY if cols.KEY in t.column_letters else None
        return t.sheet_cell(p.index, col) if col else None
    return None


def marks(report) -> Marks:
    """Fills (error wins) and comments (first COMMENT_LIMIT cells) of the data sheet; the first
    cell of each data row with a problem is filled with the row's worst severity."""
    t = report.table
    fills: dict[tuple[int, str], str] = {}
    notes: dict[tuple[int, str], str] = {}
    first_letter = "A"
    for p in report.problems:
        loc = sheet_loc(t, p)
        if loc is None:
            continue
        for where in ((loc, (loc[0], first_letter)) if p.index is not None else (loc,)):
            if fills.get(where) != "error":
                fills[where] = p.severity
        text = visible(f"{p.severity}: {p.message}" + (f"\nfix: {p.hint}" if p.hint else ""))
        if loc in notes:
            notes[loc] = (notes[loc] + "\n\n" + text)[:30000]
        elif len(notes) < COMMENT_LIMIT:
            notes[loc] = text[:30000]
    return Marks(fills, notes)


def _labels(report) -> dict[int, tuple[str, str]]:
    """Row position → (ProductCode, Name) as checked, for the rows that have problems."""
    frame = report.frame
    wanted = {p.index for p in report.problems if p.index is not None}
    out: dict[int, tuple[str, str]] = {}
    if not wanted:
        return out
    columns = [frame[c].to_numpy(dtype=object) if c in frame.columns and len(frame) else None
               for c in (cols.KEY, "Name")]
    for i in wanted:
        out[i] = tuple("" if a is None or i >= len(a) or a[i] is None else str(a[i]) for a in columns)
    return out


def problem_rows(report, data_name: str) -> list[ProblemRow]:
    """The Problems sheet's rows, sorted by row then column (problems of the whole file first)."""
    t = report.table
    labels = _labels(report)
    keyed = []
    for order, p in enumerate(report.problems):
        loc = sheet_loc(t, p)
        key = (loc is not None, loc[0] if loc else 0, col_index(loc[1]) if loc else -1, order)
        code, name = labels.get(p.index, ("", "")) if p.index is not None else ("", "")
        cell_text = f"{data_name}!{loc[1]}{loc[0]}" if loc else (p.cell or "(file)")
        target = "'" + data_name.replace("'", "''") + f"'!{loc[1]}{loc[0]}" if loc else None
        value = "" if p.value is None else str(p.value)
        values = [cell_text, code, name, p.column or "", value, p.severity, title(p.rule), p.message, p.hint or "",
                  p.rule]
        keyed.append((key, ProblemRow(target, [visible(v) for v in values], p.severity)))
    keyed.sort(key=lambda kv: kv[0])
    return [row for _, row in keyed]
