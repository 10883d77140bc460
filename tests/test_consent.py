"""Nothing is applied without a yes: ``--yes``, or ``y``/``yes`` read from stdin (a terminal or a
pipe). Every way of running the real CLI without one — ``echo n |``, ``</dev/null``, ``<&-``, an
empty pipe, stderr sent to a file, ``--json`` — applies nothing, creates no store and says how to
go on; the exit code says which (1: answered, not yes; 2: no answer, --yes is missing).

The runs are real processes (``python -m inventory_tools``), started together so that the
module costs the time of about one of them.
"""
from __future__ import annotations

import json
import os
import pty
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
SOURCE = EXAMPLES / "inventory-list.csv"


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XERO_", "CIN7_", "INVENTORY_TOOLS_"))}
    env["INVENTORY_TOOLS_CACHE_DIR"] = "off"
    return env


class Run:
    """One CLI process in its own folder (its own store, default ``inventory.db`` there)."""

    def __init__(self, folder: Path, args: list[str], *, stdin: str | None | int, stderr_file: bool = False,
                 terminal: bool = False):
        self.folder = folder
        folder.mkdir()
        self.copy = folder / "edit.csv"
        self.copy.write_bytes(SOURCE.read_bytes())
        cmd = [sys.executable, "-m", "inventory_tools", "import", str(self.copy), *args]
        self.err_path = folder / "stderr.txt" if stderr_file else None
        err = open(self.err_path, "w") if stderr_file else subprocess.PIPE
        self.master = None
        if terminal:  # stdin a real terminal (a pseudo-terminal), the answer typed into it
            self.master, slave = pty.openpty()
            self.proc = subprocess.Popen(cmd, cwd=folder, env=_env(), stdin=slave, stdout=subprocess.PIPE,
                                         stderr=err, text=True)
            os.close(slave)
            os.write(self.master, stdin.encode())
        elif stdin == "closed":  # <&- : file descriptor 0 is not open at all
            self.proc = subprocess.Popen(cmd, cwd=folder, env=_env(), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=err, text=True,
                                         preexec_fn=lambda: os.close(0))
        elif stdin == "devnull":
            self.proc = subprocess.Popen(cmd, cwd=folder, env=_env(), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=err, text=True)
        else:  # a pipe: echo ... |
            self.proc = subprocess.Popen(cmd, cwd=folder, env=_env(), stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=err, text=True)
            self.proc.stdin.write(stdin)
            self.proc.stdin.close()
            self.proc.stdin = None
        if stderr_file:
            err.close()

    def finish(self) -> "Run":
        self.stdout, stderr = self.proc.communicate(timeout=240)
        self.stderr = self.err_path.read_text() if self.err_path else stderr
        if self.master is not None:
            os.close(self.master)
        self.code = self.proc.returncode
        store = self.folder / "inventory.db"
        self.products = None
        if store.exists():
            db = sqlite3.connect(store)
            self.products = db.execute("SELECT count(*) FROM products").fetchone()[0]
            db.close()
        return self


CASES = {
    # name: (extra args, stdin, options)
    "answered_n_through_a_pipe": ([], "n\n", {}),
    "stdin_is_dev_null": ([], "devnull", {}),
    "stdin_is_closed": ([], "closed", {}),
    "stdin_an_empty_pipe_and_stderr_to_a_file": ([], "", {"stderr_file": True}),
    "json_and_no_answer": (["--json"], "devnull", {}),
    "json_on_a_terminal_answered_n": (["--json"], "n\n", {"terminal": True}),
    "answered_y_through_a_pipe": ([], "y\n", {}),
    "answered_yes_on_a_terminal_with_stderr_to_a_file": ([], "YES\n", {"terminal": True, "stderr_file": True}),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Run]:
    base = tmp_path_factory.mktemp("consent")
    started = {name: Run(base / name, args, stdin=stdin, **opts) for name, (args, stdin, opts) in CASES.items()}
    return {name: run.finish() for name, run in started.items()}


NOT_APPLIED = {
    # case: exit code (1: an answer that is not yes; 2: no answer at all)
    "answered_n_through_a_pipe": 1,
    "json_on_a_terminal_answered_n": 1,
    "stdin_is_dev_null": 2,
    "stdin_is_closed": 2,
    "stdin_an_empty_pipe_and_stderr_to_a_file": 2,
    "json_and_no_answer": 2,
}


@pytest.mark.parametrize("case", sorted(NOT_APPLIED))
def test_nothing_is_applied_without_a_yes(runs, case):
    run = runs[case]
    assert run.code == NOT_APPLIED[case], (run.code, run.stderr[-3000:])
    assert "Traceback" not in run.stderr
    assert "Apply these changes? [y/N]" in run.stderr  # asked, even with stderr a file or --json
    assert "Not applied" in run.stderr and "add --yes" in run.stderr
    assert run.products is None  # not applied, and no store was created for it
    assert not (run.folder / "edit-results.xlsx").exists()
    if "--json" in CASES[case][0]:
        report = json.loads(run.stdout)
        assert report["applied"] is False and report["import_id"] is None
        assert report["consent"] == ("declined" if NOT_APPLIED[case] == 1 else "no answer")


@pytest.mark.parametrize("case", ["answered_y_through_a_pipe", "answered_yes_on_a_terminal_with_stderr_to_a_file"])
def test_a_yes_applies(runs, case):
    run = runs[case]
    assert run.code == 0, run.stderr[-3000:]
    assert run.products == 12
    assert run.stderr.index("Apply these changes? [y/N]") < run.stderr.index("Applied import #1")


@pytest.mark.parametrize("answer, applied", [("yes please\n", False), ("  Y \n", True), ("\n", False)])
def test_only_y_or_yes_is_a_yes(run, answer, applied):
    result = run("import", SOURCE, "--results", Path(run.cwd) / "r.xlsx", input=answer, expect=0 if applied else 1)
    assert ("Applied import #1" in result.stderr) == applied
    assert Path(run.store).exists() == applied


# -- undo asks too (in-process: the question is the same code; the real stdin paths are above) --
@pytest.fixture
def imported(run, tmp_path):
    edited = tmp_path / "edited.csv"
    edited.write_bytes(SOURCE.read_bytes().replace(b'"Brass Hinge 75mm"', b'"Brass Hinge 75 mm"'))
    run("import", SOURCE, "--yes", "--results", tmp_path / "r0.xlsx")
    report = run.json("import", edited, "--yes", "--results", tmp_path / "r1.xlsx")
    return run, report["import_id"]


def _name(run, code="00123"):
    db = sqlite3.connect(run.store)
    value = db.execute('SELECT "Name" FROM products WHERE "ProductCode"=?', (code,)).fetchone()[0]
    db.close()
    return value


@pytest.mark.parametrize("answer, code", [("n\n", 1), ("", 2), (None, 2)])
def test_undo_shows_what_it_restores_then_applies_nothing_without_a_yes(imported, answer, code):
    run, import_id = imported
    result = run("undo", *(["--json"] if answer is None else []), input=answer, expect=code)
    assert f"Undo of #{import_id}" in result.stderr and "Brass Hinge 75 mm → Brass Hinge 75mm" in result.stderr
    assert result.stderr.index("Undo of #") < result.stderr.index("Undo it? [y/N]")
    assert "Not applied" in result.stderr and "add --yes" in result.stderr
    assert _name(run) == "Brass Hinge 75 mm"
    assert run.json("history")[0]["state"] == "applied"


def test_undo_answered_yes_applies(imported):
    run, import_id = imported
    result = run("undo", input="y\n")
    assert "Undone" in result.stderr and _name(run) == "Brass Hinge 75mm"
