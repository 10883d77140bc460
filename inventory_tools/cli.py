"""The thin click layer: parse, call the library, render, pick the exit code."""
from __future__ import annotations

import logging
import sys

import click

from . import __version__
from .cli_common import Context, ask, emit_json, handle_errors, say


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--store", "store_spec", envvar="INVENTORY_TOOLS_STORE", metavar="STORE",
              help="SQLite file (default inventory.db, created by the first import or sync) or 'cin7core'.")
@click.option("-v", "--verbose", count=True, help="More detail (repeat for debug logs).")
@click.version_option(__version__, prog_name="inventory-tools")
@click.pass_context
def cli(ctx: click.Context, store_spec: str | None, verbose: int) -> None:
    """Bulk-maintain a Cin7 Core inventory list in Excel, linked to Xero.

    \b
    The loop:
      inventory-tools sync                      # untracked Xero items → Setup Required products
      inventory-tools export inventory.xlsx     # edit it: complete setup, set Status Active
      inventory-tools validate inventory.xlsx   # every problem, at its cell
      inventory-tools import inventory.xlsx     # the plan, then an all-or-nothing apply
    """
    logging.basicConfig(level=logging.WARNING - 10 * min(verbose, 2), format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = Context(store_spec, verbose)
    ctx.call_on_close(ctx.obj.close)


def _status_option(fn):
    return click.option("--status", "statuses", multiple=True, metavar="S",
                        help="Only products with this status (repeatable; case-insensitive).")(fn)


@cli.command("export")
@click.argument("out", type=click.Path(dir_okay=False))
@_status_option
@click.option("--category", "categories", multiple=True, metavar="C",
              help="Only products in this category (repeatable; any case).")
@click.option("--brand", "brands", multiple=True, metavar="B", help="Only products of this brand (repeatable; any case).")
@click.option("--code", "codes", multiple=True, metavar="GLOB",
              help="Only products whose code matches, e.g. 'HNG-*' (repeatable; * ? [..]; any case).")
@click.option("--changed-since", metavar="YYYY-MM-DD",
              help="Only products created or changed since this date (UTC).")
@click.option("--columns", metavar="SET|NAMES",
              help="Only some columns: a column set (setup, pricing, purchasing, dimensions; files in "
                   "templates/columns/), a set file's path, or column names separated by commas. "
                   "ProductCode and Name always come first.")
@click.option("--changes-only", is_flag=True,
              help="Only the products the latest 'import --dry-run' would change, as it would leave them "
                   "(for Cin7's own Inventory List import screen).")
@click.option("--overwrite", is_flag=True,
              help="Replace OUT even if it is not an export we wrote unchanged (without it, only such a file is "
                   "replaced; anything else is left untouched).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result on stdout.")
@click.pass_obj
@handle_errors
def export_command(obj: Context, out: str, statuses: tuple[str, ...], categories: tuple[str, ...],
                   brands: tuple[str, ...], codes: tuple[str, ...], changed_since: str | None, columns: str | None,
                   changes_only: bool, overwrite: bool, as_json: bool) -> None:
    """Write the inventory list to OUT.xlsx (formatted workbook) or OUT.csv (Cin7's own format).

    Filters combine: every one given must match (a repeated option: any of its values).
    Prints the export id: the base a later import compares against.

    \b
    Example:
      inventory-tools export setup.xlsx --status "Setup Required" --columns setup
      inventory-tools export prices.xlsx --brand Hafele --columns pricing
      inventory-tools export recent.xlsx --changed-since 2026-07-01 --code 'HNG-*'
      inventory-tools import big-edit.xlsx --dry-run && inventory-tools export --changes-only upload.csv
    """
    from .exporting import export
    from .progress import progress_bar

    store = obj.store()
    # Only the embedded store can count for free; a remote one would pay a full read for it.
    narrowed = categories or brands or codes or changed_since or changes_only
    total = sum(store.status_counts().values()) if store.counts_cheaply and not narrowed and not statuses else 0
    with progress_bar(total, "Exporting") as advance:
        result = export(store, out, statuses=statuses, columns=columns, categories=categories, brands=brands,
                        codes=codes, changed_since=changed_since, changes_only=changes_only, progress=advance,
                        overwrite=overwrite)
    for w in result.warnings[:20]:
        say(click.style("warning: ", fg="yellow") + w)
    if len(result.warnings) > 20:
        say(f"warning: ... and {len(result.warnings) - 20} more values that start like formulas")
    counts = ", ".join(f"{n} {s}" for s, n in result.counts.items()) or "no products"
    shown = "" if result.column_set == "all" else f", {len(result.columns)} columns"
    say(f"Exported {result.rows} products ({counts}){shown} to {result.path}")
    if as_json:
        emit_json(result.to_json())
    else:
        click.echo(result.export_id)


@cli.command("list")
@_status_option
@click.option("--json", "as_json", is_flag=True, help="Print the products and counts as JSON on stdout.")
@click.pass_obj
@handle_errors
def list_command(obj: Context, statuses: tuple[str, ...], as_json: bool) -> None:
    """Show products (code, name, status, category) with counts by status and the last sync.

    \b
    Example:
      inventory-tools list --status "Setup Required"
    """
    from .listing import list_products

    result = list_products(obj.store(), statuses)
    if as_json:
        emit_json(result.to_json())
        return
    click.echo(render_table(result.rows, ("Code", "Name", "Status", "Category")))
    counts = " · ".join(f"{n} {s}" for s, n in result.counts.items())
    click.echo(f"\n{sum(result.counts.values())} products: {counts}")
    if result.last_sync:
        s = result.last_sync
        click.echo(f"Last sync: #{s['op_id']} at {s['started_at']} ({s['state']})")
    else:
        click.echo("Last sync: never (run: inventory-tools sync)")


def render_table(rows, headers, max_width: int = 40) -> str:
    """``rows`` (tuples) as aligned text columns under ``headers``."""
    rows = [[str(v) for v in r] for r in rows]
    rows = [[(v.replace("\n", " ")[: max_width - 1] + "…") if len(v) > max_width else v.replace("\n", " ")
             for v in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    line = lambda r: "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()  # noqa: E731
    out = [click.style(line(headers), bold=True), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


_CONFLICT_HELP = "When a cell changed both in the file and in the store since the export: abort (default, " \
    "nothing applied), skip (apply everything else) or overwrite (the file wins)."


_CONSENT_HELP = ("Apply without asking. Otherwise the plan is shown and the answer (y/yes) is read from stdin, "
                 "a terminal or a pipe; no answer (closed or empty stdin) applies nothing and exits 2.")


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show the plan and stop; nothing is changed.")
@click.option("--yes", "-y", is_flag=True, help=_CONSENT_HELP)
@click.option("--results", type=click.Path(dir_okay=False),
              help="Results workbook, .xlsx (default FILE-results.xlsx; never written over a file we did not write).")
@click.option("--on-conflict", type=click.Choice(["abort", "skip", "overwrite"]), default="abort",
              show_default=True, help=_CONFLICT_HELP)
@click.option("--skip-invalid", is_flag=True, help="Apply the valid rows and list the invalid ones.")
@click.option("--base", "base_export_id", metavar="EXPORT_ID",
              help="The export this file came from (for a CSV we exported; workbooks carry it).")
@click.option("--blank-clears", is_flag=True, help="Without a base, blank cells clear values (file = whole truth).")
@click.option("--strict", is_flag=True, help="Errors already in the store, in cells the file did not change, "
                                             "block too (by default they are reported and do not block).")
@click.option("--json", "as_json", is_flag=True, help="Print the machine-readable result on stdout (it never "
                                                      "implies --yes).")
@click.pass_obj
@handle_errors
def import_command(obj: Context, file: str, dry_run: bool, yes: bool, results: str | None, on_conflict: str,
                   skip_invalid: bool, base_export_id: str | None, blank_clears: bool, strict: bool,
                   as_json: bool) -> None:
    """Validate FILE, show exactly what will change, then apply it all or nothing.

    Only cells you changed since the export are written; a cell someone else changed in the
    meantime is a conflict, shown with all three values. Every import can be undone. Nothing is
    applied without --yes or a "y" answered to the question.

    \b
    Example:
      inventory-tools import inventory.xlsx --dry-run
      inventory-tools import inventory.xlsx --yes
    """
    from .importing import import_file
    from .render import render_import

    store = obj.store(create="on_write")  # created by the apply, not by a dry run or a refused plan
    shown = []

    def confirm(plan) -> bool | None:
        say(render_import.plan_text(plan, blank_clears=blank_clears))
        estimate = store.write_estimate(plan.products_to_write)  # a remote store writes at its API's pace
        if estimate is not None:
            say("  " + render_import.estimate_text(estimate))
        shown.append(True)
        return True if yes else ask("Apply these changes?")

    result = import_file(store, file, dry_run=dry_run, on_conflict=on_conflict, skip_invalid=skip_invalid,
                         base_export_id=base_export_id, blank_clears=blank_clears, results=results, strict=strict,
                         confirm=confirm)
    render_import.summary(result, say, plan_shown=bool(shown))
    if as_json:
        emit_json(result.to_json())
    sys.exit(int(result.exit_code))


@cli.command("history")
@click.option("--limit", default=50, show_default=True, help="How many to show.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON on stdout.")
@click.pass_obj
@handle_errors
def history_command(obj: Context, limit: int, as_json: bool) -> None:
    """List past imports, syncs and undos (newest first) with their counts.

    \b
    Example:
      inventory-tools history --limit 10
    """
    from .undoing import history

    ops = history(obj.store(), limit)
    if as_json:
        emit_json(ops)
        return
    if not ops:
        click.echo("No imports or syncs yet.")
        return
    for op in ops:
        counts = ", ".join(f"{k} {v}" for k, v in op["counts"].items() if v)
        extra = f" (undo of #{op['undo_of']})" if op.get("undo_of") else ""
        click.echo(f"#{op['op_id']:<4} {op['started_at']}  {op['kind']:<6} {op['state']:<8} "
                   f"{op.get('source') or ''}{extra}  {counts}")


@cli.command("undo")
@click.argument("op_id", required=False, type=int, metavar="[ID]")
@click.option("--yes", "-y", is_flag=True, help=_CONSENT_HELP)
@click.option("--on-conflict", type=click.Choice(["abort", "skip", "overwrite"]), default="abort",
              show_default=True, help="Cells changed since the import: abort, skip them, or overwrite them.")
@click.option("--dry-run", is_flag=True, help="Show what would be restored; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the machine-readable result on stdout (it never "
                                                      "implies --yes).")
@click.pass_obj
@handle_errors
def undo_command(obj: Context, op_id: int | None, yes: bool, on_conflict: str, dry_run: bool, as_json: bool) -> None:
    """Restore the before-values of an import, sync or undo (default: the latest).

    Shows what it will restore, then asks (or --yes). Products it created are removed (on Cin7
    Core: set to Deprecated); cells changed since are conflicts, handled by --on-conflict. An
    undo is itself recorded, so undoing it puts everything back.

    \b
    Example:
      inventory-tools undo 12 --dry-run
      inventory-tools undo 12 --yes
    """
    from .undoing import undo
    from .render import render_import

    shown = []

    def confirm(plan) -> bool | None:
        say(render_import.undo_plan_text(plan))
        shown.append(True)
        return True if yes else ask("Undo it?")

    result = undo(obj.store(), op_id, on_conflict=on_conflict, dry_run=dry_run, confirm=confirm)
    render_import.undo_summary(result, say, plan_shown=bool(shown))
    if as_json:
        emit_json(result.to_json())
    sys.exit(int(result.exit_code))


# --- commands that live in their own modules: one import + add_command line each -----------
# (keep this block just above main(); each feature adds its own line)
from .cli_validate import validate_command  # noqa: E402
cli.add_command(validate_command)
from .cli_sync import sync_command  # noqa: E402
cli.add_command(sync_command)
from .cli_check import check_command  # noqa: E402
cli.add_command(check_command)


#: What pandera imports when it is installed, for work the CLI never does: its data-synthesis
#: strategies import hypothesis (0.1-0.15 s at the first validation) if the test tools are there.
UNUSED_IMPORTS = ("hypothesis",)


def _skip_unused_imports() -> None:
    """Make UNUSED_IMPORTS unimportable in the CLI's own process (pandera then goes without, as when
    they are not installed); the library, imported by other programs, is left alone."""
    for name in UNUSED_IMPORTS:
        sys.modules.setdefault(name, None)  # already imported (a host program): left as it is


def main() -> None:
    import gc

    from . import afterwards

    _skip_unused_imports()
    afterwards.enable()  # work only later commands need is done once this one has exited
    # A command makes millions of objects that live until it ends (pandas' and pandera's modules,
    # a sheet's values): the collector's default thresholds (700, 10, 10) walk them all again and
    # again (0.1 s of a 100,000-row validate); fewer, larger collections suit a short-lived process.
    gc.set_threshold(10_000, 20, 100)
    try:
        cli(prog_name="inventory-tools")  # standalone mode: always ends in SystemExit
    except SystemExit as done:
        _hard_exit(done.code)


def _hard_exit(code) -> None:
    """Leave without tearing the interpreter down (as mypy's ``hard_exit`` does): freeing the
    objects of a big run, hundreds of MB of them, takes a quarter of a second nobody waits for.
    Everything of ours is closed or joined by now (the store by click's context); only the
    standard streams still need flushing, and the work left for afterwards (:mod:`.afterwards`)."""
    import os

    if isinstance(code, str):
        if sys.stderr is not None:
            sys.stderr.write(code + "\n")
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:  # (None: started with the stream closed, `2>&-`)
                stream.flush()
        except (OSError, ValueError):  # a closed pipe (| head): nothing more to say anyway
            pass
    from . import afterwards

    afterwards.run_detached()  # (in a child of its own: this process leaves now)
    os._exit(code if isinstance(code, int) else 0)
