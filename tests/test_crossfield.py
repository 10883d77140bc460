"""Row rules through the real CLI and store: one product one code (#13 §4), required stays
required (#13 §5), new rows judged as new products whatever the columns (#13 §8)."""
import sqlite3
import unicodedata

import pytest

from tests.helpers import edit, export_xlsx, product, sheet


def store_codes(run):
    db = sqlite3.connect(run.store)
    codes = [r[0] for r in db.execute('SELECT "ProductCode" FROM products')]
    db.close()
    return codes


SAME_PRODUCT = {
    "NFD": unicodedata.normalize("NFD", "CAFÉ-CRÈME-1KG"),
    "lower case, accented": "café-crème-1kg",
    "spaces": "TEA-ROOIBOS -250",
    "ascii case": "tea-rooibos-250",
    "non-breaking space": "TEA-ROOIBOS-\u00a0250",
}


@pytest.mark.parametrize("how", list(SAME_PRODUCT))
@pytest.mark.parametrize("manifest", [True, False], ids=["workbook", "hand-made"])
def test_a_code_typed_another_way_is_the_same_product_in_validate_dry_run_and_import(ex, tmp_path, how, manifest):
    code = SAME_PRODUCT[how]
    existing = "CAFÉ-CRÈME-1KG" if "CR" in code.upper() else "TEA-ROOIBOS-250"
    row = {"ProductCode": code, "Name": "Twin", "Status": "Setup Required"}
    if manifest:
        out, _ = export_xlsx(ex)
        edit(out, {(code, k): v for k, v in row.items() if k != "ProductCode"})
    else:
        out = sheet(tmp_path / "hand.xlsx", list(row), [list(row.values())])
    before = sorted(store_codes(ex))
    for args, expect in ((("validate", out), 1), (("import", out, "--dry-run"), 1), (("import", out, "--yes"), 1)):
        report = ex.json(*args, expect=expect)
        same = [p for p in report["problems"] if p["rule"] == "code.same_product"]
        shown = code.replace("\u00a0", " ")  # read as a plain space (with a warning)
        assert len(same) == 1 and existing in same[0]["message"] and shown in same[0]["message"], args
    assert sorted(store_codes(ex)) == before  # no second product, and no "the store changed" failure


def test_a_really_new_code_is_still_created(ex, tmp_path):
    out = sheet(tmp_path / "new.xlsx", ["ProductCode", "Name", "Status"], [["CAFÉ-CRÈME-2KG", "Two kilo", "Setup Required"]])
    ex("import", out, "--yes")
    assert product(ex, "CAFÉ-CRÈME-2KG")["Name"] == "Two kilo"


@pytest.mark.parametrize("column", ["Name", "Status"])
def test_name_and_status_cannot_be_blanked_on_any_product(ex, column):
    out, _ = export_xlsx(ex)
    edit(out, {("OLD-KETTLE", column): None, ("XERO-WRAP", column): None})  # Deprecated, Setup Required
    report = ex.json("import", out, "--yes", expect=1)
    missing = [p for p in report["problems"] if p["rule"] in ("required.missing", "active.required")]
    assert {p["column"] for p in missing} == {column} and len(missing) == 2 and not report["applied"]
    assert product(ex, "OLD-KETTLE")[column] and product(ex, "XERO-WRAP")[column]


def test_blank_clears_never_skips_the_rules(ex, tmp_path):
    """Without a base, --blank-clears makes blanks clear: a blank Name or Status is then an error,
    and an Active product's blank Category too (the Active rules are not skipped)."""
    header = ["ProductCode", "Name", "Status", "Category"]
    out = sheet(tmp_path / "truth.xlsx", header, [["00123", "", "", ""], ["SOCK-BLK-M", "Socks", "Active", ""]])
    report = ex.json("import", out, "--blank-clears", "--yes", expect=1)
    got = {(p["cell"], p["column"]) for p in report["problems"] if p["severity"] == "error"}
    assert got == {("B2", "Name"), ("C2", "Status"), ("D3", "Category")}
    assert not report["applied"] and product(ex, "00123")["Name"] == "Brass Hinge 75mm"
    ok = sheet(tmp_path / "ok.xlsx", header, [["00123", "Brass Hinge", "Active", "Hardware"]])
    ex("import", ok, "--blank-clears", "--yes")
    assert product(ex, "00123")["Name"] == "Brass Hinge"


def test_a_price_list_with_a_mistyped_code_creates_nothing(ex, tmp_path):
    out = sheet(tmp_path / "prices.xlsx", ["ProductCode", "PriceTier1"], [["00123", 9.5], ["SOCK-BLK-MM", 13]])
    report = ex.json("validate", out, expect=1)
    assert {p["column"] for p in report["problems"] if p["severity"] == "error"} >= {"Name", "Category"}
    assert all(p["cell"] == "A3" for p in report["problems"] if p["severity"] == "error")
    ex("import", out, "--yes", expect=1)
    assert product(ex, "SOCK-BLK-MM") is None and product(ex, "00123")["PriceTier1"] != "9.5"
