"""Run a producer one step ahead of its consumer, on a second thread."""
from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
_DONE = object()


def prefetched(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """``items``, produced on a worker thread up to ``depth`` ahead of the caller.

    Worth it when producing releases the GIL for much of its time (SQLite stepping through rows,
    zlib): reading chunk N+1 then overlaps rendering chunk N. Errors reach the caller in order;
    a caller that stops early stops the producer too.
    """
    box: "queue.Queue" = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                box.put((item, None))
            box.put((_DONE, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            box.put((_DONE, exc))

    worker = threading.Thread(target=produce, name="prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, error = box.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue, then let it end
            try:
                box.get(timeout=0.05)
            except queue.Empty:
                pass
        worker.join()
