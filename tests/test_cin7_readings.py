"""The Cin7 Core store under each reading of what the API leaves open (tests/fakes/README.md).

The same scenario runs against every mode of the fake that plays a reading: PUT merges or
replaces; someone edits a product in Cin7 during the run; a product answers 500 on every try;
POST accepts or refuses Status "Setup required". Also: only documented fields are written, and
names are checked as Cin7 applies its reference rules.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from click.testing import CliRunner

from inventory_tools.changes import CellChange
from inventory_tools.cli import cli
from inventory_tools.errors import ExitCode, RemoteError
from inventory_tools import columns as cols
from inventory_tools.stores import open_store
from inventory_tools.stores.cin7 import DONE, Cin7Store
from tests.fakes.cin7_server import SETUP_REFUSED, FakeCin7, sample
from tests.helpers.api import apply, frame

READINGS = ["merge", "replace"]


def _rich_product(fake: FakeCin7, sku: str = "RICH") -> dict:
    """A product with supplier, reorder and BOM lines, and fields the inventory list does not show."""
    bread = sample("dear_api_v2_product_put_request_apiary_example.json")
    return fake.add_product(SKU=sku, Name="Rich", Suppliers=bread["Suppliers"], ReorderLevels=bread["ReorderLevels"],
                            BillOfMaterial=True, QuantityToProduce=1, AssemblyCostEstimationMethod="Average Cost",
                            BillOfMaterialsProducts=bread["BillOfMaterialsProducts"], Barcode="0042",
                            AssemblyInstructionURL="https://example.test/how", CountryOfOriginCode="NZL",
                            AlwaysShowQuantity=5, FutureField={"kept": True})


# -- item 1: PUT merges or replaces ---------------------------------------------------------------
@pytest.mark.parametrize("put_mode", READINGS)
def test_an_update_keeps_everything_it_did_not_change_whether_put_merges_or_replaces(make_fake, put_mode):
    fake = make_fake(put_mode=put_mode)
    before = json.loads(json.dumps(_rich_product(fake), default=str))
    s = Cin7Store.from_env()
    out = apply(s, updates=[CellChange("RICH", "Name", "Rich", "Richer"), CellChange("RICH", "PriceTier1", "0", "9.5")])
    s.close()
    assert out.updated == ["RICH"] and not out.failed
    after = json.loads(json.dumps(fake.by_sku("RICH"), default=str))
    assert (after["Name"], after["PriceTier1"]) == ("Richer", "9.5")
    changed = {k for k in before if before[k] != after.get(k)}
    assert changed == {"Name", "PriceTier1", "LastModifiedOn"}  # suppliers, reorder levels, BOM, unknown keys: kept
    assert len([c for c in fake.calls if c.path == "/product"]) == 2  # a fresh read and one write


@pytest.mark.parametrize("put_mode", READINGS)
def test_a_deprecation_keeps_the_product_whole(make_fake, put_mode):
    fake = make_fake(put_mode=put_mode)
    _rich_product(fake)
    s = Cin7Store.from_env()
    out = apply(s, deletes=["RICH"])
    s.close()
    p = fake.by_sku("RICH")
    assert out.deleted == ["RICH"] and p["Status"] == "Deprecated" and p["Suppliers"] and p["BillOfMaterialsProducts"]


# -- item 1: someone edits the product in Cin7 during the run ------------------------------------
@pytest.mark.parametrize("put_mode", READINGS)
def test_a_change_made_in_cin7_during_the_run_is_kept(make_fake, put_mode):
    fake = make_fake(put_mode=put_mode)
    for sku in ("A", "B", "C"):
        fake.add_product(SKU=sku, Name=sku, Barcode="111")
    fake.schedule_edit(after_writes=1, sku="B", Barcode="999", Tags="theirs")  # while A is being written
    s = Cin7Store.from_env()
    out = apply(s, updates=[CellChange(c, "PriceTier1", "0", "5") for c in ("A", "B", "C")])
    s.close()
    assert sorted(out.updated) == ["A", "B", "C"] and not out.failed
    b = fake.by_sku("B")
    assert (b["Barcode"], b["Tags"], b["PriceTier1"]) == ("999", "theirs", Decimal("5"))


@pytest.mark.parametrize("put_mode", READINGS)
@pytest.mark.parametrize("policy", ["abort", "skip", "overwrite"])
def test_a_planned_cell_changed_in_cin7_during_the_run_is_a_conflict(make_fake, put_mode, policy):
    fake = make_fake(put_mode=put_mode)
    for sku in ("A", "B"):
        fake.add_product(SKU=sku, Name=sku)
    fake.schedule_edit(after_writes=1, sku="B", Name="Theirs")
    s = Cin7Store.from_env()
    out = apply(s, on_conflict=policy, updates=[CellChange("A", "Name", "A", "Mine A"),
                                                CellChange("B", "Name", "B", "Mine B"),
                                                CellChange("B", "PriceTier1", "0", "7")])
    s.close()
    b = fake.by_sku("B")
    if policy == "overwrite":
        assert not out.failed and (b["Name"], b["PriceTier1"]) == ("Mine B", Decimal("7"))
        return
    assert "Name changed in Cin7 Core during the run (the plan saw 'B', now 'Theirs')" in out.failed["B"]
    assert b["Name"] == "Theirs" and fake.by_sku("A")["Name"] == "Mine A"
    if policy == "abort":  # the product is left untouched
        assert b["PriceTier1"] == 0 and len(fake.writes()) == 1
    else:  # skip: its other cells are written
        assert b["PriceTier1"] == Decimal("7") and "other changes were written" in out.failed["B"]


# -- item 2: a product that always answers 500 ----------------------------------------------------
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_a_product_answering_500_on_every_try_fails_alone(make_fake, method):
    fake = make_fake(window=0.5)
    for sku in ("A", "BAD", "C"):
        fake.add_product(SKU=sku, Name=sku)
    fake.inject("status", method=method, sku="BAD", times=10**6, status=500,
                body={"ErrorCode": 500, "Exception": "Object reference not set to an instance of an object."})
    s = Cin7Store.from_env()
    out = apply(s, updates=[CellChange(c, "Name", c, c + "2") for c in ("A", "BAD", "C")])
    s.close()
    assert sorted(out.updated) == ["A", "C"] and list(out.failed) == ["BAD"]
    assert "HTTP 500" in out.failed["BAD"] and "Object reference not set" in out.failed["BAD"]
    tries = [c for c in fake.calls if c.method == method and (c.query.get("sku") == "BAD" or
                                                               (isinstance(c.body, dict) and c.body.get("SKU") == "BAD"))]
    assert len(tries) == 6  # bounded: the retries, then the next product


def test_a_create_answering_500_on_every_try_fails_alone_and_is_never_duplicated(make_fake):
    fake = make_fake(window=0.5)
    fake.inject("status", method="POST", sku="BAD", times=10**6, status=500, body={"ErrorCode": 500, "Exception": "boom"})
    s = Cin7Store.from_env()
    out = apply(s, creates=[{"ProductCode": "BAD", "Name": "x"}, {"ProductCode": "OK", "Name": "y"}])
    s.close()
    assert out.created == ["OK"] and "HTTP 500" in out.failed["BAD"] and fake.skus() == ["OK"]
    assert len([c for c in fake.writes("POST") if c.body.get("SKU") == "BAD"]) == 3


def test_three_products_in_a_row_failing_with_5xx_stop_the_run_resumably(make_fake):
    fake = make_fake(window=0.5)
    for i in range(5):
        fake.add_product(SKU=f"P{i}", Name=f"P{i}")
    fake.inject("status", method="PUT", times=10**6, status=500, body={"ErrorCode": 500, "Exception": "down"})
    s = Cin7Store.from_env()
    updates = [CellChange(f"P{i}", "Name", f"P{i}", f"Q{i}") for i in range(5)]
    with pytest.raises(RemoteError) as err:
        apply(s, updates=updates)
    assert "3 products in a row" in str(err.value) and err.value.exit_code == ExitCode.FAILED
    assert "re-run the same command" in err.value.hint
    s.close()
    fake.clear_faults()
    s = Cin7Store.from_env()
    out = apply(s, updates=updates)
    s.close()
    assert sorted(out.updated) == [f"P{i}" for i in range(5)] and not out.failed


def test_cli_names_the_failed_products_exits_1_and_a_rerun_retries_only_them(make_fake, tmp_path):
    import openpyxl

    fake = make_fake(window=0.5)
    for sku in ("A", "BAD", "C"):
        fake.add_product(SKU=sku, Name=sku)
    runner = CliRunner()
    assert runner.invoke(cli, ["--store", "cin7core", "export", str(tmp_path / "e.xlsx")]).exit_code == 0
    wb = openpyxl.load_workbook(tmp_path / "e.xlsx")
    ws = wb["Inventory List"]
    name = [c.value for c in ws[1]].index("Name")
    for row in ws.iter_rows(min_row=2):
        row[name].value = f"{row[0].value} renamed"
    wb.save(tmp_path / "edited.xlsx")
    fake.inject("status", method="PUT", sku="BAD", times=10**6, status=500, body={"ErrorCode": 500, "Exception": "nope"})
    res = runner.invoke(cli, ["--store", "cin7core", "import", str(tmp_path / "edited.xlsx"), "--yes", "--json"])
    assert res.exit_code == ExitCode.DATA, res.output
    data = json.loads(res.stdout)
    assert [f["code"] for f in data["failed"]] == ["BAD"] and "nope" in data["failed"][0]["message"]
    assert "BAD" in res.stderr and "nope" in res.stderr and "Traceback" not in res.output
    results = openpyxl.load_workbook(tmp_path / "edited-results.xlsx")["Results"]
    by_code = {r[2].value: (r[0].value, r[1].value) for r in results.iter_rows(min_row=2)}
    assert by_code["BAD"][0] == "failed" and "nope" in by_code["BAD"][1]
    fake.clear_faults()
    writes = len(fake.writes())
    again = runner.invoke(cli, ["--store", "cin7core", "import", str(tmp_path / "edited.xlsx"), "--yes", "--json"])
    assert again.exit_code == 0, again.output
    assert [c.body["SKU"] for c in fake.writes()[writes:]] == ["BAD"]  # only what was not written
    assert fake.by_sku("BAD")["Name"] == "BAD renamed"


# -- item 3: Setup required on create -------------------------------------------------------------
@pytest.mark.parametrize("setup_required", ["accept", "refuse"])
def test_setup_required_creates_under_both_readings(make_fake, setup_required):
    fake = make_fake(setup_required=setup_required)
    s = Cin7Store.from_env()
    out = apply(s, creates=[{"ProductCode": f"X{i}", "Name": f"x{i}", "Status": "Setup Required"} for i in range(4)]
                + [{"ProductCode": "ACT", "Name": "active one", "Category": "Bakery", "Type": "Stock",
                    "CostingMethod": "FIFO", "DefaultUnitOfMeasure": "Item", "Status": "Active"}])
    s.close()
    posts = fake.writes("POST")
    if setup_required == "accept":
        assert sorted(out.created) == ["ACT", "X0", "X1", "X2", "X3"] and not out.notices
        assert {fake.by_sku(f"X{i}")["Status"] for i in range(4)} == {"Setup required"}
        return
    assert out.created == ["ACT"] and fake.skus() == ["ACT"]  # never created under another status
    assert [p.body["SKU"] for p in posts] == ["X0", "ACT"]  # said once: no further one is sent
    assert len(out.notices) == 1 and out.notices[0]["kind"] == "setup_required_refused"
    assert SETUP_REFUSED in out.notices[0]["answer"]
    assert SETUP_REFUSED in out.failed["X0"] and all("not sent" in out.failed[f"X{i}"] for i in (1, 2, 3))


# -- item 4: only documented fields are written ---------------------------------------------------
@pytest.mark.parametrize("column", ["ProductionBOM", "MakeToOrderBom", "AlwaysShowQuantity"])
def test_fields_the_blueprint_does_not_document_are_reported_not_written(make_fake, column):
    fake = make_fake()
    fake.add_product(SKU="U", Name="U")
    fake.add_product(SKU="V", Name="V")
    value = "Yes" if column != "AlwaysShowQuantity" else "3"
    s = Cin7Store.from_env()
    out = apply(s, updates=[CellChange("U", column, "", value), CellChange("V", "Name", "V", "V2")],
                creates=[{"ProductCode": "N1", "Name": "n", column: value}, {"ProductCode": "N2", "Name": "n"}])
    s.close()
    assert "not a field of Cin7 Core's documented product API" in out.failed["U"] and column in out.failed["U"]
    assert "Inventory List import" in out.failed["N1"]
    assert out.updated == ["V"] and out.created == ["N2"]
    for call in fake.writes():
        assert column not in call.body or call.body["SKU"] != "U"
    assert "ProductionBOM" not in fake.writes("POST")[0].body


# -- item 5: names checked as Cin7 applies its rules -----------------------------------------------
def test_reference_rules_as_cin7_applies_them(make_fake):
    make_fake()
    s = Cin7Store.from_env()
    rows = frame(
        {"ProductCode": "T1", "SaleTaxRule": "GST on Expenses", "PurchaseTaxRule": "GST on Income"},  # wrong use
        {"ProductCode": "T2", "SaleTaxRule": "Old GST"},  # inactive
        {"ProductCode": "A1", "RevenueAccount": "400", "ExpenseAccount": "200", "InventoryAccount": "720"},
        {"ProductCode": "A2", "ExpenseAccount": "450: Old Expenses", "COGSAccount": "500"},  # archived; fine
        {"ProductCode": "S1", "Type": "Service", "ExpenseAccount": "200", "InventoryAccount": "720"},  # ignored
        {"ProductCode": "D1", "DiscountName": "Summer sale"}, {"ProductCode": "D2", "DiscountName": "Trade 10%"},
        {"ProductCode": "D3", "DiscountName": "Nope"},
        {"ProductCode": "OK", "SaleTaxRule": "tax exempt", "PurchaseTaxRule": "Tax Exempt", "RevenueAccount": "200",
         "InventoryAccount": "630", "Category": "other", "DefaultUnitOfMeasure": "item"})
    got = {(p["code"], p["column"]): p["rule"] for p in s.check_references(rows)}
    assert got == {
        ("T1", "SaleTaxRule"): "reference.wrong_use", ("T1", "PurchaseTaxRule"): "reference.wrong_use",
        ("T2", "SaleTaxRule"): "reference.inactive",
        ("A1", "RevenueAccount"): "reference.wrong_use", ("A1", "ExpenseAccount"): "reference.wrong_use",
        ("A1", "InventoryAccount"): "reference.wrong_use", ("A2", "ExpenseAccount"): "reference.inactive",
        ("D1", "DiscountName"): "reference.inactive", ("D3", "DiscountName"): "reference.unknown"}
    lists = s.reference_lists()
    assert "GST on Income" in lists["SaleTaxRule"] and "GST on Income" not in lists["PurchaseTaxRule"]
    assert "Old GST" not in lists["SaleTaxRule"] and lists["DiscountName"] == ["Trade 10%"]
    assert lists["InventoryAccount"] == ["630: Inventory"] and "400: Purchases" not in lists["RevenueAccount"]
    calls = s.client.calls
    s.check_references(rows)
    assert s.client.calls == calls  # the books are read once
    s.close()


def test_a_refused_name_fails_its_product_before_any_call_to_write_it(make_fake):
    fake = make_fake()
    fake.add_product(SKU="P", Name="P")
    s = Cin7Store.from_env()
    out = apply(s, updates=[CellChange("P", "SaleTaxRule", "", "GST on Expenses")],
                creates=[{"ProductCode": "N", "Name": "n", "RevenueAccount": "400"}])
    journal = s.state.journal(out.op_id)
    s.close()
    assert "is not flagged For Sales" in out.failed["P"] and "needs a REVENUE account" in out.failed["N"]
    assert not fake.writes() and fake.skus() == ["P"]
    assert journal and all(r[5] != DONE for r in journal)


def test_undo_never_deprecates_a_created_product_someone_edited_in_cin7(make_fake):
    """An undo removes (on Cin7: deprecates) what the import created, unless it was changed since —
    in Cin7's own screens before the undo was planned, or between its plan and its write."""
    from inventory_tools.undoing import plan_undo, undo

    fake = make_fake()
    store = open_store("cin7core")
    try:
        apply(store, creates=[{cols.KEY: "U-1", "Name": "One", "Status": "Setup Required"},
                              {cols.KEY: "U-2", "Name": "Two", "Status": "Setup Required"},
                              {cols.KEY: "U-3", "Name": "Three", "Status": "Setup Required"}])
        fake.by_sku("U-1")["Name"] = "One, renamed in Cin7"  # before the undo is planned
        plan = plan_undo(store, None)
        assert sorted(plan.deletes) == ["U-2", "U-3"] and [c.code for c in plan.conflicts] == ["U-1"]
        fake.by_sku("U-2")["Name"] = "Two, renamed in Cin7"  # between the plan and the write
        outcome = store.apply(plan.change_set(), kind="undo", source="undo", base_export_id=None, counts={},
                              undo_of=plan.op["op_id"])
        assert list(outcome.failed) == ["U-2"] and "Name" in outcome.failed["U-2"]
        assert [fake.by_sku(c)["Status"] for c in ("U-1", "U-2", "U-3")] == ["Setup required", "Setup required",
                                                                           "Deprecated"]
        assert not undo(store, dry_run=True).plan.deletes  # nothing left it may remove
    finally:
        store.close()
