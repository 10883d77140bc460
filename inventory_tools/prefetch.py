"""Run a producer ahead of its consumer, on a second thread."""
from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
_DONE = object()


class Prefetched(Iterator[T]):
    """``items``, produced on a worker thread up to ``depth`` ahead of the caller, from the
    moment this is made (so the producing starts before the first item is asked for).

    Worth it when producing releases the GIL for much of its time (SQLite stepping through rows,
    a pipe from another process, zlib). Errors reach the caller in order; a caller that stops
    early (or ``close()``, or drops this object) stops the producer too, and closes ``items``.
    """

    def __init__(self, items: Iterable[T], depth: int = 2):
        self._box: "queue.Queue" = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._closed = False
        # the worker holds the queue and the flag, never this object: dropping it stops the worker
        self._worker = threading.Thread(target=_produce, args=(items, self._box, self._stop), name="prefetch",
                                        daemon=True)
        self._worker.start()

    def __iter__(self) -> "Prefetched[T]":
        return self

    def __next__(self) -> T:
        if self._closed:
            raise StopIteration
        item, error = self._box.get()
        if item is _DONE:
            self.close()
            if error is not None:
                raise error
            raise StopIteration
        return item

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        while self._worker.is_alive():  # unblock a producer waiting on a full queue, then let it end
            try:
                self._box.get(timeout=0.05)
            except queue.Empty:
                pass
        self._worker.join()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - at interpreter exit, threading may be gone
            pass


def prefetched(items: Iterable[T], depth: int = 2) -> Prefetched[T]:
    """``items`` produced on a worker thread up to ``depth`` ahead (see :class:`Prefetched`)."""
    return Prefetched(items, depth)


def _produce(items: Iterable, box: "queue.Queue", stop: threading.Event) -> None:
    try:
        for item in items:
            if stop.is_set():
                break
            box.put((item, None))
        else:
            box.put((_DONE, None))
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer
        box.put((_DONE, exc))
    finally:
        close = getattr(items, "close", None)
        if close is not None and stop.is_set():
            close()  # stopped early: the producer's own cleanup runs now (a reading process ends)
