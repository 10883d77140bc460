"""``inventory-tools validate``: exit codes, JSON, reports, help."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from inventory_tools import columns as cols
from inventory_tools.changes import ChangeSet
from inventory_tools.cli import cli
from inventory_tools.stores.sqlite import SqliteStore
from tests.helpers.workbooks import write_wb as workbook

SAMPLE = Path(__file__).parent / "data" / "samples" / "dear_inventorylist_export_live_2026-07-03.csv"
HEAD = ["ProductCode", "Name", "Category", "Type", "CostingMethod", "DefaultUnitOfMeasure", "Status"]


def good(code: str) -> list:
    return [code, f"Product {code}", "Pipes", "Stock", "FIFO", "Item", "Active"]


def write_wb(path: Path, rows: list[list], header=HEAD) -> Path:
    return workbook(path, header, rows)


def run(*args, store: Path | None = None):
    base = ["--store", str(store)] if store else []
    return CliRunner().invoke(cli, [*base, "validate", *map(str, args)])


def test_help_has_an_example():
    res = CliRunner().invoke(cli, ["validate", "--help"])
    assert res.exit_code == 0 and "Example:" in res.output and "--report" in res.output


def test_valid_file_exits_0_and_creates_no_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INVENTORY_TOOLS_STORE", raising=False)
    p = write_wb(tmp_path / "ok.xlsx", [good("A"), good("B")[:6] + ["Setup Required"]])
    res = run(p)
    assert res.exit_code == 0, res.output
    assert "2 rows checked" in res.stderr and "0 errors" in res.stderr
    assert not (tmp_path / "inventory.db").exists()


def test_invalid_file_exits_1_with_cell_refs(tmp_path):
    p = write_wb(tmp_path / "bad.xlsx", [good("A")[:6] + ["Actvie"]])
    res = run(p, store=tmp_path / "none.db")
    assert res.exit_code == 1
    assert "Inventory List!G2: Status 'Actvie' is not one of Active, Setup Required, Deprecated" in res.stderr
    assert "by rule:" in res.stderr and "enum.value 1" in res.stderr
    assert not (tmp_path / "none.db").exists()


def test_json_on_stdout_is_the_design_shape(tmp_path):
    p = write_wb(tmp_path / "bad.xlsx", [good("A")[:6] + ["Actvie"], good("a")])
    res = run(p, "--json")
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    assert {"valid", "errors", "warnings", "problems"} <= set(data)
    assert data["errors"] == 2
    assert {(q["rule"], q["cell"]) for q in data["problems"]} == {("enum.value", "G2"), ("code.duplicate", "A3")}
    assert set(data["problems"][0]) >= {"sheet", "row", "column", "cell", "value", "rule", "severity", "message",
                                        "hint"}


def test_reports_json_and_xlsx(tmp_path):
    p = write_wb(tmp_path / "bad.xlsx", [good("A")[:6] + ["Actvie"]])
    assert run(p, "--report", tmp_path / "r.json").exit_code == 1
    assert json.loads((tmp_path / "r.json").read_text())["problems"][0]["cell"] == "G2"
    res = run(p, "--report", tmp_path / "r.xlsx")
    assert res.exit_code == 1 and "report written" in res.stderr
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    assert wb.sheetnames[0] == "Problems" and wb["Problems"]["A2"].value == "Inventory List!G2"
    assert wb["Inventory List"]["G2"].comment is not None


def test_cin7_csv_sample_is_valid():
    res = run(SAMPLE, "--json")
    assert res.exit_code == 0
    assert json.loads(res.stdout)["errors"] == 0


@pytest.mark.parametrize("args", [["--report", "out.txt"], ["--bogus"], []])
def test_usage_errors_exit_2(tmp_path, args):
    p = write_wb(tmp_path / "ok.xlsx", [good("A")])
    res = run(*([p] if args != [] else []), *args)
    assert res.exit_code == 2


@pytest.mark.parametrize("name, content, words", [
    ("empty.xlsx", b"", "empty"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "Save As"),
    ("text.xlsx", b"not a workbook", "not an Excel"),
    ("trunc.xlsx", b"PK\x03\x04" + b"\0" * 40, "damaged"),
])
def test_unreadable_files_exit_3_with_a_message(tmp_path, name, content, words):
    (tmp_path / name).write_bytes(content)
    res = run(tmp_path / name)
    assert res.exit_code == 3
    assert words in res.stderr and "Traceback" not in res.output


def test_store_is_used_for_status_transitions(tmp_path):
    store = SqliteStore(tmp_path / "s.db")
    row = {n: "" for n in cols.names()}
    row.update(ProductCode="A", Name="n", Status="Active", Category="c", Type="Stock", CostingMethod="FIFO",
               DefaultUnitOfMeasure="Item")
    store.apply(ChangeSet(creates=pd.DataFrame([row])), kind="test", source="t", base_export_id=None, counts={})
    store.close()
    p = write_wb(tmp_path / "f.xlsx", [good("A")[:6] + ["Setup Required"]])
    res = run(p, "--json", store=tmp_path / "s.db")
    assert res.exit_code == 1
    assert json.loads(res.stdout)["problems"][0]["rule"] == "status.into_setup_required"


def test_real_process_exit_codes_and_no_traceback(tmp_path):
    p = write_wb(tmp_path / "bad.xlsx", [good("A")[:6] + ["Actvie"]])
    env = {**os.environ, "INVENTORY_TOOLS_STORE": str(tmp_path / "absent.db")}
    proc = subprocess.run([sys.executable, "-m", "inventory_tools", "validate", str(p), "--json"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert proc.returncode == 1 and json.loads(proc.stdout)["valid"] is False
    (tmp_path / "z.xlsx").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    proc = subprocess.run([sys.executable, "-m", "inventory_tools", "validate", str(tmp_path / "z.xlsx")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert proc.returncode == 3 and "Traceback" not in proc.stderr and "hint:" in proc.stderr


def test_report_into_a_missing_folder_is_a_usage_error(tmp_path):
    p = write_wb(tmp_path / "ok.xlsx", [good("A")])
    res = run(p, "--report", tmp_path / "nope" / "r.xlsx")
    assert res.exit_code == 2 and "does not exist" in res.stderr


# -- a report for every file validate can read ----------------------------------------------------
def _corpus():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", Path(__file__).parent / "data" / "bad" / "make_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


MC = _corpus()
ROWS = [["ProductCode", "Name", "Category", "Status"], ["M-1", "Widget", "Pipes", "Active"],
        ["M-2", "Gadget", None, "Actvie"]]


def _plain(path: Path, rows=ROWS) -> Path:
    return workbook(path, rows[0], rows[1:])


def _merged(path: Path) -> Path:
    rows = [ROWS[0], ["M-1", "Widget", "Pipes", "Active"], ["M-2", "Gadget", "Pipes", "Active"]]
    wb = openpyxl.load_workbook(_plain(path, rows))
    wb.active.merge_cells("C2:C3")  # C3 reads blank: a required Category missing in a merged cell
    wb.save(path)
    return path


def _entities(path: Path) -> Path:
    """Billion laughs declared in the styles and document properties, which validate never parses
    (openpyxl, through defusedxml, refuses them)."""
    laughs = "".join(f'<!ENTITY l{i} "' + f"&l{i - 1};" * 10 + '">' for i in range(1, 10))
    doctype = f'<!DOCTYPE x [<!ENTITY l0 "ha">{laughs}]>'

    def declare(name, content):
        if name not in ("xl/styles.xml", "docProps/core.xml"):
            return content
        text = content.decode("utf-8")
        at = text.index("?>") + 2 if "?>" in text else 0
        return (text[:at] + doctype + text[at:]).encode("utf-8")
    path.write_bytes(MC._rewrite(_plain(path.with_name("src.xlsx")), declare))
    return path


WORKBOOKS = {
    "merged-cells": _merged,
    "pivot-table": lambda p: MC.pivot_table(_plain(p.with_name("src.xlsx")), p),
    "strict-ooxml": lambda p: p.write_bytes(MC.package(strict=True)) and p,
    "no-shared-strings": lambda p: p.write_bytes(MC.package()) and p,
    "control-character": lambda p: p.write_bytes(MC.package([MC.ROWS[0], ["OP-1", "Widget", 2.5, "Act_x0001_ive"]]))
    and p,
    "chart-sheet": lambda p: MC.chart_sheet(p, MC.ROWS),
    "xml-entities": _entities,
    "macro-sheet": lambda p: p.write_bytes(MC.package(macro_sheet=True)) and p,
}


@pytest.mark.parametrize("kind", sorted(WORKBOOKS))
def test_report_is_written_for_every_workbook_validate_reads(tmp_path, kind):
    path = WORKBOOKS[kind](tmp_path / f"{kind}.xlsx")
    plain = run(path, "--json")
    assert plain.exit_code == 1 and "Traceback" not in plain.output
    problems = json.loads(plain.stdout)["problems"]
    res = run(path, "--json", "--report", tmp_path / "report.xlsx")
    assert (res.exit_code, json.loads(res.stdout)["problems"]) == (1, problems), res.output
    assert "report written" in res.stderr and "Traceback" not in res.output
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
    wb = openpyxl.load_workbook(tmp_path / "report.xlsx")  # a second reader opens it
    listed = [r[0].value for r in wb["Problems"].iter_rows(min_row=2)]
    assert listed == [f"Inventory List!{p['cell']}" for p in problems]
    data = wb["Inventory List"]
    for p in problems:
        assert data[p["cell"]].fill.fgColor.rgb[-6:] in ("FFC7CE", "FFEB9C"), (kind, p["cell"])
    assert all(c.data_type != "f" for row in wb["Problems"].iter_rows() for c in row)
