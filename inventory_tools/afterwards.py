"""Work nobody needs to wait for, done after the command has said everything and exited.

A command run from the CLI (:func:`inventory_tools.cli.main` calls :func:`enable`) may hand over
a job that only serves a later command, such as keeping a checked file for the import that
follows (:mod:`.checked_cache`, 0.3 s at 100,000 rows). At exit the jobs run in a child process,
its standard streams on ``/dev/null`` and in a session of its own: the caller's shell, pipe or
``$(...)`` gets the command's output and exit status at once, and a terminal closing or a Ctrl-C
does not reach the child. A job must make its own result safe to find half-done (the cache
writes an entry under a temporary name and holds a lock a reader waits on).

Elsewhere (the library in someone's program, tests running the CLI in-process, a platform
without ``fork``) a job runs at once, where it is handed over.
"""
from __future__ import annotations

import os
from typing import Callable

_jobs: list[Callable[[], object]] = []
_handed_over: list[Callable[[], object]] = []  # jobs a child runs: kept referenced here until exit
_enabled = False


def enable() -> None:
    """Let jobs wait until the process exits (the CLI's own process only)."""
    global _enabled
    _enabled = hasattr(os, "fork") and hasattr(os, "setsid")


def later(job: Callable[[], object]) -> bool:
    """Run ``job`` after exit (True), or not at all here (False: the caller runs it now)."""
    if not _enabled:
        return False
    _jobs.append(job)
    return True


def run_detached() -> None:
    """At exit, after the output is flushed: the jobs, in a child process the caller does not
    wait for. A job that fails is dropped (each one guards its own result)."""
    if not _jobs:
        return
    jobs = list(_jobs)
    _jobs.clear()
    # kept referenced in this process too: dropping them would free what they hold (a checked
    # file: millions of objects) while the child shares those pages, so each page freed would
    # first be copied (50 ms at 100,000 rows), just before this process exits anyway
    _handed_over.extend(jobs)
    try:
        pid = os.fork()
    except OSError:  # no process to spare: do them now, as if none could wait
        pid = None
    if pid == 0:
        code = 0
        try:
            os.setsid()
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            for job in jobs:
                try:
                    job()
                except Exception:  # noqa: BLE001 - nobody to tell: the job's result is simply absent
                    code = 1
        finally:
            os._exit(code)
    if pid is None:
        _handed_over.clear()
        for job in jobs:
            try:
                job()
            except Exception:  # noqa: BLE001
                pass
