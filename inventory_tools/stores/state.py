"""Local bookkeeping in SQLite: export snapshots, operations and their journal, Xero sync state.

The embedded store keeps it in the same file as its products; a remote store (Cin7 Core) keeps it
in a local file of its own. Schema changes go through ``MIGRATIONS`` (``PRAGMA user_version``).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import sqlite3
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .._lazy import lazy_import
from .. import columns as cols
from . import columnar
from .columnar import SnapshotColumns
from ..errors import StoreError
from .state_runs import RunBookkeeping
from .timestamps import now_iso
from .state_sync import SyncBookkeeping

np = lazy_import("numpy", globals())  # imported on first use: start-up (issue 17)
pd = lazy_import("pandas", globals())  # imported on first use: start-up (issue 17)

APPLICATION_ID = 0x494E5654  # "INVT": marks a SQLite file as ours
SNAPSHOTS_KEPT = 20  # export snapshots (import bases) kept; older exports must be re-exported
#: Page cache per connection (KiB, used only as pages are read): an import rewriting rows all over a
#: 100,000-product store then reads and writes each page once, not once per changed column.
CACHE_KIB = 65_536
OUTPUTS_KEPT = 500  # files we wrote whose SHA-256 is remembered (replaceable while unchanged)


def qi(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _product_columns_sql() -> str:
    parts = []
    for c in cols.columns():
        parts.append(f"{qi(c.name)} TEXT PRIMARY KEY NOT NULL" if c.name == cols.KEY else f"{qi(c.name)} TEXT")
    return ", ".join(parts)


def _snapshot_columns_sql() -> str:
    return ", ".join(f"{qi(c.name)} TEXT" for c in cols.columns())


def _run_script(db: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT the migration's transaction half way: run statement by statement.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _migration_1(db: sqlite3.Connection) -> None:
    _run_script(db, f"""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE products ({_product_columns_sql()}, _last_op INTEGER, _changed_at TEXT);
        CREATE INDEX products_code_fold ON products (lower({qi(cols.KEY)}));
        CREATE INDEX products_status ON products ({qi(cols.STATUS)});
        CREATE TABLE exports (
            export_id TEXT PRIMARY KEY, created_at TEXT NOT NULL, store_id TEXT NOT NULL,
            schema_version INTEGER NOT NULL, statuses TEXT, row_count INTEGER, path TEXT,
            format TEXT, snapshot INTEGER NOT NULL DEFAULT 1);
        CREATE TABLE export_rows (export_id TEXT NOT NULL, {_snapshot_columns_sql()});
        CREATE INDEX export_rows_id ON export_rows (export_id, {qi(cols.KEY)});
        CREATE TABLE operations (
            op_id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, started_at TEXT NOT NULL,
            finished_at TEXT, source TEXT, base_export_id TEXT, counts TEXT, state TEXT NOT NULL,
            undo_of INTEGER, detail TEXT);
        CREATE TABLE journal (
            op_id INTEGER NOT NULL, code TEXT NOT NULL, action TEXT NOT NULL,
            col TEXT, old TEXT, new TEXT, done INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX journal_op ON journal (op_id, code);
        CREATE TABLE xero_links (
            tenant_id TEXT NOT NULL, code TEXT NOT NULL, item_id TEXT, tracked INTEGER DEFAULT 0,
            pushed_hash TEXT, pushed_at TEXT, linked_at TEXT, PRIMARY KEY (tenant_id, code));
        CREATE TABLE sync_state (
            tenant_id TEXT PRIMARY KEY, enabled_at TEXT, cursor TEXT, updated_at TEXT, detail TEXT);
    """)


def _migration_2(db: sqlite3.Connection) -> None:
    # Export snapshots kept column by column (columnar.py: 10x faster to read, 20x smaller than
    # export_rows, which stays for older exports); last_op: the newest operation when the
    # export was taken (the journal after it says which products changed since).
    _run_script(db, """
        CREATE TABLE export_columns (
            export_id TEXT NOT NULL, part INTEGER NOT NULL, name TEXT NOT NULL,
            codes BLOB NOT NULL, uniques BLOB NOT NULL, PRIMARY KEY (export_id, name, part));
        ALTER TABLE exports ADD COLUMN last_op INTEGER
    """)


def _migration_3(db: sqlite3.Connection) -> None:
    # planned_rows: the products as the latest dry-run plan would leave them (``export
    # --changes-only``); they were kept in export_rows under the fake export id "__planned__".
    # outputs: the SHA-256 of every file we wrote (exports, results, reports), so an existing file
    # is replaced only when it is byte for byte one of ours that nobody changed since.
    _run_script(db, f"""
        CREATE TABLE planned_rows ({_snapshot_columns_sql()});
        INSERT INTO planned_rows SELECT {', '.join(qi(n) for n in cols.names())} FROM export_rows
            WHERE export_id = '{_OLD_PLANNED_ID}' ORDER BY rowid;
        DELETE FROM export_rows WHERE export_id = '{_OLD_PLANNED_ID}';
        CREATE TABLE outputs (
            sha256 TEXT NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL, export_id TEXT,
            written_at TEXT NOT NULL, PRIMARY KEY (sha256, path))
    """)


_OLD_PLANNED_ID = "__planned__"
MIGRATIONS = [_migration_1, _migration_2, _migration_3]
SCHEMA_VERSION = len(MIGRATIONS)


class StoreMissing(StoreError):
    """A command that only reads was pointed at a store that does not exist (it never creates one)."""


def missing_store(path: str | os.PathLike) -> StoreMissing:
    where = os.path.abspath(path)
    return StoreMissing(f"there is no store at {where} (nothing was imported or synced into it yet)",
                        "start one with: inventory-tools import FILE (e.g. Cin7's Inventory List CSV) or "
                        "inventory-tools sync; or point --store (or INVENTORY_TOOLS_STORE) at an existing store")


def _kind_of(mode: int) -> str:
    for test, name in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


def _existing(path: Path) -> bool:
    """Whether ``path`` holds a store already (False: free to create one). Refuses what can never be one."""
    try:
        info = path.stat()
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise StoreError(f"folder {path.parent} does not exist", "create it or choose another --store path") \
                from None
        return False
    except OSError as exc:
        raise StoreError(f"cannot open {path}: {exc.strerror or exc}", "check the path and its permissions") from None
    if stat.S_ISDIR(info.st_mode):
        raise StoreError(f"{path} is a folder, not a store file", "give a file name such as inventory.db")
    if not stat.S_ISREG(info.st_mode):
        raise StoreError(f"{path} is {_kind_of(info.st_mode)}, not a store file",
                         "pass --store with the name of a file, such as inventory.db; it was left untouched")
    if info.st_size == 0:
        return False
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}", "check the file's permissions") from None
    if head != b"SQLite format 3\x00":
        raise StoreError(f"{path} is not an inventory-tools store (not a SQLite file)",
                         "pass --store with another file name; this file was left untouched")
    return True


def connect(path: str | os.PathLike, *, purpose: str = "store", create: bool = True) -> sqlite3.Connection:
    """Open and migrate one of our SQLite files, creating it on first use (``create=False``: a
    missing or empty file raises :class:`StoreMissing` and nothing is created). Refuses anything
    that is not ours: other files, SQLite files of other programs, devices, folders."""
    path = Path(path)
    existed = _existing(path)
    if not existed and not create:
        raise missing_store(path)
    try:
        db = sqlite3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=False)
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {path}: {exc}", "check the file and its permissions") from None
    if existed and app_id != APPLICATION_ID:
        db.close()
        raise StoreError(f"{path} is a SQLite file but not an inventory-tools {purpose}",
                         "pass --store with another file name; this file was left untouched")
    _check_version(db, version, path)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        db.execute("PRAGMA foreign_keys=ON")
        if version < SCHEMA_VERSION:
            _migrate(db, version, purpose)
    except sqlite3.Error as exc:
        db.close()
        raise _store_error(exc, path) from None
    return db


def connect_empty(purpose: str = "store") -> sqlite3.Connection:
    """An empty store in memory: what a store that does not exist yet reads like (nothing on disk)."""
    db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    _migrate(db, 0, purpose)
    return db


def _check_version(db: sqlite3.Connection, version: int, path) -> None:
    if version > SCHEMA_VERSION:
        db.close()
        raise StoreError(f"{path} was written by a newer inventory-tools (store version {version}, "
                         f"this one knows {SCHEMA_VERSION})", "upgrade inventory-tools: pip install -U inventory-tools")


def _migrate(db: sqlite3.Connection, version: int, purpose: str) -> None:
    db.execute("BEGIN IMMEDIATE")
    try:
        for step in MIGRATIONS[version:]:
            step(db)
        if version == 0:
            db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [
                ("app", "inventory-tools"), ("purpose", purpose), ("store_id", secrets.token_hex(8)),
                ("created_at", now_iso())])
        db.execute(f"PRAGMA application_id={APPLICATION_ID}")
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _store_error(exc: sqlite3.Error, path) -> StoreError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreError(f"{path} is busy: another inventory-tools run (or program) is writing to it",
                          "wait for it to finish, then re-run; nothing was changed")
    if "readonly" in text or "read-only" in text:
        return StoreError(f"{path} is read-only", "check the file's permissions; nothing was changed")
    return StoreError(f"store {path}: {text}", "nothing was changed")


class LocalState(SyncBookkeeping, RunBookkeeping):
    """The local bookkeeping of a store: the only code that runs SQL on it (sync and remote-run
    parts in :mod:`.state_sync` and :mod:`.state_runs`)."""

    def __init__(self, db: sqlite3.Connection, path: str,
                 on_first_write: "Callable[[], sqlite3.Connection] | None" = None):
        """``on_first_write``: for bookkeeping not on disk yet (an empty one in memory): called before
        the first transaction, it creates the file and returns its connection."""
        self.db = db
        self.path = path
        self._on_first_write = on_first_write

    # -- basics ---------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    @property
    def store_id(self) -> str:
        return self.meta("store_id") or ""

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE): all of it or none of it."""
        self.materialize()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise _store_error(exc, self.path) from None
        try:
            yield self.db
            self.db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._rollback()
            raise _store_error(exc, self.path) from None
        except BaseException:
            self._rollback()
            raise

    def materialize(self) -> None:
        """Put bookkeeping kept in memory so far on disk (see ``on_first_write``)."""
        if self._on_first_write is not None:
            create, self._on_first_write = self._on_first_write, None
            self.db.close()
            self.db = create()

    def _rollback(self) -> None:
        try:
            self.db.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    # -- exports --------------------------------------------------------------------------
    @staticmethod
    def new_export_id() -> str:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
        return f"exp-{stamp}-{secrets.token_hex(2)}"

    def record_export(self, db: sqlite3.Connection, manifest: dict, columns: "SnapshotColumns | None" = None) -> None:
        """Keep the export's manifest and, with ``columns`` (the rows collected column by column
        while they were written), its snapshot: the base a later import diffs against.

        Call inside the export's :meth:`transaction` (the rows and ``last_op`` then agree)."""
        last_op = db.execute("SELECT coalesce(max(op_id), 0) FROM operations").fetchone()[0]
        db.execute(
            "INSERT INTO exports (export_id, created_at, store_id, schema_version, statuses, row_count, path, format,"
            " snapshot, last_op) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (manifest["export_id"], manifest["exported_at"], manifest["store_id"], manifest["schema_version"],
             json.dumps(manifest.get("statuses") or []), manifest["row_count"], manifest.get("path"),
             manifest.get("format"), 1 if columns is not None else 0, last_op))
        if columns is not None:
            columns.insert(db, manifest["export_id"])
        self._prune_snapshots(db)

    def _prune_snapshots(self, db: sqlite3.Connection) -> None:
        old = [r[0] for r in db.execute(
            "SELECT export_id FROM exports WHERE snapshot=1 ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?",
            (SNAPSHOTS_KEPT,))]
        for eid in old:
            db.execute("DELETE FROM export_rows WHERE export_id=?", (eid,))
            db.execute("DELETE FROM export_columns WHERE export_id=?", (eid,))
            db.execute("UPDATE exports SET snapshot=0 WHERE export_id=?", (eid,))

    def export_info(self, export_id: str) -> dict | None:
        row = self.db.execute(
            "SELECT export_id, created_at, store_id, schema_version, statuses, row_count, path, format, snapshot,"
            " last_op FROM exports WHERE export_id=?", (export_id,)).fetchone()
        if not row:
            return None
        keys = ["export_id", "exported_at", "store_id", "schema_version", "statuses", "row_count", "path",
                "format", "snapshot", "last_op"]
        info = dict(zip(keys, row))
        info["statuses"] = json.loads(info["statuses"] or "[]")
        return info

    def export_snapshot(self, export_id: str, columns: Iterable[str] | None = None) -> "pd.DataFrame":
        """The rows an export wrote (all columns, or just ``columns``), in the export's order."""
        names = list(columns) if columns is not None else None
        info = self.export_info(export_id)
        if info is not None and info["last_op"] is not None:  # kept column-wise (store version 2 on)
            frame = columnar.read(self.db, export_id, names or list(cols.names()), info["row_count"])
            if frame is None and info["row_count"]:
                raise StoreError(f"the snapshot of export {export_id} in {self.path} cannot be read (damaged)",
                                 "export a fresh list, copy your edits into it, and import that")
            if frame is not None:
                return frame
        # an export made before version 2: its rows
        cursor = self.db.execute(f"SELECT {select_list(names)} FROM export_rows WHERE export_id=? ORDER BY rowid",
                                 (export_id,))
        return frame_from_cursor(cursor, names)

    def touched_since(self, export_id: str) -> set[str] | None:
        """Codes of products created, changed or deleted since the export (every write to the
        products is journaled), or None for an export made before store version 2."""
        info = self.export_info(export_id)
        if info is None or info["last_op"] is None:
            return None
        return {r[0] for r in self.db.execute("SELECT DISTINCT code FROM journal WHERE op_id > ?",
                                              (info["last_op"],))}

    def last_export_id(self) -> str | None:
        row = self.db.execute("SELECT export_id FROM exports ORDER BY created_at DESC, rowid DESC LIMIT 1").fetchone()
        return row[0] if row else None

    # -- operations (imports, syncs, undos) -------------------------------------------------
    def begin_operation(self, db: sqlite3.Connection, *, kind: str, source: str | None,
                        base_export_id: str | None, counts: dict, state: str = "applied",
                        undo_of: int | None = None, detail: dict | None = None) -> int:
        cur = db.execute(
            "INSERT INTO operations (kind, started_at, source, base_export_id, counts, state, undo_of, detail)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (kind, now_iso(), source, base_export_id, json.dumps(counts), state, undo_of,
             json.dumps(detail or {})))
        return int(cur.lastrowid)

    def finish_operation(self, db: sqlite3.Connection, op_id: int, *, state: str, counts: dict | None = None,
                         detail: dict | None = None) -> None:
        sets, params = ["state=?", "finished_at=?"], [state, now_iso()]
        if counts is not None:
            sets.append("counts=?")
            params.append(json.dumps(counts))
        if detail is not None:
            sets.append("detail=?")
            params.append(json.dumps(detail))
        db.execute(f"UPDATE operations SET {', '.join(sets)} WHERE op_id=?", (*params, op_id))
        if state == "undone":  # undoing an undo puts back what the undone operation had done
            row = db.execute("SELECT kind, undo_of FROM operations WHERE op_id=?", (op_id,)).fetchone()
            if row and row[0] == "undo" and row[1] is not None:
                db.execute("UPDATE operations SET state='applied' WHERE op_id=? AND state='undone'", (row[1],))

    def last_op_id(self) -> int:
        """The newest operation's id (0: none yet)."""
        return int(self.db.execute("SELECT coalesce(max(op_id), 0) FROM operations").fetchone()[0])

    def operations(self, limit: int | None = None) -> list[dict]:
        sql = ("SELECT op_id, kind, started_at, finished_at, source, base_export_id, counts, state, undo_of, detail"
               " FROM operations ORDER BY op_id DESC")
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [self._op_dict(r) for r in self.db.execute(sql)]

    def operation(self, op_id: int) -> dict | None:
        row = self.db.execute(
            "SELECT op_id, kind, started_at, finished_at, source, base_export_id, counts, state, undo_of, detail"
            " FROM operations WHERE op_id=?", (op_id,)).fetchone()
        return self._op_dict(row) if row else None

    @staticmethod
    def _op_dict(r) -> dict:
        keys = ["op_id", "kind", "started_at", "finished_at", "source", "base_export_id", "counts", "state",
                "undo_of", "detail"]
        d = dict(zip(keys, r))
        d["counts"] = json.loads(d["counts"] or "{}")
        d["detail"] = json.loads(d["detail"] or "{}")
        return d

    def journal_add(self, db: sqlite3.Connection, op_id: int, entries: Iterable[tuple], done: int = 1) -> None:
        """entries: (code, action, col, old, new); action is create | update | delete."""
        db.executemany("INSERT INTO journal (op_id, code, action, col, old, new, done) VALUES (?,?,?,?,?,?,?)",
                       ((op_id, *e, done) for e in entries))

    def journal(self, op_id: int) -> list[tuple]:
        return self.db.execute("SELECT code, action, col, old, new, done FROM journal WHERE op_id=? ORDER BY rowid",
                               (op_id,)).fetchall()

    # -- the latest dry-run plan (export --changes-only) ----------------------------------------
    def save_planned(self, rows: "pd.DataFrame | None", source: str | None = None) -> None:
        """Keep the products as the latest dry-run plan would leave them (None: forget them),
        with the file it came from and the newest operation it was planned against."""
        with self.transaction() as db:
            db.execute("DELETE FROM planned_rows")
            db.execute("DELETE FROM meta WHERE key IN ('planned_source', 'planned_as_of')")
            if rows is None:
                return
            db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                           [("planned_source", source or ""), ("planned_as_of", str(self.last_op_id()))])
            names = ", ".join(qi(n) for n in cols.names())
            marks = ", ".join("?" * len(cols.names()))
            db.executemany(f"INSERT INTO planned_rows ({names}) VALUES ({marks})",
                           rows[list(cols.names())].itertuples(index=False, name=None))

    def planned(self) -> "tuple[pd.DataFrame, str | None, int | None]":
        """(planned products, the file planned, the newest operation then) — (empty, None, None): no plan."""
        frame = frame_from_cursor(self.db.execute(f"SELECT {select_list()} FROM planned_rows ORDER BY rowid"))
        as_of = self.meta("planned_as_of")
        return frame, self.meta("planned_source"), (int(as_of) if as_of is not None else None)

    # -- files we wrote (exports, results, reports) --------------------------------------------
    def record_output(self, sha256: str, path: str, kind: str, export_id: str | None = None,
                      db: sqlite3.Connection | None = None) -> None:
        """Remember that we wrote ``path`` with these bytes (inside ``db``'s transaction, or a new one)."""
        if db is None:
            with self.transaction() as own:
                return self.record_output(sha256, path, kind, export_id, own)
        db.execute("INSERT OR REPLACE INTO outputs (sha256, path, kind, export_id, written_at) VALUES (?,?,?,?,?)",
                   (sha256, path, kind, export_id, now_iso()))
        db.execute("DELETE FROM outputs WHERE rowid NOT IN (SELECT rowid FROM outputs ORDER BY written_at DESC,"
                   " rowid DESC LIMIT ?)", (OUTPUTS_KEPT,))

    def wrote_output(self, sha256: str) -> dict | None:
        """What we know of a file with these bytes that we wrote (None: not one of ours)."""
        row = self.db.execute("SELECT path, kind, export_id, written_at FROM outputs WHERE sha256=?"
                              " ORDER BY written_at DESC LIMIT 1", (sha256,)).fetchone()
        return dict(zip(("path", "kind", "export_id", "written_at"), row)) if row else None

    def close(self) -> None:
        self.db.close()


def frame_from_rows(rows: list) -> "pd.DataFrame":
    """Rows of the column table (SQL NULL = blank) → canonical product frame (object dtype)."""
    from ..changes import empty_products

    names = list(cols.names())
    if not rows:
        return empty_products()
    grid = np.array(rows, dtype=object)
    if not isinstance(rows[0][0], str) or None in rows[0]:  # not selected with select_list()
        grid[pd.isna(grid)] = ""
    return pd.DataFrame(grid, columns=names, dtype=object)


FETCH_ROWS = 20_000


def frame_from_cursor(cursor: sqlite3.Cursor, names: list[str] | None = None) -> "pd.DataFrame":
    """All rows of ``cursor`` (selected with :func:`select_list`) as a canonical frame in which
    equal values of a column share one string object.

    SQLite hands back a new string per cell; read in chunks and factorised per column, a
    catalogue's repeated values ("0", "Each", a category) cost one object each, which halves
    the memory of a large frame (a million products: GBs) for a little more time.
    """
    from ..factorised import merge

    names = list(names or cols.names())
    parts: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in names]
    while True:
        rows = cursor.fetchmany(FETCH_ROWS)
        if not rows:
            break
        grid = np.array(rows, dtype=object)
        del rows
        for i, part in enumerate(parts):
            codes, uniq = pd.factorize(grid[:, i], use_na_sentinel=False)
            part.append((codes, np.asarray(uniq, dtype=object)))
        del grid
    if not parts or not parts[0]:
        return pd.DataFrame({n: pd.Series(dtype=object) for n in names})
    data = {}
    for name, part in zip(names, parts):
        codes, uniques = merge(part)  # NULLs were read as "": no code is -1
        data[name] = uniques[codes]
        part.clear()
    return pd.DataFrame(data, dtype=object)


def select_list(names: Iterable[str] | None = None) -> str:
    """Every product column (or ``names``), NULL read as "" by SQLite itself (cheaper than fixing it
    in pandas)."""
    return ", ".join(f"coalesce({qi(n)}, '')" for n in (names or cols.names()))

