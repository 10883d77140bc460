"""The report rebuilt from the file's values (large .xlsx, .ods, .csv, and any workbook openpyxl
cannot copy): xlsxwriter writes the Problems sheet, the comments and the styles in constant
memory; the data sheet's ``sheetData`` is then replaced by rows rendered a column at a time
(xlsxwriter's cell-by-cell writing costs ~5 µs a cell, half a minute for 100,000 products).
The data sheet's part is found through the package's relationships, never by a fixed name."""
from __future__ import annotations

import datetime as _dt
import math
import re
import zipfile
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from ..cellref import col_index, col_letter
from ..reading import Table, chunks
from ..sheets import DATA_SHEET
from . import report_problems as R
from .xml import xml_text

_LEVELS = (None, "warning", "error")


def write(report, out: Path) -> None:
    import xlsxwriter

    t = report.table
    data_name = (t.sheet or DATA_SHEET)[:31]
    draft = out.with_name(out.name + ".draft")
    try:
        wb = xlsxwriter.Workbook(str(draft), {"constant_memory": True, "strings_to_formulas": False,
                                              "strings_to_urls": False, "strings_to_numbers": False})
        wb.use_zip64()
        ps = wb.add_worksheet("Problems")
        ds = wb.add_worksheet(data_name)
        ps.activate()
        _problems_sheet(wb, ps, R.problem_rows(report, data_name))
        m = R.marks(report)
        xf_of = _data_sheet_frame(wb, ds, t, m)
        wb.close()
        xf = {key: fmt.xf_index or 0 for key, fmt in xf_of.items()}
        _replace_sheet_data(draft, out, data_name, _report_rows(t, m.fills, xf))
    finally:
        if draft.exists():
            draft.unlink()


def _problems_sheet(wb, ps, rows: list[R.ProblemRow]) -> None:
    head = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "pattern": 1, "valign": "top"})
    top = wb.add_format({"valign": "top"})
    wrap = wb.add_format({"valign": "top", "text_wrap": True})
    link = wb.add_format({"font_color": "#0563C1", "underline": 1, "valign": "top"})
    sev = {k: wb.add_format({"bg_color": "#" + c, "pattern": 1, "valign": "top"})
           for k, c in (("error", R.ERROR_FILL), ("warning", R.WARNING_FILL))}
    formats = [wrap if h in R.WRAPPED else top for h in R.PROBLEMS_HEAD]
    severity_col = R.PROBLEMS_HEAD.index("Severity")
    for ci, w in enumerate(R.PROBLEMS_WIDTHS):
        ps.set_column(ci, ci, w, formats[ci])
    ps.freeze_panes(1, 0)
    ps.write_row(0, 0, R.PROBLEMS_HEAD, head)
    r = 0
    for r, row in enumerate(rows, start=1):
        for ci, v in enumerate(row.values):
            if ci == 0 and row.target and r <= R.LINK_LIMIT:
                ps.write_url(r, 0, f"internal:{row.target}", link, string=v)
            elif ci == severity_col:
                ps.write_string(r, ci, v, sev.get(row.severity, sev["warning"]))
            else:
                ps.write_string(r, ci, v, formats[ci])
    ps.autofilter(0, 0, max(r, 1), len(R.PROBLEMS_HEAD) - 1)


def _data_sheet_frame(wb, ds, t: Table, m: R.Marks) -> dict:
    """Everything of the data sheet but its cells: frozen header, filter, comments, and one
    placeholder cell per style the rendered cells use (so xlsxwriter registers each)."""
    fill = {k: {"bg_color": "#" + c, "pattern": 1} for k, c in (("error", R.ERROR_FILL), ("warning", R.WARNING_FILL))}
    date = {"num_format": "yyyy-mm-dd hh:mm:ss"}
    styles = {("header", None): wb.add_format({"bold": True}),
              ("text", "error"): wb.add_format(fill["error"]), ("text", "warning"): wb.add_format(fill["warning"]),
              ("date", None): wb.add_format(date), ("date", "error"): wb.add_format({**date, **fill["error"]}),
              ("date", "warning"): wb.add_format({**date, **fill["warning"]})}
    for ci, fmt in enumerate(styles.values()):
        ds.write_blank(0, ci, None, fmt)
    header = t.header_row
    ds.freeze_panes(header, 0)
    last_row = max([header] + [r + (1 if t.kind == "csv" else 0) for r in t.row_numbers[-1:]])
    letters = list(t.column_letters.values()) + list(t.extra_columns.values())
    last_col = max([col_index(x) for x in letters] + [0])
    ds.autofilter(header - 1, 0, max(last_row - 1, header), last_col)
    note_opts = {"author": "inventory-tools", "x_scale": 2.5, "y_scale": 2}
    for (row, letter), text in sorted(m.notes.items(), key=lambda kv: (kv[0][0], col_index(kv[0][1]))):
        ds.write_comment(row - 1, col_index(letter), text, note_opts)
    return styles


def _report_rows(t: Table, fills: dict[tuple[int, str], str], xf: dict) -> Iterable[str]:
    """The data sheet's ``<row>`` elements: the file's values as typed cells (text never a formula),
    marked cells filled by severity; the header row bold."""
    marks: dict[int, dict[int, int]] = {}
    for (row, letter), severity in fills.items():
        marks.setdefault(row, {})[col_index(letter)] = 2 if severity == "error" else 1
    first = 1
    for chunk in chunks(_all_rows(t), R.REPORT_CHUNK_ROWS):
        marked = {r - first: marks[r] for r in range(first, first + len(chunk)) if r in marks}
        width = max([len(row) for row in chunk] + [max(m) + 1 for m in marked.values()])
        level = np.zeros((len(chunk), width), dtype=np.int8)  # 0 none, 1 warning, 2 error
        for i, by_column in marked.items():
            for ci, lv in by_column.items():
                level[i, ci] = lv
        numbers = np.arange(first, first + len(chunk)).astype(str).astype(object)
        grid = np.full((len(chunk), 3 * width + 2), "", dtype=object)
        grid[:, 0] = '<row r="' + numbers + '">'
        grid[:, -1] = "</row>"
        values_grid = np.empty((len(chunk), width), dtype=object)
        values_grid[:, :] = [list(row) + [None] * (width - len(row)) for row in chunk]
        head = t.header_row - first if first <= t.header_row < first + len(chunk) else None
        for ci in range(width):
            cells, blank = _column_cells(values_grid[:, ci], level[:, ci], head, xf)
            keep = ~blank
            grid[keep, 1 + 3 * ci] = f'<c r="{col_letter(ci)}'
            grid[keep, 2 + 3 * ci] = numbers[keep]
            grid[keep, 3 + 3 * ci] = cells[keep]
        first += len(chunk)
        yield "".join(grid.ravel().tolist())


def _column_cells(values: np.ndarray, level: np.ndarray, head: int | None, xf: dict):
    """One column of a chunk: (each cell's XML after its reference, which cells are blank). Each
    distinct value's XML is built once per severity used."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if any(type(u) is bool for u in uniques):  # factorize takes True for 1.0: each cell alone
        codes, uniques = np.arange(len(values)), values
    used = np.unique(level)
    tails = [np.array([_report_tail(u, _LEVELS[lv], xf) for u in uniques] + [None], dtype=object)
             if lv in used or lv == 0 else None for lv in range(3)]
    cells = tails[0][codes] if len(used) == 1 and used[0] == 0 else \
        np.choose(level, [t[codes] if t is not None else tails[0][codes] for t in tails])
    blank = np.fromiter((t is None for t in tails[0]), dtype=bool, count=len(tails[0]))[codes]
    if head is not None:  # the header row: bold unless it has a problem
        cells[head] = _report_tail(values[head], _LEVELS[level[head]] if level[head] else "header", xf)
        blank[head] = cells[head] is None
    marked_blank = blank & (level > 0)
    if marked_blank.any():
        cells[marked_blank] = np.where(level[marked_blank] == 2, f'" s="{xf[("text", "error")]}"/>',
                                       f'" s="{xf[("text", "warning")]}"/>')
        blank &= ~marked_blank
    return cells, blank


def _report_tail(value, level: str | None, xf: dict) -> str | None:
    """A cell's XML after its reference, for one value at one severity (None: a blank cell)."""
    if value is None or (isinstance(value, str) and value == ""):
        return None
    style = xf[("header", None)] if level == "header" else xf[("text", level)] if level else 0
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time, _dt.timedelta)):
        style = xf[("date", level if level in ("error", "warning") else None)]
        return f'" s="{style}"><v>{_excel_serial(value)!r}</v></c>'
    attr = f' s="{style}"' if style else ""
    if isinstance(value, bool):
        return f'"{attr} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)) and math.isfinite(value):
        return f'"{attr}><v>{value!r}</v></c>'
    return f'"{attr} t="inlineStr"><is><t xml:space="preserve">{xml_text(str(value))}</t></is></c>'


def _excel_serial(value) -> float:
    epoch = _dt.datetime(1899, 12, 30)
    if isinstance(value, _dt.timedelta):
        return value.total_seconds() / 86400
    if isinstance(value, _dt.time):
        return (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6) / 86400
    if not isinstance(value, _dt.datetime):
        value = _dt.datetime(value.year, value.month, value.day)
    return (value.replace(tzinfo=None) - epoch).total_seconds() / 86400


def _replace_sheet_data(src: Path, out: Path, sheet: str, rows: Iterable[str]) -> None:
    """Copy the workbook ``src`` to ``out`` with ``sheet``'s sheetData replaced by ``rows``
    (streamed). The sheet's part is found through the workbook's relationships."""
    from ..reading.package import Package
    from .writer import Deflater

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1,
                                                      allowZip64=True) as zout:
        part = Package.of(zin).sheet_part(sheet)
        if part is None:
            raise RuntimeError(f"the report's sheet {sheet!r} has no part")  # our own draft: never happens
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename != part:
                zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
                continue
            xml = data.decode("utf-8")
            m = re.search(r"<sheetData>.*?</sheetData>|<sheetData/>", xml, re.S)
            head, tail = xml[:m.start()], xml[m.end():]
            head = re.sub(r"<dimension [^>]*/>", "", head)  # xlsxwriter's covers the placeholders only
            with zout.open(info.filename, "w", force_zip64=True) as fh, Deflater(fh) as sink:
                sink.write((head + "<sheetData>").encode("utf-8"))
                for piece in rows:
                    sink.write(piece.encode("utf-8"))
                sink.write(("</sheetData>" + tail).encode("utf-8"))


def _all_rows(t: Table):
    """Every row of the file's data sheet (header first), one at a time, for the rebuilt report."""
    if t.kind == "csv":
        from ..reading.csvfile import csv_records, decode

        text, _, _ = decode(t.path, t.path.read_bytes(), t.encoding if t.encoding != "utf-8-sig" else None)
        for record, _line in csv_records(text):
            yield record
        return
    from ..reading.workbook import open_workbook

    sheet = open_workbook(t.path, t.kind).get_sheet_by_name(t.sheet)
    pad = [None] * (sheet.start[1] if sheet.start else 0)  # rows come whole; columns from the first used one
    for row in sheet.iter_rows():
        yield pad + list(row) if pad else row
