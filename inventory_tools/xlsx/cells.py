"""Cells rendered a column at a time: shared strings, typed text and number cells, each distinct
value's cell XML built once per chunk (or once per column for coded columns)."""
from __future__ import annotations

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
