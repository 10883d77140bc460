"""Work done on the other core while this process goes on: one small door for it.

``task = beside(work)`` starts ``work()`` in a forked copy of this process (so a CPU-bound job,
such as writing a workbook, runs in parallel with the caller's own work, GIL or not) and
``task.result()`` waits for it: its return value, or its exception raised here. ``task.cancel()``
stops it and reaps it. Where ``fork`` does not exist (Windows) the work runs when ``result()`` is
called, in this process: the same outcome, sequentially.

Rules the work must keep: it runs in a copy, so it changes nothing the caller sees except files,
and it must not use connections or locks shared with the caller (a SQLite connection, a thread).
Its value and exception travel back pickled. ``on_orphan`` runs in the copy when the caller died
while it worked (kill -9): the work's files can be removed rather than left behind.
"""
from __future__ import annotations

import gc
import os
import pickle
import signal
from typing import Any, Callable


class Task:
    def result(self) -> Any:
        raise NotImplementedError

    def cancel(self) -> None:
        raise NotImplementedError


class _Sequential(Task):
    def __init__(self, work: Callable[[], Any]):
        self._work = work

    def result(self) -> Any:
        work, self._work = self._work, None
        return work() if work is not None else None

    def cancel(self) -> None:
        self._work = None


class _Forked(Task):
    def __init__(self, work: Callable[[], Any], on_orphan: Callable[[], None] | None):
        read_end, write_end = os.pipe()
        parent = os.getpid()
        # Objects alive now move to the collector's permanent generation until the copy is done:
        # neither process's garbage collection then writes to them, so their memory stays shared,
        # not copied page by page (copy-on-write) while both work.
        gc.freeze()
        try:
            pid = os.fork()
        except BaseException:
            gc.unfreeze()
            os.close(read_end)
            os.close(write_end)
            raise
        if pid == 0:  # the copy: never returns
            gc.disable()  # short-lived: it frees nothing worth a collection's page copies
            os.close(read_end)
            _run_in_copy(work, write_end, parent, on_orphan)
        os.close(write_end)
        self.pid, self._pipe = pid, read_end

    def result(self) -> Any:
        with os.fdopen(self._pipe, "rb") as pipe:
            data = pipe.read()
        self._reap()
        if not data:
            raise RuntimeError("the background work ended without an answer (killed?)")
        ok, value = pickle.loads(data)
        if ok:
            return value
        raise value

    def cancel(self) -> None:
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._reap()
        try:
            os.close(self._pipe)
        except OSError:
            pass

    def _reap(self) -> None:
        if self.pid is not None:
            os.waitpid(self.pid, 0)
            self.pid = None
            gc.unfreeze()


def _run_in_copy(work, write_end: int, parent: int, on_orphan) -> None:
    """In the forked copy: run, send (ok, value) back pickled, leave without the parent's cleanup."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle (it cancels us)
    code = 0
    try:
        try:
            answer = (True, work())
        except BaseException as exc:  # noqa: BLE001 - sent back to the caller
            answer = (False, exc)
        if os.getppid() != parent and on_orphan is not None:  # the caller is gone: leave nothing behind
            on_orphan()
        try:
            data = pickle.dumps(answer)
        except Exception as exc:  # noqa: BLE001 - an unpicklable value or exception
            data = pickle.dumps((False, RuntimeError(f"background work: {answer[1]!r} ({exc})")))
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(data)
    except BaseException:  # noqa: BLE001 - nothing may escape into the parent's code
        code = 1
    finally:
        os._exit(code)


def can_fork() -> bool:
    return hasattr(os, "fork")


def beside(work: Callable[[], Any], *, on_orphan: Callable[[], None] | None = None,
           parallel: bool = True) -> Task:
    """Start ``work()`` on another core (``parallel=False``, or no ``fork``: run it at ``result()``)."""
    if parallel and can_fork():
        return _Forked(work, on_orphan)
    return _Sequential(work)
