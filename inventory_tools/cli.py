"""The thin click layer: parse, call the library, render, pick the exit code."""
from __future__ import annotations

import functools
import json
import logging
import sys

import click

from . import __version__
from .errors import ExitCode, ToolError


class Context:
    def __init__(self, store_spec: str | None, verbose: int):
        self.store_spec = store_spec
        self.verbose = verbose
        self._store = None

    def store(self):
        if self._store is None:
            from .stores import open_store

            self._store = open_store(self.store_spec)
        return self._store

    def close(self):
        if self._store is not None:
            self._store.close()


def say(message: str = "", **kw) -> None:
    """Human output goes to stderr so that --json stdout stays machine-readable."""
    click.echo(message, err=True, **kw)


def emit_json(data) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def handle_errors(fn):
    """Turn expected failures into one clear message and the contract's exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ToolError as exc:
            say(click.style("error: ", fg="red", bold=True) + str(exc))
            sys.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            say("interrupted: nothing further was changed; re-run to continue")
            sys.exit(int(ExitCode.INTERRUPTED))

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--store", "store_spec", envvar="INVENTORY_TOOLS_STORE", metavar="STORE",
              help="SQLite file (default inventory.db, created on first use) or 'cin7core'.")
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
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@_status_option
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result on stdout.")
@click.pass_obj
@handle_errors
def export_command(obj: Context, out: str, statuses: tuple[str, ...], as_json: bool) -> None:
    """Write the inventory list to OUT.xlsx (formatted workbook) or OUT.csv (Cin7's own format).

    Prints the export id: the base a later import compares against.

    \b
    Example:
      inventory-tools export inventory.xlsx --status "Setup Required"
    """
    from .exporting import export
    from .progress import progress_bar

    store = obj.store()
    with progress_bar(sum(store.status_counts().values()) if hasattr(store, "status_counts") else 0,
                      "Exporting") as advance:
        result = export(store, out, statuses=statuses, progress=advance)
    for w in result.warnings[:20]:
        say(click.style("warning: ", fg="yellow") + w)
    if len(result.warnings) > 20:
        say(f"warning: ... and {len(result.warnings) - 20} more values that start like formulas")
    counts = ", ".join(f"{n} {s}" for s, n in result.counts.items()) or "no products"
    say(f"Exported {result.rows} products ({counts}) to {result.path}")
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
    click.echo(render_table(result.products, ("Code", "Name", "Status", "Category")))
    counts = " · ".join(f"{n} {s}" for s, n in result.counts.items())
    click.echo(f"\n{sum(result.counts.values())} products: {counts}")
    if result.last_sync:
        s = result.last_sync
        click.echo(f"Last sync: #{s['op_id']} at {s['started_at']} ({s['state']})")
    else:
        click.echo("Last sync: never (run: inventory-tools sync)")


def render_table(frame, headers, max_width: int = 40) -> str:
    rows = [[str(v) for v in r] for r in frame.itertuples(index=False, name=None)]
    rows = [[(v.replace("\n", " ")[: max_width - 1] + "…") if len(v) > max_width else v.replace("\n", " ")
             for v in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    line = lambda r: "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()  # noqa: E731
    out = [click.style(line(headers), bold=True), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


# --- commands that live in their own modules: one import + add_command line each -----------
# (keep this block just above main(); each feature adds its own line)


def main() -> None:
    cli(prog_name="inventory-tools")
