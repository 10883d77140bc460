"""A sheet read into Arrow (fastexcel) → per-column codes into distinct values, the values exactly
as python-calamine gives them (``str`` for text cells, ``float`` for numbers, ``bool``), or the
reason they cannot be known exactly from what was read (:class:`NotExact`).

Text columns are read as text, with every text cell marked (:data:`~.sst.MARK`): a marked value
is a text cell; an unmarked one is a number, a boolean or a date written as text by the reader,
or a formula's text result (the sheet scan knows those cells). Number columns are read as numbers:
a text cell there comes back empty, which the cell counts of the scan reveal. Only distinct
values become Python objects; the work per cell is Arrow's and numpy's.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .._lazy import lazy_import
from .. import factorised
from .sst import MARK

pd = lazy_import("pandas", globals())  # imported on first use: it loads while a sheet parses (issue 17)
np = lazy_import("numpy", globals())  # imported on first use: while a sheet parses, not before (issue 17)

#: what fastexcel writes for a cell that is not text, read as text: a number (up to nine decimal
#: places), a boolean, a date and time; text of this form in a cell may also be a typed value
AMBIGUOUS = (r"^(?:-?[0-9]+(?:\.[0-9]+)?|-?inf|NaN|true|false"
             r"|[+-]?[0-9]{4,}-[0-9]{2}-[0-9]{2}(?: [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?)?)$")


class NotExact(Exception):
    """The values cannot be known exactly from this reading (the caller reads the file another way)."""


@dataclass
class Column:
    codes: np.ndarray  # int32 per row of the sheet's data, -1 blank
    uniques: np.ndarray  # object: the distinct values
    marked: int = 0  # text cells (marked) in the column
    unmarked_text: int = 0  # cells read as text without the mark, taken as text (inline strings)
    numbers: int = 0  # number cells (number columns; in text columns, once resolved)
    unresolved: list[int] = field(default_factory=list)  # rows of unmarked values a number would give


def text_column(holder: list, known: dict[int, str]) -> Column:
    """A column read as text (``holder[1]``, taken from it) → codes and distinct values (``str``;
    ``bool`` for boolean cells). Encoded a slice of rows at a time, so the memory it takes beyond
    the column is its distinct values as Python objects."""
    arr, holder[1] = holder[1], None
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    col = Column(np.empty(0, dtype=np.int32), np.empty(0, dtype=object))
    ambiguous_rows: list[np.ndarray] = []
    for start, stop in _slices(arr):
        piece = arr.slice(start, stop - start)
        if piece.null_count == len(piece):
            parts.append((np.full(len(piece), -1, dtype=np.int32), np.empty(0, dtype=object)))
            continue
        codes, values, amb = _encoded(piece, col)
        if len(amb):
            ambiguous_rows.append(np.flatnonzero(np.isin(codes, amb)) + start)
        parts.append((codes, values))
    del arr
    col.codes, col.uniques = factorised.merge(parts) if parts else (col.codes, col.uniques)
    at = set(np.concatenate(ambiguous_rows).tolist()) if ambiguous_rows else set()
    if at or known:
        _typed_cells(col, at, known)
    return _compact(col)


def _encoded(piece, col: Column) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One slice of a text column: (codes, blank = -1; its distinct texts without the mark; the
    codes of unmarked texts a typed value would also give). Counts the marked and unmarked cells."""
    import pyarrow.compute as pc

    enc = pc.dictionary_encode(piece)
    raw = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    dic = enc.dictionary
    marked = pc.starts_with(dic, MARK).to_numpy(zero_copy_only=False)
    if marked.all():
        text = pc.utf8_slice_codeunits(dic, 1)
    else:
        text = pc.if_else(marked, pc.utf8_slice_codeunits(dic, 1), dic) if marked.any() else dic
    blank = pc.or_(pc.equal(pc.utf8_length(text), 0), pc.utf8_is_space(text)).to_numpy(zero_copy_only=False)
    amb = np.empty(0, dtype=np.int64)
    if not marked.all():
        amb = np.flatnonzero(~marked & pc.match_substring_regex(dic, AMBIGUOUS).to_numpy(zero_copy_only=False))
    counts = np.bincount(raw + 1, minlength=len(dic) + 1)[1:]
    col.marked += int(counts[marked].sum())
    col.unmarked_text += int(counts[~marked].sum())
    values = np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)
    remap = np.where(blank, np.int32(-1), np.arange(len(dic), dtype=np.int32))
    codes = np.append(remap, np.int32(-1))[raw]
    return codes, values, amb


_SLICE_ROWS = 1 << 20
_SLICE_BYTES = 8 << 20


def _slices(arr) -> list[tuple[int, int]]:
    """Row ranges of at most :data:`_SLICE_ROWS` rows and about :data:`_SLICE_BYTES` of text (a
    column of long descriptions is converted a few megabytes at a time)."""
    import pyarrow as pa

    n = len(arr)
    wide = pa.types.is_large_string(arr.type)
    buffers = arr.buffers()
    if len(buffers) < 3 or buffers[1] is None:
        return [(a, min(n, a + _SLICE_ROWS)) for a in range(0, n, _SLICE_ROWS)]
    offsets = np.frombuffer(buffers[1], dtype=np.int64 if wide else np.int32)[arr.offset:arr.offset + n + 1]
    out, start = [], 0
    while start < n:
        stop = min(n, start + _SLICE_ROWS)
        if offsets[stop] - offsets[start] > _SLICE_BYTES:
            stop = max(start + 1, int(np.searchsorted(offsets, offsets[start] + _SLICE_BYTES, side="right")) - 1)
        out.append((start, stop))
        start = stop
    return out


def _typed_cells(col: Column, at: set[int], known: dict[int, str]) -> None:
    """Unmarked values that a number, a boolean or a date would also give (rows ``at``): a cell
    the scan typed as a formula's text is text, a boolean cell True/False; the others (a number,
    a date) are left for :func:`resolve_numbers`."""
    extra: dict[bool, int] = {}
    for r in sorted(at | set(known)):
        t = known.get(r)
        if t in (None, "n") and r in at:
            col.unresolved.append(r)
            col.unmarked_text -= 1
        if t == "b":
            code = col.codes[r]
            value = col.uniques[code] if code >= 0 else None
            if value not in ("true", "false"):
                raise NotExact("a boolean cell read otherwise")
            flag = value == "true"
            if flag not in extra:
                extra[flag] = len(col.uniques) + len(extra)
            col.codes[r] = extra[flag]
            col.unmarked_text -= 1
        elif t == "str":
            col.unmarked_text -= 1  # a formula's text: text, counted by the scan as such
        elif t == "d":
            raise NotExact("an ISO date cell")
    if extra:
        col.uniques = np.concatenate([col.uniques, np.array(list(extra), dtype=object)])


def resolve_numbers(col: Column, view) -> None:
    """The unresolved cells of a text column, given the column read again as numbers (``view``):
    each is a number (python-calamine's float), or not exact (a date)."""
    valid = view.is_valid().to_numpy(zero_copy_only=False)
    values = view.to_numpy(zero_copy_only=False)
    rows = np.asarray(col.unresolved, dtype=np.int64)
    if not valid[rows].all():
        raise NotExact("a date in a text column")
    has_bool = any(type(u) is bool for u in col.uniques)
    new: dict[float, int] = {}
    for r in rows.tolist():
        x = float(values[r])
        if has_bool and x in (0.0, 1.0):
            raise NotExact("booleans and the numbers 0 or 1 in one column")
        col.codes[r] = new.setdefault(x, len(col.uniques) + len(new))
    col.uniques = np.concatenate([col.uniques, np.array(list(new), dtype=object)])
    col.numbers += len(rows)
    col.unresolved = []
    _compact(col)


def resolve_texts(col: Column, view) -> int:
    """Empty cells of a number column that hold text, given the column read again as text
    (``view``): each marked value is that text; an unmarked one is not exact. Returns how many."""
    text_rows = np.flatnonzero(view.is_valid().to_numpy(zero_copy_only=False) & (col.codes < 0))
    if not len(text_rows):
        return 0
    picked = view.take(text_rows).to_pylist()
    if not all(v.startswith(MARK) for v in picked):
        raise NotExact("a date in a number column")
    new: dict[str, int] = {}
    for r, v in zip(text_rows.tolist(), picked):
        text = v[1:]
        col.codes[r] = -1 if not text.strip() else new.setdefault(text, len(col.uniques) + len(new))
    col.uniques = np.concatenate([col.uniques, np.array(list(new), dtype=object)])
    _compact(col)
    return len(text_rows)


def _compact(col: Column) -> Column:
    """Distinct values no cell uses (a value that was only blank, or a boolean's text) dropped."""
    used = np.zeros(len(col.uniques) + 1, dtype=bool)
    used[col.codes + 1] = True
    used = used[1:]
    if used.all():
        return col
    new = np.cumsum(used, dtype=np.int32) - 1
    col.codes = np.where(col.codes >= 0, np.append(new, np.int32(-1))[col.codes], np.int32(-1)).astype(np.int32)
    col.uniques = col.uniques[used]
    return col


def number_column(holder: list, known: dict[int, str]) -> Column:
    """A column read as numbers (``holder[1]``, taken from it) → codes and distinct values
    (``float``)."""
    arr, holder[1] = holder[1], None
    if any(t not in ("n", "e") for t in known.values()):
        raise NotExact("a boolean, date or formula text in a number column")
    values = arr.to_numpy(zero_copy_only=False)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    col = Column(codes.astype(np.int32, copy=False), uniques.astype(object))
    col.numbers = len(arr) - arr.null_count
    return col
