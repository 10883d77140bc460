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
from inventory_tools.cli import cli
from inventory_tools.changes import ChangeSet
from inventory_tools.stores.sqlite import SqliteStore

SAMPLE = Path(__file__).parent / "data" / "samples" / "dear_inventorylist_export_live_2026-07-03.csv"
HEAD = ["ProductCode", "Name", "Category", "Type", "CostingMethod", "DefaultUnitOfMeasure", "Status"]


def good(code: str) -> list:
    return [code, f"Product {code}", "Pipes", "Stock", "FIFO", "Item", "Active"]


def write_wb(path: Path, rows: list[list], header=HEAD) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Inventory List"
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


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
