"""A small, fast, streaming .xlsx writer for the inventory list.

Why not openpyxl/xlsxwriter: at 100k rows x 96 columns they spend ~100k cells/s in per-cell
Python. Here each column's distinct values are rendered to cell XML by Arrow's string kernels,
and a chunk's rows are laid out by one Arrow ``take`` (:mod:`.rows`), streamed into the zip and
compressed on a second thread, so time and memory stay flat (bench/RESULTS.md has figures).

What it writes: shared-string text cells (typed text: never a formula, whatever the text),
number cells with a fixed decimal format, styles for a bold frozen header, text-formatted
identifier columns, shaded read-only columns, column widths, an autofilter, list dropdowns,
and extra plain sheets (instructions, a hidden manifest, hidden dropdown lists).
"""
from __future__ import annotations

import math
import zipfile
from typing import TYPE_CHECKING, Iterable, Sequence

if TYPE_CHECKING:
    import pandas as pd

import numpy as np
import pyarrow as pa

from ..cellref import col_letter
from . import arrowtext as at
from .cells import CodedColumn, ColumnSpec, PlainSheet, SharedStrings, ValueCells
from .rows import Placed, chunk_xml, release
from .xml import (APP_XML, CellStyle, ROOT_RELS, SHEET_COMMENT_RELS, MAX_COMMENTS, comments_xml, page_setup_xml,
                  styles_xml, vml_xml, xml_attr, xml_text)

MAX_ROWS = 1_048_576
CHUNK_ROWS = 16_384  # rows rendered at a time: bounds memory (~100 MB) at any export size
#: Column-width units one landscape page holds at about half size (11-point text printed at ~5.5
#: points is the least that reads); wider sheets print on more pages across.
READABLE_UNITS_PER_PAGE = 260


class Deflater:
    """Writes to a zip entry on a second thread: zlib and the file write release the GIL, so
    compressing chunk N overlaps rendering chunk N+1 (two cores: the sheet costs ~the rendering)."""

    def __init__(self, fh):
        import queue
        import threading

        from .deflate import use_fast_deflate

        use_fast_deflate(fh)  # ISA-L's deflate where installed: ~3x zlib's (xlsx/deflate.py)
        self.fh = fh
        self.queue: "queue.Queue[bytes | None]" = queue.Queue(maxsize=4)  # bounds memory to a few chunks
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="deflate", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            data = self.queue.get()
            if data is None:
                return
            if self.error is None:
                try:
                    self.fh.write(data)
                except BaseException as exc:  # noqa: BLE001 - handed to the writing thread
                    self.error = exc

    def write(self, data: bytes | memoryview) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(data)

    def __enter__(self) -> "Deflater":
        return self

    def __exit__(self, *exc) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None and exc[0] is None:
            raise self.error


class FrameChunks:
    """Rows to write, in chunks: a whole DataFrame, or (see exporting) a stream from a store."""

    def __init__(self, frame: "pd.DataFrame"):
        self.frame = frame
        self.n = len(frame)

    def chunks(self, size: int) -> "Iterable[pd.DataFrame]":
        for start in range(0, self.n, size):
            yield self.frame.iloc[start:start + size]


class XlsxWriter:
    """Write one data sheet (from a DataFrame of canonical strings) plus small plain sheets."""

    def __init__(self, path, *, data_sheet: str, specs: Sequence[ColumnSpec], compresslevel: int = 1):
        self.path = path
        self.data_sheet = data_sheet
        self.specs = list(specs)
        self.compresslevel = compresslevel
        self.sst = SharedStrings()
        self.extra: list[PlainSheet] = []
        self.observer = None
        self.coded: dict[str, CodedColumn] = {}
        #: Pages across when printed (0: as few as keep text readable; see pages_wide).
        self.fit_width = 0

    def add_sheet(self, sheet: PlainSheet) -> None:
        self.extra.append(sheet)

    def write(self, rows, progress=None, highlight: dict[str, np.ndarray] | None = None,
              comments: list[tuple[int, int, str]] | None = None, observer=None,
              coded: dict[str, CodedColumn] | None = None) -> int:
        """``rows``: a DataFrame, or anything with ``n`` and ``chunks(size)`` (streamed, so memory
        stays flat). ``comments``: (0-based data row, 0-based column, text) notes on cells.
        ``observer``: gets each chunk's columns as the writer factorised them
        (``column(name, codes, values)``: int32 codes, blank = -1, into an Arrow array of the
        distinct values), then ``end_chunk(rows, chunk)``.
        ``coded``: columns given whole as category codes (then absent from ``rows``)."""
        self.observer = observer
        self.coded = coded or {}
        source = rows if hasattr(rows, "chunks") else FrameChunks(rows)
        n = source.n
        if n + 1 > MAX_ROWS:
            from ..errors import UsageError

            raise UsageError(f"{n:,} products do not fit in one sheet (Excel's limit is {MAX_ROWS - 1:,} rows)",
                             "export some statuses at a time (--status), or export CSV")
        sheets = [self.data_sheet] + [s.name for s in self.extra]
        with zipfile.ZipFile(self.path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=self.compresslevel,
                             allowZip64=True) as zf:
            comments = (comments or [])[:MAX_COMMENTS]
            with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh, Deflater(fh) as out:
                for piece in self._data_sheet_chunks(source, progress, highlight or {}, bool(comments)):
                    out.write(piece)
            if comments:
                zf.writestr("xl/comments1.xml", comments_xml(comments))
                zf.writestr("xl/drawings/vmlDrawing1.vml", vml_xml(comments))
                zf.writestr("xl/worksheets/_rels/sheet1.xml.rels", SHEET_COMMENT_RELS)
            for i, sheet in enumerate(self.extra, start=2):
                with zf.open(f"xl/worksheets/sheet{i}.xml", "w", force_zip64=True) as fh:
                    for piece in self._plain_sheet_xml(sheet):
                        fh.write(piece)
            with zf.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh, Deflater(fh) as out:
                for piece in self.sst.xml_chunks():
                    out.write(piece)
            zf.writestr("xl/styles.xml", styles_xml())
            zf.writestr("xl/workbook.xml", self._workbook_xml(n))
            zf.writestr("xl/_rels/workbook.xml.rels", self._workbook_rels(len(sheets)))
            zf.writestr("[Content_Types].xml", self._content_types(len(sheets), bool(comments)))
            zf.writestr("_rels/.rels", ROOT_RELS)
            zf.writestr("docProps/app.xml", APP_XML)
        release()
        return n

    # -- data sheet --
    def _data_sheet_chunks(self, source, progress, highlight: dict,
                           has_comments: bool = False) -> Iterable[bytes | memoryview]:
        specs = self.specs
        n = source.n
        last_col = col_letter(len(specs) - 1)
        cols_xml = "".join(
            f'<col min="{i + 1}" max="{i + 1}" width="{s.width:.2f}" style="{s.style}" customWidth="1"/>'
            for i, s in enumerate(specs))
        header = "".join(
            f'<c r="{col_letter(i)}1" s="{CellStyle.HEADER_READONLY if s.read_only else CellStyle.HEADER}" t="s">'
            f'<v>{self.sst.code(s.name)}</v></c>' for i, s in enumerate(specs))
        yield ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
               ' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
               '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
               f'<dimension ref="A1:{last_col}{n + 1}"/>'
               '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
               '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
               '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
               '<sheetFormatPr defaultRowHeight="15"/>'
               f'<cols>{cols_xml}</cols><sheetData><row r="1">{header}</row>').encode()
        start = 0
        chunks = source.arrow_chunks(CHUNK_ROWS) if hasattr(source, "arrow_chunks") else source.chunks(CHUNK_ROWS)
        for chunk in chunks:
            size = chunk.num_rows if hasattr(chunk, "num_rows") else len(chunk)
            placed = [self._placed(chunk, start, size, spec, col_letter(j), highlight.get(spec.name))
                      for j, spec in enumerate(specs)]
            if self.observer is not None:
                self.observer.end_chunk(size, chunk)
            yield chunk_xml(start + 2, placed, size)
            start += size
            if progress:
                progress(size)
        yield ("</sheetData>"
               f'<autoFilter ref="A1:{last_col}{max(n + 1, 2)}"/>'
               + self._validations_xml()
               + page_setup_xml("landscape", self.pages_wide(), grid_lines=True)
               + ('<legacyDrawing r:id="rIdVml"/>' if has_comments else "") + '</worksheet>').encode()

    def _placed(self, chunk, start: int, size: int, spec: ColumnSpec, letter: str,
                marks: np.ndarray | None) -> Placed:
        """One column of a chunk: its values coded, each distinct value's cell built."""
        if spec.name in self.coded:
            codes, cells = self.coded[spec.name].chunk(start, size, spec, self.sst)
        else:
            codes, values = at.encode(column_of(chunk, spec.name))
            if self.observer is not None:
                self.observer.column(spec.name, codes, values)
            cells = ValueCells(values, spec, self.sst, size)
        marks = marks[start:start + size] if marks is not None else None
        style = CellStyle.HIGHLIGHT_NUMBER if spec.kind == "number" else CellStyle.HIGHLIGHT_TEXT
        return Placed(letter, codes, cells, marks, style, mark_blanks=True)

    def pages_wide(self) -> int:
        """Pages across a printout: ``fit_width`` if set, else as few as keep the text readable."""
        if self.fit_width:
            return self.fit_width
        total = sum(s.width for s in self.specs)
        return max(1, math.ceil(total / READABLE_UNITS_PER_PAGE))

    def _validations_xml(self) -> str:
        items = []
        for i, s in enumerate(self.specs):
            if not s.dropdown:
                continue
            if isinstance(s.dropdown, str):
                formula = s.dropdown
            else:
                formula = '"' + ",".join(v.replace('"', '""') for v in s.dropdown) + '"'
            letter = col_letter(i)
            style = "stop" if s.dropdown_strict else "warning"
            items.append(
                f'<dataValidation type="list" errorStyle="{style}" allowBlank="1" showInputMessage="1"'
                f' showErrorMessage="1" errorTitle="{xml_attr(s.name)}"'
                f' error="{xml_attr("Choose a value from the list")}" sqref="{letter}2:{letter}{MAX_ROWS}">'
                f'<formula1>{xml_text(formula)}</formula1></dataValidation>')
        return f'<dataValidations count="{len(items)}">{"".join(items)}</dataValidations>' if items else ""

    # -- plain sheets --
    def _plain_sheet_xml(self, sheet: PlainSheet) -> Iterable[bytes | memoryview]:
        cols = "".join(f'<col min="{i + 1}" max="{i + 1}" width="{w:.2f}" customWidth="1"/>'
                       for i, w in enumerate(sheet.widths))
        printing = "" if sheet.hidden else page_setup_xml(sheet.orientation, 1)
        yield ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               + ("" if sheet.hidden else '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>')
               + '<sheetViews><sheetView workbookViewId="0"/></sheetViews>'
               '<sheetFormatPr defaultRowHeight="15"/>'
               + (f"<cols>{cols}</cols>" if cols else "") + "<sheetData>").encode()
        yield from self._plain_rows_xml(sheet)
        yield f"</sheetData>{printing}</worksheet>".encode()

    def _plain_rows_xml(self, sheet: PlainSheet) -> Iterable[bytes | memoryview]:
        """Every row's XML, a chunk of rows at a time (a Changes sheet may hold 100,000 rows).
        Cells wrap within their column's width; each row is as tall as its longest cell."""
        rows = sheet.rows
        first = 0
        if sheet.title_first_row and rows:
            cells = "".join(f'<c r="{col_letter(c)}1" s="{CellStyle.TITLE}" t="s"><v>{self.sst.code(str(v))}</v></c>'
                            for c, v in enumerate(rows[0]) if v not in (None, ""))
            yield f'<row r="1" ht="22">{cells}</row>'.encode()
            first = 1
        height = sheet.height
        headings = np.zeros(height, dtype=bool)
        headings[[h for h in sheet.headings if first <= h < height]] = True
        specs = [ColumnSpec("", "text", wrap=True, width=sheet.widths[c] if c < len(sheet.widths) else 12.0)
                 for c in range(sheet.width if height > first else 0)]
        for start in range(first, height, CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, height)
            placed = []
            for c, spec in enumerate(specs):
                codes, values = at.encode(sheet.column_values(c, start, stop))
                marks = headings[start:stop] if c == 0 else None
                placed.append(Placed(col_letter(c), codes, ValueCells(values, spec, self.sst, stop - start), marks,
                                     CellStyle.HEADING))
            yield chunk_xml(start + 1, placed, stop - start)

    # -- package parts --
    def _workbook_xml(self, n: int) -> str:
        sheets = [f'<sheet name="{xml_attr(self.data_sheet)}" sheetId="1" r:id="rId1"/>']
        for i, s in enumerate(self.extra, start=2):
            state = ' state="hidden"' if s.hidden else ""
            sheets.append(f'<sheet name="{xml_attr(s.name)}" sheetId="{i}"{state} r:id="rId{i}"/>')
        last_col = col_letter(len(self.specs) - 1)
        quoted = xml_text("'" + self.data_sheet.replace("'", "''") + "'")
        titles = (f"{quoted}!$A:$A," if self.pages_wide() > 1 else "") + f"{quoted}!$1:$1"
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
                ' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                '<bookViews><workbookView activeTab="0"/></bookViews>'
                f'<sheets>{"".join(sheets)}</sheets>'
                '<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
                f'{quoted}!$A$1:${last_col}${max(n + 1, 2)}</definedName>'
                # printed on every page: the header row, and the first column (the code) when
                # the columns take more than one page across
                f'<definedName name="_xlnm.Print_Titles" localSheetId="0">{titles}</definedName>'
                '</definedNames></workbook>')

    @staticmethod
    def _workbook_rels(n_sheets: int) -> str:
        rels = [f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                f'relationships/worksheet" Target="worksheets/sheet{i}.xml"/>' for i in range(1, n_sheets + 1)]
        rels.append(f'<Relationship Id="rId{n_sheets + 1}" Type="http://schemas.openxmlformats.org/officeDocument/'
                    '2006/relationships/styles" Target="styles.xml"/>')
        rels.append(f'<Relationship Id="rId{n_sheets + 2}" Type="http://schemas.openxmlformats.org/officeDocument/'
                    '2006/relationships/sharedStrings" Target="sharedStrings.xml"/>')
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                + "".join(rels) + "</Relationships>")

    @staticmethod
    def _content_types(n_sheets: int, comments: bool = False) -> str:
        sheets = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, n_sheets + 1))
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                + ('<Default Extension="vml" ContentType="application/vnd.openxmlformats-officedocument.vmlDrawing"/>'
                   '<Override PartName="/xl/comments1.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"/>' if comments else "") +
                '<Override PartName="/xl/workbook.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                + sheets +
                '<Override PartName="/xl/styles.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
                '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
                '<Override PartName="/docProps/app.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.extended-properties+xml"/>'
                '</Types>')


def column_of(chunk, name: str):
    """One column of a chunk (an Arrow record batch or table, or a DataFrame) as Arrow text."""
    if hasattr(chunk, "schema"):
        return chunk.column(name)
    values = chunk[name].array
    if hasattr(values, "__arrow_array__"):  # Arrow-backed text: no Python object per value
        return at.strings(pa.array(values))
    return at.strings(chunk[name].to_numpy(dtype=object))
