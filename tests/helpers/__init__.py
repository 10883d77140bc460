"""Helpers the tests share: workbooks edited as a manager would, looks into a SQLite store (API
helpers in ``tests/helpers/api.py``; the fake servers in ``tests/fakes``)."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from inventory_tools import columns as cols
from inventory_tools.cli import cli

from .workbooks import write_wb

TESTS = Path(__file__).resolve().parent.parent
DATA = TESTS / "data"
SAMPLE_CSV = DATA / "samples" / "dear_inventorylist_export_live_2026-07-03.csv"
EXAMPLES = TESTS.parent / "examples"
#: Values a spreadsheet would run as a formula: we must only ever write them as text.
FORMULA_LIKE = ['=1+1', '+SUM(A1)', '-2+3', '@cmd', '-', '=HYPERLINK("http://x","click")', "+cmd|' /C calc'!A0"]


class Cli:
    """The CLI against one store, run in-process (``click.testing``)."""

    def __init__(self, store: str, cwd: Path):
        self.store = store
        self.cwd = cwd

    def __call__(self, *args: str, input: str | None = None, expect: int | None = 0):
        runner = CliRunner()
        result = runner.invoke(cli, ["--store", self.store, *map(str, args)], input=input, catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, (result.exit_code, result.output)
        return result

    def json(self, *args: str, expect: int | None = 0) -> dict:
        result = self(*args, "--json", expect=expect)
        return json.loads(result.stdout)


def export_xlsx(run, name="inv.xlsx", *args):
    """Export through the CLI; (the workbook's path, the export id)."""
    out = run.cwd / name
    export_id = run("export", out, *args).stdout.strip()
    return out, export_id


def edit(path, changes, out=None, sheet="Inventory List"):
    """changes: {(code, column): value}; a code not in the sheet is appended as a new row."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    header = [c.value for c in ws[1]]
    rows = {r[0].value: r for r in ws.iter_rows(min_row=2)}
    for (code, column), value in changes.items():
        if code not in rows:
            ws.append([code])
            rows[code] = next(ws.iter_rows(min_row=ws.max_row, max_row=ws.max_row))
        cell = rows[code][header.index(column)]
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"
    wb.save(out or path)
    return out or path


def product(run, code):
    """One product's row in the run's SQLite store (None if absent)."""
    db = sqlite3.connect(run.store)
    db.row_factory = sqlite3.Row
    row = db.execute('SELECT * FROM products WHERE "ProductCode"=?', (code,)).fetchone()
    db.close()
    return dict(row) if row else None


def snapshot(run):
    """Every product value (bookkeeping columns left out)."""
    db = sqlite3.connect(run.store)
    names = ", ".join(f'"{n}"' for n in cols.names())
    rows = db.execute(f"SELECT {names} FROM products ORDER BY rowid").fetchall()
    db.close()
    return rows


def sheet(path, header, rows, title="Inventory List"):
    """A hand-made workbook: one sheet, a header and rows (text typed as text)."""
    return write_wb(path, header, rows, sheet=title, text_typed=True)
