"""The embedded store: products in a SQLite file, every value kept exactly as text."""
from __future__ import annotations

import json
import operator
import os
import sqlite3
from pathlib import Path
from typing import Iterable

from .._lazy import lazy_import
from .. import columns as cols
from ..codes import product_keys
from ..changes import ApplyOutcome, ChangeSet
from .base import Store
from .state import (LocalState, StoreMissing, connect, connect_empty, frame_from_cursor, frame_from_rows, now_iso,
                    qi, select_list)

pd = lazy_import("pandas", globals())  # imported on first use: start-up (issue 17)

_CHUNK = 500  # codes per IN (...) query, under SQLite's variable limit
FIRST_CHUNK = 2_048  # rows in an export's first chunk: the writing starts as soon as they are read
CREATE_MODES = ("now", "on_write", "never")


class SqliteStore(Store):
    kind = "sqlite"
    atomic = True  # one transaction per apply
    counts_cheaply = True

    def __init__(self, path: str | os.PathLike, *, create: str = "now"):
        """``create``: a missing file is created ``"now"``, on the first apply (``"on_write"``:
        until then the store reads as empty and nothing is on disk), or ``"never"`` (a missing
        store raises :class:`~inventory_tools.stores.state.StoreMissing`)."""
        if create not in CREATE_MODES:
            raise ValueError(f"create must be one of {CREATE_MODES}")
        self.path = str(Path(path))
        self._on_disk = True
        try:
            self.db = connect(self.path, create=create == "now")
        except StoreMissing:
            if create == "never":
                raise
            self.db = connect_empty()  # not there yet: an empty store in memory until the first write
            self._on_disk = False
        self.state = LocalState(self.db, self.path)

    def _materialize(self) -> None:
        """Create the file of a store opened with ``create="on_write"``, just before its first write."""
        if self._on_disk:
            return
        self.db.close()
        self.db = connect(self.path)
        self.state = LocalState(self.db, self.path)
        self._on_disk = True

    # -- identity -----------------------------------------------------------------------------
    def identity(self) -> str:
        return f"sqlite:{self.state.store_id}"

    def describe(self) -> str:
        return f"SQLite store {os.path.abspath(self.path)}"

    def close(self) -> None:
        self.state.close()

    # -- reads --------------------------------------------------------------------------------
    def products_query(self, statuses: Iterable[str] | None = None) -> tuple[str, tuple]:
        sel = ", ".join(qi(n) for n in cols.names())
        sql, params = f"SELECT {sel} FROM products", ()
        if statuses:
            params = tuple(statuses)
            sql += f" WHERE {qi(cols.STATUS)} IN ({', '.join('?' * len(params))})"
        return sql + " ORDER BY rowid", params  # creation order, as Cin7 lists them

    def read_products(self, statuses: Iterable[str] | None = None) -> "pd.DataFrame":
        sql, params = self.products_query(statuses)
        sql = sql.replace(", ".join(qi(n) for n in cols.names()), select_list(), 1)
        return frame_from_cursor(self.db.execute(sql, params))

    def stream(self, statuses: Iterable[str] | None = None, match=None) -> "ProductStream":
        """The products (optionally some statuses, or a ``filters.ProductFilter``) read in chunks:
        for exports of any size."""
        return ProductStream(self, list(statuses or []), match)

    def values_in_use(self, column: str) -> list[str]:
        return [r[0] for r in self.db.execute(f"SELECT DISTINCT {qi(column)} FROM products"
                                              f" WHERE coalesce({qi(column)}, '') <> ''")]

    def read_by_codes(self, codes: Iterable[str]) -> "pd.DataFrame":
        codes = list(dict.fromkeys(codes))
        if len(codes) > 5 * _CHUNK:
            # Most of the catalogue: one scan beats hundreds of IN (...) lookups.
            everything = self.read_products()
            return everything[everything[cols.KEY].isin(codes)].reset_index(drop=True)
        sel = select_list()
        rows = []
        for i in range(0, len(codes), _CHUNK):
            part = codes[i:i + _CHUNK]
            rows += self.db.execute(
                f"SELECT {sel} FROM products WHERE {qi(cols.KEY)} IN ({', '.join('?' * len(part))})", part).fetchall()
        return frame_from_rows(rows)

    def read_by_codes_since(self, codes: Iterable[str], export_id: str, snapshot: "pd.DataFrame") -> "pd.DataFrame":
        """:meth:`read_by_codes`, reusing export ``export_id``'s ``snapshot`` already in memory:
        only products that changed since that export, or that it did not hold, are read again.

        Every write to the products is journaled in the same transaction, so the journal after
        the export names the products that may differ (usually none): far faster than reading
        every row back. (Exports made before store version 2: one indexed join of their rows.)"""
        codes = list(dict.fromkeys(codes))
        moved = self.state.touched_since(export_id)
        if moved is None:
            key = qi(cols.KEY)
            differs = " OR ".join(f"p.{qi(n)} IS NOT e.{qi(n)}" for n in cols.names() if n != cols.KEY)
            moved = {r[0] for r in self.db.execute(
                f"SELECT e.{key} FROM export_rows e LEFT JOIN products p ON p.{key} = e.{key}"
                f" WHERE e.export_id = ? AND (p.{key} IS NULL OR {differs})", (export_id,))}
        in_snapshot = set(snapshot[cols.KEY])
        wanted = pd.Index(codes, dtype=object)  # (pandas 3 would copy every code into Arrow strings)
        keep = snapshot[cols.KEY].isin(wanted) & ~snapshot[cols.KEY].isin(moved)
        kept = snapshot if keep.all() else snapshot[keep]  # usually every row: no copy of them all
        again = [c for c in codes if c in moved or c not in in_snapshot]
        if not again:
            return kept.reset_index(drop=True)
        return pd.concat([kept, self.read_by_codes(again)], ignore_index=True)

    def codes(self) -> list[str]:
        return [r[0] for r in self.db.execute(f"SELECT {qi(cols.KEY)} FROM products")]

    def list_rows(self, columns: Iterable[str]) -> list[tuple[str, ...]]:
        return self.db.execute(f"SELECT {select_list(list(columns))} FROM products ORDER BY rowid").fetchall()

    def status_counts(self) -> dict[str, int]:
        return dict(self.db.execute(f"SELECT {qi(cols.STATUS)}, count(*) FROM products GROUP BY 1").fetchall())

    def state_token(self) -> str:
        """Every write to the products is an operation (import, sync, undo): the newest one names
        the state."""
        return f"op:{self.state.last_op_id()}"

    def last_ops(self, codes: Iterable[str]) -> dict[str, int | None]:
        codes = list(codes)
        out: dict[str, int | None] = {}
        for i in range(0, len(codes), _CHUNK):
            part = codes[i:i + _CHUNK]
            out.update(self.db.execute(
                f"SELECT {qi(cols.KEY)}, _last_op FROM products WHERE {qi(cols.KEY)} IN ({', '.join('?' * len(part))})",
                part).fetchall())
        return out

    # -- writes -------------------------------------------------------------------------------
    def apply(self, changes: ChangeSet, *, kind: str, source: str, base_export_id: str | None,
              counts: dict, progress=None, undo_of: int | None = None, detail: dict | None = None) -> ApplyOutcome:
        """Everything in one transaction: a crash leaves the store exactly before or after."""
        self._materialize()
        with self.state.transaction() as db:
            op_id = self.state.begin_operation(db, kind=kind, source=source, base_export_id=base_export_id,
                                               counts=counts, undo_of=undo_of, detail=detail)
            columns = _load_updates(db, changes.updates)
            self._check_expected(db, changes, columns)
            created = self._insert(db, changes.creates, op_id)
            updated = self._update(db, changes, columns, op_id)
            deleted = self._delete(db, changes.deletes, op_id)
            self.state.finish_operation(db, op_id, state="applied")
            if undo_of is not None:  # (undoing an undo also puts its own target back to applied)
                self.state.finish_operation(db, undo_of, state="undone")
        return ApplyOutcome(op_id=op_id, created=created, updated=updated, deleted=deleted)

    def _check_expected(self, db: sqlite3.Connection, changes: ChangeSet, columns: list[str]) -> None:
        """Refuse if the store moved since the plan was made (another run wrote in between)."""
        from ..errors import StoreError

        if not changes.creates.empty:
            clash = self._same_products(db, list(changes.creates[cols.KEY]))
            if clash:
                new, existing = clash[0]
                raise StoreError(f"{len(clash)} product(s) to create already exist now, e.g. {new}"
                                 + (f" (as {existing})" if existing != new else ""),
                                 "the store changed while this ran; re-run the command to plan again")
        for column in columns:  # one join per column against the changes loaded in the transaction
            moved = db.execute(
                f"SELECT c.code FROM temp.{_CHANGES} c LEFT JOIN products p ON p.rowid = c.rid WHERE c.col = ?"
                f" AND (c.rid IS NULL OR coalesce(p.{qi(column)}, '') IS NOT c.old) ORDER BY c.seq LIMIT 1",
                (column,)).fetchone()
            if moved:
                raise StoreError(f"{moved[0]} · {column} changed in the store while this ran",
                                 "re-run the command to plan again; nothing was changed")
        self._check_deletes(db, changes.delete_expected)

    def _check_deletes(self, db: sqlite3.Connection, expected: dict[str, dict[str, str]]) -> None:
        """A product to delete must still be exactly as the plan saw it."""
        from ..errors import StoreError

        for code, row in expected.items():
            now = self._row(db, code)
            moved = [n for n in cols.names() if now is not None and now[n] != row.get(n, "")]
            if now is None or moved:
                what = "was deleted" if now is None else f"· {moved[0]} changed"
                raise StoreError(f"{code} {what} in the store while this ran",
                                 "re-run the command to plan again; nothing was changed")

    @staticmethod
    def _row(db: sqlite3.Connection, code: str) -> dict[str, str] | None:
        row = db.execute(f"SELECT {select_list()} FROM products WHERE {qi(cols.KEY)}=?", (code,)).fetchone()
        return dict(zip(cols.names(), row)) if row else None

    @staticmethod
    def _same_products(db, codes: list[str]) -> list[tuple[str, str]]:
        """(new code, existing code) for each code the store already has, typed any way a person
        reads as the same (:func:`~inventory_tools.codes.product_key`): validation's own rule."""
        existing = pd.Series([r[0] for r in db.execute(f"SELECT {qi(cols.KEY)} FROM products")], dtype=object)
        if existing.empty:
            return []
        by_key = dict(zip(product_keys(existing), existing))
        new = pd.Series(codes, dtype=object)
        return [(code, by_key[key]) for code, key in zip(new, product_keys(new)) if key in by_key]

    def _insert(self, db, creates: "pd.DataFrame", op_id: int) -> list[str]:
        if creates.empty:
            return []
        names = list(cols.names())
        frame = creates[names]
        stamp = now_iso()
        marks = ", ".join("?" * (len(names) + 2))
        col_sql = ", ".join(qi(n) for n in names)
        rows = ((*(v if v != "" else None for v in r), op_id, stamp) for r in frame.itertuples(index=False, name=None))
        db.executemany(f"INSERT INTO products ({col_sql}, _last_op, _changed_at) VALUES ({marks})", rows)
        codes = list(frame[cols.KEY])
        self.state.journal_add(db, op_id, ((c, "create", None, None, None) for c in codes))
        return codes

    def _update(self, db, changes: ChangeSet, columns: list[str], op_id: int) -> list[str]:
        """The cell changes (loaded by :func:`_load_updates`), a column at a time, set-based: each
        changed cell's row found by its rowid, bookkeeping set, the journal copied in one go."""
        if not changes.updates:
            return []
        stamp = now_iso()
        if sqlite3.sqlite_version_info >= (3, 33):  # UPDATE ... FROM: each changed row rewritten once
            _update_rows(db, columns, op_id, stamp)
        else:
            for column in columns:
                db.execute(f"UPDATE products SET {qi(column)} = (SELECT nullif(c.new, '') FROM temp.{_CHANGES} c"
                           " WHERE c.col = ?1 AND c.rid = products.rowid ORDER BY c.seq DESC LIMIT 1),"
                           f" _last_op = ?2, _changed_at = ?3"
                           f" WHERE rowid IN (SELECT rid FROM temp.{_CHANGES} WHERE col = ?1)", (column, op_id, stamp))
        db.execute(f"INSERT INTO journal (op_id, code, action, col, old, new, done) SELECT ?, code, 'update', col,"
                   f" old, new, 1 FROM temp.{_CHANGES} ORDER BY seq", (op_id,))
        db.execute(f"DROP TABLE temp.{_CHANGES}")
        return list(dict.fromkeys(c.code for c in changes.updates))

    def _delete(self, db, codes: list[str], op_id: int) -> list[str]:
        """Delete products, journaling each one's values (``old``: the row as JSON) so that
        undoing this operation can create them again."""
        if not codes:
            return []
        rows = {code: self._row(db, code) for code in codes}
        db.executemany(f"DELETE FROM products WHERE {qi(cols.KEY)}=?", ((c,) for c in codes))
        self.state.journal_add(db, op_id, ((c, "delete", None, json.dumps(rows[c], ensure_ascii=False), None)
                                           for c in codes if rows[c] is not None))
        return [c for c in codes if rows[c] is not None]


_CHANGES = "_apply_changes"


def _load_updates(db: sqlite3.Connection, updates: list) -> list[str]:
    """Put the cell changes into a temporary table inside the apply's transaction, each with its
    product's rowid (one prepared INSERT run for every change, its values taken from the changes
    in C). Returns the columns."""
    if not updates:
        return []
    db.execute(f"DROP TABLE IF EXISTS temp.{_CHANGES}")
    db.execute(f"CREATE TEMP TABLE {_CHANGES} (seq INTEGER PRIMARY KEY, col TEXT NOT NULL, code TEXT NOT NULL,"
               " old TEXT, new TEXT, rid INTEGER)")
    db.executemany(f"INSERT INTO temp.{_CHANGES} (col, code, old, new, rid) VALUES (?1, ?2, ?3, ?4,"
                   f" (SELECT rowid FROM products WHERE {qi(cols.KEY)} = ?2))",
                   map(operator.attrgetter("column", "code", "old", "new"), updates))
    db.execute(f"CREATE INDEX temp.{_CHANGES}_col ON {_CHANGES} (col, rid)")
    return list(dict.fromkeys(c.column for c in updates))


def _update_rows(db: sqlite3.Connection, columns: list[str], op_id: int, stamp: str) -> None:
    """The loaded changes turned into one row per product (each changed column's new value and
    a flag), then one UPDATE ... FROM that rewrites each changed product once (a cell listed
    twice takes its last value)."""
    picks = ", ".join(f"max(CASE WHEN col = ?{i + 1} THEN 1 END) AS s{i}, max(CASE WHEN col = ?{i + 1} THEN new END)"
                      f" AS v{i}" for i in range(len(columns)))
    db.execute(f"CREATE TEMP TABLE {_CHANGES}_rows AS SELECT rid, {picks} FROM (SELECT rid, col, new, max(seq)"
               f" FROM temp.{_CHANGES} GROUP BY rid, col) GROUP BY rid", columns)
    sets = ", ".join(f"{qi(c)} = CASE WHEN r.s{i} THEN nullif(r.v{i}, '') ELSE products.{qi(c)} END"
                     for i, c in enumerate(columns))
    db.execute(f"UPDATE products SET {sets}, _last_op = ?, _changed_at = ? FROM temp.{_CHANGES}_rows r"
               " WHERE r.rid = products.rowid", (op_id, stamp))
    db.execute(f"DROP TABLE temp.{_CHANGES}_rows")


class ProductStream:
    """``n`` products, read ``chunks(size)`` at a time with one cursor (call inside a transaction
    so the rows match the export snapshot taken in the same transaction)."""

    def __init__(self, store: SqliteStore, statuses: list[str], match=None):
        self.store, self.statuses = store, statuses
        where, params = "", ()
        if match is not None:
            where, params = match.sql(qi)
        elif statuses:
            params = tuple(statuses)
            where = f" WHERE {qi(cols.STATUS)} IN ({', '.join('?' * len(params))})"
        self._where, self._params = where, params
        self._started = None
        self.n = store.db.execute(f"SELECT count(*) FROM products{where}", params).fetchone()[0]

    def chunks(self, size: int):
        from ..prefetch import prefetched

        def read():
            cur = self.store.db.execute(f"SELECT {select_list()} FROM products{self._where} ORDER BY rowid",
                                        self._params)
            while True:
                rows = cur.fetchmany(size)
                if not rows:
                    return
                yield frame_from_rows(rows)

        # the next chunk is read while this one is written (SQLite steps without holding the GIL)
        return prefetched(read())

    def arrow_chunks(self, size: int):
        """The products as Arrow record batches of up to ``size`` rows (the first one smaller, so
        writing starts early), every column dictionary-encoded, read on the other cores
        (:mod:`.arrow_read`). The reading starts at this call: call it as early as the rows
        are known to be wanted."""
        from ..prefetch import prefetched
        from . import arrow_read

        started, self._started = self._started, None
        if started is not None:
            if started[0] == size:
                return started[1]
            started[1].close()
        names = list(cols.names())
        if not self.n:
            return iter(())
        if not arrow_read.available() or not self.store._on_disk:
            return prefetched(_as_arrow(self.chunks(size), names))
        sql = arrow_read.products_sql(names, self._where, self._params, qi)
        starts = chunk_starts(self.n, size)
        bounds = [r[0] for r in self.store.db.execute(
            f"SELECT rid FROM (SELECT rowid AS rid, row_number() OVER (ORDER BY rowid) - 1 AS k FROM products"
            f"{self._where}) WHERE k IN (SELECT value FROM json_each(?)) ORDER BY rid",
            (*self._params, json.dumps(starts)))]
        return prefetched(_counted(arrow_read.batches(self.store.path, names, sql, bounds), self.n))

    def start(self, size: int) -> None:
        """Start reading ``arrow_chunks(size)`` now (the caller has other things to do first)."""
        self.close()
        self._started = (size, self.arrow_chunks(size))

    def close(self) -> None:
        """Stop a reading started and not taken (the export failed before writing)."""
        started, self._started = self._started, None
        if started is not None and hasattr(started[1], "close"):
            started[1].close()

    def distinct(self, column: str) -> list[str]:
        sql = f"SELECT DISTINCT {qi(column)} FROM products{self._where}"
        return [r[0] for r in self.store.db.execute(sql, self._params) if r[0]]

    def status_counts(self) -> dict[str, int]:
        sql = f"SELECT {qi(cols.STATUS)}, count(*) FROM products{self._where} GROUP BY 1 ORDER BY 2 DESC"
        return dict(self.store.db.execute(sql, self._params).fetchall())


def chunk_starts(n: int, size: int) -> list[int]:
    """Where each chunk of ``n`` rows starts: the first ones small (FIRST_CHUNK, doubling up to
    ``size``), so the writing starts as soon as a few rows are read, then ``size`` each."""
    starts, at, step = [], 0, min(FIRST_CHUNK, size)
    while at < n:
        starts.append(at)
        at += step
        step = min(2 * step, size)
    return starts


def _as_arrow(frames, names: list[str]):
    """Chunks read through the ``sqlite3`` module, as the Arrow batches ``arrow_chunks`` gives."""
    import pyarrow as pa

    from .arrow_read import schema

    want = schema(names)
    for frame in frames:
        yield pa.RecordBatch.from_arrays(
            [pa.array(frame[n].to_numpy(dtype=object), type=pa.string()).dictionary_encode() for n in names],
            schema=want)


def _counted(batches, n: int):
    """``batches``, checked to hold the ``n`` products counted in the export's transaction."""
    from ..errors import StoreError

    seen = 0
    try:
        for batch in batches:
            seen += batch.num_rows
            yield batch
    finally:
        if hasattr(batches, "close"):
            batches.close()  # stopped early: the reading processes are stopped now, not when collected
    if seen != n:
        raise StoreError(f"the store gave {seen:,} products where it counted {n:,}",
                         "re-run the export; nothing was written")
