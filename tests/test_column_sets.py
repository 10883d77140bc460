"""Focused exports: column sets (`export --columns`) and product filters (`--category`, `--brand`,
`--code`, `--changed-since`, with `--status`). Workbooks are read back by openpyxl and
python-calamine; the LibreOffice round trips are in test_libreoffice.py."""
import sqlite3

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from inventory_tools import column_sets
from inventory_tools import columns as cols
from inventory_tools.filters import ProductFilter, check_globs
from inventory_tools.stores import open_store
from inventory_tools.stores.state import qi

SETUP_CODES = {"XERO-GIFTCARD-50", "XERO-WRAP", "0456"}


def header_and_rows(path, sheet="Inventory List"):
    grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
    return grid[0], {r[0]: dict(zip(grid[0], r)) for r in grid[1:]}


def manifest_of(path) -> dict:
    return {r[0].value: r[1].value for r in openpyxl.load_workbook(path)["_manifest"].iter_rows(min_row=2)}


# -- column sets -------------------------------------------------------------------------------
def test_shipped_sets_hold_what_their_job_needs_code_and_name_first():
    assert {"setup", "pricing", "purchasing", "dimensions"} <= set(column_sets.set_names())
    sets = {name: column_sets.choose(name).names for name in column_sets.set_names()}
    for name, names in sets.items():
        assert names[:2] == ("ProductCode", "Name"), name
        assert len(set(names)) == len(names) and set(names) <= set(cols.names()), name
    # setup: what an Active product needs (the column table's required columns) plus Status
    assert set(sets["setup"]) == set(cols.required_when_active()) | {"Status"}
    assert {f"PriceTier{i}" for i in range(1, 11)} | {"SaleTaxRule", "PurchaseTaxRule"} <= set(sets["pricing"])
    assert {"CostingMethod", "InventoryAccount", "MinimumBeforeReorder", "ReorderQuantity",
            "SupplierProductCode", "SupplierFixedPrice"} <= set(sets["purchasing"])
    assert {"Length", "Width", "Height", "Weight", "WeightUnits", "DimensionUnits", "CartonQuantity",
            "DefaultUnitOfMeasure"} <= set(sets["dimensions"])


def test_setup_set_is_derived_from_the_column_table(monkeypatch):
    monkeypatch.setattr(cols, "required_when_active", lambda: ("ProductCode", "Name", "Category", "Barcode"))
    assert column_sets.choose("SETUP").names == ("ProductCode", "Name", "Category", "Barcode", "Status")


def test_a_list_of_names_any_case_keeps_its_order_after_code_and_name():
    choice = column_sets.choose(" status, pricetier1 ,NAME,PriceTier1,productcode")
    assert choice.names == ("ProductCode", "Name", "Status", "PriceTier1") and choice.set_name == "list"
    assert column_sets.choose(None).is_all and column_sets.choose("").names == cols.names()


def test_a_set_file_of_ones_own(ex, tmp_path):
    mine = tmp_path / "weekly.txt"
    mine.write_text("# my weekly check\n\nBrand\n  Category  \n# PriceTier2\nPriceTier1\n", encoding="utf-8")
    out = tmp_path / "weekly.xlsx"
    result = ex.json("export", out, "--columns", mine)
    assert result["columns"] == ["ProductCode", "Name", "Brand", "Category", "PriceTier1"]
    assert result["column_set"] == str(mine)
    header, _ = header_and_rows(out)
    assert header == result["columns"]


@pytest.mark.parametrize("args, words", [
    (["--columns", "pricng"], ["not a column set or a column name", "did you mean the column set pricing?"]),
    (["--columns", "Name,Catgory"], ["'Catgory' is not a column", "did you mean Category?"]),
    (["--columns", "my-set.txt"], ["no such column set file", "setup"]),
    (["--category", "hardwre"], ["no product has that category", "did you mean 'Hardware'?"]),
    (["--brand", "Hafel"], ["no product has that brand", "did you mean 'Hafele'?"]),
    (["--code", "SOCK-[LM"], ["unclosed ["]),
    (["--changed-since", "2026-13-01"], ["is not a date", "YYYY-MM-DD"]),
    (["--changed-since", "2999-01-01"], ["is in the future"]),
])
def test_unknown_names_and_bad_filters_are_usage_errors_with_a_suggestion(ex, tmp_path, args, words):
    out = tmp_path / "x.xlsx"
    r = ex("export", out, *args, expect=2)
    for w in words:
        assert w in r.stderr, r.stderr
    assert not out.exists()


def test_columns_are_for_workbooks_not_for_cin7_csv_which_filters_all_the_same(ex, tmp_path):
    r = ex("export", tmp_path / "x.csv", "--columns", "pricing", expect=2)
    assert "--columns is for workbooks" in r.stderr
    from inventory_tools.csvio import read_records

    out = tmp_path / "hardware.csv"
    ex("export", out, "--category", "hardware", "--code", "0012?")
    header, records, _ = read_records(out.read_text(encoding="utf-8"))
    assert header == list(cols.names()) and [r[0] for r in records] == ["00123", "00124"]


# -- a subset workbook -------------------------------------------------------------------------
def _cell_formats(path) -> dict[str, tuple]:
    """Per column: (number format, data type and style of its first data cell, the column's
    dropdown, its width, the header's fill) as a spreadsheet shows them."""
    ws = openpyxl.load_workbook(path)["Inventory List"]
    lists = {}
    for dv in ws.data_validations.dataValidation:
        for rng in str(dv.sqref).split():
            lists[rng.split(":")[0].rstrip("0123456789")] = (dv.type, dv.formula1, dv.errorStyle)
    out = {}
    for head in ws[1]:
        cell = ws.cell(row=2, column=head.column)
        letter = head.column_letter
        out[head.value] = (cell.number_format, cell.data_type, cell.alignment.vertical, cell.fill.fgColor.rgb,
                           lists.get(letter), ws.column_dimensions[letter].width, head.fill.fgColor.rgb)
    return out


def test_subset_workbooks_look_and_type_like_the_full_export(ex, tmp_path):
    full = tmp_path / "full.xlsx"
    ex("export", full)
    whole = _cell_formats(full)
    for spec in ("setup", "pricing", "purchasing", "dimensions", "Status,Barcode,DefaultUnitOfMeasure,Sellable"):
        out = tmp_path / f"{spec[:8]}.xlsx"
        ex("export", out, "--columns", spec)
        part = _cell_formats(out)
        assert list(part)[:2] == ["ProductCode", "Name"]
        assert list(part) == list(column_sets.choose(spec).names)
        for name, fmt in part.items():
            assert fmt == whole[name], (spec, name)
    ws = openpyxl.load_workbook(tmp_path / "setup.xlsx")["Inventory List"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:G")


def test_subset_export_keeps_whole_rows_as_the_import_base(ex, tmp_path, store_path):
    out = tmp_path / "setup.xlsx"
    export_id = ex("export", out, "--columns", "setup", "--status", "Setup Required").stdout.strip()
    store = open_store(store_path)
    try:
        snapshot = store.state.export_snapshot(export_id)
        current = store.read_products(["Setup Required"])
    finally:
        store.close()
    assert list(snapshot.columns) == list(cols.names())
    pd.testing.assert_frame_equal(snapshot.reset_index(drop=True), current.reset_index(drop=True))
    header, rows = header_and_rows(out)
    assert header == list(column_sets.choose("setup").names) and set(rows) == SETUP_CODES


def test_manifest_and_json_record_the_columns_and_filters(ex, tmp_path):
    out = tmp_path / "p.xlsx"
    result = ex.json("export", out, "--columns", "pricing", "--category", "HARDWARE", "--category", "apparel",
                     "--code", "*-*", "--code", "00*", "--status", "active", "--changed-since", "2020-01-31")
    manifest = manifest_of(out)
    assert manifest["column_set"] == "pricing"
    assert manifest["columns"].split(",") == list(column_sets.choose("pricing").names)
    assert manifest["category"] == "Hardware | Apparel" and manifest["code"] == "*-* | 00*"
    assert manifest["changed_since"] == "2020-01-31T00:00:00Z" and manifest["statuses"] == "Active"
    assert result["filters"] == {"category": "Hardware | Apparel", "code": "*-* | 00*",
                                 "changed_since": "2020-01-31T00:00:00Z"}
    assert result["column_set"] == "pricing" and result["rows"] == 4
    text = " ".join(str(c.value) for c in openpyxl.load_workbook(out)["Instructions"]["A"] if c.value)
    assert "category Hardware | Apparel" in text and "Only the columns of the pricing set" in text
    ex("export", tmp_path / "f.xlsx")
    full = manifest_of(tmp_path / "f.xlsx")
    assert full["column_set"] == "all" and "columns" not in full and "category" not in full


# -- filters -----------------------------------------------------------------------------------
def _codes(ex, tmp_path, *args) -> set[str]:
    out = tmp_path / "f.xlsx"
    out.unlink(missing_ok=True)
    ex("export", out, *args)
    return set(header_and_rows(out)[1])


def test_filters_combine_with_each_other_and_with_status(ex, tmp_path):
    assert _codes(ex, tmp_path, "--category", " hardware ") == {"00123", "00124"}
    assert _codes(ex, tmp_path, "--category", "Hardware", "--category", "Grocery") == \
        {"00123", "00124", "TEA-ROOIBOS-250", "CAFÉ-CRÈME-1KG"}
    assert _codes(ex, tmp_path, "--brand", "sole mates") == {"SOCK-BLK-M", "SOCK-BLK-L"}
    assert _codes(ex, tmp_path, "--code", "sock-*") == {"SOCK-BLK-M", "SOCK-BLK-L"}
    assert _codes(ex, tmp_path, "--code", "SOCK-BLK-[L]", "--code", "00?2?") == {"SOCK-BLK-L", "00123", "00124"}
    assert _codes(ex, tmp_path, "--code", "*-*", "--status", "Setup Required") == {"XERO-GIFTCARD-50", "XERO-WRAP"}
    assert _codes(ex, tmp_path, "--category", "Apparel", "--code", "*-M") == {"SOCK-BLK-M"}
    assert _codes(ex, tmp_path, "--category", "Kitchen", "--status", "Active") == set()  # OLD-KETTLE is Deprecated


def test_changed_since_uses_the_stores_change_times(ex, tmp_path, store_path):
    db = sqlite3.connect(store_path)
    with db:
        db.execute("UPDATE products SET _changed_at = '2024-05-01T10:00:00Z'")
        db.execute(f"UPDATE products SET _changed_at = '2026-02-01T00:00:00Z' WHERE {qi(cols.KEY)} LIKE 'SOCK%'")
    db.close()
    assert _codes(ex, tmp_path, "--changed-since", "2026-01-31") == {"SOCK-BLK-M", "SOCK-BLK-L"}
    assert _codes(ex, tmp_path, "--changed-since", "2026-02-01T00:00:01Z") == set()
    assert len(_codes(ex, tmp_path, "--changed-since", "2024-05-01")) == 12
    # an import stamps what it changes
    edit = tmp_path / "edit.xlsx"
    ex("export", edit, "--columns", "Brand", "--code", "00123")
    wb = openpyxl.load_workbook(edit)
    wb["Inventory List"]["C2"] = "Häfele"
    wb.save(edit)
    ex("import", edit, "--yes")
    assert _codes(ex, tmp_path, "--changed-since", "2026-01-31") == {"SOCK-BLK-M", "SOCK-BLK-L", "00123"}


def test_an_edit_in_a_subset_file_changes_only_its_columns(ex, tmp_path):
    prices = tmp_path / "prices.xlsx"
    ex("export", prices, "--columns", "pricing", "--category", "Hardware")
    # meanwhile someone else changes a column the file does not hold
    other = tmp_path / "other.xlsx"
    ex("export", other, "--columns", "Category,Description", "--code", "00123")
    wb = openpyxl.load_workbook(other)
    wb["Inventory List"]["C2"], wb["Inventory List"]["D2"] = "Door hardware", ""
    wb.save(other)
    ex("import", other, "--yes")
    wb = openpyxl.load_workbook(prices)
    ws = wb["Inventory List"]
    letters = {c.value: c.column_letter for c in ws[1]}
    rows = {ws.cell(row=r, column=1).value: r for r in range(2, ws.max_row + 1)}
    ws[f"{letters['PriceTier1']}{rows['00123']}"] = 5.25
    ws[f"{letters['Name']}{rows['00124']}"] = "Brass Hinge 100 mm"
    wb.save(prices)
    result = ex.json("import", prices, "--yes")
    assert {(c["code"], c["column"], c["old"], c["new"]) for c in result["changes"]} == {
        ("00123", "PriceTier1", "4.95", "5.25"), ("00124", "Name", "Brass Hinge 100mm", "Brass Hinge 100 mm")}
    assert result["conflicts"] == []
    listed = {p["code"]: p for p in ex.json("list")["products"]}
    assert listed["00123"]["category"] == "Door hardware"  # not reverted by the pricing file
    again = ex.json("import", prices, "--dry-run")
    assert again["changes"] == []


def test_cin7_store_filters_in_memory_and_reads_changes_since_through_the_api(cin7_server, tmp_path, monkeypatch):
    from inventory_tools.exporting import export

    cin7_server.add_product(SKU="OLD-1", Name="Old", Category="Tools", LastModifiedOn="2020-01-01T00:00:00.000Z")
    cin7_server.add_product(SKU="NEW-1", Name="New", Category="Tools", LastModifiedOn="2026-11-01T00:00:00.000Z")
    cin7_server.add_product(SKU="NEW-2", Name="Newer", Category="Paint", LastModifiedOn="2026-11-02T00:00:00.000Z")
    monkeypatch.chdir(tmp_path)
    store = open_store("cin7core")
    try:
        result = export(store, tmp_path / "a.xlsx", categories=["tools"], changed_since="2026-01-01",
                        columns="setup")
        assert set(header_and_rows(tmp_path / "a.xlsx")[1]) == {"NEW-1"} and result.rows == 1
        assert any(c.path == "/product" and "modifiedsince" in c.query for c in cin7_server.calls)
        result = export(store, tmp_path / "b.xlsx", codes=["*-1"])
        assert set(header_and_rows(tmp_path / "b.xlsx")[1]) == {"OLD-1", "NEW-1"}
    finally:
        store.close()


def test_a_store_without_change_dates_says_so(ex, tmp_path, store_path):
    from inventory_tools.errors import UsageError
    from inventory_tools.stores.base import Store

    class NoDates(Store):  # a store with only the core: no change times
        kind = "test"

        def __init__(self, inner):
            self.inner, self.state = inner, inner.state

        def identity(self):
            return self.inner.identity()

        def describe(self):
            return "a test store"

        def close(self):
            self.inner.close()

        def read_products(self, statuses=None):
            return self.inner.read_products(statuses)

        def read_by_codes(self, codes):
            return self.inner.read_by_codes(codes)

        def apply(self, *a, **k):
            raise NotImplementedError

    from inventory_tools.exporting import export

    store = NoDates(open_store(store_path))
    try:
        with pytest.raises(UsageError, match="--changed-since is not supported by a test store"):
            export(store, tmp_path / "x.xlsx", changed_since="2026-01-01")
        result = export(store, tmp_path / "y.xlsx", brands=["HAFELE"], statuses=["Active"])
        assert set(header_and_rows(tmp_path / "y.xlsx")[1]) == {"00123", "00124"} and result.rows == 2
    finally:
        store.close()


# -- the two ways of filtering agree -----------------------------------------------------------
_CODE_CHARS = "aAbB-_1é*?"
_GLOB_CHARS = "aAbB_1é*?[]^"


@settings(max_examples=150, deadline=None)
@given(codes=st.lists(st.text(_CODE_CHARS, min_size=1, max_size=6), min_size=1, max_size=12, unique=True),
       globs=st.lists(st.text(_GLOB_CHARS, min_size=1, max_size=5), min_size=1, max_size=3),
       cats=st.lists(st.sampled_from(["Tools", "Paint", ""]), min_size=12, max_size=12),
       pick=st.sets(st.sampled_from(["Tools", "Paint"])))
def test_sql_and_in_memory_filters_agree(codes, globs, cats, pick):
    try:
        globs = check_globs(globs)
    except Exception:  # noqa: BLE001 - an unclosed [ is refused before any store sees it
        return
    frame = pd.DataFrame({cols.KEY: codes, "Category": cats[:len(codes)], "Brand": "", cols.STATUS: "Active"})
    match = ProductFilter(categories=tuple(sorted(pick)), codes=globs)
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE products ({qi(cols.KEY)}, Category, Brand, {qi(cols.STATUS)}, _changed_at)")
    db.executemany("INSERT INTO products VALUES (?,?,?,?,NULL)", frame.itertuples(index=False, name=None))
    where, params = match.sql(qi)
    in_sql = {r[0] for r in db.execute(f"SELECT {qi(cols.KEY)} FROM products{where}", params)}
    in_memory = set(frame[cols.KEY][match.mask(frame)])
    assert in_sql == in_memory, (globs, where, params)
