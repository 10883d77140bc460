"""Cells rendered a column at a time: shared strings, typed text and number cells, each distinct
value's cell XML built once per chunk (or once per column for coded columns)."""
from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .xml import ILLEGAL_XML, OOXML_ESCAPE, CellStyle, number_style_index, xml_text


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
        escaped = OOXML_ESCAPE.sub(r"_x005F_\1_", escaped)
    if "\r" in escaped:
        escaped = escaped.replace("\r", "&#13;")
    escaped = escaped.replace(_SEP, '</t></si><si><t xml:space="preserve">')
    if ILLEGAL_XML.search(escaped):
        escaped = ILLEGAL_XML.sub(lambda m: f"_x{ord(m.group()):04X}_", escaped)
    return f'<si><t xml:space="preserve">{escaped}</t></si>'


def render_column(values: np.ndarray, letter: str, rows: np.ndarray, spec: ColumnSpec,
                   sst: SharedStrings, highlight: np.ndarray | None, out: np.ndarray,
                   lines: np.ndarray | None = None):
    """One column of a chunk into ``out`` (rows x 3): '<c r="G', the row number, the rest.

    Every piece is a shared object (one per distinct value, one per row): no string is built per
    cell, and the final ``"".join`` copies each piece once, in C. ``lines`` (per row): raised to
    the lines this column's cell takes when wrapped (see :func:`wrap_values`). Returns the column
    factorised (codes, distinct values; blank = -1) for a caller that keeps it.
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
        counts = wrap_values(uniques, tails, spec)
        if counts is not None and lines is not None:
            lines[filled] = np.maximum(lines[filled], counts[chunk_codes])
    _place_cells(codes, filled, tails, letter, rows, spec, highlight, out)
    return codes, uniques


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


def text_lines(texts: np.ndarray, width: float) -> np.ndarray:
    """Lines each text takes in a wrapped cell ``width`` units wide (at least 1). Lengths and
    line breaks are counted in C (``map`` over built-in methods); only texts that hold a line
    break are split, one by one (a few in any real list)."""
    per_line = max(1.0, width * CHARS_PER_UNIT - WRAP_WASTE)
    n = len(texts)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    breaks = np.fromiter(map(operator.methodcaller("count", "\n"), texts), dtype=np.int64, count=n)
    counts = np.maximum(1, np.ceil(lengths / per_line)).astype(np.int64)
    for i in np.flatnonzero(breaks):
        counts[i] = sum(max(1, math.ceil(len(part) / per_line)) for part in texts[i].split("\n"))
    return counts


def wrap_values(uniques: np.ndarray, tails: np.ndarray, spec: ColumnSpec) -> np.ndarray | None:
    """Lines per distinct value of a text column when its cells wrap, else None (every cell one
    line). A wrapping column's every value; elsewhere a text with a line break wraps too (its
    cell gets the wrapping style, in place in ``tails``), so it never spills into the next row."""
    if spec.kind != "text" or not len(uniques):
        return None
    if spec.wrap:
        return text_lines(uniques, spec.width)
    if "\n" not in "".join(uniques.tolist()):  # one pass in C: most columns hold no line break
        return None
    multi = np.flatnonzero(np.fromiter(map(operator.methodcaller("__contains__", "\n"), uniques),
                                       dtype=bool, count=len(uniques)))
    counts = np.ones(len(uniques), dtype=np.int64)
    counts[multi] = text_lines(uniques[multi], spec.width)
    plain, wrapped = f' s="{spec.style}"', f' s="{CellStyle.WRAP}"'
    tails[multi] = [t.replace(plain, wrapped, 1) for t in tails[multi]]
    return counts


def row_heights(lines: np.ndarray) -> np.ndarray:
    """Per row: ``' ht="30"'`` for a row of wrapped lines ("" for one line). No ``customHeight``:
    the row is still the application's to fit when its text is edited."""
    out = np.full(len(lines), "", dtype=object)
    tall = lines > 1
    if tall.any():
        points = np.minimum(lines[tall], MAX_LINES) * LINE_POINTS
        out[tall] = ' ht="' + points.astype(str).astype(object) + '"'
    return out


class CodedColumn:
    """A whole column given as category codes (as validation holds it): each category's cell
    XML is built once for the column instead of once per chunk."""

    def __init__(self, codes: np.ndarray, categories: np.ndarray):
        self.codes = codes
        self.categories = np.asarray(categories, dtype=object)
        self.filled = self.categories != ""
        self.tails: np.ndarray | None = None
        self.lines: np.ndarray | None = None  # per category, when some wrap

    def render(self, start: int, letter: str, rows: np.ndarray, spec: ColumnSpec, sst: SharedStrings,
               highlight: np.ndarray | None, out: np.ndarray, lines: np.ndarray | None = None) -> None:
        if self.tails is None:
            self.tails = np.empty(len(self.categories), dtype=object)
            if self.filled.any():
                tails = _cell_tails(self.categories[self.filled], self.codes, spec, sst)
                counts = wrap_values(self.categories[self.filled], tails, spec)
                self.tails[self.filled] = tails
                if counts is not None:
                    self.lines = np.ones(len(self.categories), dtype=np.int64)
                    self.lines[self.filled] = counts
        codes = self.codes[start:start + len(rows)]
        if self.lines is not None and lines is not None:
            np.maximum(lines, self.lines[codes], out=lines)
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
