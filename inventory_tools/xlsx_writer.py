"""A small, fast, streaming .xlsx writer for the inventory list.

Why not openpyxl/xlsxwriter: at 100k rows x 96 columns they spend ~100k cells/s in per-cell
Python. Here each column is rendered to XML with vectorised array operations, rows are built in
chunks and streamed into the zip, so time and memory stay flat (bench/RESULTS.md has figures).

What it writes: shared-string text cells (typed text: never a formula, whatever the text),
number cells with a fixed decimal format, styles for a bold frozen header, text-formatted
identifier columns, shaded read-only columns, column widths, an autofilter, list dropdowns,
and extra plain sheets (instructions, a hidden manifest, hidden dropdown lists).
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

MAX_ROWS = 1_048_576
CHUNK_ROWS = 5_000  # rows rendered at a time: bounds memory (~100 MB) at any export size
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_OOXML_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4})_")


def col_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def xml_text(text: str) -> str:
    """Escape text for an XML element, keeping CR and control characters readable back exactly."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if "_x" in text:
        # A literal "_x0041_" would be decoded by spreadsheet apps: escape its underscore.
        text = _OOXML_ESCAPE.sub(r"_x005F_\1_", text)
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    if _ILLEGAL_XML.search(text):
        text = _ILLEGAL_XML.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    return text


def xml_attr(text: str) -> str:
    return xml_text(text).replace('"', "&quot;").replace("\n", "&#10;")


# -- styles --------------------------------------------------------------------------------
NUMBER_FORMATS = {4: 164, 6: 165, 7: 166, 10: 167}


@dataclass(frozen=True)
class CellStyle:
    """Index into cellXfs (see _styles_xml)."""

    DEFAULT = 0
    HEADER = 1
    TEXT = 2
    HEADER_READONLY = 3
    WRAP = 4
    TITLE = 5
    HIGHLIGHT_TEXT = 14
    HIGHLIGHT_NUMBER = 15


def _number_style_index(decimals: int | None, read_only: bool) -> int:
    base = 6 + 2 * list(NUMBER_FORMATS).index(decimals if decimals in NUMBER_FORMATS else 4)
    return base + (1 if read_only else 0)


def _styles_xml() -> str:
    numfmts = "".join(f'<numFmt numFmtId="{fid}" formatCode="0.{"0" * d}"/>' for d, fid in NUMBER_FORMATS.items())
    xfs = [
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>',  # 0 default
        '<xf numFmtId="49" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1"'
        ' applyNumberFormat="1"><alignment vertical="center"/></xf>',  # 1 header
        '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>',  # 2 text
        '<xf numFmtId="49" fontId="2" fillId="3" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1"'
        ' applyNumberFormat="1"/>',  # 3 read-only header
        '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyAlignment="1">'
        '<alignment wrapText="1" vertical="top"/></xf>',  # 4 wrapped text
        '<xf numFmtId="0" fontId="3" fillId="0" borderId="0" xfId="0" applyFont="1"/>',  # 5 title
    ]
    for d, fid in NUMBER_FORMATS.items():
        xfs.append(f'<xf numFmtId="{fid}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>')
        xfs.append(f'<xf numFmtId="{fid}" fontId="2" fillId="3" borderId="0" xfId="0" applyNumberFormat="1"'
                   ' applyFont="1" applyFill="1"/>')
    xfs.append('<xf numFmtId="49" fontId="0" fillId="4" borderId="0" xfId="0" applyNumberFormat="1"'
               ' applyFill="1"/>')  # 14 highlighted text
    xfs.append('<xf numFmtId="0" fontId="0" fillId="4" borderId="0" xfId="0" applyFill="1"/>')  # 15 highlighted number
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<numFmts count="{len(NUMBER_FORMATS)}">{numfmts}</numFmts>'
        '<fonts count="4"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="11"/><color rgb="FFFFFFFF"/><name val="Calibri"/><family val="2"/></font>'
        '<font><i/><sz val="11"/><color rgb="FF595959"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="14"/><name val="Calibri"/><family val="2"/></font></fonts>'
        '<fills count="5"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
        '<fill><patternFill patternType="solid"><fgColor rgb="FF1F4E78"/><bgColor indexed="64"/></patternFill></fill>'
        '<fill><patternFill patternType="solid"><fgColor rgb="FFE7E6E6"/><bgColor indexed="64"/></patternFill></fill>'
        '<fill><patternFill patternType="solid"><fgColor rgb="FFFFEB9C"/><bgColor indexed="64"/></patternFill></fill>'
        '</fills>'
        '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
        '<border><left/><right/><top/><bottom style="thin"><color rgb="FF808080"/></bottom><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '</styleSheet>'
    )


# -- sheets ---------------------------------------------------------------------------------
@dataclass
class ColumnSpec:
    name: str
    kind: str  # "text" | "number"
    width: float = 12.0
    decimals: int | None = None
    read_only: bool = False
    wrap: bool = False
    dropdown: Sequence[str] | str | None = None  # values, or a range like "_lists!$A$2:$A$9"
    dropdown_strict: bool = True

    @property
    def style(self) -> int:
        if self.kind == "number":
            return _number_style_index(self.decimals, self.read_only)
        return CellStyle.WRAP if self.wrap else CellStyle.TEXT


@dataclass
class PlainSheet:
    """A small sheet of text cells (instructions, manifest, lists)."""

    name: str
    rows: list[list[str]]
    hidden: bool = False
    widths: list[float] = field(default_factory=list)
    title_first_row: bool = False


class SharedStrings:
    def __init__(self):
        self.index: dict[str, int] = {}
        self._texts = np.empty(0, dtype=object)  # "0", "1", ... cached: index → its <v> text

    def code_texts(self, values: np.ndarray, factorised: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """``codes(values)`` as the decimal text that goes inside ``<v>`` (``factorised``: the
        values' ``pd.factorize`` when the caller has it already)."""
        codes = self.codes(values, factorised)
        if len(self.index) > len(self._texts):  # grow the cache by the new part only
            have = len(self._texts)
            size = max(len(self.index), 2 * have, 1024)
            self._texts = np.concatenate([self._texts, np.arange(have, size).astype(str).astype(object)])
        return self._texts[codes]

    def codes(self, values: np.ndarray, factorised: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Shared-string index per value (as str), factorising instead of looping in Python."""
        codes, uniques = factorised if factorised is not None else pd.factorize(values)
        uniques = np.asarray(uniques, dtype=object)
        index = self.index
        get = index.get
        mapping = np.fromiter((get(u, -1) for u in uniques), dtype=np.int64, count=len(uniques))
        new = np.flatnonzero(mapping < 0)
        if len(new):  # distinct already (factorised): numbered in one go, in their order
            start = len(index)
            index.update(zip(uniques[new].tolist(), range(start, start + len(new))))
            mapping[new] = np.arange(start, start + len(new))
        return mapping[codes]

    def code(self, value: str) -> int:
        j = self.index.get(value)
        if j is None:
            j = self.index[value] = len(self.index)
        return j

    def xml_chunks(self) -> Iterable[str]:
        yield ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
               f' count="{len(self.index)}" uniqueCount="{len(self.index)}">')
        texts = list(self.index)  # dicts keep insertion order = index order
        for start in range(0, len(texts), 10_000):
            yield _si_elements(texts[start:start + 10_000])
        yield "</sst>"


_SEP = "\x01"  # the joiner; a batch in which some text holds it is escaped text by text


def _si_elements(texts: list[str]) -> str:
    """``<si>`` elements for ``texts``: escaped all at once on the joined text (C speed) when no
    text holds the joiner itself, else one by one."""
    if not texts:
        return ""
    joined = _SEP.join(texts)
    if joined.count(_SEP) != len(texts) - 1:
        return "".join(f'<si><t xml:space="preserve">{xml_text(t)}</t></si>' for t in texts)
    escaped = joined.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if "_x" in escaped:
        escaped = _OOXML_ESCAPE.sub(r"_x005F_\1_", escaped)
    if "\r" in escaped:
        escaped = escaped.replace("\r", "&#13;")
    escaped = escaped.replace(_SEP, '</t></si><si><t xml:space="preserve">')
    if _ILLEGAL_XML.search(escaped):
        escaped = _ILLEGAL_XML.sub(lambda m: f"_x{ord(m.group()):04X}_", escaped)
    return f'<si><t xml:space="preserve">{escaped}</t></si>'


def _render_column(values: np.ndarray, letter: str, rows: np.ndarray, spec: ColumnSpec,
                   sst: SharedStrings, highlight: np.ndarray | None, out: np.ndarray):
    """One column of a chunk into ``out`` (rows x 3): '<c r="G', the row number, the rest.

    Every piece is a shared object (one per distinct value, one per row): no string is built per
    cell, and the final ``"".join`` copies each piece once, in C. Returns the column factorised
    (codes, distinct values; blank = -1) for a caller that keeps it.
    """
    filled = values != ""
    codes = np.full(len(values), -1, dtype=np.int32)
    uniques = np.empty(0, dtype=object)
    tails = uniques
    if filled.any():
        chunk_codes, uniques = pd.factorize(values[filled])
        uniques = np.asarray(uniques, dtype=object)
        codes[filled] = chunk_codes
        tails = _cell_tails(uniques, chunk_codes, spec, sst)
    _place_cells(codes, filled, tails, letter, rows, spec, highlight, out)
    return codes, uniques


class CodedColumn:
    """A whole column given as category codes (as validation holds it): each category's cell
    XML is built once for the column instead of once per chunk."""

    def __init__(self, codes: np.ndarray, categories: np.ndarray):
        self.codes = codes
        self.categories = np.asarray(categories, dtype=object)
        self.filled = self.categories != ""
        self.tails: np.ndarray | None = None

    def render(self, start: int, letter: str, rows: np.ndarray, spec: ColumnSpec, sst: SharedStrings,
               highlight: np.ndarray | None, out: np.ndarray) -> None:
        if self.tails is None:
            self.tails = np.empty(len(self.categories), dtype=object)
            if self.filled.any():
                self.tails[self.filled] = _cell_tails(self.categories[self.filled], self.codes, spec, sst)
        codes = self.codes[start:start + len(rows)]
        _place_cells(codes, self.filled[codes], self.tails, letter, rows, spec, highlight, out)


def _place_cells(codes: np.ndarray, filled: np.ndarray, tails: np.ndarray, letter: str, rows: np.ndarray,
                 spec: ColumnSpec, highlight: np.ndarray | None, out: np.ndarray) -> None:
    """Cells of a chunk's column from per-value tails: ``tails[codes]`` where ``filled``."""
    marked = highlight & filled if highlight is not None and highlight.any() else None
    if filled.any():
        used = codes[filled]
        out[filled, 0] = f'<c r="{letter}'
        out[filled, 1] = rows[filled]
        out[filled, 2] = tails[used]
        if marked is not None:  # changed cells: the same value in the highlight style
            mark = f' s="{CellStyle.HIGHLIGHT_NUMBER if spec.kind == "number" else CellStyle.HIGHLIGHT_TEXT}"'
            hl_codes = codes[marked]
            distinct = np.unique(hl_codes)
            hl_tails = np.empty(len(tails), dtype=object)
            hl_tails[distinct] = [re.sub(r' s="\d+"', mark, t, count=1) for t in tails[distinct]]
            out[marked, 2] = hl_tails[hl_codes]
    if highlight is not None and highlight.any():
        blank = highlight & ~filled  # a cleared cell: show the highlight on the empty cell
        out[blank, 0] = f'<c r="{letter}'
        out[blank, 1] = rows[blank]
        out[blank, 2] = f'" s="{CellStyle.HIGHLIGHT_TEXT}"/>'


def _cell_tails(uniques: np.ndarray, codes: np.ndarray, spec: ColumnSpec, sst: SharedStrings) -> np.ndarray:
    """Per distinct value: the cell's XML after its reference ('" s="6"><v>0</v></c>')."""
    if spec.kind == "number":
        numeric = np.array([_is_plain_number(u) for u in uniques], dtype=bool)
        tails = np.empty(len(uniques), dtype=object)
        if numeric.any():
            tails[numeric] = f'" s="{spec.style}"><v>' + uniques[numeric] + "</v></c>"
        if (~numeric).any():  # a value that would change as a float stays exact as text
            tails[~numeric] = f'" s="{CellStyle.TEXT}" t="s"><v>' + sst.code_texts(uniques[~numeric]) + "</v></c>"
        return tails
    if len(sst.index) >= SST_INLINE_AFTER and len(codes) >= INLINE_MIN_CELLS and len(uniques) > len(codes) // 2:
        # A huge export's mostly-unique text (codes, names): sharing gains nothing and the table
        # would hold every value until the end; an inline string is typed text all the same.
        # (Below the limit shared strings stay: readers parse them faster.)
        texts = np.array([xml_text(u) for u in uniques], dtype=object)
        return f'" s="{spec.style}" t="inlineStr"><is><t xml:space="preserve">' + texts + "</t></is></c>"
    ids = sst.code_texts(uniques, (np.arange(len(uniques)), uniques))
    return f'" s="{spec.style}" t="s"><v>' + ids + "</v></c>"


INLINE_MIN_CELLS = 50  # below this a chunk's column always uses the shared-string table
SST_INLINE_AFTER = 400_000  # shared strings held before mostly-unique columns go inline (bounds memory)
_NUM_OK = re.compile(r"-?\d{1,15}(\.\d+)?")


def _is_plain_number(text: str) -> bool:
    """Written as a number cell only if a spreadsheet keeps it exactly (<= 15 significant digits)."""
    if not _NUM_OK.fullmatch(text):
        return False
    digits = text.replace("-", "").replace(".", "").lstrip("0")
    return len(digits) <= 15


class Deflater:
    """Writes to a zip entry on a second thread: zlib and the file write release the GIL, so
    compressing chunk N overlaps rendering chunk N+1 (two cores: the sheet costs ~the rendering)."""

    def __init__(self, fh):
        import queue
        import threading

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

    def write(self, data: bytes) -> None:
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

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.n = len(frame)

    def chunks(self, size: int) -> Iterable[pd.DataFrame]:
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

    def add_sheet(self, sheet: PlainSheet) -> None:
        self.extra.append(sheet)

    def write(self, rows, progress=None, highlight: dict[str, np.ndarray] | None = None,
              comments: list[tuple[int, int, str]] | None = None, observer=None,
              coded: dict[str, CodedColumn] | None = None) -> int:
        """``rows``: a DataFrame, or anything with ``n`` and ``chunks(size)`` (streamed, so memory
        stays flat). ``comments``: (0-based data row, 0-based column, text) notes on cells.
        ``observer``: gets each chunk's columns as the writer factorised them
        (``column(name, codes, uniques)`` with blank = -1, then ``end_chunk(rows)``).
        ``coded``: columns given whole as category codes (then absent from ``rows``)."""
        self.observer = observer
        self.coded = coded or {}
        source = rows if hasattr(rows, "chunks") else FrameChunks(rows)
        n = source.n
        if n + 1 > MAX_ROWS:
            from .errors import UsageError

            raise UsageError(f"{n:,} products do not fit in one sheet (Excel's limit is {MAX_ROWS - 1:,} rows)",
                             "export some statuses at a time (--status), or export CSV")
        sheets = [self.data_sheet] + [s.name for s in self.extra]
        with zipfile.ZipFile(self.path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=self.compresslevel,
                             allowZip64=True) as zf:
            comments = (comments or [])[:MAX_COMMENTS]
            with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh, Deflater(fh) as out:
                for piece in self._data_sheet_chunks(source, progress, highlight or {}, bool(comments)):
                    out.write(piece.encode("utf-8"))
            if comments:
                zf.writestr("xl/comments1.xml", _comments_xml(comments))
                zf.writestr("xl/drawings/vmlDrawing1.vml", _vml_xml(comments))
                zf.writestr("xl/worksheets/_rels/sheet1.xml.rels", _SHEET_COMMENT_RELS)
            for i, sheet in enumerate(self.extra, start=2):
                zf.writestr(f"xl/worksheets/sheet{i}.xml", self._plain_sheet_xml(sheet))
            with zf.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
                for piece in self.sst.xml_chunks():
                    fh.write(piece.encode("utf-8"))
            zf.writestr("xl/styles.xml", _styles_xml())
            zf.writestr("xl/workbook.xml", self._workbook_xml(n))
            zf.writestr("xl/_rels/workbook.xml.rels", self._workbook_rels(len(sheets)))
            zf.writestr("[Content_Types].xml", self._content_types(len(sheets), bool(comments)))
            zf.writestr("_rels/.rels", _ROOT_RELS)
            zf.writestr("docProps/app.xml", _APP_XML)
        return n

    # -- data sheet --
    def _data_sheet_chunks(self, source, progress, highlight: dict,
                           has_comments: bool = False) -> Iterable[str]:
        specs = self.specs
        n = source.n
        last_col = col_letter(len(specs) - 1)
        cols_xml = "".join(
            f'<col min="{i + 1}" max="{i + 1}" width="{s.width:.2f}" style="{s.style}" customWidth="1"/>'
            for i, s in enumerate(specs))
        yield ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
               ' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
               f'<dimension ref="A1:{last_col}{n + 1}"/>'
               '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
               '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
               '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
               '<sheetFormatPr defaultRowHeight="15"/>'
               f'<cols>{cols_xml}</cols><sheetData>')
        header = "".join(
            f'<c r="{col_letter(i)}1" s="{CellStyle.HEADER_READONLY if s.read_only else CellStyle.HEADER}" t="s">'
            f'<v>{self.sst.code(s.name)}</v></c>' for i, s in enumerate(specs))
        yield f'<row r="1">{header}</row>'
        letters = [col_letter(i) for i in range(len(specs))]
        names = [s.name for s in specs]
        start = 0
        for chunk in source.chunks(CHUNK_ROWS):
            rows = np.arange(start + 2, start + 2 + len(chunk)).astype(str).astype(object)
            # A (rows x columns+2) grid of XML pieces joined once in row-major order: no string
            # grows cell by cell, so the cost is linear in the output size.
            grid = np.full((len(chunk), 3 * len(specs) + 2), "", dtype=object)
            grid[:, 0] = '<row r="' + rows + '">'
            for j, (name, letter, spec) in enumerate(zip(names, letters, specs)):
                marks = highlight.get(name)
                marks = marks[start:start + len(chunk)] if marks is not None else None
                if name in self.coded:
                    self.coded[name].render(start, letter, rows, spec, self.sst, marks, grid[:, 1 + 3 * j:4 + 3 * j])
                    continue
                values = chunk[name].to_numpy(dtype=object)
                factorised = _render_column(values, letter, rows, spec, self.sst, marks,
                                            grid[:, 1 + 3 * j:4 + 3 * j])
                if self.observer is not None:
                    self.observer.column(name, *factorised)
            if self.observer is not None:
                self.observer.end_chunk(len(chunk))
            grid[:, -1] = "</row>"
            yield "".join(grid.ravel().tolist())
            start += len(chunk)
            if progress:
                progress(len(chunk))
        yield "</sheetData>"
        yield f'<autoFilter ref="A1:{last_col}{max(n + 1, 2)}"/>'
        yield self._validations_xml()
        yield ('<pageMargins left="0.5" right="0.5" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
               '<pageSetup orientation="landscape" fitToWidth="0"/>'
               + ('<legacyDrawing r:id="rIdVml"/>' if has_comments else "") + '</worksheet>')

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
    def _plain_sheet_xml(self, sheet: PlainSheet) -> str:
        rows = self._plain_rows_xml(sheet)
        cols = "".join(f'<col min="{i + 1}" max="{i + 1}" width="{w:.2f}" customWidth="1"/>'
                       for i, w in enumerate(sheet.widths))
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                '<sheetViews><sheetView workbookViewId="0"/></sheetViews>'
                + (f"<cols>{cols}</cols>" if cols else "")
                + f'<sheetData>{"".join(rows)}</sheetData></worksheet>')

    def _plain_rows_xml(self, sheet: PlainSheet) -> list[str]:
        """Every row's XML; the cells a column at a time (a Changes sheet may hold 100,000 rows)."""
        rows = sheet.rows
        lines = []
        first = 0
        if sheet.title_first_row and rows:
            cells = "".join(f'<c r="{col_letter(c)}1" s="{CellStyle.TITLE}" t="s"><v>{self.sst.code(str(v))}</v></c>'
                            for c, v in enumerate(rows[0]) if v not in (None, ""))
            lines.append(f'<row r="1">{cells}</row>')
            first = 1
        body = rows[first:]
        width = max((len(r) for r in body), default=0)
        numbers = np.arange(first + 1, len(rows) + 1).astype(str).astype(object)
        grid = np.full((len(body), 3 * width + 2), "", dtype=object)
        grid[:, 0] = '<row r="' + numbers + '">'
        grid[:, -1] = "</row>"
        spec = ColumnSpec("", "text", wrap=True)
        for c in range(width):
            values = np.array([("" if r[c] is None else str(r[c])) if c < len(r) else "" for r in body], dtype=object)
            _render_column(values, col_letter(c), numbers, spec, self.sst, None, grid[:, 1 + 3 * c:4 + 3 * c])
        lines.extend("".join(row) for row in grid.tolist())
        return lines

    # -- package parts --
    def _workbook_xml(self, n: int) -> str:
        sheets = [f'<sheet name="{xml_attr(self.data_sheet)}" sheetId="1" r:id="rId1"/>']
        for i, s in enumerate(self.extra, start=2):
            state = ' state="hidden"' if s.hidden else ""
            sheets.append(f'<sheet name="{xml_attr(s.name)}" sheetId="{i}"{state} r:id="rId{i}"/>')
        last_col = col_letter(len(self.specs) - 1)
        quoted = "'" + self.data_sheet.replace("'", "''") + "'"
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
                ' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                '<bookViews><workbookView activeTab="0"/></bookViews>'
                f'<sheets>{"".join(sheets)}</sheets>'
                '<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
                f'{xml_text(quoted)}!$A$1:${last_col}${max(n + 1, 2)}</definedName></definedNames>'
                '</workbook>')

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


MAX_COMMENTS = 10_000  # notes beyond this slow spreadsheet apps down; fills and lists still mark every cell
_SHEET_COMMENT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rIdComments" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'comments" Target="../comments1.xml"/>'
    '<Relationship Id="rIdVml" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'vmlDrawing" Target="../drawings/vmlDrawing1.vml"/></Relationships>')


def _comments_xml(comments: list[tuple[int, int, str]]) -> str:
    items = "".join(
        f'<comment ref="{col_letter(c)}{r + 2}" authorId="0"><text><r><t xml:space="preserve">{xml_text(t)}</t>'
        f'</r></text></comment>' for r, c, t in comments)
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<comments xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<authors><author>inventory-tools</author></authors><commentList>{items}</commentList></comments>')


def _vml_xml(comments: list[tuple[int, int, str]]) -> str:
    """The legacy drawing spreadsheet apps need to show notes (hidden until hovered)."""
    shapes = "".join(
        f'<v:shape id="_x0000_s{1025 + i}" type="#_x0000_t202" style="position:absolute;margin-left:60pt;'
        'margin-top:2pt;width:160pt;height:60pt;z-index:1;visibility:hidden" fillcolor="#ffffe1" '
        'o:insetmode="auto"><v:fill color2="#ffffe1"/><v:shadow on="t" color="black" obscured="t"/>'
        '<v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto"><div style="text-align:left"/>'
        '</v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
        f'<x:Anchor>{c + 1}, 15, {r + 1}, 2, {c + 3}, 15, {r + 5}, 16</x:Anchor><x:AutoFill>False</x:AutoFill>'
        f'<x:Row>{r + 1}</x:Row><x:Column>{c}</x:Column></x:ClientData></v:shape>'
        for i, (r, c, _t) in enumerate(comments))
    return ('<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
            'xmlns:x="urn:schemas-microsoft-com:office:excel"><o:shapelayout v:ext="edit">'
            '<o:idmap v:ext="edit" data="1"/></o:shapelayout><v:shapetype id="_x0000_t202" coordsize="21600,21600" '
            'o:spt="202" path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
            '<v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>' + shapes + '</xml>')


_ROOT_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
              'officeDocument" Target="xl/workbook.xml"/>'
              '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
              'extended-properties" Target="docProps/app.xml"/></Relationships>')
_APP_XML = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
            '<Application>inventory-tools</Application></Properties>')
