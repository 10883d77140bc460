"""Export snapshots kept column by column: the base an import diffs against, read back in a
fraction of a second.

Kept as rows (``export_rows``, before store version 2), reading 100,000 products x 96 columns
back through the sqlite3 module cost ~3 s of Python objects and the copy took 60 MB of the store
per export. Here each column of each part (a chunk of rows as the writer wrote it) is stored
as its distinct values (JSON arrays of text) plus one small integer per row pointing into them,
both deflated: ~3 MB for 100,000 products, decoded in ~0.3 s. Plain data only (no pickle): a
store file can come from anywhere.
"""
from __future__ import annotations

import json
import sqlite3
import zlib
from typing import Iterable, Iterator

from .._lazy import lazy_import

np = lazy_import("numpy", globals())  # imported on first use: start-up (issue 17)
pd = lazy_import("pandas", globals())  # imported on first use: start-up (issue 17)

_WIDTHS = {1: "<u1", 2: "<u2", 4: "<u4"}


class SnapshotColumns:
    """Collects the chunks an export writes, as per-column codes + distinct values: each chunk is
    one stored part, encoded as soon as the writer has factorised it."""

    def __init__(self, names: Iterable[str]):
        self.names = list(names)
        self._db: sqlite3.Connection | None = None
        self._export_id = ""
        self._seen: set[str] = set()  # columns handed over for the current chunk
        self._parts: list[tuple[int, str, bytes, bytes]] = []
        self._part = 0

    def add(self, chunk) -> None:
        """A chunk (a DataFrame or an Arrow batch) the writer did not factorise (a CSV export)."""
        self.end_chunk(len(chunk) if not hasattr(chunk, "num_rows") else chunk.num_rows, chunk)

    def column(self, name: str, codes: np.ndarray, values) -> None:
        """One column of the current chunk, factorised: codes (blank may be -1, read as "") into
        ``values``, the distinct values (an Arrow array or an object array)."""
        if name in self.names and name not in self._seen:
            self._parts.append((self._part, name, *encode(codes, values)))
            self._seen.add(name)

    def end_chunk(self, rows: int, chunk=None) -> None:
        """The chunk is complete. Columns the writer did not hand over (an export of some
        columns) are taken from ``chunk``: the snapshot always holds whole rows."""
        if chunk is not None:
            from ..xlsx.arrowtext import encode as factorise, strings

            for name in self.names:
                if name not in self._seen:
                    column = chunk.column(name) if hasattr(chunk, "schema") else \
                        strings(chunk[name].to_numpy(dtype=object))
                    self.column(name, *factorise(column))
        self._seen = set()
        self._part += 1
        if self._db is not None and len(self._parts) >= _PARTS_HELD:
            self._insert_parts()

    def bind(self, db: sqlite3.Connection, export_id: str) -> None:
        """Store the parts as they come (inside the export's transaction), so a big export never
        holds all of them."""
        self._db, self._export_id = db, export_id

    def insert(self, db: sqlite3.Connection, export_id: str) -> None:
        """Store the (remaining) columns, inside the export's transaction."""
        self.bind(db, export_id)
        self._insert_parts()

    def _insert_parts(self) -> None:
        self._db.executemany("INSERT INTO export_columns (export_id, part, name, codes, uniques) VALUES (?,?,?,?,?)",
                             ((self._export_id, *p) for p in self._parts))
        self._parts.clear()


_PARTS_HELD = 960  # encoded parts kept before they are stored (ten chunks of every column)


class Recording:
    """A rows source (``n``, ``chunks(size)``, ...) whose chunks are also added to ``columns``
    as the writer goes through them: the snapshot costs no second pass over the store."""

    def __init__(self, source, columns: SnapshotColumns):
        self._source, self.columns = source, columns

    def chunks(self, size: int) -> Iterator:
        for chunk in self._source.chunks(size):
            yield chunk
            self.columns.add(chunk)

    def __getattr__(self, name):
        return getattr(self._source, name)


_LINE_VALUES, _LINE_CHARS = 10_000, 1 << 20  # distinct values per line of JSON (at most)
_BLOCK = 1 << 20  # compressed bytes read at a time
_FEW = 64  # distinct values json.dumps writes (more: Arrow's kernels)
_JSON_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))


def encode(codes: np.ndarray, uniques) -> tuple[bytes, bytes]:
    """(codes, distinct values) → (the codes packed, the values as lines of JSON arrays), both
    deflated. Blank codes (-1) become the text "". ``uniques``: an Arrow array or object array."""
    import pyarrow as pa

    if not isinstance(uniques, pa.Array):
        uniques = pa.array([u if isinstance(u, str) else ("" if u is None or u != u else str(u)) for u in uniques],
                           type=pa.large_string())
    codes = np.asarray(codes)
    if len(codes) and codes.min() < 0:
        codes = np.where(codes < 0, len(uniques), codes)
        uniques = pa.concat_arrays([uniques.cast(pa.large_string()), pa.array([""], type=pa.large_string())])
    width = 1 if len(uniques) <= 0xFF else 2 if len(uniques) <= 0xFFFF else 4
    packed = bytes([width]) + zlib.compress(codes.astype(_WIDTHS[width]).tobytes(), 1)
    return packed, zlib.compress(json_lines(uniques), 1)


def json_lines(values) -> bytes:
    """The texts as JSON arrays of strings, one line each of at most _LINE_VALUES values or about
    _LINE_CHARS characters (JSON escapes line breaks inside strings): written by Arrow's string
    kernels, read back a line at a time, so long texts never exist twice in full."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ..xlsx import arrowtext as at

    values = at.strings(values)
    n = len(values)
    if not n:
        return b""
    bounds = list(_line_bounds(pc.utf8_length(values).to_numpy(zero_copy_only=False)))
    if n <= _FEW:  # a handful of values: json itself is quicker than a dozen kernels
        texts = values.to_pylist()
        return b"\n".join(json.dumps(texts[a:b], ensure_ascii=False, separators=(",", ":")).encode()
                          for a, b in bounds)
    escaped = at.escaped(values, r'[\\"\x00-\x1f]', _JSON_ESCAPES, r"[\x00-\x08\x0b\x0c\x0e-\x1f]",
                         lambda v: json.dumps(v, ensure_ascii=False)[1:-1])
    seps = np.zeros(n, dtype=np.int8)  # 0: ",", 1: a line ends, 2: the last value
    seps[[stop - 1 for _, stop in bounds]] = 1
    seps[-1] = 2
    after = pa.array([",", "]\n[", "]"], type=at.TEXT).take(pa.array(seps))
    return b"[" + bytes(at.joined(at.concat(['"', escaped, '"', after])))


def _line_bounds(lengths: np.ndarray) -> Iterator[tuple[int, int]]:
    """(start, stop) of each line: up to _LINE_VALUES values or about _LINE_CHARS characters."""
    ends = np.cumsum(lengths)
    start, n = 0, len(lengths)
    while start < n:
        before = ends[start - 1] if start else 0
        stop = min(start + _LINE_VALUES, int(np.searchsorted(ends, before + _LINE_CHARS, side="left")) + 1, n)
        yield start, stop
        start = stop


def _texts(blocks: Iterable[bytes]) -> list[str]:
    """The distinct values from the compressed lines, fed a block at a time."""
    z = zlib.decompressobj()
    texts: list[str] = []
    line: list[bytes] = []
    for block in blocks:
        *done, rest = z.decompress(block).split(b"\n")
        for part in done:
            texts.extend(json.loads(b"".join(line) + part))
            line = []
        line.append(rest)
    if not z.eof:
        raise ValueError("truncated")
    tail = b"".join(line)
    if tail:
        texts.extend(json.loads(tail))
    return texts


def _blocks(data: bytes) -> Iterator[memoryview]:
    view = memoryview(data)
    return (view[i:i + _BLOCK] for i in range(0, len(view), _BLOCK))


def decode(packed: bytes, texts: "bytes | Iterable[bytes]") -> tuple[np.ndarray, np.ndarray]:
    codes = np.frombuffer(zlib.decompress(packed[1:]), dtype=_WIDTHS[packed[0]])
    uniques = np.array(_texts(_blocks(texts) if isinstance(texts, bytes) else texts), dtype=object)
    if len(codes) and int(codes.max()) >= len(uniques):
        raise ValueError("code out of range")
    return codes, uniques


def _blob_blocks(db: sqlite3.Connection, rowid: int) -> Iterator[bytes]:
    """A stored ``uniques`` value read a block at a time (never whole in memory)."""
    with db.blobopen("export_columns", "uniques", rowid, readonly=True) as blob:
        while True:
            block = blob.read(_BLOCK)
            if not block:
                return
            yield block


def read(db: sqlite3.Connection, export_id: str, names: list[str], rows: int | None) -> "pd.DataFrame | None":
    """The snapshot's ``names`` columns, or None when it was not kept column-wise (an export made
    before this existed) or does not add up to ``rows`` (damaged)."""
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {n: [] for n in names}
    marks = ", ".join("?" * len(names))
    streamed = hasattr(db, "blobopen")  # Python 3.11+
    texts = "NULL" if streamed else "uniques"
    try:
        for rowid, name, packed, whole in db.execute(
                f"SELECT rowid, name, codes, {texts} FROM export_columns WHERE export_id=? AND name IN ({marks})"
                " ORDER BY name, part", (export_id, *names)).fetchall():
            parts[name].append(decode(packed, _blob_blocks(db, rowid) if streamed else whole))
    except (sqlite3.Error, zlib.error, ValueError, IndexError, KeyError, TypeError):
        return None
    counts = [sum(len(codes) for codes, _ in parts[name]) for name in names]
    n = rows if rows is not None else (counts[0] if counts else 0)
    if any(not parts[name] or count != n for name, count in zip(names, counts)):
        return None
    # one block of every column (pandas keeps the columns of a frame of text as one): each value
    # looked up straight into its place, no copy of the whole afterwards
    block = np.empty((len(names), n), dtype=object)
    for j, name in enumerate(names):
        at = 0
        for codes, uniques in parts.pop(name):
            np.take(uniques, codes, out=block[j, at:at + len(codes)])
            at += len(codes)
    return pd.DataFrame(block.T, columns=names, dtype=object, copy=False)
