"""Xero's Products and services export (Items CSV) reader, and sync --xero-file through the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fakes.xero_server import SAMPLES

from inventory_tools.cli import cli
from inventory_tools.errors import DataError, ExitCode, FileReadError
from inventory_tools.xero.api import is_archived
from inventory_tools.xero.csv_file import read_items_csv
from tests.helpers.libreoffice import convert

REAL = SAMPLES / "real_xero_items_export_InventoryItems-20260714_excerpt.csv"
NEW_HEADER = ("*ItemCode,ItemName,Quantity,PurchasesDescription,PurchasesUnitPrice,PurchasesAccount,PurchasesTaxRate,"
              "SalesDescription,SalesUnitPrice,SalesAccount,SalesTaxRate,InventoryAssetAccount,CostOfGoodsSoldAccount,"
              "Status,InventoryType")


def write(tmp_path, text: str, name="items.csv", encoding="utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    return p


def test_real_export_excerpt():
    data = read_items_csv(REAL)
    codes = [i["Code"] for i in data.items]
    archived = [i["Code"] for i in data.items if is_archived(i)]
    assert len(codes) == 16 and archived == ["TIK015"]  # kept, marked: sync skips it as it does an API item
    assert "CAP 002" in codes and not any(i["IsTrackedAsInventory"] for i in data.items)
    by = {i["Code"]: i for i in data.items}
    assert by["BED001"]["Name"] == "Bedec MSP (Gloss, Matt, Satin) - 2.5 ltr"  # quoted comma
    assert by["BRA003"]["SalesDetails"] == {"UnitPrice": "111.876", "AccountCode": "202", "TaxName": "No VAT"}
    assert by["SUN019"]["SalesDetails"]["UnitPrice"] == "14.3856"
    assert by["SUN020"]["PurchaseDetails"] == {"UnitPrice": "35.988", "AccountCode": "314", "TaxName": "No VAT"}
    assert by["CAP003"]["Description"] == "Caparol Haftprimer White (ltr)"
    assert by["CAP003"]["PurchaseDescription"] == "Caparol Haftprimer (White) - 2.5 ltr"
    assert data.warnings == [] and data.unknown_columns == []


def test_tracked_rows_by_type_or_accounts(tmp_path):
    p = write(tmp_path, NEW_HEADER + "\n"
              "U1,Untracked,,,,,,,1.5,200,,,,Active,Untracked\n"
              "T1,Tracked by type,10,,,,,,2,200,,,,Active,Tracked\n"
              "T2,Tracked by asset,,,,,,,2,200,,630,,Active,\n"
              "T3,Tracked by cogs,,,,,,,2,200,,,310,Active,\n"
              "A1,Archived,,,,,,,2,200,,,,Archived,Untracked\n")
    data = read_items_csv(p)
    assert {i["Code"]: i["IsTrackedAsInventory"] for i in data.items if not is_archived(i)} == {
        "U1": False, "T1": True, "T2": True, "T3": True}
    assert [i["Code"] for i in data.items if is_archived(i)] == ["A1"]


def test_older_export_without_trailing_columns_or_stars(tmp_path):
    p = write(tmp_path, "ItemCode, ItemName, PurchasesDescription, PurchasesUnitPrice, PurchasesAccount, "
              "PurchasesTaxRate, SalesDescription, SalesUnitPrice, SalesAccount, SalesTaxRate, InventoryAssetAccount, "
              "CostOfGoodsSoldAccount\n"
              "OLD-1,Old one,Buy,1.10,300,Tax Exempt,Sell,2.2000,200,Tax on Sales,,\n"
              "OLD-2,Short row,Buy\n"
              ",no code,,,,,,,,,,\n"
              "OLD-1,duplicate,,,,,,,,,,\n")
    data = read_items_csv(p)
    assert [i["Code"] for i in data.items] == ["OLD-1", "OLD-2"]
    assert data.items[0]["SalesDetails"] == {"UnitPrice": "2.2000", "AccountCode": "200", "TaxName": "Tax on Sales"}
    assert data.duplicates == ["OLD-1"] and data.blank_codes == [3]
    assert any("more than once" in w for w in data.warnings) and any("without an item code" in w for w in data.warnings)


def test_bom_and_windows_1252(tmp_path):
    p = write(tmp_path, "\ufeff" + NEW_HEADER + "\nBOM-1,Caf\u00e9,,,,,,,,,,,,Active,Untracked\n")
    assert read_items_csv(p).items[0]["Name"] == "Caf\u00e9"
    p = write(tmp_path, NEW_HEADER + "\nW-1,Caf\u00e9,,,,,,,,,,,,Active,Untracked\n", name="w.csv", encoding="cp1252")
    data = read_items_csv(p)
    assert data.items[0]["Name"] == "Caf\u00e9" and "Windows-1252" in data.warnings[0]


def test_not_an_items_export_or_missing(tmp_path):
    p = write(tmp_path, "ProductCode,Name\nA,B\n")
    with pytest.raises(DataError) as err:
        read_items_csv(p)
    assert "ItemCode" in str(err.value) and str(p) in str(err.value) and err.value.exit_code == ExitCode.DATA
    with pytest.raises(FileReadError) as err:
        read_items_csv(tmp_path / "nope.csv")
    assert err.value.exit_code == ExitCode.FAILED and "nope.csv" in str(err.value)
    with pytest.raises(DataError):
        read_items_csv(write(tmp_path, "", name="empty.csv"))


def test_a_broken_record_is_named_by_its_number_counting_blank_ones(tmp_path):
    """The record that breaks the CSV (a field over the csv module's limit) is named as a person
    counts records: blank lines and rows without a code count too."""
    import csv

    path = tmp_path / "items.csv"
    big = "x" * (csv.field_size_limit() + 1)
    path.write_text(f"*ItemCode,ItemName\nA,a\n\n,,\nB,b\nC,{big}\n", encoding="utf-8")
    with pytest.raises(DataError, match="breaks at record 5") as err:
        read_items_csv(path)
    assert err.value.cell == "record 5"


def test_cli_xero_file(tmp_path):
    db = str(tmp_path / "f.db")
    p = write(tmp_path, NEW_HEADER + "\n"
              "U1,Untracked,,Buy,1.10,300,No VAT,Sell,2.5,200,No VAT,,,Active,Untracked\n"
              "T1,Tracked,10,,,,,,2,200,,630,310,Active,Tracked\n")
    runner = CliRunner()
    r = runner.invoke(cli, ["--store", db, "sync", "--xero-file", str(p), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["loaded"] == ["U1"] and data["skipped_tracked"] == ["T1"] and data["calls"] == 0
    assert data["pushed"] == [] and "untrack" in r.stderr
    listing = runner.invoke(cli, ["--store", db, "sync", "--xero-file", str(p), "--dry-run"])
    assert listing.exit_code == 0 and "would load 0" in listing.stderr
    bad = runner.invoke(cli, ["--store", db, "sync", "--xero-file", str(tmp_path / "missing.csv")])
    assert bad.exit_code == 3 and "file not found" in bad.stderr and "Traceback" not in bad.output
    wrong = runner.invoke(cli, ["--store", db, "sync", "--xero-file", str(write(tmp_path, "a,b\n1,2\n", name="x.csv"))])
    assert wrong.exit_code == 1 and "ItemCode" in wrong.stderr
    mix = runner.invoke(cli, ["--store", db, "sync", "--xero-file", str(p), "--since", "2024-01-01"])
    assert mix.exit_code == 2 and "no dates" in mix.stderr


def test_columns_that_are_not_xero_s_are_named_not_silently_dropped(tmp_path):
    p = write(tmp_path, NEW_HEADER + ",Colour\nU1,Untracked,,,,,,,1.5,200,,,,Active,Untracked,red\n")
    data = read_items_csv(p)
    assert data.unknown_columns == ["Colour"] and any("Colour" in w for w in data.warnings)


@pytest.mark.parametrize("fmt", ["xlsx", pytest.param("ods", marks=pytest.mark.libreoffice)])
def test_an_export_re_saved_as_a_workbook_reads_as_the_csv_does(tmp_path, fmt):
    """Xero's Items export opened in a spreadsheet and saved as .xlsx (or .ods): the same items,
    codes and prices as typed (1001, not 1001.0), never "no *ItemCode column"."""
    import openpyxl

    with open(REAL, newline="", encoding="utf-8-sig") as fh:
        import csv

        rows = list(csv.reader(fh))
    wb = openpyxl.Workbook()
    ws = wb.active
    for r, row in enumerate(rows):
        # as a spreadsheet would keep them: numbers as numbers, the rest as text
        ws.append([float(v) if r and v.replace(".", "", 1).isdigit() else v for v in row])
    ws.append(["1001", "Numeric code", "", "", "", "", "", "", "2.50"] + [""] * (len(rows[0]) - 9))
    ws.cell(row=ws.max_row, column=1).value = 1001
    out = tmp_path / f"items.{fmt}"
    if fmt == "xlsx":
        wb.save(out)
    else:
        wb.save(tmp_path / "tmp.xlsx")
        convert(tmp_path / "tmp.xlsx", "ods", tmp_path / "lo").rename(out)  # re-saved by LibreOffice
    from_csv, from_wb = read_items_csv(REAL), read_items_csv(out)
    from decimal import Decimal

    def same_money(details: dict) -> dict:  # 39.10 typed in the CSV is the number 39.1 in a workbook
        return {k: (Decimal(v) if k == "UnitPrice" else v) for k, v in details.items()}

    def strip(items):
        return [{k: (same_money(v) if k.endswith("Details") else v) for k, v in i.items() if k != "_record"}
                for i in items]

    assert strip(from_wb.items[:-1]) == strip(from_csv.items)
    assert from_wb.items[-1]["Code"] == "1001" and from_wb.items[-1]["SalesDetails"]["UnitPrice"] == "2.50"  # text stays as typed


def test_sync_reads_a_re_saved_workbook_through_the_cli(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["*ItemCode", "ItemName", "SalesUnitPrice", "InventoryType"])
    wb.active.append(["WB-1", "From a workbook", 4.5, ""])
    wb.save(tmp_path / "items.xlsx")
    result = CliRunner().invoke(cli, ["--store", str(tmp_path / "s.db"), "sync", "--xero-file",
                                      str(tmp_path / "items.xlsx"), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["loaded"] == ["WB-1"]
