"""The report as an openpyxl copy of the user's .xlsx: formatting and other sheets kept, problem
cells filled and commented, a Problems sheet in front. Raises whatever openpyxl raises on a file
it cannot copy; :mod:`.report` then rebuilds the report from the values instead."""
from __future__ import annotations

from pathlib import Path

from . import report_problems as R


def write(report, out: Path) -> None:
    import warnings

    import openpyxl

    t = report.table
    with warnings.catch_warnings():  # what openpyxl cannot read shows in the result, or it raises
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(t.path)
    ws = wb[t.sheet]
    m = R.marks(report)
    _unmerge_marked(ws, m)
    _mark_data_sheet(ws, m)
    if ws.freeze_panes is None:
        ws.freeze_panes = f"A{t.header_row + 1}"
    if ws.auto_filter.ref is None and ws.max_row > t.header_row:
        ws.auto_filter.ref = f"A{t.header_row}:{ws.cell(row=t.header_row, column=ws.max_column).column_letter}" \
                             f"{ws.max_row}"
    ps = wb.create_sheet("Problems", 0)
    _problems_sheet(ps, R.problem_rows(report, t.sheet))
    wb.active = 0
    for s in wb.worksheets:
        s.sheet_view.tabSelected = s is ps
    wb.save(out)


def _unmerge_marked(ws, m: R.Marks) -> None:
    """A merged range's hidden cells cannot hold a fill or a comment: a range with a marked cell
    is unmerged in the report (it shows the cells as they were read: all but the first blank)."""
    if not ws.merged_cells.ranges:
        return
    marked = set(m.fills)
    for rng in list(ws.merged_cells.ranges):
        if any((r, c) in marked for r in range(rng.min_row, rng.max_row + 1)
               for c in _letters(rng.min_col, rng.max_col)):
            ws.unmerge_cells(str(rng))


def _letters(c0: int, c1: int) -> list[str]:
    from openpyxl.utils import get_column_letter

    return [get_column_letter(c) for c in range(c0, c1 + 1)]


def _mark_data_sheet(ws, m: R.Marks) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    fills = {"error": PatternFill("solid", fgColor=R.ERROR_FILL), "warning": PatternFill("solid", fgColor=R.WARNING_FILL)}
    for (row, letter), severity in m.fills.items():
        cell = ws[f"{letter}{row}"]
        cell.fill = fills[severity]
        if (row, letter) in m.notes:
            cm = Comment(m.notes[(row, letter)], "inventory-tools")
            cm.width, cm.height = 320, 140
            cell.comment = cm


def _problems_sheet(ps, rows: list[R.ProblemRow]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.hyperlink import Hyperlink

    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor="D9E1F2")
    ps.append(R.PROBLEMS_HEAD)
    for c in ps[1]:
        c.font, c.fill = head_font, head_fill
    wrap = Alignment(vertical="top", wrap_text=True)
    link_font = Font(color="0563C1", underline="single")
    sev_fill = {"error": PatternFill("solid", fgColor=R.ERROR_FILL), "warning": PatternFill("solid", fgColor=R.WARNING_FILL)}
    wrapped = {ci for ci, h in enumerate(R.PROBLEMS_HEAD, start=1) if h in R.WRAPPED}
    severity_col = R.PROBLEMS_HEAD.index("Severity") + 1
    for r, row in enumerate(rows, start=2):
        for ci, v in enumerate(row.values, start=1):
            c = ps.cell(row=r, column=ci)
            c.value = v
            c.data_type = "s"  # text, even when it starts with "="
            if ci in wrapped:
                c.alignment = wrap
        ps.cell(row=r, column=severity_col).fill = sev_fill.get(row.severity, sev_fill["warning"])
        if row.target and r - 2 < R.LINK_LIMIT:
            c = ps.cell(row=r, column=1)
            c.hyperlink = Hyperlink(ref=c.coordinate, location=row.target)
            c.font = link_font
    for i, w in enumerate(R.PROBLEMS_WIDTHS, start=1):
        ps.column_dimensions[get_column_letter(i)].width = w
    ps.freeze_panes = "A2"
    ps.auto_filter.ref = f"A1:{get_column_letter(len(R.PROBLEMS_HEAD))}{max(ps.max_row, 2)}"
