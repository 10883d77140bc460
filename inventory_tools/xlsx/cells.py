"""Cells rendered per distinct value: each value's cell XML (after its reference) is built once
per column chunk (or once per column for coded columns) by Arrow's string kernels; the shared
strings table; wrapped text and row heights."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import arrowtext as at
from .xml import CellStyle, number_style_index


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
            return number_style_index(self.decimals, self.read_only)
        return CellStyle.WRAP if self.wrap else CellStyle.TEXT


@dataclass
class PlainSheet:
    """A small sheet of text cells (instructions, manifest, lists)."""

    name: str
    rows: list[list[str]]
    hidden: bool = False
    widths: list[float] = field(default_factory=list)
    title_first_row: bool = False
    headings: tuple[int, ...] = ()  # 0-based rows whose first cell is a bold section heading
    orientation: str = "portrait"  # when printed (always one page wide)
    #: More rows after ``rows``, given column by column (a Changes sheet's 100,000 rows: no list per row)
    columns: list[Sequence[str]] | None = None

    def column_values(self, c: int, start: int, stop: int) -> list[str]:
        """Column ``c`` of rows ``start`` to ``stop`` (0-based, over ``rows`` then ``columns``)."""
        head = [("" if r[c] is None else str(r[c])) if c < len(r) else "" for r in self.rows[start:stop]]
        if not self.columns or stop <= len(self.rows):
            return head
        first, last = max(start - len(self.rows), 0), stop - len(self.rows)
        body = self.columns[c][first:last] if c < len(self.columns) else [""] * (last - first)
        return head + list(body)

    @property
    def height(self) -> int:
        return len(self.rows) + (len(self.columns[0]) if self.columns else 0)

    @property
    def width(self) -> int:
        return max([len(r) for r in self.rows] + [len(self.columns or ())])


#: A dictionary of at most this many values is shared value by value (the same text in every
#: chunk and column gets one entry); a bigger one (codes, names: mostly unique) is appended whole.
DEDUP_MAX = 2048
INLINE_MIN_CELLS = 50  # below this a chunk's column always uses the shared-string table
SST_INLINE_AFTER = 400_000  # shared strings held before mostly-unique columns go inline (bounds memory)
_SI_OPEN, _SI_CLOSE = '<si><t xml:space="preserve">', "</t></si>"


class SharedStrings:
    """The shared-string table: ids handed out in order, the texts kept as Arrow arrays."""

    def __init__(self):
        self.index: dict[str, int] = {}  # texts shared value by value
        self.count = 0
        self._segments: list[pa.Array] = []
        self._small: list[str] = []

    def code(self, value: str) -> int:
        j = self.index.get(value)
        if j is None:
            j = self.index[value] = self.count
            self.count += 1
            self._small.append(value)
        return j

    def ids(self, values: pa.Array) -> np.ndarray:
        """The id of each of ``values`` (distinct texts), adding those not in the table."""
        if len(values) <= DEDUP_MAX:
            code = self.code
            return np.fromiter((code(v) for v in values.to_pylist()), dtype=np.int64, count=len(values))
        self._flush_small()
        start = self.count
        self._segments.append(values)
        self.count += len(values)
        return np.arange(start, self.count, dtype=np.int64)

    def _flush_small(self) -> None:
        if self._small:
            self._segments.append(pa.array(self._small, type=at.TEXT))
            self._small = []

    def xml_chunks(self) -> Iterable[bytes]:
        self._flush_small()
        yield ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
               f' count="{self.count}" uniqueCount="{self.count}">').encode()
        for segment in self._segments:
            for start in range(0, len(segment), 50_000):
                yield si_elements(segment.slice(start, 50_000))
        yield b"</sst>"


def si_elements(texts) -> bytes:
    """``<si>`` elements for ``texts``, escaped as :func:`~inventory_tools.xlsx.xml.xml_text` does."""
    values = at.strings(texts)
    return bytes(at.joined(at.concat([_SI_OPEN, at.xml_escaped(values), _SI_CLOSE]))) if len(values) else b""


# -- wrapped text and row heights ----------------------------------------------------------
#: Characters of ordinary text per unit of column width, less what wrapping at word ends wastes
#: per line. A unit is the width of a digit in the default font (Calibri 11); LibreOffice without
#: Calibri or Carlito draws with DejaVu Sans, about a quarter wider, so these are set for the
#: wider font: a row is then never too short (in Excel it may have a little room to spare).
CHARS_PER_UNIT, WRAP_WASTE = 1.05, 2
LINE_POINTS = 15  # one line of 11-point text, as Excel's default row height
MAX_LINES = 27  # 405 points: Excel's tallest row is 409


#: Column-width units a bold header character takes at most (bold DejaVu Sans capitals, the
#: widest a reader draws with; Calibri is narrower), and room for the filter button.
HEADER_UNITS_PER_CHAR, HEADER_PAD = 1.15, 3.0


def header_width(name: str) -> float:
    """The column width at which a bold header shows its whole name beside the filter button."""
    return round(len(name) * HEADER_UNITS_PER_CHAR + HEADER_PAD, 1)


#: Units a digit takes in the widest font a reader draws with (DejaVu Sans: a quarter wider than
#: Calibri's digit, the unit itself).
DIGIT_UNITS = 1.25


def number_width(decimals: int | None) -> float:
    """The width showing a number of up to six integer digits with its fixed decimals (a number
    that does not fit shows as ### on screen and paper)."""
    return round((8 + (decimals or 0)) * DIGIT_UNITS + 1, 1)


def per_line(width: float) -> float:
    return max(1.0, width * CHARS_PER_UNIT - WRAP_WASTE)


def row_open(lines: int) -> str:
    """The end of a row's start tag: ``ht`` for a row of wrapped lines. No ``customHeight``:
    the row is still the application's to fit when its text is edited."""
    return f'" ht="{min(lines, MAX_LINES) * LINE_POINTS}">' if lines > 1 else '">'


class ValueCells:
    """One column's distinct values (a chunk's or a whole coded column's) as the XML of their
    cells after the reference (``'" s="6"><v>0</v></c>'``), and the lines each takes wrapped."""

    def __init__(self, values: pa.Array, spec: ColumnSpec, sst: SharedStrings, cells: int):
        self.spec, self.values = spec, values
        self.lines: np.ndarray | None = None  # per value, when some take more than one line
        self.wraps: np.ndarray | None = None  # values of an unwrapped text column that wrap all the same
        self.plain: np.ndarray | None = None
        self.inline = False
        self._made: dict = {}  # variants of the tails, built once
        n = len(values)
        if spec.kind == "number":
            self.plain = at.plain_numbers(values)
            ids = np.zeros(n, dtype=np.int64)
            if not self.plain.all():  # a value that would change as a float stays exact as text
                ids[~self.plain] = sst.ids(values.filter(pa.array(~self.plain)))
            self.ref = at.numbers_text(ids)
        else:
            # A huge export's mostly-unique text (codes, names): sharing gains nothing and the
            # table would grow without end; an inline string is typed text all the same.
            self.inline = sst.count >= SST_INLINE_AFTER and cells >= INLINE_MIN_CELLS and n > cells // 2
            self.ref = at.xml_escaped(values) if self.inline else at.numbers_text(sst.ids(values))
            self._wrapping(values, spec)
        self.tails = self._styled(None)

    def _wrapping(self, values: pa.Array, spec: ColumnSpec) -> None:
        if spec.wrap:
            self.lines = at.line_counts(values, per_line(spec.width))
            return
        multi = at.has_newline(values)  # a text with a line break wraps too: never spills into the next row
        if multi.any():
            self.wraps = multi
            self.lines = np.ones(len(values), dtype=np.int64)
            self.lines[multi] = at.line_counts(values.filter(pa.array(multi)), per_line(spec.width))

    def subset(self, which: "np.ndarray | slice") -> "ValueCells":
        """These cells for the values at ``which`` only (positions in order, or a slice: no copy)."""
        out = ValueCells.__new__(ValueCells)
        if isinstance(which, slice):
            pick = lambda a: a.slice(which.start, which.stop - which.start)  # noqa: E731
        else:
            positions = pa.array(which)
            pick = lambda a: a.take(positions)  # noqa: E731
        out.spec, out.inline, out._made = self.spec, self.inline, {}
        out.values, out.ref, out.tails = pick(self.values), pick(self.ref), pick(self.tails)
        out.lines = self.lines[which] if self.lines is not None else None
        out.wraps = self.wraps[which] if self.wraps is not None else None
        out.plain = self.plain[which] if self.plain is not None else None
        return out

    def styled(self, style: int | None) -> pa.Array:
        """The tails, every cell in ``style`` (None: each value's own style)."""
        key = ("styled", style)
        if key not in self._made:
            self._made[key] = self._styled(style)
        return self._made[key]

    def followed(self, tails: pa.Array, after: str) -> pa.Array:
        """``tails`` (these cells' own or :meth:`styled`) each followed by ``after``; kept, as a
        coded column's cells serve every chunk."""
        key = ("followed", id(tails), after)
        if key not in self._made:
            self._made[key] = at.concat([tails, after])
        return self._made[key]

    def _styled(self, style: int | None) -> pa.Array:
        if self.plain is not None:
            number = at.concat([f'" s="{style or self.spec.style}"><v>', self.values, "</v></c>"])
            if self.plain.all():
                return number
            text = at.concat([f'" s="{style or CellStyle.TEXT}" t="s"><v>', self.ref, "</v></c>"])
            return pc.if_else(pa.array(self.plain), number, text)
        tails = self._text(style or self.spec.style)
        if style is None and self.wraps is not None:
            tails = pc.if_else(pa.array(self.wraps), self._text(CellStyle.WRAP), tails)
        return tails

    def _text(self, style: int) -> pa.Array:
        if self.inline:
            return at.concat([f'" s="{style}" t="inlineStr"><is><t xml:space="preserve">', self.ref, "</t></is></c>"])
        return at.concat([f'" s="{style}" t="s"><v>', self.ref, "</v></c>"])


class CodedColumn:
    """A whole column given as category codes (as validation holds it): each category's cell
    XML is built once for the column instead of once per chunk."""

    def __init__(self, codes: np.ndarray, categories):
        self.codes = np.asarray(codes)
        self.categories = at.strings(categories if hasattr(categories, "__arrow_array__") or
                                     isinstance(categories, pa.Array) else np.asarray(categories, dtype=object))
        blank = pc.index(self.categories, "").as_py()  # categories are distinct: one blank at most
        if blank >= 0:
            self.codes = np.where(self.codes == blank, -1, self.codes)
        self.cells: ValueCells | None = None

    def chunk(self, start: int, n: int, spec: ColumnSpec, sst: SharedStrings) -> tuple[np.ndarray, "ValueCells"]:
        if self.cells is None:
            self.cells = ValueCells(self.categories, spec, sst, len(self.codes))
        codes = self.codes[start:start + n].astype(np.int32, copy=False)
        if len(self.categories) <= 2 * n:
            return codes, self.cells
        filled = codes[codes >= 0]
        low, high = (int(filled.min()), int(filled.max()) + 1) if len(filled) else (0, 0)
        if high - low <= 2 * n:  # codes in order of first appearance: a chunk's are mostly one range
            return np.where(codes >= 0, codes - low, -1).astype(np.int32), self.cells.subset(slice(low, high))
        # many more categories than rows (codes, names): the chunk takes the cells it uses only
        used = np.zeros(len(self.categories) + 1, dtype=bool)
        used[codes] = True  # a blank (-1) marks the extra last slot
        which = np.flatnonzero(used[:-1])
        remap = np.full(len(self.categories) + 1, -1, dtype=np.int32)
        remap[which] = np.arange(len(which), dtype=np.int32)
        return remap[codes], self.cells.subset(which)
