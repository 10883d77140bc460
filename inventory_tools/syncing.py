"""Xero ↔ store (DESIGN §1, §6): load untracked Xero items as Setup Required products, then push.

``sync(store, ...)`` returns a :class:`SyncReport`; the CLI (``cli_sync.py``) only renders it.
The pull is :mod:`inventory_tools.sync_pull`, the push :mod:`inventory_tools.sync_push`.

Convergence: the pull's new products are written in one journaled store operation (kind
``sync``, so ``history`` lists it and ``undo`` removes what it loaded); links and the cursor are
written after it, and the cursor only moves once the items it covers are stored. A re-run after an
interruption re-reads from the old cursor and links (never duplicates) what is already there.
Pushes go in batches of 50 by ItemID or Code with a body-derived Idempotency-Key, and each
accepted batch is recorded at once, so a re-run sends only what is still missing or changed.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable

from .errors import ToolError, UsageError
from .sync_run import SyncReport, SyncRun, begin_op, finish_op, frame


def parse_since(since) -> dt.datetime | None:
    if since is None or since == "":
        return None
    if isinstance(since, dt.datetime):
        return since if since.tzinfo else since.replace(tzinfo=dt.timezone.utc)
    if isinstance(since, dt.date):
        return dt.datetime(since.year, since.month, since.day, tzinfo=dt.timezone.utc)
    try:
        day = dt.date.fromisoformat(str(since).strip())
    except ValueError:
        raise UsageError(f"--since {since!r} is not a date", "write it as YYYY-MM-DD, e.g. --since 2024-01-31") from None
    if day > dt.datetime.now(dt.timezone.utc).date():
        raise UsageError(f"--since {day.isoformat()} is in the future", "give a past date, e.g. --since 2024-01-31")
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)


def _check_options(xero_file, since_dt, pull_only: bool, push_only: bool) -> None:
    if pull_only and push_only:
        raise UsageError("--pull-only and --push-only exclude each other", "give at most one of them")
    if xero_file and push_only:
        raise UsageError("--push-only cannot be used with --xero-file (a file is only read, nothing is pushed)",
                         "drop --xero-file to push through the Xero API")
    if xero_file and since_dt:
        raise UsageError("--since cannot be used with --xero-file: the export has no dates",
                         "every untracked item of the file whose code is new is loaded; drop --since")


def sync(store, *, xero_file=None, since=None, pull_only: bool = False, push_only: bool = False,
         dry_run: bool = False, client=None, progress: Callable | None = None) -> SyncReport:
    """Xero → store (untracked items as Setup Required products), then store → Xero.

    ``progress(stage, done, total)`` is called during long stages. Raises :class:`ToolError`
    (exit 3 for auth/network/daily limit) with the partial report attached as ``.report``.
    """
    from .sync_pull import pull_api, pull_file
    from .sync_push import push

    since_dt = parse_since(since)
    _check_options(xero_file, since_dt, pull_only, push_only)
    report = SyncReport(dry_run=dry_run, since=since_dt.date().isoformat() if since_dt else None)
    run = SyncRun(store, report, client, dry_run, progress)
    try:
        if xero_file:
            report.source = str(xero_file)
            pull_file(run, str(xero_file))
            report.push_off_reason = "--xero-file: nothing is pushed"
            return report
        if run.client is None:
            from .xero.api import XeroClient

            run.client = XeroClient.from_env()
        run.base_counts = (run.client.calls, run.client.rate_limited, run.client.retries)
        run.tenant_id, report.tenant_name = run.client.tenant()
        report.tenant_id = run.tenant_id
        push_off = ("--pull-only" if pull_only else
                    "the store is Cin7 Core, which pushes products to Xero itself"
                    if not store.pushes_to_xero else None)
        if not push_only:
            pull_api(run, since_dt)
        elif push_off is None:
            begin_op(run, frame([]))
        if push_off:
            report.push_off_reason = push_off
        else:
            report.pushed_enabled = True
            push(run)
        return report
    except ToolError as exc:
        report.error = str(exc)
        report.resume_at = getattr(exc, "resume_at", None)
        exc.report = report
        raise
    finally:
        if run.client is not None:  # this run's share of a client that may be reused
            calls, limited, retries = run.base_counts
            report.calls = run.client.calls - calls
            report.rate_limited = run.client.rate_limited - limited
            report.retries = run.client.retries - retries
        finish_op(run)
