"""The Cin7 Core store against a local Cin7 Core server over real HTTP (tests/fakes/cin7_server.py)."""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from inventory_tools import columns as cols
from inventory_tools.changes import CellChange, ChangeSet
from inventory_tools.errors import ExitCode, RemoteError
from inventory_tools.render.render_import import estimate_text
from inventory_tools.stores import open_store
from inventory_tools.stores.base import Store
from inventory_tools.stores.cin7 import DONE, FAILED, SENT, Cin7Store
from tests.fakes.cin7_server import ACCOUNT_ID, APP_KEY, FakeCin7, sample
from tests.helpers.api import apply, comparable_products, frame


@pytest.fixture
def store(cin7_server):
    s = open_store("cin7core")
    yield s
    s.close()


# -- reading ------------------------------------------------------------------------------------
def test_reads_every_product_through_paging(cin7_server, store):
    cin7_server.add_sample()
    for i in range(2345):
        cin7_server.add_product(SKU=f"P{i:05d}", Name=f"Product {i}", PriceTier1=Decimal("12.3456"),
                                Status="Deprecated" if i % 100 == 0 else "Active")
    cin7_server.add_product(SKU="SETUP-1", Name="From Xero", Status="Setup required", RevenueAccount="200",
                            Sellable=False, DimensionsUnits="cm", UOM="Box", Tags="a,b")
    df = store.read_products()
    assert list(df.columns) == list(cols.names())
    assert len(df) == 2347
    assert df[cols.KEY].is_unique and list(df[cols.KEY]) == cin7_server.skus()  # Cin7's own order
    assert all(isinstance(v, str) for v in df.iloc[5])
    gets = [c for c in cin7_server.calls if c.method == "GET" and c.path == "/product"]
    assert [c.query["page"] for c in gets] == ["1", "2", "3"]
    assert all(c.query["limit"] == "1000" and c.query["includedeprecated"] == "true" for c in gets)

    row = df.set_index(cols.KEY).loc["SETUP-1"]
    assert row["Status"] == "Setup Required"
    assert (row["Sellable"], row["DimensionUnits"], row["DefaultUnitOfMeasure"]) == ("No", "cm", "Box")
    assert (row["CommaDelimitedTags"], row["RevenueAccount"]) == ("a,b", "200")
    assert df.set_index(cols.KEY).loc["P00001", "PriceTier1"] == "12.3456"
    bread = df.set_index(cols.KEY).loc["Bread"]  # the official Apiary example
    assert (bread["Name"], bread["CostingMethod"], bread["AverageCost"], bread["AssemblyBOM"]) == (
        "Baked Bread", "FEFO - Batch", "5", "Yes")
    assert (bread["CartonQuantity"], bread["HSCode"], bread["DimensionUnits"]) == ("2", "654324", "")

    deprecated = store.read_products(["Deprecated"])
    assert len(deprecated) == 24 and set(deprecated["Status"]) == {"Deprecated"}


def test_paging_follows_total_when_the_server_serves_smaller_pages(make_fake):
    fake = make_fake(max_limit=250)
    for i in range(1100):
        fake.add_product(SKU=f"S{i:04d}", Name=str(i))
    s = Cin7Store.from_env()
    try:
        assert len(s.read_products()) == 1100
    finally:
        s.close()
    assert len([c for c in fake.calls if c.path == "/product"]) == 5


def test_supplier_columns_come_from_the_first_supplier(cin7_server, store):
    suppliers = sample("dear_api_v2_product_post_request_apiary_example.json")["Suppliers"]
    cin7_server.add_product(SKU="SUP", Name="With supplier", Suppliers=suppliers + [
        {"SupplierName": "Second", "SupplierInventoryCode": "2", "FixedCost": 9}])
    row = store.read_products().iloc[0]
    assert (row["LastSuppliedBy"], row["SupplierProductCode"], row["SupplierProductName"],
            row["SupplierFixedPrice"]) == ("ABPA", "Test", "Test Name", "1")
    assert all(c.query.get("includesuppliers") == "true" for c in cin7_server.calls)
    out = apply(store, updates=[CellChange("SUP", "Name", "With supplier", "Renamed")])
    put = cin7_server.writes("PUT")[0].body
    assert out.updated == ["SUP"] and [x["SupplierName"] for x in put["Suppliers"]] == ["ABPA", "Second"]
    assert put["Suppliers"][1] == {"SupplierName": "Second", "SupplierInventoryCode": "2", "FixedCost": 9}
    assert [x["SupplierName"] for x in cin7_server.by_sku("SUP")["Suppliers"]] == ["ABPA", "Second"]


def test_read_by_codes_matches_exactly(cin7_server, store):
    for sku in ("AB", "AB-1", "xAB", "ab"):
        cin7_server.add_product(SKU=sku, Name=sku)
    assert list(store.read_by_codes(["AB"])[cols.KEY]) == ["AB"]
    assert list(store.read_by_codes(["ab", "missing"])[cols.KEY]) == ["ab"]
    many = store.read_by_codes(["AB", "AB-1", "xAB", "nope"])
    assert sorted(many[cols.KEY]) == ["AB", "AB-1", "xAB"]


def test_is_a_store_with_a_stable_identity_that_hides_the_account(cin7_server, store, tmp_path):
    assert isinstance(store, Store) and store.kind == "cin7core"
    ident = store.identity()
    assert ident.startswith("cin7core:") and ACCOUNT_ID not in ident and APP_KEY not in store.describe()
    assert ident == open_store("cin7core").identity()
    assert store.state_path == str(tmp_path / "state1" / f"cin7-{hashlib.sha256(ACCOUNT_ID.encode()).hexdigest()[:12]}.db")
    assert store.state.meta("purpose") == "cin7-state"


def test_state_file_defaults_to_a_folder_next_to_the_work(cin7_server, monkeypatch, tmp_path):
    monkeypatch.delenv("INVENTORY_TOOLS_STATE_DIR")
    monkeypatch.chdir(tmp_path)
    s = Cin7Store.from_env()
    try:
        files = list((tmp_path / ".inventory-tools").glob("cin7-*.db"))
        assert len(files) == 1 and ACCOUNT_ID not in files[0].name
    finally:
        s.close()


def test_commands_that_only_read_cin7_leave_nothing_on_disk(cin7_server, monkeypatch, tmp_path):
    """list and validate read Cin7 and keep nothing: no local bookkeeping file appears; an export
    (whose snapshot is the base of a later import) makes it."""
    from tests.helpers import Cli, sheet

    monkeypatch.delenv("INVENTORY_TOOLS_STATE_DIR")
    monkeypatch.chdir(tmp_path)
    cin7_server.add_sample()
    cli = Cli("cin7core", tmp_path)
    assert cli.json("list")["total"] > 0
    cli("validate", sheet(tmp_path / "a.xlsx", ["ProductCode", "Name"], [["NEW-9", "New"]]), expect=None)
    assert not (tmp_path / ".inventory-tools").exists()
    cli("export", tmp_path / "out.xlsx")
    assert len(list((tmp_path / ".inventory-tools").glob("cin7-*.db"))) == 1


# -- credentials --------------------------------------------------------------------------------
def test_missing_credentials_name_the_variables_without_values(monkeypatch, tmp_path):
    monkeypatch.setenv("INVENTORY_TOOLS_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("CIN7_ACCOUNT_ID", "secret-account-1234")
    monkeypatch.delenv("CIN7_APPLICATION_KEY", raising=False)
    with pytest.raises(RemoteError) as err:
        open_store("cin7core")
    text = str(err.value)
    assert "CIN7_APPLICATION_KEY" in text and "secret-account-1234" not in text
    assert err.value.exit_code == ExitCode.FAILED
    monkeypatch.delenv("CIN7_ACCOUNT_ID")
    with pytest.raises(RemoteError, match="CIN7_ACCOUNT_ID and CIN7_APPLICATION_KEY"):
        Cin7Store.from_env()
    assert not list(tmp_path.iterdir())  # nothing written


def test_wrong_credentials_fail_clearly(cin7_server, monkeypatch):
    monkeypatch.setenv("CIN7_APPLICATION_KEY", "wrong-key-98765")
    s = Cin7Store.from_env()
    try:
        with pytest.raises(RemoteError) as err:
            s.read_products()
    finally:
        s.close()
    assert "refused the credentials" in str(err.value) and "CIN7_APPLICATION_KEY" in err.value.hint
    assert "wrong-key-98765" not in str(err.value) and ACCOUNT_ID not in str(err.value)
    assert cin7_server.calls[-1].status == 403 and len(cin7_server.calls) == 1  # no retry on auth


# -- writing ------------------------------------------------------------------------------------
def test_update_puts_the_full_merged_object_without_read_only_fields(cin7_server, store):
    bread = cin7_server.add_sample()
    out = apply(store, updates=[CellChange("Bread", "Name", "Baked Bread", "Sourdough"),
                                CellChange("Bread", "PriceTier1", "8", "9.1250"),
                                CellChange("Bread", "DimensionUnits", "", "cm"),
                                CellChange("Bread", "RevenueAccount", "", "200: Sales")])
    assert out.updated == ["Bread"] and not out.failed and not out.created
    methods = [(c.method, c.path) for c in cin7_server.calls if c.path == "/product"]
    assert methods == [("GET", "/product"), ("PUT", "/product")]  # a fresh read, then the write
    books = [c.path for c in cin7_server.calls if c.path != "/product"]
    assert len(books) == 7 and cin7_server.calls[-1].method == "PUT"  # the account was checked before the write
    fresh = cin7_server.calls[0].query
    assert fresh["sku"] == "Bread" and {fresh[k] for k in ("includebom", "includesuppliers",
                                                            "includereorderlevels")} == {"true"}
    body = cin7_server.writes("PUT")[0].body
    assert body["ID"] == bread["ID"] and body["Name"] == "Sourdough"
    assert body["PriceTier1"] == Decimal("9.1250") and body["DimensionsUnits"] == "cm"
    assert body["RevenueAccount"] == "200"
    for key in ("Type", "AverageCost", "LastModifiedOn", "BOMType", "PriceTiers", "Movements", "Attachments"):
        assert key not in body
    assert body["BillOfMaterialsProducts"] == bread["BillOfMaterialsProducts"]  # sent back whole, as read
    assert body["ReorderLevels"] == bread["ReorderLevels"] and body["Suppliers"] == bread["Suppliers"]
    assert body["CostingMethod"] == "FEFO - Batch" and body["Tags"] == "Bread" and body["SKU"] == "Bread"
    saved = cin7_server.by_sku("Bread")
    assert saved["Name"] == "Sourdough" and saved["BillOfMaterialsProducts"]  # untouched nested lists kept
    row = store.read_by_codes(["Bread"]).iloc[0]
    assert (row["Name"], row["PriceTier1"], row["DimensionUnits"], row["RevenueAccount"]) == (
        "Sourdough", "9.125", "cm", "200")


def test_create_fills_cin7_defaults_and_setup_required(cin7_server, store):
    out = apply(store, creates=[{"ProductCode": "XERO-1", "Name": "From Xero", "Status": "Setup Required",
                                 "PriceTier1": "19.95", "RevenueAccount": "200", "Sellable": "Yes"},
                                {"ProductCode": "FULL-1", "Name": "Full", "Category": "Hardware", "Type": "Service",
                                 "CostingMethod": "FIFO - Batch", "DefaultUnitOfMeasure": "Hour"}])
    assert sorted(out.created) == ["FULL-1", "XERO-1"] and not out.failed
    posts = {c.body["SKU"]: c.body for c in cin7_server.writes("POST")}
    x = posts["XERO-1"]
    assert (x["Category"], x["Type"], x["CostingMethod"], x["UOM"], x["Status"]) == (
        "Other", "Stock", "FIFO", "Item", "Setup required")
    assert x["PriceTier1"] == Decimal("19.95") and x["Sellable"] is True and "ID" not in x
    assert "AverageCost" not in x and "Suppliers" not in x
    f = posts["FULL-1"]
    assert (f["Category"], f["Type"], f["UOM"], f["Status"]) == ("Hardware", "Service", "Hour", "Active")
    df = store.read_products().set_index(cols.KEY)
    assert df.loc["XERO-1", "Status"] == "Setup Required" and df.loc["XERO-1", "Category"] == "Other"
    assert df.loc["FULL-1", "Type"] == "Service"


def test_exact_decimals_travel_exactly(cin7_server, store):
    apply(store, creates=[{"ProductCode": "D1", "Name": "Dec", "PriceTier2": "1234.5678",
                           "QuantityToProduce": "1.0000000001", "Weight": "0.1"}])
    raw = json.dumps(cin7_server.writes("POST")[0].body, default=str)
    assert "1.0000000001" in raw
    row = store.read_by_codes(["D1"]).iloc[0]
    assert (row["PriceTier2"], row["QuantityToProduce"], row["Weight"]) == ("1234.5678", "1.0000000001", "0.1")


def test_columns_without_a_product_api_field_are_reported_never_dropped(cin7_server, store):
    cin7_server.add_product(SKU="A", Name="A")
    cin7_server.add_product(SKU="B", Name="B")
    cin7_server.add_product(SKU="C", Name="C")
    out = apply(store, updates=[CellChange("A", "ProductFamilySKU", "", "FAM-1"),
                                CellChange("A", "Name", "A", "A2"),
                                CellChange("B", "SupplierProductCode", "", "SUP-9"),
                                CellChange("C", "Name", "C", "C2")],
                creates=[{"ProductCode": "N", "Name": "N", "DimensionAttribute1": "x",
                          "IsAccountingDimensionEnabled": "False", "CartonVolume": "0"}])
    assert "Inventory List import" in out.failed["A"] and "ProductFamilySKU" in out.failed["A"]
    assert "Inventory List import" in out.failed["B"] and "Inventory List import" in out.failed["N"]
    assert out.updated == ["C"] and not out.created
    assert [c.body["SKU"] for c in cin7_server.writes()] == ["C"]
    assert cin7_server.by_sku("A")["Name"] == "A"  # a product is written whole or not at all
    op = store.state.operation(out.op_id)
    assert op["state"] == "applied" and set(op["detail"]["failed"]) == {"A", "B", "N"}
    assert op["counts"]["failed"] == 3


def test_type_is_never_changed_or_sent_on_update(cin7_server, store):
    cin7_server.add_product(SKU="T", Name="T", Type="Stock")
    out = apply(store, updates=[CellChange("T", "Type", "Stock", "Service")])
    assert "Type cannot be changed" in out.failed["T"] and not cin7_server.writes()


@pytest.mark.parametrize("shape", ["object", "array", "200"])
def test_refusals_are_reported_per_product_in_every_error_shape(make_fake, shape):
    fake = make_fake(error_shape=shape)
    fake.add_product(SKU="OK-1", Name="fine")
    s = Cin7Store.from_env()
    try:
        s.reference_books()  # read before Cin7's books change: only Cin7 itself can refuse what follows
        fake.refs["brand"].remove("Acme")
        fake.refs["unit"].remove("Box")
        out = apply(s, creates=[{"ProductCode": "BAD-BOM", "Name": "x", "AssemblyBOM": "Yes"},
                                {"ProductCode": "BAD-BRAND", "Name": "y", "Brand": "Acme"},
                                {"ProductCode": "GOOD", "Name": "z"}],
                    updates=[CellChange("OK-1", "DefaultUnitOfMeasure", "Item", "Box")])
    finally:
        s.close()
    assert out.failed["BAD-BOM"] == "Cin7 Core refused it: Required attribute 'QuantityToProduce' not provided (error 400)"
    assert "Brand 'Acme' was not found in reference book" in out.failed["BAD-BRAND"]
    assert "UOM 'Box' not found" in out.failed["OK-1"]
    assert out.created == ["GOOD"] and sorted(fake.skus()) == ["GOOD", "OK-1"]
    assert fake.by_sku("OK-1")["UOM"] == "Item"


def test_deletes_deprecate_because_cin7_has_no_delete(cin7_server, store):
    cin7_server.add_product(SKU="OLD", Name="Old", Status="Active")
    out = apply(store, deletes=["OLD"])
    assert out.deleted == ["OLD"] and not out.failed
    assert cin7_server.by_sku("OLD")["Status"] == "Deprecated"
    assert [c.method for c in cin7_server.calls if c.method != "GET"] == ["PUT"]
    assert store.state.journal(out.op_id) == [("OLD", "delete", "Status", "Active", "Deprecated", DONE)]


def test_journal_records_each_cell(cin7_server, store):
    cin7_server.add_product(SKU="J", Name="J")
    out = apply(store, creates=[{"ProductCode": "NEW", "Name": "New"}],
                updates=[CellChange("J", "Name", "J", "J2"), CellChange("J", "Barcode", "", "0042")])
    assert store.state.journal(out.op_id) == [
        ("NEW", "create", None, None, None, DONE), ("J", "update", "Name", "J", "J2", DONE),
        ("J", "update", "Barcode", "", "0042", DONE)]
    op = store.state.operation(out.op_id)
    assert op["state"] == "applied" and op["kind"] == "import"
    assert op["detail"]["create_rows"] == {"NEW": {"ProductCode": "NEW", "Name": "New"}}  # set cells only, for undo
    assert cin7_server.by_sku("J")["Barcode"] == "0042"


def test_a_conflicting_current_value_fails_that_product(cin7_server, store):
    cin7_server.add_product(SKU="K", Name="Someone else's")
    out = apply(store, updates=[CellChange("K", "Name", "K", "Mine")])
    assert "changed in Cin7 Core during the run" in out.failed["K"] and not cin7_server.writes()


# -- lost answers, interruptions, resume --------------------------------------------------------
def test_a_lost_create_answer_is_checked_by_sku_never_duplicated(cin7_server, store):
    cin7_server.add_product(SKU="LOST-10", Name="a product whose SKU contains the new one")
    cin7_server.inject("lost", method="POST", at=1)
    out = apply(store, creates=[{"ProductCode": "LOST-1", "Name": "New"}, {"ProductCode": "LOST-2", "Name": "Two"}])
    assert sorted(out.created) == ["LOST-1", "LOST-2"] and not out.failed
    assert sorted(cin7_server.skus()) == ["LOST-1", "LOST-10", "LOST-2"]
    seq = [(c.method, c.query.get("sku")) for c in cin7_server.calls]
    assert seq == [("GET", "LOST-1"), ("POST", None), ("GET", "LOST-1"), ("GET", "LOST-2"), ("POST", None)]


def test_a_lost_update_answer_is_simply_sent_again(cin7_server, store):
    cin7_server.add_product(SKU="U", Name="U")
    cin7_server.inject("lost", method="PUT", at=1)
    out = apply(store, updates=[CellChange("U", "Name", "U", "U2")])
    assert out.updated == ["U"] and cin7_server.by_sku("U")["Name"] == "U2"
    assert len(cin7_server.writes("PUT")) == 2


def _big_plan(fake: FakeCin7):
    for i in range(12):
        fake.add_product(SKU=f"E{i:02d}", Name=f"Existing {i}", PriceTier1=Decimal(i))
    updates = [CellChange(f"E{i:02d}", "Name", f"Existing {i}", f"Renamed {i}") for i in range(12)]
    updates += [CellChange(f"E{i:02d}", "PriceTier1", str(i), f"{i}.5") for i in range(0, 12, 3)]
    creates = [{"ProductCode": f"C{i:02d}", "Name": f"Created {i}", "Status": "Setup Required"} for i in range(6)]
    return creates, updates


def test_ctrl_c_leaves_a_journal_and_a_rerun_resumes_to_the_same_state(make_fake):
    reference = make_fake()
    creates, updates = _big_plan(reference)
    s = Cin7Store.from_env()
    apply(s, creates=creates, updates=updates)
    s.close()
    expected = comparable_products(reference)

    for stop_at in (1, 7, 15, 18):
        fake = make_fake()
        creates, updates = _big_plan(fake)
        s = Cin7Store.from_env()

        seen = []

        def interrupt(n, stop_at=stop_at, seen=seen):  # the project's advance(n) progress callable
            seen.append(n)
            if len(seen) == stop_at:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            apply(s, creates=creates, updates=updates, progress=interrupt)
        op = s.state.operations()[0]
        assert op["state"] == "interrupted"
        done = {r[0] for r in s.state.journal(op["op_id"]) if r[5] == DONE}
        assert len(done) == stop_at
        s.close()

        s = Cin7Store.from_env()  # a new process
        out = apply(s, creates=creates, updates=updates)
        assert out.op_id == op["op_id"] and not out.failed
        assert len(out.created) == 6 and len(out.updated) == 12
        assert s.state.operation(out.op_id)["state"] == "applied"
        assert len(s.state.operations()) == 1
        assert comparable_products(fake) == expected
        assert len(fake.writes()) == 18  # every product written exactly once
        s.close()


def test_network_loss_keeps_the_journal_and_a_replanned_rerun_resumes(make_fake):
    fake = make_fake()
    creates, updates = _big_plan(fake)
    fake.inject("outage", at=29, times=10_000)  # the 29th call and every later one: connection dropped
    s = Cin7Store.from_env()
    with pytest.raises(RemoteError) as err:
        apply(s, creates=creates, updates=updates)
    assert err.value.exit_code == ExitCode.FAILED
    op = s.state.operations()[0]
    assert f"operation #{op['op_id']}" in err.value.hint and "re-run the same command" in err.value.hint
    assert op["state"] == "interrupted"
    states = [r[5] for r in s.state.journal(op["op_id"])]
    assert DONE in states and (SENT in states or 0 in states)
    s.close()

    fake.clear_faults()
    s = Cin7Store.from_env()
    # the lead's import re-plans against the store: only what is still different comes back
    now = s.read_products().set_index(cols.KEY)
    todo_updates = [u for u in updates if now.loc[u.code, u.column] != u.new]
    todo_creates = [c for c in creates if c["ProductCode"] not in now.index]
    assert len(todo_updates) < len(updates)
    out = apply(s, creates=todo_creates, updates=todo_updates)
    assert out.op_id == op["op_id"] and not out.failed
    assert sorted(out.created) == [f"C{i:02d}" for i in range(6)]
    assert len(out.updated) == 12
    assert sorted(fake.skus()) == sorted([f"E{i:02d}" for i in range(12)] + [f"C{i:02d}" for i in range(6)])
    assert fake.by_sku("E03")["PriceTier1"] == Decimal("3.5") and fake.by_sku("E11")["Name"] == "Renamed 11"
    s.close()


def test_a_create_sent_before_a_crash_is_found_by_sku_on_resume(make_fake):
    fake = make_fake()
    fake.inject("lost", method="POST", at=1)  # Cin7 creates it, the answer is lost ...
    fake.inject("outage", method="GET", at=2, times=10_000)  # ... and the network goes before the check
    s = Cin7Store.from_env()
    with pytest.raises(RemoteError):
        apply(s, creates=[{"ProductCode": "ONCE", "Name": "Once"}])
    op = s.state.operations()[0]
    assert s.state.journal(op["op_id"])[0][5] == SENT
    s.close()
    fake.clear_faults()
    s = Cin7Store.from_env()
    out = apply(s, creates=[{"ProductCode": "ONCE", "Name": "Once"}])
    s.close()
    assert out.created == ["ONCE"] and fake.skus() == ["ONCE"]
    assert len(fake.writes("POST")) == 1


def test_a_product_created_by_someone_else_is_not_overwritten(cin7_server, store):
    cin7_server.add_product(SKU="RACE", Name="theirs")
    out = apply(store, creates=[{"ProductCode": "RACE", "Name": "mine"}])
    assert "already exists" in out.failed["RACE"] and cin7_server.by_sku("RACE")["Name"] == "theirs"
    assert not cin7_server.writes()


# -- rate limit and error answers ---------------------------------------------------------------
def test_pacing_never_exceeds_the_limit(make_fake):
    """Counted calls, never wall-clock throughput (that is bench/bench_cin7.py's job): 70 products at
    2 calls each through a fake allowing 60 calls a 1 s window. The fake never answers more than 60
    in any window; the exact pacing is proven with a fake clock below (on a loaded machine a call can
    arrive late enough to bunch with the next window's: such a call is throttled and waited out, so
    a few are allowed here)."""
    fake = make_fake(window=1.0)
    for i in range(70):
        fake.add_product(SKU=f"R{i:03d}", Name=f"R{i}")
    s = Cin7Store.from_env()
    out = apply(s, updates=[CellChange(f"R{i:03d}", "Name", f"R{i}", f"S{i}") for i in range(70)])
    s.close()
    assert len(out.updated) == 70 and not out.failed
    answered = [c for c in fake.calls if c.outcome == "answered"]
    assert len(answered) == 140 and fake.max_in_window() <= 60  # 2 calls a product, never over the limit
    assert len(fake.calls) - len(answered) <= 5


def test_the_rate_limiter_keeps_the_window_with_a_fake_clock():
    from inventory_tools.http import RateLimiter, RatePolicy

    now = [0.0]
    sent = []

    def sleep(seconds):
        now[0] += seconds

    limiter = RateLimiter(RatePolicy(calls=60, per_seconds=60.0, concurrency=1), clock=lambda: now[0], sleep=sleep)
    for _ in range(200):
        limiter.acquire()
        sent.append(now[0])
        limiter.release()
    for i, t in enumerate(sent):  # any 61 consecutive calls span at least one full window
        if i >= 60:
            assert t - sent[i - 60] >= 60.0
    assert sent[59] == 0.0 and sent[60] == 60.0  # and no waiting while the window has room


@pytest.mark.parametrize("style", ["429", "503", "400", "cycle"])
def test_every_throttle_answer_is_waited_out(make_fake, monkeypatch, style):
    fake = make_fake(window=0.5, calls=6, throttle_style=style)  # the server allows far less than we pace
    for i in range(10):
        fake.add_product(SKU=f"T{i}", Name=f"T{i}")
    s = Cin7Store.from_env()
    out = apply(s, updates=[CellChange(f"T{i}", "Name", f"T{i}", f"V{i}") for i in range(10)])
    stats = s.client.http.stats
    s.close()
    assert len(out.updated) == 10 and not out.failed
    assert stats.rate_limited > 0 and fake.max_in_window() <= 6
    assert [fake.by_sku(f"T{i}")["Name"] for i in range(10)] == [f"V{i}" for i in range(10)]


def test_a_throttle_body_with_http_200_or_400_is_retried_not_failed(cin7_server, store):
    cin7_server.add_product(SKU="Q", Name="Q")
    cin7_server.inject("throttle400", method="PUT", at=1)
    cin7_server.inject("error200", method="PUT", at=2,
                       body=[{"ErrorCode": 503, "Exception": "You reached 60 calls per minute API limit"}])
    out = apply(store, updates=[CellChange("Q", "Name", "Q", "Q2")])
    assert out.updated == ["Q"] and store.client.http.stats.rate_limited == 2


def test_an_error_body_with_http_200_fails_that_product(cin7_server, store):
    cin7_server.add_product(SKU="E1", Name="E1")
    cin7_server.add_product(SKU="E2", Name="E2")
    cin7_server.inject("error200", method="PUT", at=1, body=[{"ErrorCode": 500, "Exception": "Unexpected failure"}])
    out = apply(store, updates=[CellChange("E1", "Name", "E1", "x"), CellChange("E2", "Name", "E2", "y")])
    assert out.failed == {"E1": "Cin7 Core refused it: Unexpected failure (error 500)"} and out.updated == ["E2"]
    assert [r[5] for r in store.state.journal(out.op_id)] == [FAILED, DONE]


def test_a_non_json_200_is_an_error(cin7_server, store):
    cin7_server.add_product(SKU="H", Name="H")
    cin7_server.inject("html", method="GET", at=1)
    with pytest.raises(RemoteError, match="not JSON") as err:
        store.read_products()
    assert "INVENTORY_TOOLS_CIN7_API_BASE" in err.value.hint
    cin7_server.inject("html", method="PUT", at=1)
    out = apply(store, updates=[CellChange("H", "Name", "H", "H2")])
    assert "not JSON" in out.failed["H"] and "not saved" in out.failed["H"]
    assert store.state.journal(out.op_id)[0][5] == 0 and cin7_server.by_sku("H")["Name"] == "H"
    cin7_server.inject("html-after-write", method="PUT", at=1)  # saved, but the answer is a page
    out2 = apply(store, updates=[CellChange("H", "Name", "H", "H2")])
    assert out2.updated == ["H"] and not out2.failed and cin7_server.by_sku("H")["Name"] == "H2"
    assert store.state.journal(out2.op_id)[0][5] == DONE


def test_server_errors_on_reads_are_retried(cin7_server, store):
    cin7_server.add_product(SKU="S", Name="S")
    cin7_server.inject("status", method="GET", at=1, times=2, status=500, body="boom")
    assert list(store.read_products()[cols.KEY]) == ["S"]


# -- references and estimates --------------------------------------------------------------------
def test_reference_lists_and_a_typo_fails_in_seconds(cin7_server, store):
    lists = store.reference_lists()
    assert "Bakery" in lists["Category"] and "Item" in lists["DefaultUnitOfMeasure"]
    assert "310: Credit Card Fees (No VAT)" in lists["RevenueAccount"] and "Main Warehouse" in lists["DefaultLocation"]
    assert "GST on Income" in lists["SaleTaxRule"] and "Acme" in lists["Brand"]
    plan = frame({"ProductCode": "A", "Category": "bakery", "RevenueAccount": "310: whatever it is called"},
                 {"ProductCode": "B", "Category": "Bakry", "Brand": "Acme", "SaleTaxRule": "GST on Incme"},
                 {"ProductCode": "C", "DefaultUnitOfMeasure": "Crate", "ExpenseAccount": "999",
                  "DefaultLocation": "Shop"})
    calls = store.client.calls
    problems = store.check_references(plan)
    assert store.client.calls - calls == 0  # the books were read once (by reference_lists): a typo costs no call
    got = {(p["code"], p["column"], p["value"]) for p in problems}
    assert got == {("B", "Category", "Bakry"), ("B", "SaleTaxRule", "GST on Incme"),
                   ("C", "DefaultUnitOfMeasure", "Crate"), ("C", "ExpenseAccount", "999")}
    p = next(p for p in problems if p["column"] == "Category")
    assert p["row"] == 1 and p["rule"] == "reference.unknown" and "Bakery" in p["hint"]  # (an error: rules.csv)


def test_an_import_naming_a_category_cin7_lacks_reports_an_error_and_writes_nothing(cin7_server, tmp_path):
    """The store's reference check joins the import's report as an error (its severity is the
    rule's in schemas/rules.csv), and blocks the whole import before any write."""
    import openpyxl

    cin7_server.add_product(SKU="P1", Name="Prod 1", Status="Active")
    out, edited = tmp_path / "list.xlsx", tmp_path / "edited.xlsx"
    _cli("cin7core", "export", out)
    wb = openpyxl.load_workbook(out)
    ws = wb["Inventory List"]
    ws.cell(row=2, column=[c.value for c in ws[1]].index("Category") + 1).value = "Bakry"
    wb.save(edited)
    report = json.loads(_cli("cin7core", "import", edited, "--yes", "--json", expect=1).stdout)
    found = [p for p in report["problems"] if p["rule"] == "reference.unknown"]
    assert [(p["cell"], p["severity"], p["value"]) for p in found] == [("C2", "error", "Bakry")]
    assert report["applied"] is False and cin7_server.writes("PUT") == [] and cin7_server.writes("POST") == []


def test_estimates_follow_the_rate_limit_and_count_two_calls_a_product(cin7_server, store, monkeypatch):
    monkeypatch.setenv("INVENTORY_TOOLS_RATE_WINDOW_SECONDS", "60")
    s = Cin7Store.from_env()
    try:
        estimate = s.write_estimate(1240)
        assert estimate.calls == 2480 and 2480 <= estimate.seconds <= 2480 * 1.1
        assert estimate_text(estimate) == "1,240 products to write (2,480 calls at 60/min) ≈ 42 min"
    finally:
        s.close()


# -- the commands through --store cin7core ------------------------------------------------------
def _cli(store_spec: str, *args, expect=0):
    from click.testing import CliRunner

    from inventory_tools.cli import cli

    res = CliRunner().invoke(cli, ["--store", store_spec, *map(str, args)], catch_exceptions=False)
    assert res.exit_code == expect, (res.exit_code, res.output)
    return res


def _edit(src: Path, dst: Path) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(src)
    ws = wb["Inventory List"]
    hdr = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == "P1":
            row[hdr.index("Name")].value = "Renamed"
            row[hdr.index("Category")].value = "Bakery"
            row[hdr.index("Status")].value = "Active"
        if row[0].value == "P2":
            row[hdr.index("PriceTier1")].value = "7.25"
    new = [None] * len(hdr)
    for k, v in {"ProductCode": "NEW1", "Name": "New one", "Category": "Hardware", "Type": "Stock",
                 "CostingMethod": "FIFO", "DefaultUnitOfMeasure": "Box", "Status": "Active"}.items():
        new[hdr.index(k)] = v
    ws.append(new)
    wb.save(dst)


def test_export_import_undo_give_the_same_results_as_sqlite(cin7_server, tmp_path):
    for i in range(4):
        cin7_server.add_product(SKU=f"P{i}", Name=f"Prod {i}", PriceTier1=Decimal("1.5"), Status="Setup required")
    cin7 = open_store("cin7core")
    seed = cin7.read_products()
    cin7.close()
    db = str(tmp_path / "inventory.db")
    sq = open_store(db)
    sq.apply(ChangeSet(creates=seed), kind="seed", source="seed", base_export_id=None, counts={})
    sq.close()

    results = {}
    for spec in ("cin7core", db):
        out = tmp_path / f"{Path(spec).stem}.xlsx"
        _cli(spec, "export", out)
        edited = tmp_path / f"{Path(spec).stem}-edited.xlsx"
        _edit(out, edited)
        imported = json.loads(_cli(spec, "import", edited, "--yes", "--json").stdout)
        s = open_store(spec)
        after_import = s.read_products().set_index(cols.KEY).sort_index()
        s.close()
        _cli(spec, "undo", "--yes")
        s = open_store(spec)
        after_undo = s.read_products().set_index(cols.KEY).sort_index()
        s.close()
        results[spec] = (imported, after_import, after_undo)

    (c_json, c_imp, c_undo), (s_json, s_imp, s_undo) = results["cin7core"], results[db]
    assert c_json["counts"] == s_json["counts"] and c_json["changes"] == s_json["changes"]
    assert c_json["failed"] == [] and c_json["creates"] == ["NEW1"]
    pd.testing.assert_frame_equal(c_imp.drop(index="NEW1"), s_imp.drop(index="NEW1"))
    # a created product: every value the file gave is in Cin7; Cin7 fills its own defaults (0, kg, ...) in the rest
    given = {k: v for k, v in s_imp.loc["NEW1"].items() if v != ""}
    assert given and {k: c_imp.loc["NEW1", k] for k in given} == given
    assert (c_imp.loc["P1", "Status"], c_imp.loc["P1", "Name"], c_imp.loc["P2", "PriceTier1"]) == (
        "Active", "Renamed", "7.25")
    assert len(cin7_server.writes("POST")) == 1 and len(cin7_server.writes("PUT")) == 5  # 2 updates, 2 undone, 1 deprecated
    # undo: the same products back, except that Cin7 cannot delete: the created product is Deprecated
    assert "NEW1" not in s_undo.index and c_undo.loc["NEW1", "Status"] == "Deprecated"
    pd.testing.assert_frame_equal(c_undo.drop(index="NEW1"), s_undo)
    pd.testing.assert_frame_equal(c_undo.drop(index="NEW1"), seed.set_index(cols.KEY).sort_index())


def test_an_empty_apply_makes_no_call_but_finishes_an_interrupted_run(cin7_server, store):
    out = apply(store)
    assert not cin7_server.calls and store.state.operation(out.op_id)["state"] == "applied"
    cin7_server.add_product(SKU="Z", Name="Z")
    cin7_server.inject("lost", method="PUT", at=1)
    cin7_server.inject("outage", method="GET", at=2, times=10_000)
    cin7_server.inject("outage", method="PUT", at=2, times=10_000)
    with pytest.raises(RemoteError):
        apply(store, updates=[CellChange("Z", "Name", "Z", "Z2")], source="again.xlsx")
    op = store.state.operations()[0]
    assert op["state"] == "interrupted" and store.state.journal(op["op_id"])[0][5] == SENT
    cin7_server.clear_faults()
    # the re-planned import finds nothing left to change (Cin7 has Z2): the empty apply settles the journal
    assert store.unfinished_operation("import", "again.xlsx")["op_id"] == op["op_id"]
    out = apply(store, source="again.xlsx")
    assert out.op_id == op["op_id"] and out.updated == ["Z"]
    assert store.state.operation(op["op_id"])["state"] == "applied"
    assert store.unfinished_operation("import", "again.xlsx") is None


def test_credentials_never_reach_logs_errors_or_local_files(make_fake, caplog):
    import logging

    fake = make_fake(window=0.5, calls=3)
    fake.add_product(SKU="S1", Name="S1")
    caplog.set_level(logging.DEBUG)
    s = Cin7Store.from_env()
    fake.inject("lost", method="POST", at=1)
    fake.inject("status", method="GET", at=3, status=500, body="server error")
    out = apply(s, creates=[{"ProductCode": "S2", "Name": "S2", "Category": "Nope"},
                            {"ProductCode": "S3", "Name": "S3"}],
                updates=[CellChange("S1", "Name", "S1", "S1b")])
    s.close()
    assert "Category 'Nope' does not exist" in out.failed["S2"] and fake.by_sku("S1")["Name"] == "S1b"
    assert "throttled" in {c.outcome for c in fake.calls}  # the logs saw retries and throttles too
    state_bytes = b"".join(p.read_bytes() for p in Path(s.state_path).parent.iterdir())
    for secret in (ACCOUNT_ID, APP_KEY):
        assert secret not in caplog.text and secret.encode() not in state_bytes
        assert secret not in json.dumps(out.failed) and secret not in s.describe()


_CHILD = r"""
import json, sys
import pandas as pd
from inventory_tools import columns as cols
from inventory_tools.changes import CellChange, ChangeSet
from inventory_tools.stores.cin7 import Cin7Store
plan = json.load(open(sys.argv[1]))
creates = pd.DataFrame([{n: r.get(n, "") for n in cols.names()} for r in plan["creates"]],
                       columns=list(cols.names())).astype(object)
s = Cin7Store.from_env()
s.apply(ChangeSet(creates=creates, updates=[CellChange(*u) for u in plan["updates"]]), kind="import",
        source="inventory.xlsx", base_export_id=None, counts={})
"""


@pytest.mark.parametrize("kill_after", [3, 11])
def test_a_killed_process_leaves_a_journal_the_next_run_resumes(make_fake, tmp_path, kill_after):
    import signal
    import subprocess

    reference = make_fake()
    creates, updates = _big_plan(reference)
    s = Cin7Store.from_env()
    apply(s, creates=creates, updates=updates)
    s.close()

    fake = make_fake()
    creates, updates = _big_plan(fake)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"creates": creates, "updates": [[u.code, u.column, u.old, u.new] for u in updates]}))
    root = Path(__file__).resolve().parent.parent
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(plan)], cwd=root,
                             env={**os.environ, "PYTHONPATH": str(root)})
    deadline = time.monotonic() + 30
    while len(fake.writes()) < kill_after and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, "the child finished before it could be killed"
    written = len(fake.writes())
    assert kill_after <= written < 18

    s = Cin7Store.from_env()
    out = apply(s, creates=creates, updates=updates)
    s.close()
    assert not out.failed and len(out.created) == 6 and len(out.updated) == 12
    assert comparable_products(fake) == comparable_products(reference)
    assert len(fake.writes("POST")) == 6  # never a duplicate create
    assert len(fake.writes()) == 18  # a write in flight at the kill is settled against Cin7, not sent again
