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
    """The ``<row>`` elements of ``n`` rows starting at sheet row ``first_row``."""
    m = len(columns)
    prefixes = [f'<c r="{c.letter}' for c in columns]
    pieces = [pa.array(_FIXED + _HEIGHTS + prefixes, type=at.TEXT),
              at.numbers_text(np.arange(first_row, first_row + n, dtype=np.int64))]
    heights, prefix0 = len(_FIXED), len(_FIXED) + len(_HEIGHTS)
    row0 = prefix0 + m
    base = row0 + n
    tails = np.empty((n, m), dtype=np.int32)  # each cell's tail piece; blank cells are dropped below
    filled = np.empty((n, m), dtype=bool)
    lines = np.ones(n, dtype=np.int64)
    for j, col in enumerate(columns):
        codes = col.codes
        filled[:, j] = codes >= 0
        tails[:, j] = codes + base
        pieces.append(col.cells.tails)
        base += len(col.cells.tails)
        if col.cells.lines is not None and len(col.cells.lines):
            np.maximum(lines, np.where(codes >= 0, col.cells.lines[codes], 1), out=lines)
        if col.marks is not None and col.marks.any():
            base = _mark(col, j, tails, filled, pieces, base)
    return _take(pieces, _matrix(tails, filled, lines, prefix0, row0, heights))


def _mark(col: Placed, j: int, tails: np.ndarray, filled: np.ndarray, pieces: list, base: int) -> int:
    """Marked cells take the tails in the mark's style (and marked blanks, if so, an empty cell)."""
    marked = col.marks & filled[:, j]
    pieces.append(col.cells.styled(col.mark_style))
    tails[marked, j] = col.codes[marked] + base
    if col.mark_blanks:
        blank = col.marks & ~filled[:, j]
        tails[blank, j] = _BLANK_MARK
        filled[blank, j] = True
    return base + len(col.cells.tails)


def _matrix(tails: np.ndarray, filled: np.ndarray, lines: np.ndarray, prefix0: int, row0: int,
            heights: int) -> np.ndarray:
    """Piece numbers of the chunk, row after row: ``<row r="``, number, ``">``; per filled cell
    ``<c r="G``, number, tail; ``</row>``."""
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
    keep[:, 3:-1].reshape(n, m, 3)[:] = filled[:, :, None]
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
