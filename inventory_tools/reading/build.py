"""Rows of cells (header included) → :class:`Table`: the header matched to the column table,
each wanted column factorised chunk by chunk, reading-level problems collected."""
from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Iterable, Iterator

from .._lazy import lazy_import
from .. import factorised
from ..cellref import col_letter
from .headers import HEADER_SCAN_ROWS, Header, find_header_row
from .table import Problem, Table

pd = lazy_import("pandas", globals())  # imported on first use: it loads while a sheet parses (issue 17)
np = lazy_import("numpy", globals())  # imported on first use: while a sheet parses, not before (issue 17)

ERROR_LITERALS = frozenset({"#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!",
                            "#SPILL!", "#CALC!", "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#UNKNOWN!"})
_ODS_ERROR_RE = re.compile(r"^Err:\d{3}$")


def _cell_kind(v) -> int:
    """0 a value, 1 blank, 2 an error literal (``#N/A``)."""
    if type(v) is not str:
        return 0
    t = v.strip()
    if not t:
        return 1
    if (t[0] == "#" and t in ERROR_LITERALS) or (t[0] == "E" and _ODS_ERROR_RE.match(t)):
        return 2
    return 0


CHUNK_ROWS = 5_000


def chunks(rows: Iterable, size: int) -> Iterator[list]:
    """``rows`` as lists of at most ``size`` items."""
    rows = iter(rows)
    while True:
        chunk = list(itertools.islice(rows, size))
        if not chunk:
            return
        yield chunk


class _ColumnsBuilder:
    """Factorises the wanted columns chunk by chunk; notes which rows and columns hold anything.

    Per chunk, each wanted column becomes (codes, uniques) with blank cells as -1; at the end the
    chunks' uniques are factorised once more into one table per column. Only distinct values and
    int32 codes outlive a chunk.
    """

    def __init__(self, wanted: set[int]):
        self.wanted = wanted
        self.parts: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {ci: [] for ci in wanted}
        self.kept: list[np.ndarray] = []  # per chunk: positions (in the whole sheet) of non-blank rows
        self.has_data: set[int] = set()  # column indexes holding a value somewhere
        self.offset = 0

    def add(self, chunk: list[list]) -> None:
        n = len(chunk)
        width = max((len(r) for r in chunk), default=0)
        if any(len(r) != width for r in chunk):
            chunk = [list(r) + [None] * (width - len(r)) for r in chunk]
        grid = np.empty((n, width), dtype=object)
        if width:
            grid[:, :] = chunk  # one C-level copy; columns are then views
        del chunk
        nonblank = np.zeros(n, dtype=bool)
        local: dict[int, tuple] = {}
        for ci in range(width):
            arr = grid[:, ci]
            if ci in self.wanted:
                codes, uniq = pd.factorize(arr, use_na_sentinel=True)
                kind_u = np.array([_cell_kind(u) for u in uniq] + [1], dtype=np.int8)[codes]
                blank, err = kind_u == 1, kind_u == 2
                local[ci] = (np.where(blank, -1, codes), np.asarray(uniq, dtype=object), err)
            else:
                blank = (arr == "") | (arr == None)  # noqa: E711 - elementwise
            if not blank.all():
                self.has_data.add(ci)
                nonblank |= ~blank
        keep = np.flatnonzero(nonblank)
        for ci in self.wanted:
            if ci in local:
                codes, uniq, err = local[ci]
                self.parts[ci].append((codes[keep].astype(np.int32), uniq, np.flatnonzero(err[keep])))
            else:  # a short CSV record: the column is blank here
                self.parts[ci].append((np.full(len(keep), -1, dtype=np.int32), np.empty(0, dtype=object),
                                       np.empty(0, dtype=np.int64)))
        self.kept.append(keep + self.offset)
        self.offset += n

    def kept_rows(self) -> np.ndarray:
        return np.concatenate(self.kept) if self.kept else np.empty(0, dtype=np.int64)

    def column(self, ci: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(codes into uniques, blank = -1; uniques; positions of error-literal cells)."""
        parts = self.parts.pop(ci)
        if not parts:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
        codes, uniques = factorised.merge([(c, u) for c, u, _ in parts])
        starts = np.cumsum([0] + [len(c) for c, _, _ in parts[:-1]])
        errors = np.concatenate([err + row0 for (_, _, err), row0 in zip(parts, starts)])
        return codes, uniques, errors


def build_table(path: Path, kind: str, sheet: str | None, rows: Iterable[list],
                flags: dict[tuple[int, int], tuple[str, str | None]], *, line_numbers: list[int] | None = None,
                record_numbers: list[int] | None = None) -> Table:
    """Rows (header included) → Table. ``flags``: (sheet row, col idx) → (kind, cached text).

    ``rows`` is consumed once, :data:`CHUNK_ROWS` at a time: each chunk's cells are factorised
    per column and dropped, so a million-row sheet never exists as Python lists all at once.
    """
    is_csv = kind == "csv"
    it = iter(rows)
    head = list(itertools.islice(it, HEADER_SCAN_ROWS))
    hdr_i = find_header_row(head)
    header = Header(list(head[hdr_i]) if head else [], hdr_i + 1, sheet, is_csv).match()
    ordered = header.ordered
    columns = _ColumnsBuilder({ci for _, ci in ordered})
    for chunk in chunks(itertools.chain(head[hdr_i + 1:], it), CHUNK_ROWS):
        columns.add(chunk)
    del head
    problems = header.problems(columns.has_data)

    keep = columns.kept_rows()
    factors: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    err_cells: list[tuple[str, np.ndarray]] = []
    for name, ci in ordered:
        codes, uniq, err = columns.column(ci)
        factors[ci] = (codes, uniq)
        if len(err):
            err_cells.append((name, err))
    del columns
    keep = keep.tolist()
    if is_csv:
        row_numbers = [record_numbers[hdr_i + 1 + i] for i in keep] if record_numbers else [i + 1 for i in keep]
        lines = [line_numbers[hdr_i + 1 + i] for i in keep] if line_numbers else None
    else:
        row_numbers = [header.row + 1 + i for i in keep]
        lines = None
    table = assemble_table(path, kind, sheet, header, factors, problems, row_numbers, flags, lines=lines)
    if is_csv:
        _warn_error_text(table, err_cells)
    return table


def manifest_of(rows) -> dict:
    """The manifest sheet's (key, value) rows as a dict of texts (a whole-number float as its
    integer's text), as python-calamine or the sheet XML give them."""
    manifest = {}
    for r in rows:
        if len(r) >= 1 and isinstance(r[0], str) and r[0].strip():
            v = r[1] if len(r) > 1 else None
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            manifest[r[0].strip()] = "" if v is None else (v if isinstance(v, str) else str(v))
    return manifest


def cells_frame(factors: dict[str, tuple[np.ndarray, np.ndarray]], rows: int) -> pd.DataFrame:
    """The object frame of the cells (blank = None) from each column's codes and distinct values:
    one block filled column by column (each cell points at its column's one copy of the value: a
    million "0.0000" cost one object), never consolidated or inferred by pandas."""
    if not factors:
        return pd.DataFrame(index=pd.RangeIndex(rows))
    block = np.empty((len(factors), rows), dtype=object)
    for j, (codes, uniques) in enumerate(factors.values()):
        block[j] = np.append(np.asarray(uniques, dtype=object), None)[codes]
    return pd.DataFrame(block.T, columns=list(factors), dtype=object, copy=False)


def assemble_table(path: Path, kind: str, sheet: str | None, header: Header,
                   factors_by_index: dict[int, tuple[np.ndarray, np.ndarray]], problems: list[Problem],
                   row_numbers: list[int], flags: dict[tuple[int, int], tuple[str, str | None]], *,
                   lines: list[int] | None = None) -> Table:
    """The Table of the recognised columns, given each one's (int32 codes per kept row, blank =
    -1; distinct values): the raw cells built from them, flagged cells marked."""
    ordered = header.ordered
    factors = {name: factors_by_index[ci] for name, ci in ordered}
    table = Table(path=path, kind=kind, sheet=sheet, row_numbers=row_numbers,  # cells built on first use
                  column_letters={name: col_letter(ci) for name, ci in ordered}, problems=problems,
                  line_numbers=lines, header_row=header.row, extra_columns=header.extras, factors=factors)
    _mark_flagged_cells(table, flags, {ci: name for name, ci in ordered})
    return table


def _mark_flagged_cells(table: Table, flags: dict[tuple[int, int], tuple[str, str | None]],
                        col_of: dict[int, str]) -> None:
    """Error cells and formulas found by the XML scans (xlsx, ods)."""
    by_row = {rn: pos for pos, rn in enumerate(table.row_numbers)} if flags else {}
    for (rn, ci), (flag, cached) in sorted(flags.items()):
        pos = by_row.get(rn)
        name = col_of.get(ci)
        if pos is None or name is None:
            continue
        ref = f"{col_letter(ci)}{rn}"
        if flag == "formula":
            table.cell_flags[(pos, name)] = "formula"
            value = table.cell(name, pos)
            formula = (cached or "").removeprefix("of:").lstrip("=")
            table.problems.append(Problem(
                table.sheet, rn, name, ref, value, "cell.formula",
                f"{name} is a formula (={formula[:200]}): its saved value is what is read and imported",
                "if that is the value you want, nothing to do; to be sure, replace the formula with its value "
                "(copy the cell, then Paste Special → Values)", pos))
        elif flag == "formula_no_value":
            table.cell_flags[(pos, name)] = "formula_no_value"
            table.blank_cell(pos, name)
            table.problems.append(Problem(
                table.sheet, rn, name, ref, f"={cached}" if cached else None, "cell.formula_no_value",
                f"{name} is a formula with no saved value",
                "open the file in Excel or LibreOffice, let it calculate, and save it; or replace the formula "
                "with the value itself", pos))
        elif flag == "error":
            _error_cell(table, pos, name, ref, cached or "#ERROR")


def _warn_error_text(table: Table, err_cells: list[tuple[str, np.ndarray]]) -> None:
    """CSV has no error cells: a spreadsheet that saved one as CSV wrote its text (#N/A). Such text
    is kept (it may be real) but warned about. (Workbooks mark real error cells; see the scans.)"""
    for name, positions in err_cells:
        for pos in positions.tolist():
            v = table.cell(name, pos)
            table.problems.append(Problem(
                table.sheet, table.row_numbers[pos], name, table.cell_ref(pos, name), v, "cell.error_text",
                f"{name} '{str(v).strip()}' looks like a spreadsheet error value; it is read as text",
                "if a formula failed before the CSV was saved, fix it in the workbook and save the CSV again", pos))


def _error_cell(table: Table, pos: int, name: str, ref: str, text: str) -> None:
    table.cell_flags[(pos, name)] = "error"
    table.blank_cell(pos, name)
    table.problems.append(Problem(table.sheet, table.row_numbers[pos], name, ref, str(text).strip(), "cell.error",
                                  f"{name} is an error cell ({str(text).strip()})",
                                  "fix the formula that produced the error (often a VLOOKUP that found nothing) "
                                  "or type the value in", pos))


def mark_merged(table: Table, ranges) -> None:
    """Merged cells hold one value for several cells: the others would read as blank (= clear)."""
    if not ranges:
        return
    position = {r: i for i, r in enumerate(table.row_numbers)}
    letters = {v: k for k, v in table.column_letters.items()}
    for (r0, c0), (r1, c1) in ranges:
        first = next((position[r + 1] for r in range(r0, r1 + 1) if r + 1 in position), None)
        if first is None:
            continue  # a merged title above the header, or outside the data
        ref = f"{col_letter(c0)}{r0 + 1}:{col_letter(c1)}{r1 + 1}"
        table.problems.append(Problem(
            sheet=table.sheet, row=r0 + 1, column=letters.get(col_letter(c0)), cell=f"{col_letter(c0)}{r0 + 1}",
            value=ref, rule="cell.merged",
            message=f"cells {ref} are merged: only the first holds a value, the others would read as blank",
            hint="unmerge them (Home → Merge & Center → Unmerge Cells) and fill in every cell", index=first))


def mark_hidden(table: Table, hidden: list[int]) -> None:
    """Rows hidden in the sheet are imported like any other: say so, since nobody can see them."""
    position = {r: i for i, r in enumerate(table.row_numbers)} if hidden else {}
    for r in hidden:
        if r in position:
            table.problems.append(Problem(
                sheet=table.sheet, row=r, column=None, cell=f"A{r}", value=None, rule="row.hidden",
                message=f"row {r} is hidden; it was read and will be imported like the others",
                hint="unhide the rows (select all → right-click → Unhide) to see what will be imported",
                index=position[r]))
