"""validation.validate: a corpus of broken workbooks built here, each asserting rule and cell."""
from __future__ import annotations

import datetime as dt
import json
import string
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory_tools import columns as cols
from inventory_tools import validation
from inventory_tools.changes import ChangeSet
from inventory_tools.stores.sqlite import SqliteStore
from inventory_tools.validation import validate, write_json, write_xlsx
from inventory_tools.xlsx import report as xlsx_report
from inventory_tools.xlsx import report_problems

SAMPLE = Path(__file__).parent / "data" / "samples" / "dear_inventorylist_export_live_2026-07-03.csv"
HEAD = ["ProductCode", "Name", "Category", "Type", "CostingMethod", "DefaultUnitOfMeasure", "Status"]


def good(code: str) -> list:
    return [code, f"Product {code}", "Pipes", "Stock", "FIFO", "Item", "Active"]


from tests.helpers.workbooks import write_wb  # noqa: E402


def one(rep, rule):
    found = [p for p in rep.problems if p.rule == rule]
    assert len(found) == 1, (rule, [(p.rule, p.cell, p.message) for p in rep.problems])
    return found[0]


def rules(rep):
    return sorted((p.rule, p.cell) for p in rep.problems)


def product(code: str, **kw) -> dict:
    r = {n: "" for n in cols.names()}
    r.update(ProductCode=code, Name=f"Product {code}", Category="Pipes", Type="Stock", CostingMethod="FIFO",
             DefaultUnitOfMeasure="Item", Status="Active")
    r.update(kw)
    return r


def make_store(tmp_path, *products) -> SqliteStore:
    st_ = SqliteStore(tmp_path / "store.db")
    if products:
        st_.apply(ChangeSet(creates=pd.DataFrame(list(products))), kind="test", source="test",
                  base_export_id=None, counts={})
    return st_


# -- cells ------------------------------------------------------------------------------------
def test_enum_message_points_at_the_cell(tmp_path):
    rows = [good(f"P{i}") for i in range(15)] + [good("BAD")]
    rows[-1][6] = "Actvie"
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD, rows))
    p = one(rep, "enum.value")
    assert (p.sheet, p.cell, p.row, p.column, p.value) == ("Inventory List", "G17", 17, "Status", "Actvie")
    assert p.message == "Status 'Actvie' is not one of Active, Setup Required, Deprecated"
    assert p.ref == "Inventory List!G17" and p.severity == "error"
    assert not rep.valid and rep.errors == 1
    assert rep.row_valid.tolist() == [True] * 15 + [False]


def test_enums_and_bools_case_insensitive_are_canonical(tmp_path):
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD + ["Sellable", "DropShip"],
                            [good("A")[:6] + ["ACTIVE", "yes", "optional drop ship"],
                             good("B")[:6] + ["setup required", False, "No Drop Ship"]]))
    assert rep.valid and rep.problems == []
    assert rep.frame["Status"].tolist() == ["Active", "Setup Required"]
    assert rep.frame["Sellable"].tolist() == ["Yes", "No"]
    assert rep.frame["DropShip"].tolist() == ["Optional Drop Ship", "No Drop Ship"]


def test_bad_bool(tmp_path):
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD + ["Sellable"], [good("A") + ["maybe"]]))
    assert one(rep, "enum.bool").cell == "H2"


def test_identifier_number_accepted_when_no_digits_lost(tmp_path):
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD + ["Barcode"], [[123.0] + good("x")[1:] + [4006381333931]]))
    assert rep.problems == []
    assert rep.frame["ProductCode"].tolist() == ["123"] and rep.frame["Barcode"].tolist() == ["4006381333931"]


def test_identifier_digits_lost(tmp_path):
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD + ["Barcode"],
                            [good("A") + [1.2345678901234567e17], good("B") + [12345.5]]))
    assert rules(rep) == [("identifier.digits_lost", "H2"), ("identifier.digits_lost", "H3")]
    assert "digits were lost" in rep.problems[0].message and "Text" in rep.problems[0].hint


def test_identifier_in_scientific_notation_text(tmp_path):
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD + ["Barcode"], [good("A") + ["1.23457E+12"]]))
    p = one(rep, "identifier.scientific")
    assert p.cell == "H2" and p.value == "1.23457E+12"
    assert rep.frame["Barcode"].tolist() == [""]


def test_code_that_became_a_date(tmp_path):
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD + ["SupplierProductCode"],
                            [good("A") + [dt.datetime(2024, 3, 1)]]))
    assert one(rep, "identifier.date").cell == "H2"


def test_non_breaking_and_trailing_spaces_are_normalised_with_a_warning(tmp_path):
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD, [["A1 ", "Steel\u00a0Pipe\u00a0"] + good("x")[2:]]))
    assert rules(rep) == [("text.spaces", "A2"), ("text.spaces", "B2")]
    assert all(p.severity == "warning" for p in rep.problems) and rep.valid
    assert rep.frame["ProductCode"].tolist() == ["A1"] and rep.frame["Name"].tolist() == ["Steel Pipe"]


def test_numbers_stored_as_text_are_accepted_when_exact(tmp_path):
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD + ["PriceTier1", "PriceTier2"],
                            [good("A") + ["12.50", " 7 "], good("B") + ["1,234.00", "12 dollars"]]))
    assert rep.frame["PriceTier1"].tolist()[0] == "12.5" and rep.frame["PriceTier2"].tolist()[0] == "7"
    assert rules(rep) == [("decimal.lenient", "I2"), ("type.decimal", "H3"), ("type.decimal", "I3")]


def test_money_with_more_than_4_decimals(tmp_path):
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD + ["PriceTier1", "AverageCost", "SupplierFixedPrice"],
                            [good("A") + [1.23456, "2.5", "1.1234567"],
                             good("B") + ["1.2345", "0.00001", "1.12345678"]]))
    assert rules(rep) == [("decimal.places", "H2"), ("decimal.places", "I3"), ("decimal.places", "J3")]
    p = rep.problems[0]
    assert p.message == "PriceTier1 1.23456 has 5 decimal places; at most 4 are kept"


def test_negative_numbers_and_too_long_text(tmp_path):
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD + ["PriceTier2", "Brand"],
                            [good("A") + [-1, "B" * 51], good("B") + [0, "B" * 50]]))
    assert rules(rep) == [("decimal.negative", "H2"), ("text.too_long", "I2")]
    assert "51 characters" in rep.problems[1].message and "50" in rep.problems[1].message


def test_a_cell_is_reported_under_every_value_rule_it_breaks_once_it_holds_a_number(tmp_path):
    # one round of fixes clears the cell: the sign and the places both named; a cell that is not a
    # number ('-abc', '12,5') is only that (its sign or length means nothing yet)
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD + ["PriceTier1", "PriceTier2", "Weight"],
                            [good("A") + ["-1.123456", -2.123456, "-abc"], good("B") + [-1, "12,5", "-1.5"]]))
    assert rules(rep) == [("decimal.negative", "H2"), ("decimal.negative", "H3"), ("decimal.negative", "I2"),
                          ("decimal.negative", "J3"), ("decimal.places", "H2"), ("decimal.places", "I2"),
                          ("type.decimal", "I3"), ("type.decimal", "J2")]
    assert rep.row_valid.tolist() == [False, False]


def test_error_cell_and_formula_without_value_are_not_reported_twice(tmp_path):
    path = tmp_path / "a.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Inventory List")
    ws.write_row(0, 0, HEAD)
    ws.write_row(1, 0, good("A"))
    ws.write_formula(1, 2, "=VLOOKUP(A2,X:Y,2,0)", None, "#N/A")  # Category
    wb.close()
    rep = validate(path)
    assert rules(rep) == [("cell.error", "C2")]
    assert rep.row_valid.tolist() == [False]


def test_lazy_all_problems_in_one_row_and_file(tmp_path):
    rows = [good("A")[:3] + ["Stok", "LIFO", "Item", "Actvie"] + ["abc", "x" * 60]]
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD + ["PriceTier1", "Brand"], rows))
    assert rules(rep) == [("enum.value", "D2"), ("enum.value", "E2"), ("enum.value", "G2"),
                          ("text.too_long", "I2"), ("type.decimal", "H2")]


def test_no_cap_on_the_number_of_problems(tmp_path):
    rows = [good(f"P{i}")[:6] + ["Nope"] for i in range(600)]
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD, rows))
    assert rep.errors == 600 and len(rep.problems) == 600
    assert rep.problems[-1].cell == "G601"


# -- rows -------------------------------------------------------------------------------------
def test_duplicate_codes_differing_by_case_or_spaces(tmp_path):
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD, [good("AB C"), good("X"), good("abc"), good("AB C")]))
    assert rules(rep) == [("code.duplicate", "A4"), ("code.duplicate", "A5")]
    assert "A2" in rep.problems[0].message


def test_blank_product_code(tmp_path):
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD, [[None] + good("x")[1:]]))
    assert one(rep, "required.missing").cell == "A2"


def test_active_needs_setup_columns(tmp_path):
    row = good("A")
    row[2] = None  # Category
    row[5] = ""  # DefaultUnitOfMeasure
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD, [row, good("B")[:6] + ["Setup Required"]]))
    assert rules(rep) == [("active.required", "C2"), ("active.required", "F2")]
    assert rep.problems[0].message == "Category is required for an Active product"


def test_active_rule_merges_blank_cells_with_the_store(tmp_path):
    store = make_store(tmp_path, product("A", Category="Pipes", Status="Setup Required"))
    row = good("A")
    row[2] = None
    path = write_wb(tmp_path / "a.xlsx", HEAD, [row])
    assert validate(path, store=store).problems == []  # blank = unchanged: the store has Category
    assert rules(validate(path)) == [("active.required", "C2")]  # no store: nothing to merge
    store.close()


def test_active_rule_with_a_base_blank_clears(tmp_path):
    store = make_store(tmp_path, product("A", Category="Pipes"))
    base = store.read_products()
    row = good("A")
    row[2] = None
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD, [row]), store=store, base=base)
    assert rules(rep) == [("active.required", "C2")]
    store.close()


def test_changing_into_setup_required_is_an_error(tmp_path):
    store = make_store(tmp_path, product("A"), product("B", Status="Setup Required"))
    rows = [good("A")[:6] + ["Setup Required"], good("B")[:6] + ["Setup Required"],
            good("NEW")[:6] + ["Setup Required"]]
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD, rows), store=store)
    p = one(rep, "status.into_setup_required")
    assert p.cell == "G2" and "Active" in p.message
    store.close()


def test_empty_store_does_not_fail_and_store_opened_lazily(tmp_path):
    opened = []

    def lazy():
        opened.append(1)
        return make_store(tmp_path)

    rows = [good("A")[:6] + ["Setup Required"]]
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD, rows), store=lazy)
    assert rep.valid and opened == [1]
    assert validate(write_wb(tmp_path / "c.xlsx", ["ProductCode", "PriceTier1"], [["A", 1]])).valid  # no store


@pytest.mark.parametrize("header", [["ProductCode", "PriceTier1"], ["ProductCode", "Name", "PriceTier1"],
                                    ["ProductCode", "Status", "PriceTier1"]])
def test_a_row_that_creates_a_product_needs_what_a_new_product_needs_whatever_the_columns(tmp_path, header):
    """A price list with a mistyped code would create a product: it needs a Name (and, being
    Active by default, the setup columns), whichever columns the file has (#13 §8)."""
    store = make_store(tmp_path, product("A-100"))
    row = {"ProductCode": "A-10O", "Name": "", "Status": "", "PriceTier1": 1}
    rep = validate(write_wb(tmp_path / "prices.xlsx", header, [[row[h] for h in header]]), store=store)
    assert not rep.valid
    assert {p.column for p in rep.problems if p.severity == "error"} >= {"Name", "Category", "Type"}
    assert all(p.row == 2 for p in rep.problems)
    assert validate(write_wb(tmp_path / "ok.xlsx", header, [[row[h] if h != "ProductCode" else "A-100"
                                                              for h in header]]), store=store).valid
    store.close()


def test_fixed_asset_type_only_with_fixed_asset(tmp_path):
    h = HEAD + ["FixedAssetType"]
    rows = [good("A") + ["Vehicle"], good("B")[:3] + ["Fixed Asset"] + good("B")[4:] + ["Vehicle"]]
    rep = validate(write_wb(tmp_path / "a.xlsx", h, rows))
    assert rules(rep) == [("fixed_asset_type.type", "H2")]


def test_quantity_to_produce_with_assembly_bom(tmp_path):
    h = HEAD + ["AssemblyBOM", "QuantityToProduce"]
    rows = [good("A") + ["Yes", 0], good("B") + ["Yes", None], good("C") + ["Yes", 1], good("D") + ["No", 0]]
    rep = validate(write_wb(tmp_path / "a.xlsx", h, rows))
    assert rules(rep) == [("assembly.quantity_to_produce", "I2"), ("assembly.quantity_to_produce", "I3")]


@pytest.mark.parametrize("code, ok", [("4006381333931", True), ("4006381333932", False), ("036000291452", True),
                                      ("036000291453", False), ("96385074", True), ("96385075", False),
                                      ("ABC123", True), ("12345", True)])
def test_barcode_check_digits(tmp_path, code, ok):
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD + ["Barcode"], [good("A") + [code]]))
    assert rep.valid
    if ok:
        assert rep.problems == []
    else:
        p = one(rep, "barcode.check_digit")
        assert p.severity == "warning" and p.cell == "H2"
        right = {"4006381333932": "1", "036000291453": "2", "96385075": "4"}[code]  # the code above it
        assert f"check digit is wrong (expected {right})" in p.message


def test_read_only_edit_is_ignored_with_a_warning(tmp_path):
    store = make_store(tmp_path, product("A", AverageCost="1.5"), product("B", AverageCost="2"))
    base = store.read_products()
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD + ["AverageCost"], [good("A") + [2], good("B") + ["2.0000"]]),
                   store=store, base=base)
    p = one(rep, "read_only.ignored")
    assert p.cell == "H2" and p.severity == "warning" and rep.valid
    store.close()


def test_leading_zeros_lost_against_the_base(tmp_path):
    store = make_store(tmp_path, product("00042", Barcode="0012345"), product("B7", Barcode="0099"))
    base = store.read_products()
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD + ["Barcode"], [[42.0] + good("x")[1:] + ["0012345"],
                                                                     good("B7") + [99]]),
                   store=store, base=base)
    assert rules(rep) == [("identifier.leading_zeros", "A2"), ("identifier.leading_zeros", "H3")]
    assert "'0099'" in rep.problems[1].message
    store.close()


# -- whole files ------------------------------------------------------------------------------
def test_cin7_sample_has_zero_errors():
    rep = validate(SAMPLE)
    assert rep.valid and rep.errors == 0
    assert {p.rule for p in rep.problems} <= {"barcode.check_digit"}
    assert len(rep.frame) == 100
    assert set(rep.frame["Status"]) == {"Active"}
    assert rep.problems and rep.problems[0].cell.startswith("record ")


def test_exported_workbook_round_trips_with_zero_problems(tmp_path):
    from inventory_tools.exporting import export

    store = make_store(tmp_path, product("00123", Barcode="0012345678905", PriceTier1="12.5",
                                         Name='=HYPERLINK("http://x")', Description="+SUM(1)\nline 2"),
                       product("B", Status="Setup Required", Category="", AverageCost="1.5875"),
                       product("C", Status="Deprecated", SupplierFixedPrice="1.1234567", QuantityToProduce="1"))
    res = export(store, tmp_path / "inv.xlsx")
    rep = validate(tmp_path / "inv.xlsx", store=store)
    assert rep.problems == [] and rep.base_export_id == res.export_id
    got = rep.frame.set_index("ProductCode")
    assert got.loc["00123", "Name"] == '=HYPERLINK("http://x")' and got.loc["00123", "Barcode"] == "0012345678905"
    assert got.loc["C", "SupplierFixedPrice"] == "1.1234567"
    store.close()


def test_to_json_shape(tmp_path):
    rows = [good("A")[:6] + ["Actvie"]]
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD, rows))
    data = json.loads(json.dumps(rep.to_json()))
    assert data["valid"] is False and data["errors"] == 1 and data["warnings"] == 0
    assert data["problems"] == [{"sheet": "Inventory List", "row": 2, "column": "Status", "cell": "G2",
                                 "value": "Actvie", "rule": "enum.value", "severity": "error", "preexisting": False,
                                 "message": "Status 'Actvie' is not one of Active, Setup Required, Deprecated",
                                 "hint": rep.problems[0].hint}]
    out = write_json(rep, tmp_path / "r.json")
    assert json.loads(out.read_text())["problems"][0]["cell"] == "G2"


def test_xlsx_report_marks_cells_and_lists_problems(tmp_path, monkeypatch):
    rows = [good("A")[:6] + ["Actvie"], ['=cmd|" /C calc"!A0'] + good("x")[1:6] + ["nope"],
            good("C")[:6] + ["bad"]]
    src = write_wb(tmp_path / "a.xlsx", HEAD + ["Notes"], [r + ["mine"] for r in rows])
    # the second code cell is a formula without a cached value (openpyxl stores it as a formula)
    monkeypatch.setattr(report_problems, "COMMENT_LIMIT", 2)
    rep = validate(src)
    out = write_xlsx(rep, tmp_path / "report.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "Problems" and "Inventory List" in wb.sheetnames
    ps = wb["Problems"]
    assert [c.value for c in ps[1]] == report_problems.PROBLEMS_HEAD
    listed = [(r[0].value, r[9].value) for r in ps.iter_rows(min_row=2)]
    assert listed == [(f"Inventory List!{p.cell}", p.rule) for p in rep.problems]
    first = ps["A2"]
    assert first.hyperlink.location == f"'Inventory List'!{rep.problems[0].cell}"
    ws = wb["Inventory List"]
    for p in rep.problems:  # fills never stop
        assert ws[p.cell].fill.fgColor.rgb.endswith("FFC7CE" if p.severity == "error" else "FFEB9C")
    assert any(p.rule == "header.unknown" and p.cell == "H1" for p in rep.problems)
    commented = {p.cell for p in rep.problems if ws[p.cell].comment is not None}
    assert len(commented) == 2 < len({p.cell for p in rep.problems})  # comments stop at the limit
    assert ws["H2"].value == "mine"  # the user's other data is kept
    # no formula was written into the Problems sheet, even for a formula-looking value
    with zipfile.ZipFile(out) as z:
        names = {n for n in z.namelist() if n.startswith("xl/worksheets/sheet")}
        problems_xml = z.read(sorted(names)[0]).decode()
    assert "cmd|" in problems_xml  # the formula-looking value is there, as text
    assert "<f>" not in problems_xml and "<f " not in problems_xml


def _report_source(tmp_path) -> Path:
    """A workbook a manager edited: wrong Status words, a blank Category, a formula typed in."""
    path = tmp_path / "edited.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Inventory List")
    ws.write_row(0, 0, HEAD + ["PriceTier1"])
    ws.write_row(1, 0, good("OK-1") + [5])
    ws.write_row(2, 0, ["BAD-2", "Brass elbow", "", "Stok", "FIFO", "Item", "Active"])
    ws.write_row(3, 0, good("WARN-3")[:7])
    ws.write_formula(3, 7, "=2*3", None, 6)  # typed by the manager: read by its saved value
    ws.write_row(4, 0, ["BAD-4", "Copper tee", "Pipes", "Stock", "FIFO", "Item", "Gone"])
    ws.write_number(4, 7, -1)
    wb.close()
    return path


@pytest.mark.parametrize("path_kind", ["copy", "rebuilt"])
def test_xlsx_report_reads_without_help(tmp_path, monkeypatch, path_kind):
    if path_kind == "rebuilt":
        monkeypatch.setattr(xlsx_report, "COPY_LIMIT", 0)
    rep = validate(_report_source(tmp_path))
    out = write_xlsx(rep, tmp_path / "report.xlsx")
    wb = openpyxl.load_workbook(out)
    ps = wb["Problems"]
    head = [c.value for c in ps[1]]
    assert head == ["Cell", "ProductCode", "Name", "Column", "Value", "Severity", "Problem", "Message", "Fix", "Rule"]
    rows = [dict(zip(head, (c.value for c in r))) for r in ps.iter_rows(min_row=2)]
    # sorted by row, then column; the product's code and name beside each problem
    assert [(r["Cell"], r["ProductCode"], r["Name"], r["Rule"]) for r in rows] == [
        ("Inventory List!C3", "BAD-2", "Brass elbow", "active.required"),
        ("Inventory List!D3", "BAD-2", "Brass elbow", "enum.value"),
        ("Inventory List!H4", "WARN-3", "Product WARN-3", "cell.formula"),
        ("Inventory List!G5", "BAD-4", "Copper tee", "enum.value"),
        ("Inventory List!H5", "BAD-4", "Copper tee", "decimal.negative")]
    titles = validation.rules()
    assert all(r["Problem"] == titles[r["Rule"]] and r["Problem"] != r["Rule"] for r in rows)
    assert rows[2]["Severity"] == "warning" and "=2*3" in rows[2]["Message"]
    # readable: message and fix wide and wrapped, the rule id narrow; header frozen and filterable
    width = {h: ps.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].width for i, h in enumerate(head)}
    assert width["Message"] >= 60 and width["Fix"] >= 50 and width["Rule"] < width["Problem"] < width["Message"]
    for h in ("Message", "Fix", "Problem"):
        assert ps.cell(row=2, column=head.index(h) + 1).alignment.wrap_text
    assert ps.freeze_panes == "A2" and ps.auto_filter.ref == f"A1:J{len(rows) + 1}"
    # the data sheet: bad cells filled and commented, each problem row's first cell marked
    data = wb["Inventory List"]
    red, yellow = "FFC7CE", "FFEB9C"
    fill = {c.coordinate: c.fill.fgColor.rgb[-6:] for row in data.iter_rows() for c in row
            if c.fill.fill_type == "solid"}
    assert fill == {"C3": red, "D3": red, "A3": red, "H4": yellow, "A4": yellow, "G5": red, "H5": red, "A5": red}
    assert {c for c in ("C3", "D3", "H4", "G5", "H5") if data[c].comment is None} == set()
    assert data["H4"].comment.text.startswith("warning: PriceTier1 is a formula")
    assert data["A1"].value == "ProductCode" and data["B3"].value == "Brass elbow"
    assert data.freeze_panes == "A2" and data.auto_filter.ref is not None


def test_xlsx_report_for_csv_input(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("ProductCode,Name,Status\nA,n,Actvie\nB,\"=1+1\",Deprecated\n", encoding="utf-8")
    rep = validate(p)
    assert rules(rep) == [("enum.value", "record 1 (line 2)")]
    out = write_xlsx(rep, tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb["Problems"]["A2"].value == "Inventory List!C2"
    data = wb["Inventory List"]
    assert data["C2"].fill.fgColor.rgb.endswith("FFC7CE") and data["B3"].value == "=1+1"
    assert data["B3"].data_type == "s"


# -- property: any valid product table written as xlsx validates with zero errors ------------
_TEXT = st.text(alphabet=string.ascii_letters + string.digits + " -_/.=+@#&'\"", min_size=1, max_size=20) \
    .map(str.strip).filter(bool)
_DEC = st.decimals(min_value=0, max_value=10 ** 6, places=4, allow_nan=False, allow_infinity=False)
_ENUM = {c.name: c.values for c in cols.columns() if c.type in ("enum", "bool")}


@st.composite
def product_tables(draw):
    n = draw(st.integers(1, 12))
    codes = draw(st.lists(st.text(alphabet=string.ascii_uppercase + string.digits + "-", min_size=1, max_size=12),
                          min_size=n, max_size=n, unique_by=lambda s: s.casefold()))
    rows = []
    for code in codes:
        r = {"ProductCode": code, "Name": draw(_TEXT), "Category": draw(_TEXT), "Type": draw(st.sampled_from(
            ["Stock", "Service"])), "CostingMethod": draw(st.sampled_from(_ENUM["CostingMethod"])),
            "DefaultUnitOfMeasure": draw(_TEXT), "Status": draw(st.sampled_from(_ENUM["Status"])),
            "Brand": draw(_TEXT), "Barcode": draw(st.from_regex(r"0[0-9]{3,6}", fullmatch=True)),
            "PriceTier1": draw(_DEC), "Sellable": draw(st.sampled_from(["Yes", "No"])),
            "Description": draw(_TEXT)}
        rows.append(r)
    return rows


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=product_tables())
def test_property_valid_tables_validate_with_zero_errors(tmp_path, rows):
    path = tmp_path / "p.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False})
    ws = wb.add_worksheet("Inventory List")
    header = list(rows[0])
    ws.write_row(0, 0, header)
    for i, r in enumerate(rows, start=1):
        for j, name in enumerate(header):
            v = r[name]
            if name == "PriceTier1":
                ws.write_number(i, j, float(v))
            else:
                ws.write_string(i, j, v)
    wb.close()
    rep = validate(path)
    assert rep.errors == 0, [(p.rule, p.cell, p.message) for p in rep.problems]
    assert rep.frame["ProductCode"].tolist() == [r["ProductCode"] for r in rows]
    assert rep.frame["Barcode"].tolist() == [r["Barcode"] for r in rows]


@settings(max_examples=300, deadline=None)
@given(d=st.decimals(min_value=-(10 ** 12 - 1), max_value=10 ** 12 - 1, places=4, allow_nan=False,
                     allow_infinity=False))
def test_a_typed_decimal_reads_back_as_itself_from_its_number_cell(d):
    """A decimal of at most 15 significant digits typed into a number cell (stored as the nearest
    float) reads back as exactly that decimal: the expected text comes from the decimal itself."""
    from decimal import Decimal

    from inventory_tools.values import parse_decimal

    if len(d.normalize().as_tuple().digits) > 15:
        d = Decimal(format(d, ".15g"))  # a spreadsheet keeps 15 digits: type only what it keeps
    expected = "0" if d == 0 else format(d.normalize(), "f")
    expected = expected.rstrip("0").rstrip(".") if "." in expected else expected
    assert parse_decimal(float(d)) == (expected, None)


# -- property: any store content, exported by our exporter, validates with zero errors --------
_PRINTABLE = st.characters(min_codepoint=32, max_codepoint=0x2FFF, blacklist_categories=("Cs", "Cc", "Zl", "Zp"))


def _value(draw, c):
    if c.type == "decimal":
        places = c.decimals or 4
        d = draw(st.decimals(min_value=0, max_value=10 ** max(1, 14 - places), places=places,
                             allow_nan=False, allow_infinity=False))
        from inventory_tools.values import decimal_text

        return decimal_text(d)
    if c.type in ("enum", "bool"):
        return draw(st.sampled_from(("",) + c.values))
    if c.type == "account":
        return draw(st.sampled_from(["", "310", "200: Sales", "0420"]))
    if c.identifier:
        return draw(st.from_regex(r"(0{0,3}[0-9]{1,12}|[A-Z0-9][A-Z0-9-]{0,10})", fullmatch=True))
    m = min(c.max_length or 30, 30)
    return draw(st.text(alphabet=_PRINTABLE, max_size=m).map(lambda s: s.replace("\u00a0", " ").strip()))


@st.composite
def store_products(draw):
    n = draw(st.integers(1, 6))
    codes = draw(st.lists(st.from_regex(r"[A-Z0-9][A-Z0-9-]{0,10}", fullmatch=True), min_size=n, max_size=n,
                          unique_by=lambda s: s.casefold()))
    out = []
    for code in codes:
        r = {c.name: _value(draw, c) for c in cols.columns()}
        r["ProductCode"] = code
        r["Status"] = draw(st.sampled_from(cols.statuses()))
        if r["Status"] == "Active":
            for name in ("Name", "Category", "Type", "CostingMethod", "DefaultUnitOfMeasure"):
                if not r[name]:
                    r[name] = cols.column(name).values[0] if cols.column(name).values else "x"
        if r["Type"] != "Fixed Asset":
            r["FixedAssetType"] = ""
        if r["AssemblyBOM"] == "Yes":
            r["QuantityToProduce"] = "1"
        if not r["Name"]:
            r["Name"] = "n"
        r["Description"] = draw(st.text(alphabet=st.one_of(_PRINTABLE, st.just("\n")), max_size=40)
                                .map(lambda s: s.replace("\u00a0", " ").strip()))  # NBSP is normalised (warned)
        out.append(r)
    return out


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(products=store_products())
def test_property_store_content_exported_validates_with_zero_errors(tmp_path_factory, products):
    from inventory_tools.exporting import export

    d = tmp_path_factory.mktemp("prop")
    store = make_store(d, *products)
    try:
        export(store, d / "inv.xlsx")
        rep = validate(d / "inv.xlsx", store=store)
        assert rep.errors == 0, [(p.rule, p.cell, p.value, p.message) for p in rep.problems]
        got = rep.frame.set_index("ProductCode")
        for p in products:  # every value read back exactly (the base makes blank mean blank)
            for name in ("Name", "Barcode", "PriceTier1", "SupplierFixedPrice", "Status", "HSCode"):
                assert got.loc[p["ProductCode"], name] == p[name], name
        export(store, d / "inv.csv")  # Cin7's CSV format too
        rep = validate(d / "inv.csv", store=store)
        assert rep.errors == 0, [(p.rule, p.cell, p.value, p.message) for p in rep.problems]
        got = rep.frame.set_index("ProductCode")
        for p in products:
            for name in ("Name", "Barcode", "PriceTier1", "Status", "Description"):
                assert got.loc[p["ProductCode"], name] == p[name], name
    finally:
        store.close()


@pytest.mark.parametrize("code, flagged", [("1.23457E+12", True), ("8.1E+11", True), ("1E5", False),
                                           ("12E3", False), ("E12", False)])
def test_scientific_notation_only_as_a_spreadsheet_shows_it(tmp_path, code, flagged):
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD, [[code] + good("x")[1:]]))
    assert ([p.rule for p in rep.problems] == ["identifier.scientific"]) is flagged
    assert rep.valid is not flagged


from tests.helpers.workbooks import ODS_ERROR, ods, ods_number, ods_text  # noqa: E402


def test_xlsx_report_for_ods_input(tmp_path):
    rows = (f"<table:table-row>{ods_text('ProductCode')}{ods_text('PriceTier1')}{ods_text('Status')}</table:table-row>"
            f"<table:table-row>{ods_text('A')}{ODS_ERROR}{ods_text('Deprecated')}</table:table-row>"
            f"<table:table-row>{ods_text('B')}{ods_number(1.5)}{ods_text('Gone')}</table:table-row>")
    rep = validate(ods(tmp_path / "a.ods", rows))
    assert rules(rep) == [("cell.error", "B2"), ("enum.value", "C3")]
    wb = openpyxl.load_workbook(write_xlsx(rep, tmp_path / "r.xlsx"))
    assert [r[0].value for r in wb["Problems"].iter_rows(min_row=2)] == ["Inventory List!B2", "Inventory List!C3"]
    data = wb["Inventory List"]
    assert data["B3"].value == 1.5 and data["C3"].comment is not None


def test_manifest_from_a_newer_schema_is_warned(tmp_path):
    path = write_wb(tmp_path / "a.xlsx", HEAD, [good("A")])
    wb = openpyxl.load_workbook(path)
    m = wb.create_sheet("_manifest")
    m.append(["schema_version", "99"])
    wb.save(path)
    rep = validate(path)
    assert [(p.rule, p.severity) for p in rep.problems] == [("manifest.schema_version", "warning")] and rep.valid


def test_file_level_problems_in_the_summary(tmp_path):
    rep = validate(write_wb(tmp_path / "a.xlsx", ["Product Code", "Catgory"], [["A", "x"]]))
    from inventory_tools.render.render_validate import summary_lines

    text = "\n".join(summary_lines(rep))
    assert "Inventory List!A1: column 'Product Code' is not a known column; did you mean ProductCode?" in text
    assert "Inventory List!B1: column 'Catgory' is not a known column; did you mean Category?" in text
    assert not rep.valid


def test_columns_left_out_of_the_file_come_from_base_and_store(tmp_path):
    store = make_store(tmp_path, product("A", Status="Setup Required"), product("S", Status="Setup Required"))
    base = store.read_products().iloc[:1]  # the export held A only; S was added to the store later
    rows = [["A", "Active"], ["S", "Active"], ["NEW", "Active"]]
    rep = validate(write_wb(tmp_path / "a.xlsx", ["ProductCode", "Status"], rows), store=store, base=base)
    assert {(p.rule, p.cell, p.column) for p in rep.problems} == {
        ("active.required", "B4", c) for c in ("Name", "Category", "Type", "CostingMethod", "DefaultUnitOfMeasure")}
    store.close()


def test_large_workbook_report_is_rebuilt_in_constant_memory(tmp_path, monkeypatch):
    # Over COPY_LIMIT cells the report is written by xlsxwriter from the values (openpyxl would need
    # ~50x the file size in memory); same marks, same Problems sheet.
    monkeypatch.setattr(xlsx_report, "COPY_LIMIT", 0)
    monkeypatch.setattr(report_problems, "COMMENT_LIMIT", 1)
    rows = [good("A")[:6] + ["Actvie"], ["=1+1 text"] + good("B")[1:6] + ["Nope"],
            good("C") + [dt.datetime(2024, 1, 2), None, "note"]]
    src = write_wb(tmp_path / "a.xlsx", HEAD + ["Barcode", "PriceTier1", "Notes"], rows)
    wb0 = openpyxl.load_workbook(src)
    wb0["Inventory List"]["A3"].data_type = "s"  # a text cell that starts with "="
    wb0.save(src)
    rep = validate(src)
    out = write_xlsx(rep, tmp_path / "big.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Problems", "Inventory List"]
    ps, data = wb["Problems"], wb["Inventory List"]
    listed = [r[0].value for r in ps.iter_rows(min_row=2)]
    assert listed == [f"Inventory List!{p.cell}" for p in rep.problems]
    assert ps["A2"].hyperlink.location == f"'Inventory List'!{rep.problems[0].cell}"
    for p in rep.problems:
        assert data[p.cell].fill.fgColor.rgb.endswith("FFC7CE" if p.severity == "error" else "FFEB9C")
    assert sum(data[p.cell].comment is not None for p in rep.problems) == 1
    assert data["A3"].value == "=1+1 text" and data["A3"].data_type == "s"
    assert data["J4"].value == "note" and data["H4"].is_date
    assert {p.rule for p in rep.problems} >= {"enum.value", "identifier.date"}


def test_workbook_from_another_store_is_warned_and_checked_without_base(tmp_path):
    store = make_store(tmp_path, product("A"))
    path = write_wb(tmp_path / "a.xlsx", HEAD, [good("A")])
    wb = openpyxl.load_workbook(path)
    m = wb.create_sheet("_manifest")
    for k, v in (("export_id", "exp-elsewhere"), ("store_id", "sqlite:someone-else"), ("sheet", "Inventory List")):
        m.append([k, v])
    wb.save(path)
    rep = validate(path, store=store)
    assert [(p.rule, p.severity) for p in rep.problems] == [("manifest.other_store", "warning")]
    assert rep.valid and rep.base_export_id is None
    store.close()


def test_progress_is_reported_once_per_step(tmp_path):
    from inventory_tools.reading import read_table
    from inventory_tools.validation import progress_steps

    table = read_table(write_wb(tmp_path / "a.xlsx", HEAD, [good("A")]))
    ticks = []
    validate(table, progress=ticks.append)
    assert sum(ticks) == progress_steps(table) == len(HEAD) + 3


def test_rebuilt_report_across_chunks_keeps_every_value_and_mark(tmp_path, monkeypatch):
    from python_calamine import CalamineWorkbook

    monkeypatch.setattr(xlsx_report, "COPY_LIMIT", 0)
    monkeypatch.setattr(report_problems, "REPORT_CHUNK_ROWS", 7)  # many chunks, marks in several
    rows = [good(f"P{i:03d}")[:6] + (["Actvie"] if i in (5, 13, 40) else ["Active"]) for i in range(45)]
    src = write_wb(tmp_path / "a.xlsx", HEAD, rows)
    rep = validate(src)
    assert [p.cell for p in rep.problems] == ["G7", "G15", "G42"]
    out = write_xlsx(rep, tmp_path / "r.xlsx")
    read = lambda p: CalamineWorkbook.from_path(str(p)).get_sheet_by_name("Inventory List").to_python()  # noqa: E731
    assert read(out) == read(src)
    data = openpyxl.load_workbook(out)["Inventory List"]
    filled = {c.coordinate for row in data.iter_rows() for c in row if c.fill.fgColor.rgb.endswith("FFC7CE")}
    assert filled == {"G7", "G15", "G42", "A7", "A15", "A42"}  # the bad cells, and their rows' first cells
    assert all(c.font.b for c in data[1]) and not data["A2"].font.b


@pytest.mark.parametrize("reader", ["fastexcel", "csv"])
def test_checking_a_file_never_builds_its_cell_frame_and_names_the_values_read(tmp_path, reader):
    """The checks read the factorised columns and single cells (Table.cell): the object frame of
    every cell is built only when asked for, and then holds exactly the values the problems show."""
    from inventory_tools.checked_file import validate_file

    header = ["ProductCode", "Name", "Status", "PriceTier1", "Barcode"]
    rows = [["A1", " padded ", "Actvie", "abc", "123"], ["A2", "ok", "Active", 1.5, None],
            ["1.23457E+12", "x", "Active", -2.123456, "0714621929903"]]
    if reader == "csv":
        path = tmp_path / "list.csv"
        path.write_text("\n".join(",".join("" if v is None else str(v) for v in r) for r in [header, *rows]) + "\n")
    else:
        path = write_wb(tmp_path / "list.xlsx", header, rows)
    checked, report = validate_file(path, keep=False)
    table = checked.table
    assert table._cells is None  # not built by reading, nor by checking
    assert {p.rule for p in report.problems} >= {"enum.value", "type.decimal", "text.spaces",
                                                 "identifier.scientific", "decimal.places"}
    for p in report.problems:
        if p.index is not None and p.column in table.columns and p.at in (None, p.column):
            assert p.value == table.cell(p.column, p.index)
    frame = table.raw  # built now, from the same columns
    for p in report.problems:
        if p.index is not None and p.column in table.columns and p.at in (None, p.column):
            assert frame[p.column].iat[p.index] == p.value
    assert frame["Name"].tolist()[:2] == [" padded ", "ok"] and frame["Barcode"].iat[1] is None


def test_a_refused_whole_number_is_shown_as_typed_not_with_pythons_point_zero(tmp_path):
    """-1000000000000000 typed in a price: refused (negative, too large), and shown without '.0'."""
    rep = validate(write_wb(tmp_path / "a.xlsx", HEAD + ["PriceTier1"], [good("A") + [-1e15]]))
    words = [p.message for p in rep.problems if p.column == "PriceTier1"]
    assert {p.rule for p in rep.problems if p.column == "PriceTier1"} == {"decimal.negative", "decimal.range"}
    assert "PriceTier1 -1000000000000000 is negative" in words
    assert not any("000.0" in w for w in words)


def test_a_problems_severity_is_its_rules_in_the_table_at_every_stage(tmp_path, monkeypatch):
    """``schemas/rules.csv`` is the one place a rule's severity is stated: whatever finds the
    problem (the reader, the cell stage, a value check, a row check) reports the table's."""
    from inventory_tools.validation.rules import Rule, table

    monkeypatch.setenv("INVENTORY_TOOLS_CACHE_DIR", "off")  # the second run must check again
    path = write_wb(tmp_path / "a.xlsx", HEAD + ["PriceTier1", "Brand", "Barcode", "My notes"],
                    [good("A1 ") + [" 7 ", "B" * 51, "4006381333932", "x"],
                     good("B")[:2] + [""] + good("B")[3:] + ["1", "Acme", "", ""]])
    found = {"header.unknown": "reading", "text.spaces": "cells", "decimal.lenient": "cells",
             "text.too_long": "values", "barcode.check_digit": "values", "active.required": "rows"}
    assert {table()[r].stage for r in found} == set(found.values())  # every stage that reports

    def severities() -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for p in validate(path).problems:
            out.setdefault(p.rule, set()).add(p.severity)
        return out

    assert severities() == {r: {table()[r].severity} for r in found}
    flipped = {"error": "warning", "warning": "error"}
    for r in found:
        monkeypatch.setitem(table(), r, Rule(r, table()[r].stage, flipped[table()[r].severity], table()[r].title))
    assert severities() == {r: {table()[r].severity} for r in found}  # (the flipped ones)
