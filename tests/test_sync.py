"""sync against a local Xero over real HTTP (tests/fakes/xero_server.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from tests.helpers.api import add_products
from tests.fakes.xero_server import SAMPLES, FakeXero

from inventory_tools import columns as cols
from inventory_tools.cli import cli
from inventory_tools.errors import ExitCode, RemoteError
from inventory_tools.http import RatePolicy
from inventory_tools.changes import CellChange, ChangeSet
from inventory_tools.stores.sqlite import SqliteStore
from inventory_tools.syncing import sync
from inventory_tools.xero.api import XeroClient

REPO = Path(__file__).resolve().parents[1]
SEED_UNTRACKED = ["123", "Merino-2011-LG", "UnTrackedThing", "abc65591"]
TENANT = "fe79f7dd-b6d4-4a92-ba7b-538af6289c58"


@pytest.fixture
def fx():
    server = FakeXero(hang_seconds=0.6).start()
    yield server
    server.stop()


@pytest.fixture
def xenv(fx, monkeypatch):
    for k, v in fx.env().items():
        monkeypatch.setenv(k, v)
    return fx


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "inv.db")
    yield s
    s.close()


def active(code: str, **kw) -> dict:
    return {"ProductCode": code, "Name": f"Product {code}", "Status": "Active", "Category": "Paint", "Type": "Stock",
            "CostingMethod": "FIFO", "DefaultUnitOfMeasure": "Item", **kw}


def product(store, code: str) -> dict:
    rows = store.read_by_codes([code]).to_dict("records")
    return rows[0] if rows else {}


def posts(fx) -> list[dict]:
    return [c for c in fx.calls if c["method"] == "POST" and c["path"].endswith("/Items")]


# -- pull ------------------------------------------------------------------------------------------
def test_first_run_records_the_moment_and_says_how_to_load_older_items(xenv, store):
    before = time.time()
    report = sync(store)
    assert report.first_run and report.loaded == [] and report.sync_id is not None
    assert report.older_items_count == len(SEED_UNTRACKED)
    assert report.next_command == "inventory-tools sync --since 2017-03-01"  # oldest sample item: 2017-03-01
    state = store.state.sync_state(TENANT)
    assert state and state["cursor"] and state["enabled_at"]
    assert abs(pd.Timestamp(state["cursor"]).timestamp() - before) < 5
    # the exact command loads them: untracked only, as Setup Required, mapped per DESIGN §6
    again = sync(store, since=report.older_items_since)
    assert sorted(again.loaded) == SEED_UNTRACKED
    assert again.skipped_tracked == ["TrackedThing"] and "untrack" in again.tracked_guidance
    guitar = product(store, "123")
    assert guitar["Status"] == "Setup Required" and guitar["Name"] == "Guitars"
    assert guitar["PriceTier1"] == "5000" and guitar["RevenueAccount"] == "200"
    assert guitar["SaleTaxRule"] == "GST on Income" and guitar["Sellable"] == "Yes"
    assert guitar["Description"] == "Guitars Fender Strat"
    thing = product(store, "UnTrackedThing")
    assert thing["ExpenseAccount"] == "400" and thing["PurchaseTaxRule"] == "No GST" and thing["PriceTier1"] == "40"
    assert product(store, "TrackedThing") == {}
    gets = [c for c in xenv.calls if c["path"] == "/api.xro/2.0/Items" and c["method"] == "GET"]
    assert all(c["query"].get("unitdp") == "4" and c["accept"] == "application/json" for c in gets)
    assert [c["if_modified_since"] for c in gets if c["if_modified_since"]] == ["2017-03-01T00:00:00"]


def test_incremental_run_loads_only_items_changed_since_the_cursor(xenv, store):
    sync(store)  # first run: nothing loaded, cursor set
    cursor = store.state.sync_state(TENANT)["cursor"]
    time.sleep(0.01)
    xenv.put_item({"Code": "NEW-1", "Name": "New one", "IsTrackedAsInventory": False,
                   "SalesDetails": {"UnitPrice": Decimal("1.2345")}})
    xenv.put_item({"Code": "NEW-T", "Name": "Tracked new", "IsTrackedAsInventory": True,
                   "InventoryAssetAccountCode": "630", "PurchaseDetails": {"COGSAccountCode": "310"}})
    report = sync(store)
    assert report.loaded == ["NEW-1"] and report.skipped_tracked == ["NEW-T"]
    assert product(store, "NEW-1")["PriceTier1"] == "1.2345"
    imsince = [c["if_modified_since"] for c in xenv.calls if c["if_modified_since"]]
    expected = (pd.Timestamp(cursor) - pd.Timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    assert imsince[-1] == expected
    assert store.state.sync_state(TENANT)["cursor"] > cursor
    # idempotent: a re-run changes nothing
    n_ops = len(store.state.operations())
    again = sync(store)
    assert again.loaded == [] and again.linked == [] and again.pushed == []
    assert store.codes().count("NEW-1") == 1
    assert len(store.state.operations()) == n_ops + 1  # still one history entry per sync


def test_since_filters_on_changed_date_and_sync_is_undoable_history(xenv, store):
    report = sync(store, since="2019-01-01", pull_only=True)
    assert sorted(report.loaded) == ["123", "abc65591"]  # the 2017 samples are older
    op = store.state.operation(report.sync_id)
    assert op["kind"] == "sync" and op["counts"]["loaded"] == 2
    journal = store.state.journal(report.sync_id)
    assert sorted(code for code, action, *_ in journal if action == "create") == ["123", "abc65591"]
    assert store.last_ops(["123"])["123"] == report.sync_id


def test_codes_already_in_the_store_are_linked_never_overwritten(xenv, store):
    add_products(store, [{"ProductCode": "123", "Name": "Mine", "Status": "Setup Required"}])
    report = sync(store, since="2010-01-01", pull_only=True)
    assert report.linked == ["123"] and "123" not in report.loaded
    assert product(store, "123")["Name"] == "Mine"
    link = store.state.xero_links(TENANT)["123"]
    assert link["item_id"] == "c8c54d65-f3f2-452d-926e-bf450b12fb07"
    assert store.codes().count("123") == 1


def test_a_code_differing_only_by_case_is_not_loaded(xenv, store):
    add_products(store, [{"ProductCode": "ABC65591", "Name": "Upper", "Status": "Setup Required"}])
    report = sync(store, since="2010-01-01", pull_only=True)
    assert "abc65591" not in report.loaded and any("case" in w for w in report.warnings)


# -- push --------------------------------------------------------------------------------------------
def test_push_rules(xenv, store):
    long_code = "C" * 31
    add_products(store, [
        active("NEW-1", PriceTier1="12.3456", AverageCost="0", SaleTaxRule="GST on Income",
               RevenueAccount="200: Sales", Description="A new thing"),
        active("NEW-2", AverageCost="7.5", PurchaseTaxRule="GST on Expenses"),
        active("TrackedThing", Name="Ours"),
        active(long_code),
        active("LONGNAME", Name="N" * 51),
        active("123", Name="Guitars renamed"),
        {"ProductCode": "SETUP-1", "Name": "not ready", "Status": "Setup Required"},
    ])
    tracked_before = json.dumps(xenv.by_code("TrackedThing"), default=str)
    report = sync(store, pull_only=False)
    assert sorted(report.pushed) == ["123", "NEW-1", "NEW-2"]
    assert report.skipped_tracked == ["TrackedThing"]
    rejected = {r["code"]: r["message"] for r in report.rejected}
    assert set(rejected) == {long_code, "LONGNAME"}
    assert "31 characters" in rejected[long_code] and "30" in rejected[long_code]
    assert "51 characters" in rejected["LONGNAME"] and "not truncated" in rejected["LONGNAME"]
    assert report.exit_code == ExitCode.DATA
    # Xero side: tracked item untouched, nothing truncated, no duplicates, exact prices
    assert json.dumps(xenv.by_code("TrackedThing"), default=str) == tracked_before
    assert xenv.by_code(long_code[:30]) is None and xenv.by_code("SETUP-1") is None
    codes = xenv.codes()
    assert len(codes) == len(set(codes))
    new1 = xenv.by_code("NEW-1")
    assert new1["SalesDetails"] == {"UnitPrice": Decimal("12.3456"), "AccountCode": "200", "TaxType": "OUTPUT2"}
    assert not new1["IsTrackedAsInventory"] and "UnitPrice" not in new1["PurchaseDetails"]  # AverageCost 0: not sent
    assert xenv.by_code("NEW-2")["PurchaseDetails"] == {"UnitPrice": Decimal("7.5"), "TaxType": "INPUT2"}
    guitar = xenv.by_code("123")
    assert guitar["ItemID"] == "c8c54d65-f3f2-452d-926e-bf450b12fb07" and guitar["Name"] == "Guitars renamed"
    for call in posts(xenv):
        assert call["query"] == {"summarizeerrors": "false", "unitdp": "4"}
        body = json.loads(call["body"])
        assert len(body["Items"]) <= 50
        for it in body["Items"]:
            assert not {"IsTrackedAsInventory", "InventoryAssetAccountCode"} & set(it)
            assert "COGSAccountCode" not in it.get("PurchaseDetails", {})
    links = store.state.xero_links(TENANT)
    assert links["NEW-1"]["item_id"] == new1["ItemID"] and links["TrackedThing"]["tracked"] == 1
    # only what changed since the last push is sent again
    again = sync(store)
    assert again.pushed == [] and not posts(xenv)[len(posts(xenv)):]
    n_posts = len(posts(xenv))
    store.apply(ChangeSet(creates=pd.DataFrame(columns=list(cols.names())),
                          updates=[CellChange("NEW-2", "PriceTier1", "", "3.25")]),
                kind="import", source="test", base_export_id=None, counts={})
    third = sync(store)
    assert third.pushed == ["NEW-2"] and len(posts(xenv)) == n_posts + 1
    assert xenv.by_code("NEW-2")["SalesDetails"]["UnitPrice"] == Decimal("3.25")


def test_batches_of_50_and_vanished_items_are_relinked(xenv, store):
    add_products(store, [active(f"P{i:03d}", PriceTier1=str(i)) for i in range(120)])
    report = sync(store)
    assert len(report.pushed) == 120 and len(posts(xenv)) == 3  # 50 + 50 + 20
    old_id = xenv.by_code("P007")["ItemID"]
    # deleted in Xero and re-created by someone (new ItemID), and another deleted for good
    xenv.delete_item("P007")
    xenv.put_item({"Code": "P007", "Name": "recreated", "IsTrackedAsInventory": False})
    xenv.delete_item("P008")
    again = sync(store)
    assert again.relinked == ["P007"] and sorted(again.pushed) == ["P007", "P008"]
    assert xenv.by_code("P007")["ItemID"] != old_id and xenv.by_code("P007")["Name"] == "Product P007"
    assert store.state.xero_links(TENANT)["P007"]["item_id"] == xenv.by_code("P007")["ItemID"]
    assert xenv.by_code("P008") is not None
    assert len(xenv.codes()) == len(set(xenv.codes()))


def test_read_only_connection_fails_before_any_write(fx, monkeypatch, store):
    fx.scopes = ["accounting.settings.read"]
    for k, v in fx.env().items():
        monkeypatch.setenv(k, v)
    add_products(store, [active("RO-1")])
    with pytest.raises(RemoteError) as err:
        sync(store)
    assert "accounting.settings" in str(err.value) and "--pull-only" in str(err.value)
    assert posts(fx) == []
    assert sync(store, pull_only=True).error is None  # reading still works


def test_cin7_store_never_pushes(xenv, store):
    add_products(store, [active("C7-1")])
    from inventory_tools.stores.cin7 import Cin7Store

    store.pushes_to_xero, store.create_defaults = Cin7Store.pushes_to_xero, Cin7Store.create_defaults  # as Cin7 is
    report = sync(store, since="2010-01-01")
    assert report.pushed == [] and "Cin7" in report.push_off_reason and posts(xenv) == []
    assert product(store, "123")["Category"] == "Other"  # Cin7's own defaults for required fields


def test_dry_run_writes_nothing(xenv, store, tmp_path):
    add_products(store, [active("DRY-1"), {"ProductCode": "123", "Name": "Mine", "Status": "Active"}])
    ops = store.state.operations()
    report = sync(store, since="2010-01-01", dry_run=True)
    assert report.dry_run and report.sync_id is None
    assert sorted(report.loaded) == ["Merino-2011-LG", "UnTrackedThing", "abc65591"]
    assert report.linked == ["123"] and sorted(report.pushed) == ["123", "DRY-1"]
    assert posts(xenv) == [] and store.state.operations() == ops
    assert sorted(store.codes()) == ["123", "DRY-1"]
    assert store.state.sync_state(TENANT) is None and store.state.xero_links(TENANT) == {}


# -- faults, interruptions, limits ------------------------------------------------------------------
def test_fault_storm_converges_without_duplicates_or_losses(xenv, store):
    xenv.add_items(150, prefix="X", tracked_every=10, updated_ms=1_600_000_000_000)
    add_products(store, [active(f"S{i:03d}", PriceTier1=f"{i}.5") for i in range(130)])
    xenv.storm(0.3, seed=11)
    done, attempts = None, 0
    while done is None and attempts < 15:
        attempts += 1
        try:
            done = sync(store, since="2019-01-01")
        except RemoteError:
            continue
    xenv.storm(0.0)
    final = sync(store, since="2019-01-01")
    assert final.pushed == [] and final.loaded == []
    expected_loaded = {f"X{i:05d}" for i in range(150) if i % 10} | {"123", "abc65591"}
    codes = store.codes()
    assert len(codes) == len(set(codes))
    assert expected_loaded | {f"S{i:03d}" for i in range(130)} == set(codes)
    assert all(n == 1 for n in xenv.created.values()) and len(xenv.created) == 130
    for i in range(130):
        assert xenv.by_code(f"S{i:03d}")["SalesDetails"]["UnitPrice"] == Decimal(f"{i}.5")
    assert any(c["status"] in (500, 503, "timeout", "drop") for c in xenv.calls)
    assert xenv.max_calls_in_any_window(accepted_only=False) <= xenv.minute_limit


def test_interrupted_runs_resume(xenv, store, monkeypatch):
    add_products(store, [active(f"I{i:03d}") for i in range(110)])
    # the third batch's answer is lost every time (written in Xero, the connection dropped after)
    calls = {"n": 0}
    real_post = XeroClient.post_items

    def flaky(self, items):
        calls["n"] += 1
        if calls["n"] == 3:
            xenv.inject("drop", method="POST", phase="after", times=20)
        return real_post(self, items)

    monkeypatch.setattr(XeroClient, "post_items", flaky)
    with pytest.raises(RemoteError) as err:
        sync(store, since="2010-01-01")
    assert err.value.report.sync_id is not None and len(err.value.report.pushed) == 100
    xenv.faults.clear()
    monkeypatch.setattr(XeroClient, "post_items", real_post)
    # an interruption between storing the products and recording the cursor
    from inventory_tools.stores.state import LocalState

    real_save = LocalState.save_sync_state

    def boom(*a, **k):
        raise KeyboardInterrupt

    xenv.put_item({"Code": "LATE-1", "Name": "late", "IsTrackedAsInventory": False})
    monkeypatch.setattr(LocalState, "save_sync_state", staticmethod(boom))
    with pytest.raises(KeyboardInterrupt):
        sync(store)
    monkeypatch.setattr(LocalState, "save_sync_state", staticmethod(real_save))
    resumed = sync(store)
    assert "LATE-1" in resumed.linked and resumed.loaded == []  # stored once, now linked
    assert sorted(resumed.pushed) == [f"I{i:03d}" for i in range(100, 110)]
    assert all(n == 1 for n in xenv.created.values())
    assert store.codes().count("LATE-1") == 1 and store.state.sync_state(TENANT)["cursor"]
    assert sync(store).pushed == []


def test_pacing_keeps_calls_per_window_under_the_limit(store):
    with FakeXero(window=1.0, minute_limit=8) as fx:
        client = XeroClient(client_id=fx.client_id, client_secret=fx.client_secret, api_base=fx.url,
                            identity_base=fx.url, policy=RatePolicy(calls=8, per_seconds=1.0), timeout=2.0)
        add_products(store, [active(f"R{i:03d}") for i in range(600)])  # 12 POSTs + GETs > 8 a window
        started = time.monotonic()
        report = sync(store, client=client)
        assert len(report.pushed) == 600 and report.rate_limited == 0
        assert not [c for c in fx.calls if c["status"] == 429]
        assert fx.max_calls_in_any_window(accepted_only=False) <= 8
        assert fx.max_inflight <= 5
        assert time.monotonic() - started >= 1.0  # it really had to wait for the next window


def test_minute_429_waits_retry_after_then_continues(store):
    with FakeXero(window=1.0, minute_limit=10) as fx:
        fx.shadow_calls = 1  # someone else uses the same quota: our pacing cannot see it coming
        client = XeroClient(client_id=fx.client_id, client_secret=fx.client_secret, api_base=fx.url,
                            identity_base=fx.url, policy=RatePolicy(calls=60, per_seconds=1.0), timeout=2.0)
        add_products(store, [active(f"M{i:03d}") for i in range(400)])
        report = sync(store, client=client)
        assert len(report.pushed) == 400 and report.rate_limited >= 1
        throttled = [c for c in fx.calls if c["status"] == 429]
        assert throttled
        accepted = [c for c in fx.api_calls() if c["status"] == 200]
        # after each 429 the next accepted call came only after the announced wait
        for t in throttled:
            later = [c["t"] for c in accepted if c["t"] > t["t"]]
            assert later and later[0] - t["t"] >= 0.04


def test_daily_limit_stops_with_exit_3_and_the_reset_time(fx, monkeypatch, store, tmp_path):
    fx.day_limit = 2  # GET Items + one POST of 50, then the day is over
    for k, v in fx.env().items():
        monkeypatch.setenv(k, v)
    add_products(store, [active(f"D{i:03d}") for i in range(60)])
    with pytest.raises(RemoteError) as err:
        sync(store)
    assert "daily" in str(err.value) and "resets at" in str(err.value) and err.value.exit_code == 3
    assert err.value.report.resume_at and len(err.value.report.pushed) == 50  # what was done is kept
    fx.day_limit, fx.day_count = 5000, 0  # the next day
    resumed = sync(store)
    assert resumed.pushed == [f"D{i:03d}" for i in range(50, 60)]
    fx.day_limit = fx.day_count
    result = CliRunner().invoke(cli, ["--store", str(tmp_path / "cli.db"), "sync", "--json"])
    assert result.exit_code == 3 and "resets at" in result.stderr
    data = json.loads(result.stdout)
    assert data["resume_at"] and data["rate_limited"] == 1 and data["error"]


def test_401_refreshes_the_token_once(xenv, store):
    xenv.inject("401", method="GET", path="/api.xro/2.0/Items")
    report = sync(store)
    assert report.error is None
    assert len([c for c in xenv.calls if c["path"] == "/connect/token"]) == 2


def test_ready_token_mode_and_403(fx, monkeypatch, store):
    for k, v in fx.env(mode="token").items():
        monkeypatch.setenv(k, v)
    assert sync(store, since="2010-01-01").loaded
    assert not [c for c in fx.calls if c["path"] in ("/connect/token", "/connections")]
    monkeypatch.setenv("XERO_TENANT_ID", "00000000-1111-2222-3333-444444444444")
    with pytest.raises(RemoteError) as err:
        sync(store)
    assert "403" in str(err.value) and "tenant" in str(err.value) and "accounting.settings" in str(err.value)


# -- file source ------------------------------------------------------------------------------------
def test_xero_file_loads_untracked_without_any_call(store, tmp_path):
    csv_path = SAMPLES / "real_xero_items_export_InventoryItems-20260714_excerpt.csv"
    add_products(store, [{"ProductCode": "BED001", "Name": "Mine", "Status": "Active"}])
    report = sync(store, xero_file=csv_path)
    assert report.calls == 0 and report.pushed == [] and "nothing is pushed" in report.push_off_reason
    assert len(report.loaded) == 14 and "TIK015" not in report.loaded and report.archived_skipped == ["TIK015"]
    assert report.linked == ["BED001"] and product(store, "BED001")["Name"] == "Mine"
    p = product(store, "BRA003")
    assert p["PriceTier1"] == "111.876" and p["SaleTaxRule"] == "No VAT" and p["RevenueAccount"] == "202"
    assert p["ExpenseAccount"] == "311" and p["Status"] == "Setup Required"
    assert product(store, "CAP 002")["Name"] == "Caparol Haftprimer (White) - 10 ltr"
    assert sync(store, xero_file=csv_path).loaded == []  # idempotent


# -- CLI --------------------------------------------------------------------------------------------
def test_cli_exit_codes_and_json(xenv, tmp_path):
    db = str(tmp_path / "c.db")
    runner = CliRunner()
    ok = runner.invoke(cli, ["--store", db, "sync", "--since", "2010-01-01", "--json"])
    assert ok.exit_code == 0, ok.output  # a tracked item left in Xero is information
    data = json.loads(ok.stdout)
    for key in ("sync_id", "loaded", "linked", "skipped_tracked", "pushed", "rejected", "calls", "rate_limited"):
        assert key in data
    assert data["skipped_tracked"] == ["TrackedThing"] and "tracked in Xero" in ok.stderr
    s = SqliteStore(db)
    add_products(s, [active("X" * 31)])
    s.close()
    bad = runner.invoke(cli, ["--store", db, "sync"])
    assert bad.exit_code == 1 and "30" in bad.stderr
    usage = runner.invoke(cli, ["--store", db, "sync", "--pull-only", "--push-only"])
    assert usage.exit_code == 2 and "exclude" in usage.stderr
    assert runner.invoke(cli, ["--store", db, "sync", "--since", "31/01/2024"]).exit_code == 2


def test_cli_without_credentials_or_server_exits_3(tmp_path, monkeypatch):
    db = str(tmp_path / "n.db")
    r = CliRunner().invoke(cli, ["--store", db, "sync"])
    assert r.exit_code == 3 and "XERO_CLIENT_ID" in r.stderr and "Traceback" not in r.output
    monkeypatch.setenv("XERO_CLIENT_ID", "id-123456")
    monkeypatch.setenv("XERO_CLIENT_SECRET", "secret-abcdef")
    monkeypatch.setenv("INVENTORY_TOOLS_XERO_IDENTITY_BASE", "http://127.0.0.1:9")  # nothing listens
    monkeypatch.setenv("INVENTORY_TOOLS_XERO_API_BASE", "http://127.0.0.1:9")
    monkeypatch.setenv("INVENTORY_TOOLS_RATE_WINDOW_SECONDS", "0.5")
    r = CliRunner().invoke(cli, ["--store", db, "sync"])
    assert r.exit_code == 3 and "could not be reached" in r.stderr and "secret-abcdef" not in r.output


def test_secrets_never_in_output_logs_or_files(fx, tmp_path):
    db = tmp_path / "sec.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XERO_", "INVENTORY_TOOLS_"))}
    env.update(fx.env(), PYTHONPATH=str(REPO))
    fx.inject("500", method="GET", path="/api.xro/2.0/Items", times=2)
    cmd = [sys.executable, "-m", "inventory_tools", "-vv", "--store", str(db), "sync", "--since", "2010-01-01", "--json"]
    runs = [subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)]
    bad = {**env, "XERO_CLIENT_SECRET": fx.client_secret[:-2] + "XX"}  # refused secret
    runs.append(subprocess.run(cmd, env=bad, capture_output=True, text=True, timeout=60))
    tok = {**env, **fx.env(mode="token"), "XERO_TENANT_ID": "00000000-1111-2222-3333-444444444444"}
    runs.append(subprocess.run(cmd, env={k: v for k, v in tok.items() if k not in ("XERO_CLIENT_ID", "XERO_CLIENT_SECRET")},
                               capture_output=True, text=True, timeout=60))
    assert [r.returncode for r in runs] == [0, 3, 3], [r.stderr for r in runs]
    assert "client id/secret" in runs[1].stderr and "403" in runs[2].stderr
    secrets = [fx.client_secret, fx.client_secret[:-2] + "XX", fx.client_id, *fx.tokens]
    files = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    for r in runs:
        for s in secrets:
            assert s not in r.stdout and s not in r.stderr
    for s in secrets:
        assert s.encode() not in files


def test_undo_of_a_sync_removes_what_it_loaded(xenv, tmp_path):
    db = str(tmp_path / "u.db")
    runner = CliRunner()
    first = json.loads(runner.invoke(cli, ["--store", db, "sync", "--since", "2019-01-01", "--json"]).stdout)
    assert sorted(first["loaded"]) == ["123", "abc65591"]
    history = runner.invoke(cli, ["--store", db, "history"])
    assert history.exit_code == 0 and "sync" in history.output
    undone = runner.invoke(cli, ["--store", db, "undo", str(first["sync_id"]), "--yes"])
    assert undone.exit_code == 0, undone.output
    s = SqliteStore(db)
    assert s.codes() == []
    s.close()
    # a mistaken --since is cheap to take back: a corrected run loads again, without duplicates
    again = json.loads(runner.invoke(cli, ["--store", db, "sync", "--since", "2018-01-01", "--json"]).stdout)
    assert sorted(again["loaded"]) == ["123", "abc65591"]


def test_store_refusals_keep_the_cursor_and_are_reported(xenv, store, monkeypatch):
    from inventory_tools.changes import ApplyOutcome

    sync(store)  # first run
    cursor = store.state.sync_state(TENANT)["cursor"]
    xenv.put_item({"Code": "REFUSED-1", "Name": "no", "IsTrackedAsInventory": False})
    real_apply = SqliteStore.apply

    def refusing(self, changes, **kw):  # a remote store (Cin7) may refuse single products
        keep = changes.creates[changes.creates["ProductCode"] != "REFUSED-1"]
        out = real_apply(self, ChangeSet(creates=keep), **kw)
        return ApplyOutcome(out.op_id, out.created, out.updated, out.deleted, failed={"REFUSED-1": "invalid name"})

    monkeypatch.setattr(SqliteStore, "apply", refusing)
    report = sync(store)
    assert report.rejected == [{"code": "REFUSED-1", "message": "the store refused it: invalid name"}]
    assert report.loaded == [] and report.exit_code == ExitCode.DATA
    assert store.state.sync_state(TENANT)["cursor"] == cursor
    monkeypatch.setattr(SqliteStore, "apply", real_apply)
    assert sync(store).loaded == ["REFUSED-1"]


def test_library_entry_point_is_the_function(xenv, store):
    import inventory_tools
    import inventory_tools.syncing  # noqa: F401  (importing the module does not shadow the function)
    from inventory_tools import sync as entry

    assert entry is inventory_tools.syncing.sync and inventory_tools.sync is entry
    report = inventory_tools.sync(store, since="2019-01-01", pull_only=True)
    assert sorted(report.loaded) == ["123", "abc65591"] and report.to_dict()["calls"] >= 1


def test_push_only_and_pull_only(xenv, store):
    add_products(store, [active(f"PO{i:03d}") for i in range(60)] + [{"ProductCode": "123", "Name": "Mine",
                                                                    "Status": "Setup Required"}])
    seen = []
    report = sync(store, push_only=True, progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert report.loaded == [] and not report.pulled and len(report.pushed) == 60
    assert report.linked == ["123"] and report.sync_id is not None
    assert seen == [("push", 50, 60), ("push", 60, 60)]
    assert store.state.sync_state(TENANT) is None  # no pull: sync is not "enabled" yet
    # one If-Modified-Since read: the second batch is built from Xero's items as they are by then
    assert len([c for c in xenv.calls if c["if_modified_since"]]) == 1
    n_posts = len(posts(xenv))
    store.apply(ChangeSet(creates=pd.DataFrame(columns=list(cols.names())),
                          updates=[CellChange("PO001", "Name", "Product PO001", "Renamed")]),
                kind="import", source="test", base_export_id=None, counts={})
    pulled = sync(store, pull_only=True)
    assert pulled.pushed == [] and pulled.push_off_reason == "--pull-only" and len(posts(xenv)) == n_posts


def test_a_value_changed_back_is_pushed_again(xenv, store):
    add_products(store, [active("AB-1", PriceTier1="1")])
    for old, new in ((None, None), ("1", "2"), ("2", "1"), ("1", "2")):  # A, B, A, B: bodies repeat
        if old:
            store.apply(ChangeSet(creates=pd.DataFrame(columns=list(cols.names())),
                                  updates=[CellChange("AB-1", "PriceTier1", old, new)]),
                        kind="import", source="test", base_export_id=None, counts={})
        assert sync(store).pushed == ["AB-1"]
        assert xenv.by_code("AB-1")["SalesDetails"]["UnitPrice"] == Decimal(new or "1")


def test_sync_into_the_cin7_store(xenv, monkeypatch, tmp_path):
    """With --store cin7core the pull creates products on (fake) Cin7 Core, with Cin7's defaults; no push."""
    from tests.fakes.cin7_server import FakeCin7

    from inventory_tools.stores import open_store

    cin7 = FakeCin7(window=2.0).start()
    try:
        for k, v in cin7.env().items():
            monkeypatch.setenv(k, v)
        monkeypatch.setenv("INVENTORY_TOOLS_STATE_DIR", str(tmp_path / "state"))
        store = open_store("cin7core")
        try:
            xenv.put_item({"Code": "NONAME-1", "IsTrackedAsInventory": False})  # Xero's Name is optional
            report = sync(store, since="2010-01-01")
            # The fake Cin7 org has no tax rule "No GST" and no account 300: those two are refused and
            # reported per product (exit 1); the rest load with Cin7's defaults for required fields.
            assert sorted(report.loaded) == ["123", "NONAME-1", "abc65591"], report.rejected
            refused = {r["code"]: r["message"] for r in report.rejected}
            assert set(refused) == {"Merino-2011-LG", "UnTrackedThing"} and "No GST" in refused["UnTrackedThing"]
            assert report.exit_code == ExitCode.DATA
            assert report.pushed == [] and "Cin7" in report.push_off_reason and posts(xenv) == []
            made = {p["SKU"]: p for p in cin7.products.values()}
            assert set(made) == {"123", "NONAME-1", "abc65591"}
            assert made["123"]["Category"] == "Other" and made["123"]["CostingMethod"] == "FIFO"
            assert made["NONAME-1"]["Name"] == "NONAME-1"  # Cin7 requires a name: the code stands in
            assert store.state.sync_state(TENANT)["cursor"]  # kept where it was: refusals are retried
            again = sync(store, since="2010-01-01")  # linked now, never duplicated; the refusals again
            assert again.loaded == [] and sorted(again.linked) == [] and set(r["code"] for r in again.rejected) == set(refused)
            assert len(cin7.products) == 3
        finally:
            store.close()
    finally:
        cin7.stop()


@pytest.mark.parametrize("setup_required", ["accept", "refuse"])
def test_sync_into_cin7_when_setup_required_is_accepted_or_refused(xenv, monkeypatch, tmp_path, setup_required):
    """If Cin7 refuses Status "Setup required", sync says so once (Cin7's answer, and that Cin7's own Xero
    integration loads untracked items as Setup Required), sends no further item, never another status."""
    from tests.fakes.cin7_server import SETUP_REFUSED, FakeCin7

    cin7 = FakeCin7(window=2.0, setup_required=setup_required).start()
    try:
        for k, v in cin7.env().items():
            monkeypatch.setenv(k, v)
        monkeypatch.setenv("INVENTORY_TOOLS_STATE_DIR", str(tmp_path / "state"))
        res = CliRunner().invoke(cli, ["--store", "cin7core", "sync", "--since", "2010-01-01", "--json"])
        data = json.loads(res.stdout)
        posts_made = [c.body["SKU"] for c in cin7.writes("POST")]
        if setup_required == "accept":
            assert sorted(data["loaded"]) == ["123", "abc65591"] and data["notices"] == []
            assert {p["Status"] for p in cin7.products.values()} == {"Setup required"}
            return
        assert res.exit_code == ExitCode.DATA and data["loaded"] == [] and cin7.products == {}
        assert len(posts_made) == 1  # the first refusal stops the rest: never sent under another status
        assert [n["kind"] for n in data["notices"]] == ["setup_required_refused"]
        assert res.stderr.count("refused Status 'Setup required'") == 1 and SETUP_REFUSED in res.stderr
        assert "loads untracked items as Setup Required natively" in res.stderr
        assert {r["code"] for r in data["rejected"]} == {"123", "abc65591", "Merino-2011-LG", "UnTrackedThing"}
    finally:
        cin7.stop()
