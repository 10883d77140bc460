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
    filters' statuses, names, globs and date)."""
    sel = ", ".join(f"coalesce({quote(n)}, '') AS {quote(n)}" for n in names)
    parts = where.split("?")
    if len(parts) != len(params) + 1:
        raise ValueError("parameters do not match the query")
    literal = [f"'{str(p).replace(chr(39), chr(39) * 2)}'" for p in params]
    where = parts[0] + "".join(lit + rest for lit, rest in zip(literal, parts[1:]))
    return f"SELECT {sel} FROM products{where} ORDER BY rowid"


def schema(names: Sequence[str]) -> pa.Schema:
    return pa.schema([(n, pa.dictionary(pa.int32(), pa.string())) for n in names])


def available() -> bool:
    try:
        import adbc_driver_manager  # noqa: F401
        import adbc_driver_sqlite  # noqa: F401
    except ImportError:
        return False
    return True


def batches(path: str, names: Sequence[str], sql: str, rows: int) -> Iterator[pa.RecordBatch]:
    """The query's rows, ``rows`` at a time, every column dictionary-encoded."""
    if not hasattr(os, "fork"):
        yield from _read(path, names, sql, rows)
        return
    yield from _forked(path, names, sql, rows)


def _read(path: str, names: Sequence[str], sql: str, rows: int) -> Iterator[pa.RecordBatch]:
    import adbc_driver_manager as adbc
    import adbc_driver_sqlite

    want = schema(names)
    database = adbc_driver_sqlite.connect(path)
    try:
        connection = adbc.AdbcConnection(database)
        try:
            statement = adbc.AdbcStatement(connection)
            try:
                statement.set_options(**{"adbc.sqlite.query.batch_rows": str(rows)})
                statement.set_sql_query(sql)
                handle, _ = statement.execute_query()
                for batch in pa.RecordBatchReader._import_from_c(handle.address):
                    columns = [(c if c.type == pa.string() else c.cast(pa.string())).dictionary_encode()
                               for c in batch.columns]
                    yield pa.RecordBatch.from_arrays(columns, schema=want)
            finally:
                statement.close()
        finally:
            connection.close()
    finally:
        database.close()


def _forked(path: str, names: Sequence[str], sql: str, rows: int) -> Iterator[pa.RecordBatch]:
    data_r, data_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the copy: never returns
        os.close(data_r)
        os.close(err_r)
        _child(path, names, sql, rows, data_w, err_w)
    os.close(data_w)
    os.close(err_w)
    finished = False
    try:
        with os.fdopen(data_r, "rb") as source:
            try:
                reader = pa.ipc.open_stream(source)
            except (pa.ArrowInvalid, OSError):
                reader = ()  # nothing came: the copy says why below
            yield from reader
        finished = True
    except (pa.ArrowInvalid, OSError):
        finished = True  # cut short: the copy says why below
    finally:
        if not finished:  # the caller stopped early (an error in writing): stop the copy too
            _kill(pid)
        _, status = os.waitpid(pid, 0)
        with os.fdopen(err_r, "rb") as err:
            message = err.read().decode(errors="replace").strip()
    if os.waitstatus_to_exitcode(status) != 0:
        raise StoreError(f"{_CHILD_FAILED}: {message or 'the reading process ended early'}",
                         "check the store file and the disk; nothing was written")


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _child(path: str, names: Sequence[str], sql: str, rows: int, data_w: int, err_w: int) -> None:
    """In the forked copy: stream the batches, say what failed, leave without any cleanup of the
    parent's objects (its SQLite connections are the parent's: never touched here)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle (it kills us)
    code = 0
    try:
        with os.fdopen(data_w, "wb") as out, pa.ipc.new_stream(out, schema(names)) as writer:
            for batch in _read(path, names, sql, rows):
                writer.write_batch(batch)
    except BrokenPipeError:
        code = 1  # the parent stopped reading: it knows why
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        code = 1
        try:
            os.write(err_w, f"{type(exc).__name__}: {exc}".encode()[:4000])
        except OSError:
            pass
    finally:
        os._exit(code)
