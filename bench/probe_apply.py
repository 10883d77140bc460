"""Prototype for issue 17: what applying the bench's changed cells costs, written different ways.

    python bench/probe_apply.py STORE.db APPLIED.db [--runs 2]

STORE.db is the bench store before the import, APPLIED.db the same store after ours' import (e.g.
``bench/out/rows-100000/store.db`` and ``apply.db``): the changed cells are the cells that differ.
Each way runs on a fresh copy of STORE.db, timing the write transaction only (commit included):

- ``ours``: ``SqliteStore.apply`` (checks the old values, per-cell UPDATE with _last_op and
  _changed_at, journal rows) — what ``import`` does today;
- ``sqlite3_bare``: sqlite3 ``executemany`` per column, the cell only (no bookkeeping, no journal);
- ``sqlite3_bookkept``: the same plus _last_op/_changed_at and the journal, without the old-value check;
- ``adbc_arrow``: ADBC ``executemany`` per column, parameters bound from Arrow (the peer's way);
- ``adbc_bookkept``: the same with _last_op/_changed_at and the journal rows (also from Arrow);
- ``set_based``: the changes loaded into a temporary table, then one ``UPDATE ... FROM`` per column
  (with _last_op/_changed_at) and one ``INSERT ... SELECT`` into the journal;
- ``row_grouped``: one UPDATE per product for all its changed cells, with bookkeeping and journal.
"""
from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.run import store_diff  # noqa: E402
KEY = "ProductCode"
STAMP = "2026-11-30T00:00:00Z"


def changed_cells(before: str, after: str) -> list[tuple[str, str, str | None, str | None]]:
    """(column, code, old, new) for every cell that differs (NULL = blank)."""
    db = sqlite3.connect(before)
    db.execute("ATTACH ? AS a", (after,))
    names = [r[1] for r in db.execute("PRAGMA table_info(products)") if not r[1].startswith("_") and r[1] != KEY]
    out = []
    for n in names:
        out += [(n, *r) for r in db.execute(
            f'SELECT b."{KEY}", b."{n}", a."{n}" FROM main.products b JOIN a.products a USING ("{KEY}") '
            f'WHERE b."{n}" IS NOT a."{n}"')]
    db.close()
    return out


def by_column(cells):
    cols: dict[str, list] = {}
    for column, code, old, new in cells:
        cols.setdefault(column, []).append((code, old, new))
    return cols


def ours(path: str, cells) -> float:
    from inventory_tools.stores import open_store
    from inventory_tools.stores.base import CellChange, ChangeSet

    import pandas as pd

    store = open_store(path)
    updates = [CellChange(code, column, old or "", new or "") for column, code, old, new in cells]
    t = time.perf_counter()
    store.apply(ChangeSet(creates=pd.DataFrame(), updates=updates), kind="import", source="probe",
                base_export_id=None, counts={})
    store.close()
    return time.perf_counter() - t


def sqlite3_bare(path: str, cells, bookkept: bool = False) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    t = time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    for column, rows in by_column(cells).items():
        if bookkept:
            db.executemany(f'UPDATE products SET "{column}"=?, _last_op=?, _changed_at=? WHERE "{KEY}"=?',
                           ((new, 1, STAMP, code) for code, _, new in rows))
        else:
            db.executemany(f'UPDATE products SET "{column}"=? WHERE "{KEY}"=?', ((new, code) for code, _, new in rows))
    if bookkept:
        db.executemany("INSERT INTO journal (op_id, code, action, col, old, new, done) VALUES (?,?,?,?,?,?,?)",
                       ((1, code, "update", column, old, new, 1) for column, code, old, new in cells))
    db.execute("COMMIT")
    db.close()
    return time.perf_counter() - t


def sqlite3_bookkept(path: str, cells) -> float:
    return sqlite3_bare(path, cells, bookkept=True)


def adbc_arrow(path: str, cells, bookkept: bool = False) -> float:
    import adbc_driver_sqlite.dbapi as adbc
    import pyarrow as pa

    def params(rows):
        n = len(rows)
        extra = {"op": pa.array([1] * n, pa.int64()), "at": pa.array([STAMP] * n)} if bookkept else {}
        return pa.table({"new": [r[2] for r in rows], **extra, "code": [r[0] for r in rows]})

    batches = {c: params(rows) for c, rows in by_column(cells).items()}
    journal = pa.table({"op": pa.array([1] * len(cells), pa.int64()), "code": [c[1] for c in cells],
                        "action": ["update"] * len(cells), "col": [c[0] for c in cells],
                        "old": [c[2] for c in cells], "new": [c[3] for c in cells],
                        "done": pa.array([1] * len(cells), pa.int64())})
    sets = ", _last_op = ?, _changed_at = ?" if bookkept else ""
    t = time.perf_counter()
    with adbc.connect(path) as con:
        with con.cursor() as cur:
            for column, table in batches.items():
                cur.executemany(f'UPDATE products SET "{column}" = ?{sets} WHERE "{KEY}" = ?', table)
            if bookkept:
                cur.executemany("INSERT INTO journal (op_id, code, action, col, old, new, done) "
                                "VALUES (?,?,?,?,?,?,?)", journal)
        con.commit()
    return time.perf_counter() - t


def adbc_bookkept(path: str, cells) -> float:
    return adbc_arrow(path, cells, bookkept=True)


def row_grouped(path: str, cells) -> float:
    """One UPDATE per product for all its changed cells (SQLite rewrites the whole row on every
    UPDATE: fewer statements, fewer rewrites), with _last_op/_changed_at and the journal."""
    rows: dict[str, dict[str, str | None]] = {}
    for column, code, _, new in cells:
        rows.setdefault(code, {})[column] = new
    shapes: dict[tuple, list] = {}
    for code, changes in rows.items():
        shapes.setdefault(tuple(changes), []).append((*changes.values(), 1, STAMP, code))
    db = sqlite3.connect(path, isolation_level=None)
    t = time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    for columns, params in shapes.items():
        sets = ", ".join(f'"{c}"=?' for c in columns)
        db.executemany(f'UPDATE products SET {sets}, _last_op=?, _changed_at=? WHERE "{KEY}"=?', params)
    db.executemany("INSERT INTO journal (op_id, code, action, col, old, new, done) VALUES (?,?,?,?,?,?,?)",
                   ((1, code, "update", column, old, new, 1) for column, code, old, new in cells))
    db.execute("COMMIT")
    db.close()
    return time.perf_counter() - t


def set_based(path: str, cells) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    t = time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    db.execute("CREATE TEMP TABLE ch (col TEXT, code TEXT, old TEXT, new TEXT)")
    db.executemany("INSERT INTO ch VALUES (?,?,?,?)", cells)
    db.execute("CREATE INDEX temp.ch_col ON ch (col, code)")
    for column in by_column(cells):
        db.execute(f'UPDATE products SET "{column}" = ch.new, _last_op = 1, _changed_at = ? FROM ch '
                   f'WHERE ch.col = ? AND ch.code = products."{KEY}"', (STAMP, column))
    db.execute("INSERT INTO journal (op_id, code, action, col, old, new, done) "
               "SELECT 1, code, 'update', col, old, new, 1 FROM ch")
    db.execute("COMMIT")
    db.close()
    return time.perf_counter() - t


WAYS = (ours, sqlite3_bare, sqlite3_bookkept, adbc_arrow, adbc_bookkept, set_based, row_grouped)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("store")
    ap.add_argument("applied")
    ap.add_argument("--runs", type=int, default=2)
    a = ap.parse_args()
    cells = changed_cells(a.store, a.applied)
    print(f"{len(cells):,} changed cells in {len(by_column(cells))} columns")
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(a.runs):
            for way in WAYS:
                copy = str(Path(tmp) / "s.db")
                for p in Path(tmp).glob("s.db*"):
                    p.unlink()
                shutil.copy(a.store, copy)
                seconds = way(copy, cells)
                differ = store_diff(Path(copy), Path(a.applied))  # the products must end up as ours left them
                print(f"  {way.__name__:<18} {seconds:6.2f} s  {'same products' if not differ else f'{differ} DIFFER'}",
                      flush=True)


if __name__ == "__main__":
    main()
