"""A chunk of a sheet's rows as XML bytes, with no per-cell Python and no per-cell string.

Every piece of the chunk's XML exists once: the row numbers, each column's ``<c r="G`` and each
distinct value's cell tail (:class:`~inventory_tools.xlsx.cells.ValueCells`). A matrix of piece
numbers (one row per sheet row: the row's start, then three pieces per filled cell, then its
end) is built with numpy, and Arrow's ``take`` lays the pieces end to end in one buffer: the
sheet's bytes, handed to zlib as they are.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pyarrow as pa

from . import arrowtext as at
from .cells import MAX_LINES, ValueCells, row_open
from .xml import CellStyle

_EMPTY, _ROW, _ROW_END, _BLANK_MARK = 0, 1, 2, 3
_FIXED = ["", '<row r="', "</row>", f'" s="{CellStyle.HIGHLIGHT_TEXT}"/>']
_HEIGHTS = [row_open(k) for k in range(1, MAX_LINES + 1)]  # '">' for one line, then '" ht="30">', ...


@dataclass
class Placed:
    """One column of a chunk: each row's value as a code into ``cells`` (-1: blank)."""

    letter: str
    codes: np.ndarray
    cells: ValueCells
    marks: np.ndarray | None = None  # rows whose cell takes ``mark_style`` (None: none)
    mark_style: int = CellStyle.HIGHLIGHT_TEXT
    mark_blanks: bool = False  # a marked blank cell is written, empty, in the highlight style


def chunk_xml(first_row: int, columns: Sequence[Placed], n: int) -> memoryview:
    """The ``<row>`` elements of ``n`` rows starting at sheet row ``first_row``.

    Each value's tail comes twice: as it is, and followed by the next column's ``<c r="H``
    (taken when the next cell is filled: two pieces per cell instead of three in a run)."""
    m = len(columns)
    prefixes = [f'<c r="{c.letter}' for c in columns]
    marks = [piece for j in range(m) for piece in (_BLANK_MARK_TEXT, _BLANK_MARK_TEXT + _next(prefixes, j))]
    pieces = [pa.array(_FIXED + _HEIGHTS + prefixes + marks, type=at.TEXT),
              at.numbers_text(np.arange(first_row, first_row + n, dtype=np.int64))]
    heights, prefix0, marks0 = len(_FIXED), len(_FIXED) + len(_HEIGHTS), len(_FIXED) + len(_HEIGHTS) + m
    row0 = marks0 + 2 * m
    base = row0 + n
    tails = np.empty((n, m), dtype=np.int32)  # each cell's tail piece; blank cells are dropped below
    joined = np.empty((n, m), dtype=np.int32)  # what to add to it for the tail followed by the next prefix
    filled = np.empty((n, m), dtype=bool)
    lines = np.ones(n, dtype=np.int64)
    for j, col in enumerate(columns):
        codes = col.codes
        filled[:, j] = codes >= 0
        tails[:, j] = codes + base
        joined[:, j] = len(col.cells.tails)
        base = _variants(pieces, col.cells, col.cells.tails, _next(prefixes, j), base)
        if col.cells.lines is not None and len(col.cells.lines):
            np.maximum(lines, np.where(codes >= 0, col.cells.lines[codes], 1), out=lines)
        if col.marks is not None and col.marks.any():
            base = _mark(col, j, (tails, joined, filled), pieces, base, _next(prefixes, j), marks0)
    tails += joined * np.concatenate([filled[:, 1:], np.zeros((n, 1), dtype=bool)], axis=1)
    return _take(pieces, _matrix(tails, filled, lines, prefix0, row0, heights))


_BLANK_MARK_TEXT = _FIXED[_BLANK_MARK]


def _next(prefixes: list[str], j: int) -> str:
    return prefixes[j + 1] if j + 1 < len(prefixes) else ""


def _variants(pieces: list, cells: ValueCells, tails: pa.Array, after: str, base: int) -> int:
    """Add ``tails`` and the same followed by ``after``; the next free piece number."""
    pieces.append(tails)
    pieces.append(cells.followed(tails, after) if after else tails)
    return base + 2 * len(tails)


def _mark(col: Placed, j: int, matrices, pieces: list, base: int, after: str, marks0: int) -> int:
    """Marked cells take the tails in the mark's style (and marked blanks, if so, an empty cell)."""
    tails, joined, filled = matrices
    marked = col.marks & filled[:, j]
    tails[marked, j] = col.codes[marked] + base
    base = _variants(pieces, col.cells, col.cells.styled(col.mark_style), after, base)
    if col.mark_blanks:
        blank = col.marks & ~filled[:, j]
        tails[blank, j] = marks0 + 2 * j
        joined[blank, j] = 1
        filled[blank, j] = True
    return base


def _matrix(tails: np.ndarray, filled: np.ndarray, lines: np.ndarray, prefix0: int, row0: int,
            heights: int) -> np.ndarray:
    """Piece numbers of the chunk, row after row: ``<row r="``, number, ``">``; per filled cell
    ``<c r="G`` (unless the cell before is filled: its tail ends with it), number, tail;
    ``</row>``."""
    n, m = tails.shape
    idx, keep = _scratch(n, 3 * m + 4)
    rows = np.arange(row0, row0 + n, dtype=np.int32)
    idx[:, 0], idx[:, 1], idx[:, -1] = _ROW, rows, _ROW_END
    idx[:, 2] = heights + np.minimum(lines, MAX_LINES) - 1
    cells = idx[:, 3:-1].reshape(n, m, 3)
    cells[:, :, 0] = prefix0 + np.arange(m, dtype=np.int32)
    cells[:, :, 1] = rows[:, None]
    cells[:, :, 2] = tails
    keep[:, :3] = True
    keep[:, -1] = True
    kept = keep[:, 3:-1].reshape(n, m, 3)
    kept[:, :, 1] = filled
    kept[:, :, 2] = filled
    kept[:, 0, 0] = filled[:, 0]
    np.greater(filled[:, 1:], filled[:, :-1], out=kept[:, 1:, 0])  # filled, the cell before not
    return idx[keep]


_SCRATCH: dict = {}


def _scratch(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The piece-number and keep matrices, reused from chunk to chunk while their shape holds
    (tens of MB: allocated afresh each time, their pages would be faulted in and zeroed again)."""
    if _SCRATCH.get("shape") != (n, k):
        _SCRATCH.clear()
        _SCRATCH.update(shape=(n, k), idx=np.empty((n, k), dtype=np.int32), keep=np.empty((n, k), dtype=bool))
    return _SCRATCH["idx"], _SCRATCH["keep"]


def release() -> None:
    """Free the reused matrices (the writer calls this when a sheet is done)."""
    _SCRATCH.clear()


def _take(pieces: list, order: np.ndarray) -> memoryview:
    table = pa.concat_arrays(pieces)
    return at.joined(table.take(pa.array(order)))
