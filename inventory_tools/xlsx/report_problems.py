"""What both paths of the report workbook show: the data sheet's marks (fills and comments) and
the Problems sheet's rows (:mod:`.report` chooses the path; :mod:`.report_copy`,
:mod:`.report_rebuilt` write them)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .. import columns as cols
from ..cellref import col_index
from ..reading import Problem, Table
from ..validation.rules import title

COMMENT_LIMIT = 10_000
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


#: How a problem shows: an error that blocks, an error already in the store (in cells the file
#: did not change: it does not block, unless --strict), or a warning.
IN_STORE = "in store"


def kind(p: Problem, strict: bool = False) -> str:
    """``error``, ``in store`` or ``warning`` (see :data:`IN_STORE`)."""
    if p.severity != "error":
        return "warning"
    return IN_STORE if p.preexisting and not strict else "error"


def _fill(p: Problem, strict: bool) -> str:
    """The data sheet's fill: red only for what blocks the import."""
    return "error" if kind(p, strict) == "error" else "warning"


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
                fills[where] = _fill(p, report.strict)
        label = "error (already in the store: does not block)" if kind(p, report.strict) == IN_STORE else p.severity
        text = visible(f"{label}: {p.message}" + (f"\nfix: {p.hint}" if p.hint else ""))
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
        values = [cell_text, code, name, p.column or "", value, kind(p, report.strict), title(p.rule), p.message,
                  p.hint or "", p.rule]
        keyed.append((key, ProblemRow(target, [visible(v) for v in values], _fill(p, report.strict))))
    keyed.sort(key=lambda kv: kv[0])
    return [row for _, row in keyed]
