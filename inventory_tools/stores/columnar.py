"""Export snapshots kept column by column: the base an import diffs against, read back in a
fraction of a second.

Kept as rows (``export_rows``, before store version 2), reading 100,000 products x 96 columns
back through the sqlite3 module cost ~3 s of Python objects and the copy took 60 MB of the store
per export. Here each column of each part (up to :data:`PART_ROWS` rows) is stored as its
distinct values (a JSON list of text) plus one small integer per row pointing into them, both
deflated: ~3 MB for 100,000 products, decoded in ~0.3 s. Plain data only (no pickle): a store
file can come from anywhere.
"""
from __future__ import annotations

import json
import sqlite3
import zlib
from typing import Iterable, Iterator

from .._lazy import lazy_import
from ..factorised import merge

np = lazy_import("numpy", globals())  # imported on first use: start-up (issue 17)
pd = lazy_import("pandas", globals())  # imported on first use: start-up (issue 17)

PART_ROWS = 200_000  # rows per stored part: bounds the memory of exporting a million products
_WIDTHS = {1: "<u1", 2: "<u2", 4: "<u4"}


class SnapshotColumns:
    """Collects the chunks an export writes, as per-column codes + distinct values."""

    def __init__(self, names: Iterable[str]):
        self.names = list(names)
        self._db: sqlite3.Connection | None = None
        self._export_id = ""
        self._pending: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {n: [] for n in self.names}
        self._pending_rows = 0
        self._seen: set[str] = set()  # columns handed over for the current chunk
        self._parts: list[tuple[int, str, bytes, bytes]] = []
        self._next_part = 0

    def add(self, chunk: pd.DataFrame) -> None:
        for name in self.names:
            codes, uniques = pd.factorize(chunk[name].to_numpy(dtype=object), use_na_sentinel=False)
            self.column(name, codes, uniques)
        self.end_chunk(len(chunk))

    def column(self, name: str, codes: np.ndarray, uniques: np.ndarray) -> None:
        """One column of the current chunk, factorised (blank cells may be -1, read as "")."""
        if name in self._pending:
            self._pending[name].append((codes, np.asarray(uniques, dtype=object)))
            self._seen.add(name)

    def end_chunk(self, rows: int, chunk: pd.DataFrame | None = None) -> None:
        """The chunk is complete. Columns the writer did not hand over (an export of some
        columns) are taken from ``chunk``: the snapshot always holds whole rows."""
        if chunk is not None:
            for name in self.names:
                if name not in self._seen:
                    codes, uniques = pd.factorize(chunk[name].to_numpy(dtype=object), use_na_sentinel=False)
                    self._pending[name].append((codes, np.asarray(uniques, dtype=object)))
        self._seen = set()
        self._pending_rows += rows
        if self._pending_rows >= PART_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._pending_rows:
            return
        part = self._next_part
        self._next_part += 1
        for name in self.names:
            codes, uniques = merge(self._pending[name])
            self._pending[name] = []
            if (codes < 0).any():  # blank cells as the writer left them: the text ""
                codes = np.where(codes < 0, len(uniques), codes)
                uniques = np.append(uniques, "")
            self._parts.append((part, name, *encode(codes, uniques)))
        self._pending_rows = 0
        if self._db is not None:
            self._insert_parts()

    def bind(self, db: sqlite3.Connection, export_id: str) -> None:
        """Store each part as soon as it is complete (inside the export's transaction), so a big
        export never holds all of its parts."""
        self._db, self._export_id = db, export_id

    def insert(self, db: sqlite3.Connection, export_id: str) -> None:
        """Store the (remaining) columns, inside the export's transaction."""
        self.bind(db, export_id)
        self._flush()
        self._insert_parts()

    def _insert_parts(self) -> None:
        self._db.executemany("INSERT INTO export_columns (export_id, part, name, codes, uniques) VALUES (?,?,?,?,?)",
                             ((self._export_id, *p) for p in self._parts))
        self._parts.clear()


class Recording:
    """A rows source (``n``, ``chunks(size)``, ...) whose chunks are also added to ``columns``
    as the writer goes through them: the snapshot costs no second pass over the store."""

    def __init__(self, source, columns: SnapshotColumns):
        self._source, self.columns = source, columns

    def chunks(self, size: int) -> Iterator[pd.DataFrame]:
        for chunk in self._source.chunks(size):
            yield chunk
            # after the writer: its own factorising has cached each string's hash by now
            self.columns.add(chunk)

    def __getattr__(self, name):
        return getattr(self._source, name)


_LINE_VALUES, _LINE_CHARS = 10_000, 1 << 20  # distinct values per line of JSON (at most)
_BLOCK = 1 << 20  # compressed bytes read at a time


def encode(codes: np.ndarray, uniques: np.ndarray) -> tuple[bytes, bytes]:
    texts = [u if isinstance(u, str) else ("" if u is None or u != u else str(u)) for u in uniques]
    width = 1 if len(texts) <= 0xFF else 2 if len(texts) <= 0xFFFF else 4
    packed = bytes([width]) + zlib.compress(codes.astype(_WIDTHS[width]).tobytes(), 1)
    # JSON arrays of a few values each, one per line (JSON escapes line breaks inside strings):
    # written and read a line at a time, so long texts never exist twice in full
    z = zlib.compressobj(1)
    out = []
    for i, (a, b) in enumerate(_lines(texts)):
        line = json.dumps(texts[a:b], ensure_ascii=False, separators=(",", ":"))
        out.append(z.compress((b"\n" if i else b"") + line.encode()))
    out.append(z.flush())
    return packed, b"".join(out)


def _lines(texts: list[str]) -> Iterator[tuple[int, int]]:
    """(start, stop) of each line: up to _LINE_VALUES values or about _LINE_CHARS characters."""
    start, size = 0, 0
    for i, t in enumerate(texts):
        size += len(t)
        if i + 1 - start >= _LINE_VALUES or size >= _LINE_CHARS:
            yield start, i + 1
            start, size = i + 1, 0
    if start < len(texts):
        yield start, len(texts)


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


def read(db: sqlite3.Connection, export_id: str, names: list[str], rows: int | None) -> pd.DataFrame | None:
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
    data = {}
    for name in names:
        if not parts[name]:
            return None
        codes, uniques = merge(parts.pop(name))
        if rows is not None and len(codes) != rows:
            return None
        data[name] = uniques[codes]
    return pd.DataFrame(data, dtype=object)
