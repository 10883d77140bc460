"""``inventory-tools check``: read-only, against both fakes."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from inventory_tools.cli import cli
from tests.fakes.cin7_server import ACCOUNT_ID, APP_KEY, FakeCin7
from tests.fakes.xero_server import FakeXero
from tests.helpers.api import point_env_at


@pytest.fixture
def fakes(monkeypatch, tmp_path):
    cin7 = FakeCin7(window=2.0).start()
    xero = FakeXero(window=2.0).start()
    point_env_at(monkeypatch, {**cin7.env(), **xero.env()})
    monkeypatch.chdir(tmp_path)  # a command that writes anything would leave it here (.inventory-tools/, *.db)
    yield cin7, xero
    cin7.stop()
    xero.stop()


def _run(*args):
    return CliRunner().invoke(cli, ["check", *args])


def test_check_reports_both_connections_and_changes_nothing(fakes, tmp_path):
    cin7, xero = fakes
    cin7.add_product(SKU="A", Name="A")
    products_before = json.dumps(cin7.products, default=str)
    items_before = json.dumps(xero.items, default=str)
    res = _run("--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    x, c = data["xero"], data["cin7"]
    assert data["ok"] and x["ok"] and c["ok"]
    assert (x["tenant_name"], x["tenant_id"], x["mode"]) == ("Demo Company (NZ)", xero.tenant_id, "custom connection")
    assert x["scopes"] == ["accounting.settings"] and x["allows"] == {"read_items": True, "write_items": True,
                                                                      "read_tax_rates": True}
    assert x["items_read"] and x["remaining"]["minute"] >= 0 and x["remaining"]["day"] > 0
    assert c["company"] == "Fake Company Ltd" and c["reference_lists"]["category"] == 4
    assert set(c["reference_lists"]) == {"category", "brand", "unit", "tax", "account", "location", "discount"}
    assert c["tax_rules"] == {"active": 4, "for_sales": 3, "for_purchases": 2}
    assert c["calls_per_minute"] == 60 and c["calls_used"] == 8 and c["remaining_reported"] is None
    # nothing changed anywhere: no write reached either fake, no local file appeared
    assert not [k for k in cin7.calls if k.method != "GET"]
    assert not [k for k in xero.calls if k["method"] != "GET" and k["path"] != "/connect/token"]
    assert json.dumps(cin7.products, default=str) == products_before
    assert json.dumps(xero.items, default=str) == items_before
    assert list(tmp_path.iterdir()) == []
    human = _run()
    assert "Demo Company (NZ)" in human.stderr and "Fake Company Ltd" in human.stderr
    assert "read and write items" in human.stderr and "this check used 8" in human.stderr
    for secret in (ACCOUNT_ID, APP_KEY, xero.client_secret):
        assert secret not in human.output and secret not in res.output


def test_check_says_what_a_read_only_or_granular_connection_allows(fakes, monkeypatch):
    cin7, xero = fakes
    xero.scopes = ["accounting.invoices.read", "offline_access"]
    data = json.loads(_run("--json").stdout)
    x = data["xero"]
    assert x["allows"] == {"read_items": True, "write_items": False, "read_tax_rates": False}
    assert "read items (granular scope)" in x["scope_meanings"]["accounting.invoices.read"]
    assert x["ok"]


def test_check_fails_clearly_and_says_what_is_not_configured(fakes, monkeypatch):
    cin7, xero = fakes
    monkeypatch.setenv("CIN7_APPLICATION_KEY", "wrong-key-0000")
    monkeypatch.delenv("XERO_CLIENT_ID")
    monkeypatch.delenv("XERO_CLIENT_SECRET")
    res = _run("--json")
    assert res.exit_code == 3 and "Traceback" not in res.output
    data = json.loads(res.stdout)
    assert not data["xero"]["configured"] and data["cin7"]["configured"] and not data["cin7"]["ok"]
    assert "refused the credentials" in data["cin7"]["error"] and "wrong-key-0000" not in res.output
    assert "Xero: not configured" in res.stderr
    monkeypatch.delenv("CIN7_ACCOUNT_ID")
    monkeypatch.delenv("CIN7_APPLICATION_KEY")
    nothing = _run()
    assert nothing.exit_code == 3 and "no credentials" in nothing.stderr


def test_check_is_listed_with_help():
    res = CliRunner().invoke(cli, ["check", "--help"])
    assert res.exit_code == 0 and "change nothing" in res.output and "Example" in res.output
