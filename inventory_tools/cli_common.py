"""What every command of the CLI shares: the context (the store, opened once, never created by
a command that only reads), human output on stderr, JSON on stdout, expected failures as one
message and the contract's exit code, and the yes/no question."""
from __future__ import annotations

import functools
import os
import sys

import click

from .errors import ExitCode, ToolError


class Context:
    def __init__(self, store_spec: str | None, verbose: int):
        self.store_spec = store_spec
        self.verbose = verbose
        self._store = None

    def store(self, create: str = "never"):
        """The store; ``create``: a missing SQLite file is created "now" (sync), "on_write" (import:
        at the first apply) or "never" (the default, for commands that only read: a clear message
        naming the path instead)."""
        if self._store is None:
            from .stores import open_store

            self._store = open_store(self.store_spec, create=create)
        return self._store

    def local_path(self) -> str | None:
        """The SQLite file --store names (None: a remote store)."""
        from .stores import is_remote, store_spec

        return None if is_remote(self.store_spec) else store_spec(self.store_spec)

    def ledger(self):
        """Where the digests of files we write are kept: the store's state, if the store exists
        (a command that only reads opens it, never creates it)."""
        from .stores.state import StoreMissing

        path = self.local_path()
        if self._store is None and (path is None or not os.path.isfile(path)):
            return None
        try:
            return self.store().state
        except StoreMissing:
            return None

    def close(self):
        if self._store is not None:
            self._store.close()


def say(message: str = "", **kw) -> None:
    """Human output goes to stderr so that --json stdout stays machine-readable."""
    click.echo(message, err=True, **kw)


def emit_json(data) -> None:
    from .render.render_json import json_text

    click.echo(json_text(data))


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


def ask(question: str) -> bool | None:
    """Ask on stderr, read the answer from stdin (a terminal or a pipe): True for y/yes, False
    for any other answer, None when there is none (stdin closed, at its end, or unreadable)."""
    say(f"{question} [y/N] ", nl=False)
    stream = sys.stdin
    if stream is None:  # started with stdin closed (<&-)
        say("")
        return None
    try:
        line = stream.readline()
    except (OSError, ValueError, UnicodeDecodeError):
        line = ""
    if not line:  # end of input: nobody answered
        say("")
        return None
    if not stream.isatty():
        say(line.rstrip("\r\n"))  # the piped answer, so a log shows what was answered
    return line.strip().lower() in ("y", "yes")
