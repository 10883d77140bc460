"""The products read straight into Arrow (ADBC's SQLite driver), each column dictionary-encoded:
no Python object per cell, and the reading on the other core.

ADBC links its own copy of SQLite. Two copies of SQLite in one process must never open the same
database file: POSIX locks belong to the process, so one copy closing its file (or ending a
read) silently drops the locks the other copy holds (SQLite's "How To Corrupt" 2.2.1) — here,
the export's own write transaction. So ADBC runs in a forked copy of this process, which has
locks of its own, and streams the batches back over a pipe (Arrow IPC). Where ``fork`` does not
exist (Windows: locks belong to the file handle, so the hazard does not either) it runs here;
without the driver, the rows come through the ``sqlite3`` module.

The caller holds the store's write lock (the export's transaction) while reading: no other
process can commit in between, so the rows are the ones its transaction sees.
"""
from __future__ import annotations

import os
import signal
from typing import Iterator, Sequence

import pyarrow as pa

from ..errors import StoreError

_CHILD_FAILED = "the store could not be read"


def products_sql(names: Sequence[str], where: str, params: Sequence[str], quote) -> str:
    """The query, its parameters written in as SQL string literals (they are short texts: the
    filters' statuses, names, globs and date); ``{range}`` stands for a chunk's rowid range."""
    sel = ", ".join(f"coalesce({quote(n)}, '') AS {quote(n)}" for n in names)
    parts = where.split("?")
    if len(parts) != len(params) + 1:
        raise ValueError("parameters do not match the query")
    literal = [f"'{str(p).replace(chr(39), chr(39) * 2)}'" for p in params]
    where = parts[0] + "".join(lit + rest for lit, rest in zip(literal, parts[1:]))
    where = f"{where} AND {{range}}" if where else " WHERE {range}"
    return f"SELECT {sel} FROM products{where} ORDER BY rowid"


def range_sql(sql: str, first: int, end: int | None) -> str:
    """``sql`` for the products whose rowid is from ``first`` up to ``end`` (None: the last)."""
    return sql.replace("{range}", f"rowid >= {int(first)}" + (f" AND rowid < {int(end)}" if end is not None else ""))


def schema(names: Sequence[str]) -> pa.Schema:
    return pa.schema([(n, pa.dictionary(pa.int32(), pa.string())) for n in names])


def available() -> bool:
    try:
        import adbc_driver_manager  # noqa: F401
        import adbc_driver_sqlite  # noqa: F401
    except ImportError:
        return False
    return True


#: Processes reading at once, each every n-th chunk (SQLite steps through rows on one core each).
READERS = 2


def batches(path: str, names: Sequence[str], sql: str, bounds: Sequence[int]) -> Iterator[pa.RecordBatch]:
    """One batch per chunk, every column dictionary-encoded: chunk ``i`` holds the rows whose
    rowid is from ``bounds[i]`` up to ``bounds[i + 1]`` (the last: to the end).

    The reading processes are forked now, on the caller's thread (never from another thread:
    a fork copies only the thread that makes it), and read while the batches are awaited."""
    ranges = [(first, bounds[i + 1] if i + 1 < len(bounds) else None) for i, first in enumerate(bounds)]
    if not hasattr(os, "fork"):
        return _read(path, names, sql, ranges)
    children = []
    try:
        for i in range(min(READERS, len(ranges))):
            children.append(_Child(path, names, sql, ranges[i::READERS]))
    except BaseException:
        for child in children:
            child.close(kill=True)
        raise
    return _gathered(children, len(ranges))


def _gathered(children: list, count: int) -> Iterator[pa.RecordBatch]:
    """``count`` batches, taken from the children in turn; the children stopped if not all are taken."""
    done = False
    try:
        for i in range(count):
            yield children[i % len(children)].next()
        done = True
    finally:
        for child in children:
            child.close(kill=not done)
    for child in children:
        child.check()


def _read(path: str, names: Sequence[str], sql: str, ranges) -> Iterator[pa.RecordBatch]:
    import adbc_driver_manager as adbc
    import adbc_driver_sqlite

    want = schema(names)
    database = adbc_driver_sqlite.connect(path)
    try:
        connection = adbc.AdbcConnection(database)
        try:
            for first, end in ranges:
                yield _chunk(connection, range_sql(sql, first, end), want)
        finally:
            connection.close()
    finally:
        database.close()


def _chunk(connection, sql: str, want: pa.Schema) -> pa.RecordBatch:
    import adbc_driver_manager as adbc

    statement = adbc.AdbcStatement(connection)
    try:
        statement.set_options(**{"adbc.sqlite.query.batch_rows": str(1 << 20)})
        statement.set_sql_query(sql)
        handle, _ = statement.execute_query()
        got = pa.RecordBatchReader._import_from_c(handle.address).read_all()
    finally:
        statement.close()
    columns = [(c if c.type == pa.string() else c.cast(pa.string())).combine_chunks().dictionary_encode()
               for c in got.columns]
    if not got.num_columns or not got.num_rows:
        columns = [pa.array([], type=pa.string()).dictionary_encode() for _ in want.names]
    return pa.RecordBatch.from_arrays(columns, schema=want)


class _Child:
    """A forked copy reading some chunks, streaming them back as Arrow IPC over a pipe."""

    def __init__(self, path: str, names: Sequence[str], sql: str, ranges):
        data_r, data_w = os.pipe()
        err_r, err_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the copy: never returns
            os.close(data_r)
            os.close(err_r)
            _child(path, names, sql, ranges, data_w, err_w)
        os.close(data_w)
        os.close(err_w)
        self.pid, self.err = pid, err_r
        self.source = os.fdopen(data_r, "rb")
        self.reader = None
        self.status: int | None = None
        self.message = ""

    def next(self) -> pa.RecordBatch:
        try:
            if self.reader is None:
                self.reader = pa.ipc.open_stream(self.source)
            return self.reader.read_next_batch()
        except (pa.ArrowInvalid, OSError, StopIteration):
            self.close(kill=False)  # cut short: the copy says why
            self.check()
            raise StoreError(f"{_CHILD_FAILED}: the reading process ended early",
                             "check the store file and the disk; nothing was written") from None

    def close(self, *, kill: bool) -> None:
        if self.status is not None:
            return
        if kill:  # the caller stopped early (an error in writing): stop the copy too
            _kill(self.pid)
        else:  # every batch taken: wait for the stream's end, which the copy writes as it leaves
            try:  # (closing first would break the pipe under that last write: a failure for nothing)
                self.source.read()
            except OSError:
                pass
        self.source.close()
        _, status = os.waitpid(self.pid, 0)
        self.status = os.waitstatus_to_exitcode(status)
        with os.fdopen(self.err, "rb") as err:
            self.message = err.read().decode(errors="replace").strip()

    def check(self) -> None:
        if self.status:
            how = f"killed by signal {-self.status}" if self.status < 0 else f"exit status {self.status}"
            raise StoreError(f"{_CHILD_FAILED}: {self.message or f'the reading process ended early ({how})'}",
                             "check the store file and the disk; nothing was written")


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _child(path: str, names: Sequence[str], sql: str, ranges, data_w: int, err_w: int) -> None:
    """In the forked copy: stream the chunks, say what failed, leave without any cleanup of the
    parent's objects (its SQLite connections are the parent's: never touched here)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle (it kills us)
    code, written = 0, False
    try:
        with os.fdopen(data_w, "wb") as out, pa.ipc.new_stream(out, schema(names)) as writer:
            for batch in _read(path, names, sql, ranges):
                writer.write_batch(batch)
            written = True
    except BrokenPipeError:
        # the parent stopped reading: before every batch was written it knows why (it stopped
        # early); after, only the stream's end was lost, and the parent counts the batches itself
        code = 0 if written else 1
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        code = 1
        try:
            os.write(err_w, f"{type(exc).__name__}: {exc}".encode()[:4000])
        except OSError:
            pass
    finally:
        os._exit(code)
