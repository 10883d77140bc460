"""``validate --report OUT.xlsx``: the user's workbook with every problem cell filled and
commented, and a ``Problems`` sheet at the front with a link to each cell. Never writes a formula.

An .xlsx of up to :data:`COPY_LIMIT` cells is copied with openpyxl (formatting and other sheets
kept); larger files, .ods and .csv are rebuilt from their values with xlsxwriter in constant
memory, its data sheet rendered a column at a time (xlsxwriter's cell-by-cell writing costs
~5 µs a cell, half a minute for 100,000 products).
"""
from __future__ import annotations

import datetime as _dt
import math
import re
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from .. import columns as cols
from ..cellref import col_index, col_letter
from ..reading import Problem, Table, chunks
from ..sheets import DATA_SHEET
from .xml import xml_text

COMMENT_LIMIT = 10_000
COPY_LIMIT = 400_000  # cells: up to this, an .xlsx report is an openpyxl copy (keeps formatting)
PROBLEMS_HEAD = ["Cell", "Column", "Value", "Rule", "Severity", "Message", "Fix"]
PROBLEMS_WIDTHS = (26, 22, 22, 26, 9, 70, 60)
ERROR_FILL, WARNING_FILL = "FFC7CE", "FFEB9C"


def _marks(report) -> tuple[dict[tuple[int, str], str], dict[tuple[int, str], str]]:
    """(row, letter) → severity (error wins) and → comment text (first COMMENT_LIMIT cells)."""
    sev: dict[tuple[int, str], str] = {}
    notes: dict[tuple[int, str], str] = {}
    for p in report.problems:
        loc = _sheet_loc(report.table, p)
        if loc is None:
            continue
        if sev.get(loc) != "error":
            sev[loc] = p.severity
        text = f"{p.severity}: {p.message}" + (f"\nfix: {p.hint}" if p.hint else "")
        if loc in notes:
            notes[loc] = (notes[loc] + "\n\n" + text)[:30000]
        elif len(notes) < COMMENT_LIMIT:
            notes[loc] = text[:30000]
    return sev, notes


def _problem_rows(report, data_name: str):
    for p in report.problems:
        loc = _sheet_loc(report.table, p)
        cell_text = f"{data_name}!{loc[1]}{loc[0]}" if loc else (p.cell or "(file)")
        target = f"'{data_name}'!{loc[1]}{loc[0]}" if loc else None
        yield target, [cell_text, p.column or "", "" if p.value is None else str(p.value), p.rule, p.severity,
                       p.message, p.hint]


def write_report(report, out) -> Path:
    """The user's workbook with every problem cell filled and commented (comments: first 10,000
    cells), plus a ``Problems`` sheet at the front with a link to each cell. Never writes a formula.

    An .xlsx of up to COPY_LIMIT cells is copied with openpyxl (formatting and other sheets kept);
    larger files, .ods and .csv are rebuilt from their values with xlsxwriter in constant memory.
    """
    out = Path(out)
    t = report.table
    cells = len(t.row_numbers) * max(len(t.column_letters) + len(t.extra_columns), 1)
    if t.kind == "xlsx" and cells <= COPY_LIMIT:
        return _write_xlsx_copy(report, out)
    return _write_xlsx_rebuilt(report, out)


def _write_xlsx_copy(report, out: Path) -> Path:
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.hyperlink import Hyperlink

    t = report.table
    wb = openpyxl.load_workbook(t.path)
    data_name = t.sheet
    ws = wb[data_name]
    fills = {"error": PatternFill("solid", fgColor=ERROR_FILL), "warning": PatternFill("solid", fgColor=WARNING_FILL)}
    sev, notes = _marks(report)
    for (row, letter), severity in sev.items():
        cell = ws[f"{letter}{row}"]
        cell.fill = fills[severity]
        if (row, letter) in notes:
            cm = Comment(notes[(row, letter)], "inventory-tools")
            cm.width, cm.height = 320, 140
            cell.comment = cm
    ps = wb.create_sheet("Problems", 0)
    ps.append(PROBLEMS_HEAD)
    for c in ps[1]:
        c.font = Font(bold=True)
    ps.freeze_panes = "A2"
    link_font = Font(color="0563C1", underline="single")
    for r, (target, vals) in enumerate(_problem_rows(report, data_name), start=2):
        for ci, v in enumerate(vals, start=1):
            c = ps.cell(row=r, column=ci)
            c.value = v
            c.data_type = "s"  # text, even when it starts with "="
        if target:
            c = ps.cell(row=r, column=1)
            c.hyperlink = Hyperlink(ref=c.coordinate, location=target)
            c.font = link_font
    for letter, w in zip("ABCDEFG", PROBLEMS_WIDTHS):
        ps.column_dimensions[letter].width = w
    if ps.max_row > 1:
        ps.auto_filter.ref = f"A1:G{ps.max_row}"
    wb.active = 0
    for s in wb.worksheets:
        s.sheet_view.tabSelected = s is ps
    wb.save(out)
    return out


def _write_xlsx_rebuilt(report, out: Path) -> Path:
    import xlsxwriter

    t = report.table
    data_name = (t.sheet or DATA_SHEET)[:31]
    wb = xlsxwriter.Workbook(str(out), {"constant_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "strings_to_numbers": False})
    wb.use_zip64()
    bold = wb.add_format({"bold": True})
    link = wb.add_format({"font_color": "#0563C1", "underline": 1})
    fills = {k: wb.add_format({"bg_color": "#" + c, "pattern": 1}) for k, c in
             (("error", ERROR_FILL), ("warning", WARNING_FILL))}
    date_fmt = {k: wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss", **({"bg_color": "#" + c, "pattern": 1} if c else {})})
                for k, c in ((None, ""), ("error", ERROR_FILL), ("warning", WARNING_FILL))}

    ps = wb.add_worksheet("Problems")
    ds = wb.add_worksheet(data_name)
    ps.activate()
    ps.freeze_panes(1, 0)
    ps.write_row(0, 0, PROBLEMS_HEAD, bold)
    links = 0
    r = 0
    for r, (target, vals) in enumerate(_problem_rows(report, data_name), start=1):
        for ci, v in enumerate(vals):
            if ci == 0 and target and links < 65_000:  # Excel's limit on links per sheet
                ps.write_url(r, 0, f"internal:{target}", link, string=v)
                links += 1
            else:
                ps.write_string(r, ci, v)
    for ci, w in enumerate(PROBLEMS_WIDTHS):
        ps.set_column(ci, ci, w)
    if r:
        ps.autofilter(0, 0, r, len(PROBLEMS_HEAD) - 1)

    sev, notes = _marks(report)
    ds.freeze_panes(1, 0)
    # Every format the cells use is registered by one placeholder cell (the whole sheetData is
    # replaced after closing, by rows rendered a column at a time: xlsxwriter's cell-by-cell
    # writing costs ~5 µs a cell, half a minute for 100,000 products).
    styles = {("text", None): bold, ("text", "error"): fills["error"], ("text", "warning"): fills["warning"],
              ("date", None): date_fmt[None], ("date", "error"): date_fmt["error"],
              ("date", "warning"): date_fmt["warning"]}
    for ci, fmt in enumerate(styles.values()):
        ds.write_blank(0, ci, None, fmt)
    note_opts = {"author": "inventory-tools", "x_scale": 2.5, "y_scale": 2}
    for (row, letter), text in sorted(notes.items(), key=lambda kv: (kv[0][0], col_index(kv[0][1]))):
        ds.write_comment(row - 1, col_index(letter), text, note_opts)
    wb.close()
    xf = {key: fmt.xf_index or 0 for key, fmt in styles.items()}
    _replace_sheet_data(out, "xl/worksheets/sheet2.xml", _report_rows(t, sev, xf))
    return out


REPORT_CHUNK_ROWS = 5_000


def _report_rows(t: Table, sev: dict[tuple[int, str], str], xf: dict) -> Iterable[str]:
    """The data sheet's ``<row>`` elements: the file's values as typed cells (text never a formula),
    problem cells filled by severity; the header row bold."""
    marks: dict[int, dict[int, int]] = {}
    for (row, letter), severity in sev.items():
        marks.setdefault(row, {})[col_index(letter)] = 2 if severity == "error" else 1
    levels = (None, "warning", "error")
    first = 1
    for chunk in chunks(_all_rows(t), REPORT_CHUNK_ROWS):
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
        for ci in range(width):
            values = values_grid[:, ci]
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            if any(type(u) is bool for u in uniques):  # factorize takes True for 1.0: each cell alone
                codes, uniques = np.arange(len(values)), values
            used = np.unique(level[:, ci])
            tails = [np.array([_report_tail(u, levels[lv], xf) for u in uniques] + [None], dtype=object)
                     if lv in used or lv == 0 else None for lv in range(3)]
            cells = tails[0][codes] if len(used) == 1 and used[0] == 0 else \
                np.choose(level[:, ci], [t[codes] if t is not None else tails[0][codes] for t in tails])
            blank = np.fromiter((t is None for t in tails[0]), dtype=bool, count=len(tails[0]))[codes]
            if first == 1:  # the header row: bold unless it has a problem
                head = values[0]
                cells[0] = _report_tail(head, levels[level[0, ci]] if level[0, ci] else "header", xf)
                blank[0] = cells[0] is None
            marked_blank = blank & (level[:, ci] > 0)
            if marked_blank.any():
                cells[marked_blank] = np.where(level[marked_blank, ci] == 2, f'" s="{xf[("text", "error")]}"/>',
                                               f'" s="{xf[("text", "warning")]}"/>')
                blank &= ~marked_blank
            keep = ~blank
            grid[keep, 1 + 3 * ci] = f'<c r="{col_letter(ci)}'
            grid[keep, 2 + 3 * ci] = numbers[keep]
            grid[keep, 3 + 3 * ci] = cells[keep]
        first += len(chunk)
        yield "".join(grid.ravel().tolist())


def _report_tail(value, level: str | None, xf: dict) -> str | None:
    """A cell's XML after its reference, for one value at one severity (None: a blank cell)."""
    if value is None or (isinstance(value, str) and value == ""):
        return None
    style = xf[("text", None if level == "header" else level)] if level else 0  # ("text", None): bold
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


def _replace_sheet_data(path: Path, part: str, rows: Iterable[str]) -> None:
    """Rewrite the workbook at ``path`` with ``part``'s sheetData replaced by ``rows`` (streamed)."""
    import os
    import zipfile

    from .writer import Deflater

    tmp = Path(f"{path}.rows.part")
    try:
        with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1,
                                                           allowZip64=True) as zout:
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
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _sheet_loc(t: Table, p: Problem) -> tuple[int, str] | None:
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


def _all_rows(t: Table):
    """Every row of the file's data sheet (header first), one at a time, for the rebuilt report."""
    if t.kind == "csv":
        from ..reading.csvfile import csv_records, decode

        text, _, _ = decode(t.path, t.path.read_bytes(), t.encoding if t.encoding != "utf-8-sig" else None)
        for record, _line in csv_records(text):
            yield record
        return
    import python_calamine as pc

    sheet = pc.load_workbook(str(t.path)).get_sheet_by_name(t.sheet)
    pad = [None] * (sheet.start[1] if sheet.start else 0)  # rows come whole; columns from the first used one
    for row in sheet.iter_rows():
        yield pad + list(row) if pad else row
