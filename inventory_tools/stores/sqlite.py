"""The embedded store: products in a SQLite file, every value kept exactly as text."""
from __future__ import annotations

import json
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

    def read_products(self, statuses: Iterable[str] | None = None) -> pd.DataFrame:
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

    def read_by_codes(self, codes: Iterable[str]) -> pd.DataFrame:
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

    def read_by_codes_since(self, codes: Iterable[str], export_id: str, snapshot: pd.DataFrame) -> pd.DataFrame:
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
        wanted = pd.Index(codes)
        kept = snapshot[snapshot[cols.KEY].isin(wanted) & ~snapshot[cols.KEY].isin(moved)]
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
            self._check_expected(db, changes)
            created = self._insert(db, changes.creates, op_id)
            updated = self._update(db, changes, op_id)
            deleted = self._delete(db, changes.deletes, op_id)
            self.state.finish_operation(db, op_id, state="applied")
            if undo_of is not None:  # (undoing an undo also puts its own target back to applied)
                self.state.finish_operation(db, undo_of, state="undone")
        return ApplyOutcome(op_id=op_id, created=created, updated=updated, deleted=deleted)

    def _check_expected(self, db: sqlite3.Connection, changes: ChangeSet) -> None:
        """Refuse if the store moved since the plan was made (another run wrote in between)."""
        from ..errors import StoreError

        if not changes.creates.empty:
            clash = self._same_products(db, list(changes.creates[cols.KEY]))
            if clash:
                new, existing = clash[0]
                raise StoreError(f"{len(clash)} product(s) to create already exist now, e.g. {new}"
                                 + (f" (as {existing})" if existing != new else ""),
                                 "the store changed while this ran; re-run the command to plan again")
        by_col: dict[str, list] = {}
        for ch in changes.updates:
            by_col.setdefault(ch.column, []).append(ch)
        for column, items in by_col.items():
            expected = {c.code: c.old for c in items}
            codes = list(expected)
            for i in range(0, len(codes), _CHUNK):
                part = codes[i:i + _CHUNK]
                found = dict(db.execute(
                    f"SELECT {qi(cols.KEY)}, coalesce({qi(column)}, '') FROM products"
                    f" WHERE {qi(cols.KEY)} IN ({', '.join('?' * len(part))})", part).fetchall())
                for code in part:
                    if found.get(code) != expected[code]:
                        raise StoreError(f"{code} · {column} changed in the store while this ran",
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

    def _insert(self, db, creates: pd.DataFrame, op_id: int) -> list[str]:
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

    def _update(self, db, changes: ChangeSet, op_id: int) -> list[str]:
        if not changes.updates:
            return []
        stamp = now_iso()
        by_col: dict[str, list] = {}
        for ch in changes.updates:
            by_col.setdefault(ch.column, []).append(ch)
        for column, items in by_col.items():
            db.executemany(
                f"UPDATE products SET {qi(column)}=?, _last_op=?, _changed_at=? WHERE {qi(cols.KEY)}=?",
                ((c.new if c.new != "" else None, op_id, stamp, c.code) for c in items))
        self.state.journal_add(db, op_id, ((c.code, "update", c.column, c.old, c.new) for c in changes.updates))
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

    def distinct(self, column: str) -> list[str]:
        sql = f"SELECT DISTINCT {qi(column)} FROM products{self._where}"
        return [r[0] for r in self.store.db.execute(sql, self._params) if r[0]]

    def status_counts(self) -> dict[str, int]:
        sql = f"SELECT {qi(cols.STATUS)}, count(*) FROM products{self._where} GROUP BY 1 ORDER BY 2 DESC"
        return dict(self.store.db.execute(sql, self._params).fetchall())
