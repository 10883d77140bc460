"""Problems that were there before do not block your edits (#16 §2): an error in cells the file
did not change is reported as already in the store, apart, and does not block; --strict blocks."""
import pytest

from inventory_tools.changes import CellChange, ChangeSet, empty_products
from inventory_tools.stores import open_store

from tests.helpers import edit, export_xlsx, product, sheet

LEGACY = {  # what a real Cin7 account holds and our rules reject
    "00123": {"AssemblyBOM": "Yes", "QuantityToProduce": "0"},  # a BOM with nothing to produce
    "00124": {"PriceTier1": "1.123456"},  # more decimal places than the column keeps
    "SOCK-BLK-M": {"Category": ""},  # an Active product without a category
}


@pytest.fixture
def legacy(ex):
    """The example store with legacy data written behind validation's back (as a sync or Cin7 would)."""
    store = open_store(ex.store)
    changes = [CellChange(code, column, product(ex, code)[column] or "", new)
               for code, cells in LEGACY.items() for column, new in cells.items()]
    store.apply(ChangeSet(creates=empty_products(), updates=changes), kind="import", source="legacy",
                base_export_id=None, counts={})
    store.close()
    return ex


def errors(report, preexisting):
    return sorted((p["cell"], p["rule"]) for p in report["problems"]
                  if p["severity"] == "error" and p["preexisting"] is preexisting)


def test_legacy_errors_do_not_block_an_unrelated_edit(legacy):
    out, _ = export_xlsx(legacy)
    edit(out, {("SOCK-BLK-L", "PriceTier1"): 14.5, ("00123", "Name"): "Brass Hinge 75 mm"})
    report = legacy.json("validate", out)
    assert report["valid"] and report["errors"] == 0 and report["preexisting"] == 3
    assert [rule for _, rule in errors(report, True)] == ["assembly.quantity_to_produce", "decimal.places",
                                                          "active.required"] or \
        sorted(rule for _, rule in errors(report, True)) == ["active.required", "assembly.quantity_to_produce",
                                                             "decimal.places"]
    assert errors(report, False) == []
    applied = legacy.json("import", out, "--yes")
    assert applied["applied"] and {(c["code"], c["column"]) for c in applied["changes"]} == \
        {("SOCK-BLK-L", "PriceTier1"), ("00123", "Name")}
    assert product(legacy, "00124")["PriceTier1"] == "1.123456"  # the refused cell was not cleared
    assert product(legacy, "00123")["QuantityToProduce"] == "0" and product(legacy, "SOCK-BLK-M")["Category"] is None


def test_strict_blocks_them_as_before(legacy):
    out, _ = export_xlsx(legacy)
    edit(out, {("SOCK-BLK-L", "PriceTier1"): 14.5})
    report = legacy.json("validate", out, "--strict", expect=1)
    assert not report["valid"] and report["errors"] == 3 and report["preexisting"] == 3
    assert not legacy.json("import", out, "--strict", "--yes", expect=1)["applied"]
    assert product(legacy, "SOCK-BLK-L")["PriceTier1"] != "14.5"


@pytest.mark.parametrize("cell, value, rule", [
    (("00124", "PriceTier1"), "2.123456", "decimal.places"),  # the bad cell itself, changed
    (("00123", "QuantityToProduce"), None, "assembly.quantity_to_produce"),  # a cell the rule involves
    (("SOCK-BLK-M", "DefaultUnitOfMeasure"), None, "active.required"),  # a new error beside the old one
])
def test_changing_a_cell_a_rule_involves_blocks(legacy, cell, value, rule):
    out, _ = export_xlsx(legacy)
    edit(out, {cell: value})
    report = legacy.json("validate", out, expect=1)
    assert [r for c, r in errors(report, False)] == [rule]
    assert len(errors(report, True)) == 3 - (cell[1] != "DefaultUnitOfMeasure")  # the others stay apart
    assert not legacy.json("import", out, "--yes", expect=1)["applied"]


def test_a_file_without_a_base_is_compared_with_the_store(legacy, tmp_path):
    header = ["ProductCode", "PriceTier1"]
    same = legacy.json("validate", sheet(tmp_path / "same.xlsx", header, [["00124", "1.123456"]]))
    assert same["valid"] and [r for _, r in errors(same, True)] == ["decimal.places"]
    other = legacy.json("validate", sheet(tmp_path / "other.xlsx", header, [["00124", "1.654321"]]), expect=1)
    assert [r for _, r in errors(other, False)] == ["decimal.places"]


def test_a_new_row_with_an_error_blocks(legacy):
    out, _ = export_xlsx(legacy)
    edit(out, {("NEW-1", "Name"): "New", ("NEW-1", "Status"): "Setup Required", ("NEW-1", "PriceTier1"): "1.123456"})
    report = legacy.json("validate", out, expect=1)
    assert ("decimal.places" in [r for _, r in errors(report, False)])


def test_the_summary_and_json_show_the_two_kinds_apart(legacy):
    out, _ = export_xlsx(legacy)
    result = legacy("validate", out)
    assert "3 already in the store" in result.stderr and "--strict" in result.stderr


def test_the_report_workbook_shows_them_apart(legacy, tmp_path):
    import openpyxl

    out, _ = export_xlsx(legacy)
    edit(out, {("SOCK-BLK-L", "PriceTier1"): 1.123456})  # a new error beside the three in the store
    legacy("validate", out, "--report", tmp_path / "report.xlsx", expect=1)
    ws = openpyxl.load_workbook(tmp_path / "report.xlsx")["Problems"]
    head = [c.value for c in ws[1]]
    rows = [dict(zip(head, (c.value for c in r))) for r in ws.iter_rows(min_row=2)]
    kinds = {(r["ProductCode"], r["Rule"]): r["Severity"] for r in rows if r["Severity"] != "warning"}
    assert kinds == {("00123", "assembly.quantity_to_produce"): "in store", ("00124", "decimal.places"): "in store",
                     ("SOCK-BLK-M", "active.required"): "in store", ("SOCK-BLK-L", "decimal.places"): "error"}
