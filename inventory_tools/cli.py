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


# --- commands that live in their own modules: one import + add_command line each -----------
# (keep this block just above main(); each feature adds its own line)


def main() -> None:
    cli(prog_name="inventory-tools")
