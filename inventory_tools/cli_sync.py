"""``inventory-tools sync``: render a :class:`~inventory_tools.syncing.SyncReport`, pick the exit code."""
from __future__ import annotations

import contextlib
import shlex
import sys

import click

from .cli_common import Context, emit_json, handle_errors, say
from .errors import ToolError

_SHOWN = 20  # codes listed per section before "... and N more"


def _codes(codes: list[str]) -> str:
    shown = ", ".join(codes[:_SHOWN])
    return shown + (f" … and {len(codes) - _SHOWN} more" if len(codes) > _SHOWN else "")


def _command_with_store(command: str, store_spec: str | None) -> str:
    if not store_spec:
        return command
    head, _, rest = command.partition(" ")
    return f"{head} --store {shlex.quote(store_spec)} {rest}"


def render(report, store_spec: str | None = None) -> None:
    r = report
    def verb(done: str, planned: str) -> str:
        return f"would {planned}" if r.dry_run else done

    if r.dry_run:
        say(click.style("dry run: nothing was written anywhere", bold=True))
    if r.tenant_name or r.tenant_id:
        say(f"Xero organisation: {r.tenant_name or r.tenant_id}")
    elif r.source != "xero":
        say(f"from file: {r.source}")
    if r.pulled:
        say(f"{verb('loaded', 'load')} {len(r.loaded)} item(s) as Setup Required products" + (f": {_codes(r.loaded)}" if r.loaded else ""))
    if r.linked:
        say(f"{verb('linked', 'link')} {len(r.linked)} item(s) to products with the same code: {_codes(r.linked)}")
    if r.relinked:
        say(f"{verb('re-linked', 're-link')} {len(r.relinked)} product(s) whose Xero item was re-created: {_codes(r.relinked)}")
    if r.not_modified:
        say("Xero: nothing changed since the last sync (304 Not Modified)")
    if r.archived_skipped:
        say(f"archived in Xero, not loaded: {len(r.archived_skipped)}: {_codes(r.archived_skipped)}")
    for notice in r.notices:
        _notice(notice)
    if r.skipped_tracked:
        say(click.style(f"not loaded: tracked in Xero ({len(r.skipped_tracked)})", fg="yellow")
            + f": {_codes(r.skipped_tracked)} (never written by sync)")
        say(f"  {r.tracked_guidance}")
    if r.first_run and r.pulled and r.since is None:
        say(f"first sync with this organisation: items created or changed from {r.enabled_at} on will load.")
        if r.older_items_count:
            say(f"  {r.older_items_count} older untracked item(s) exist in Xero. To load them:")
            say(f"    {_command_with_store(r.next_command, store_spec)}")
    if r.pushed_enabled:
        say(f"{verb('pushed', 'push')} {len(r.pushed)} product(s) to Xero" + (f": {_codes(r.pushed)}" if r.pushed else "")
            + (f" ({r.unchanged} unchanged)" if r.unchanged else ""))
    elif r.push_off_reason:
        say(f"push: off ({r.push_off_reason})")
    if r.rejected:
        say(click.style(f"refused ({len(r.rejected)}), fix these and re-run:", fg="red"))
        for rej in r.rejected[:50]:
            say(f"  {rej['code']}: {rej['message']}")
        if len(r.rejected) > 50:
            say(f"  … and {len(r.rejected) - 50} more (see --json)")
    for w in r.warnings[:20]:
        say(click.style("warning: ", fg="yellow") + w)
    tail = f"calls to Xero: {r.calls}" + (f", rate-limited: {r.rate_limited}" if r.rate_limited else "")
    if r.sync_id is not None:
        tail += f" · sync id {r.sync_id} (undo with: inventory-tools undo {r.sync_id})"
    if r.source == "xero" or r.calls:
        say(tail)
    elif r.sync_id is not None:
        say(f"sync id {r.sync_id} (undo with: inventory-tools undo {r.sync_id})")


def _notice(notice: dict) -> None:
    """A fact the store said once about the whole run."""
    if notice.get("kind") == "setup_required_refused":
        say(click.style("Cin7 Core refused Status 'Setup required' on create", fg="red", bold=True)
            + f" ({notice.get('code')}): it answered \"{notice.get('answer')}\".")
        say("  No further item was sent with it, and none was created under another status. Cin7 Core's own "
            "Xero integration loads untracked items as Setup Required natively: Integration → Xero → "
            "\"Load items from Xero\" = Yes, then Sync Now (Load Historical transactions for older items).")
    else:
        say(click.style("note: ", fg="yellow") + str(notice.get("message") or notice))


@click.command("sync")
@click.option("--xero-file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Load from Xero's Products and services export (CSV) instead of the API; nothing is pushed.")
@click.option("--since", metavar="YYYY-MM-DD", help="Also load older items changed since this date.")
@click.option("--pull-only", is_flag=True, help="Only load from Xero; push nothing.")
@click.option("--push-only", is_flag=True, help="Only push products to Xero; load nothing.")
@click.option("--dry-run", is_flag=True, help="Show what would be loaded, linked and pushed; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable report on stdout.")
@click.pass_obj
@handle_errors
def sync_command(obj: Context, xero_file: str | None, since: str | None, pull_only: bool, push_only: bool,
                 dry_run: bool, as_json: bool) -> None:
    """Load untracked Xero items as Setup Required products, then push Active products to Xero.

    The first run records the moment sync starts for the organisation and tells how to load older
    items. Tracked Xero items are never loaded (the report says how to untrack them). Credentials
    come from the environment: XERO_CLIENT_ID + XERO_CLIENT_SECRET, or XERO_ACCESS_TOKEN +
    XERO_TENANT_ID.

    Exit codes: 0 done · 1 Xero refused some products · 2 usage · 3 auth, network or daily limit.

    \b
    Example:
      inventory-tools sync --dry-run
      inventory-tools sync --since 2024-01-01 --pull-only
      inventory-tools sync --xero-file InventoryItems-20260714.csv
    """
    from .progress import stderr_is_terminal
    from .syncing import sync

    store = obj.store(create="now")  # sync creates the store on first use
    try:
        with contextlib.ExitStack() as stack:
            progress = _Progress(stack) if stderr_is_terminal() and not as_json else None
            report = sync(store, xero_file=xero_file, since=since, pull_only=pull_only, push_only=push_only,
                          dry_run=dry_run, progress=progress)
    except ToolError as exc:
        partial = getattr(exc, "report", None)
        if partial is not None:
            if as_json:
                emit_json(partial.to_dict())
            elif partial.loaded or partial.pushed:
                render(partial, obj.store_spec)
        raise
    if as_json:
        emit_json(report.to_dict())
    render(report, obj.store_spec)
    if report.exit_code:
        sys.exit(report.exit_code)


class _Progress:
    """sync's ``progress(stage, done, total)`` → the shared terminal bar (shown after ~2 s, tty only)."""

    def __init__(self, stack: contextlib.ExitStack):
        self.stack = stack
        self.bars: dict[str, tuple] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        from .progress import progress_bar

        if stage not in self.bars:
            advance = self.stack.enter_context(progress_bar(total, f"{stage}ing to Xero" if stage == "push"
                                                            else stage))
            self.bars[stage] = (advance, [0])
        advance, last = self.bars[stage]
        if advance is not None and done > last[0]:
            advance(done - last[0])
        last[0] = done
