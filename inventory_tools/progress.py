"""Progress bars on a terminal only; silent when piped (so logs and --json stay clean)."""
from __future__ import annotations

import contextlib
import sys
import time
from typing import Callable, Iterator

import click

#: Work expected to take less than this shows no bar.
MIN_SECONDS = 2.0


def stderr_is_terminal() -> bool:
    """Whether stderr is a terminal (not when redirected, piped, or closed: ``2>&-``)."""
    return sys.stderr is not None and sys.stderr.isatty()


@contextlib.contextmanager
def progress_bar(total: int, label: str, *, enabled: bool | None = None) -> Iterator[Callable[[int], None] | None]:
    """Yield ``advance(n)`` or None. The bar appears only after MIN_SECONDS, with count and ETA."""
    if enabled is None:
        enabled = stderr_is_terminal()
    if not enabled or total <= 0:
        yield None
        return
    start = time.monotonic()
    state = {"done": 0, "bar": None}

    def advance(n: int) -> None:
        state["done"] += n
        bar = state["bar"]
        if bar is None and time.monotonic() - start >= MIN_SECONDS:
            bar = state["bar"] = click.progressbar(length=total, label=label, file=sys.stderr,
                                                   show_eta=True, show_pos=True)
            bar.__enter__()
            bar.update(state["done"] - n)
        if bar is not None:
            bar.update(n)

    try:
        yield advance
    finally:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)
