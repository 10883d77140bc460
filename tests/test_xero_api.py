"""The Xero client against the local fake over real HTTP; the /Date()/ parser."""
from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fakes.xero_server import FakeXero

from inventory_tools.errors import ExitCode, RemoteError, UsageError
from inventory_tools.http import RatePolicy
from inventory_tools.xero.api import XeroAuthError, XeroClient
from inventory_tools.xero.dates import format_xero_date, if_modified_since, parse_xero_date

UTC = dt.timezone.utc


@pytest.fixture
def fx():
    server = FakeXero(window=1.0, hang_seconds=0.5).start()
    yield server
    server.stop()


def client_for(fx, **kw) -> XeroClient:
    args = dict(client_id=fx.client_id, client_secret=fx.client_secret, api_base=fx.url, identity_base=fx.url,
                policy=RatePolicy(calls=60, per_seconds=1.0), timeout=0.25)
    args.update(kw)
    return XeroClient(**args)


# -- dates ------------------------------------------------------------------------------------------
def test_xero_dates_parse_exactly():
    assert parse_xero_date("/Date(1488338552390+0000)/") == dt.datetime(2017, 3, 1, 3, 22, 32, 390000, tzinfo=UTC)
    assert parse_xero_date("\\/Date(1552331874897)\\/") == dt.datetime(2019, 3, 11, 19, 17, 54, 897000, tzinfo=UTC)
    local = parse_xero_date("/Date(1419937200000+1300)/")
    assert local == dt.datetime(2014, 12, 30, 11, 0, tzinfo=UTC) and local.utcoffset() == dt.timedelta(hours=13)
    assert local.hour == 0  # shown in the +13:00 zone
    assert parse_xero_date("/Date(-86400000)/") == dt.datetime(1969, 12, 31, tzinfo=UTC)
    assert parse_xero_date("/Date(0-0530)/").utcoffset() == -dt.timedelta(hours=5, minutes=30)
    assert parse_xero_date(None) is None
    with pytest.raises(ValueError):
        parse_xero_date("yesterday")
    assert if_modified_since(dt.datetime(2024, 1, 2, 3, 4, 5, 999000, tzinfo=UTC)) == "2024-01-02T03:04:05"


@given(st.integers(min_value=-2_000_000_000_000, max_value=4_000_000_000_000))
def test_xero_date_round_trip_is_exact(ms):
    text = f"/Date({ms}+0000)/"
    assert format_xero_date(parse_xero_date(text)) == text


# -- auth and tenant ------------------------------------------------------------------------------
def test_token_is_cached_and_tenant_comes_from_connections(fx):
    c = client_for(fx)
    assert c.tenant() == (fx.tenant_id, "Demo Company (NZ)")
    for _ in range(3):
        c.get_items()
    assert len([x for x in fx.calls if x["path"] == "/connect/token"]) == 1
    items = [x for x in fx.calls if x["path"] == "/api.xro/2.0/Items"]
    assert all(x["authorization"].startswith("Bearer ") for x in items)
    assert c.scopes() == {"accounting.settings"}


def test_token_renewed_when_it_expires(fx, monkeypatch):
    import inventory_tools.xero.api as api

    class Clock:  # a fake clock: the token's 30 minutes pass at once
        now = time.monotonic()

        @classmethod
        def monotonic(cls):
            return cls.now

    monkeypatch.setattr(api, "time", Clock)
    c = client_for(fx)
    c.get_items()
    c.get_items()
    assert len([x for x in fx.calls if x["path"] == "/connect/token"]) == 1
    Clock.now += fx.token_ttl
    c.get_items()
    assert len([x for x in fx.calls if x["path"] == "/connect/token"]) == 2


def test_bad_client_secret_is_a_clear_auth_error_without_the_secret(fx):
    c = client_for(fx, client_secret="wrong-secret-value")
    with pytest.raises(XeroAuthError) as err:
        c.get_items()
    assert err.value.exit_code == ExitCode.FAILED and "invalid_client" in str(err.value)
    assert "wrong-secret-value" not in str(err.value) and "XERO_CLIENT_SECRET" in str(err.value)


def test_missing_credentials():
    with pytest.raises(XeroAuthError) as err:
        XeroClient(api_base="http://127.0.0.1:9")
    assert "XERO_CLIENT_ID" in str(err.value) and "--xero-file" in str(err.value)


def test_several_organisations_need_a_tenant_id(fx):
    fx.connections.append({**fx.connections[0], "tenantId": "other", "tenantName": "Other Ltd"})
    with pytest.raises(UsageError) as err:
        client_for(fx).tenant()
    assert "XERO_TENANT_ID" in str(err.value)
    assert client_for(fx, tenant_id="other").tenant() == ("other", "Other Ltd")


# -- reads ------------------------------------------------------------------------------------------
def test_items_are_read_with_exact_decimals_and_filters(fx):
    c = client_for(fx)
    answer = c.get_items()
    by_code = {i["Code"]: i for i in answer.items}
    assert by_code["123"]["SalesDetails"]["UnitPrice"] == Decimal("5000.0000")
    assert isinstance(by_code["123"]["SalesDetails"]["UnitPrice"], Decimal)
    assert answer.server_time and abs(answer.server_time.timestamp() - time.time()) < 5
    fx.put_item({"Code": "P4", "SalesDetails": {"UnitPrice": Decimal("14.3856")}})
    recent = c.get_items(dt.datetime.now(UTC) - dt.timedelta(seconds=30))
    assert [i["Code"] for i in recent.items] == ["P4"]
    assert recent.items[0]["SalesDetails"]["UnitPrice"] == Decimal("14.3856")  # unitdp=4: not rounded
    call = [x for x in fx.calls if x["if_modified_since"]][-1]
    assert call["query"]["unitdp"] == "4" and call["accept"] == "application/json"
    rates = {(r.tax_type, r.name, r.status) for r in c.tax_rates()}
    assert ("OUTPUT2", "GST on Income", "ACTIVE") in rates and ("TAX001", "GST on Income", "ARCHIVED") in rates


# -- faults -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["500", "503", "timeout", "drop"])
def test_transient_faults_are_retried(fx, kind):
    c = client_for(fx)
    c.token()
    fx.inject(kind, method="GET", path="/api.xro/2.0/Items", times=2)
    assert len(c.get_items().items) == 5
    assert c.api.stats.retries == 2


def test_persistent_failure_is_a_remote_error(fx):
    c = client_for(fx)
    fx.inject("503", method="GET", path="/api.xro/2.0/Items", times=20)
    with pytest.raises(RemoteError) as err:
        c.get_items()
    assert "HTTP 503" in str(err.value) and "on every try" in str(err.value) and err.value.exit_code == ExitCode.FAILED


def test_lost_write_answer_is_replayed_not_duplicated(fx):
    c = client_for(fx)
    fx.inject("drop", method="POST", path="/api.xro/2.0/Items", phase="after")
    fx.inject("timeout", method="POST", path="/api.xro/2.0/Items", phase="after")
    results = c.post_items([{"Code": "NEW-9", "Name": "nine"}])
    assert results[0].item_id and not results[0].errors
    assert fx.created["NEW-9"] == 1 and fx.codes().count("NEW-9") == 1
    writes = [x for x in fx.calls if x["method"] == "POST" and x["path"] == "/api.xro/2.0/Items"]
    assert len(writes) == 3
    keys = {x["idempotency_key"] for x in writes}
    assert len(keys) == 1 and None not in keys


def test_per_item_validation_errors(fx):
    c = client_for(fx)
    results = c.post_items([{"Code": "OK-1", "Name": "fine"}, {"Code": "X" * 31}, {"Code": "OK-2", "Name": "N" * 51}])
    assert [bool(r.errors) for r in results] == [False, True, True]
    assert "30 characters" in results[1].errors[0] and "50 characters" in results[2].errors[0]
    assert fx.codes().count("OK-1") == 1 and fx.by_code("OK-2") is None


def test_400_validation_exception_maps_messages_to_codes(fx):
    fx.force_summarize = True
    c = client_for(fx)
    results = c.post_items([{"Code": "GOOD-1"}, {"Code": "B" * 31}])
    assert results[0].errors == [] and results[0].item_id is None  # not confirmed: sent again next run
    assert results[1].errors and "30" in results[1].errors[0]


def test_concurrency_never_above_five(fx):
    fx.latency = 0.05
    c = client_for(fx)
    c.token()
    threads = [threading.Thread(target=c.get_items) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 1 < fx.max_inflight <= 5


def test_base_urls_must_be_urls():
    with pytest.raises(UsageError) as err:
        XeroClient(client_id="a", client_secret="b", api_base="api.xero.com")
    assert "INVENTORY_TOOLS_XERO_API_BASE" in str(err.value) and err.value.exit_code == ExitCode.USAGE


def test_the_fake_follows_the_documented_contract(fx):
    """The fake itself: PUT is create-only, errors summarised unless asked not to, XML without Accept."""
    import json

    import requests

    fx.window = 600.0  # one window for the whole test: the limit check below cannot straddle two
    token = fx.issue_token()
    h = {"Authorization": f"Bearer {token}", "Accept": "application/json", "Content-Type": "application/json"}
    url = fx.url + "/api.xro/2.0/Items"
    body = json.dumps({"Items": [{"Code": "123"}, {"Code": "FRESH-1"}]})
    per_item = requests.put(url + "?summarizeErrors=false", data=body, headers=h, timeout=5)
    assert per_item.status_code == 200
    got = per_item.json()["Items"]
    assert got[0]["ValidationErrors"] == [{"Message": "Price List Item with Code '123' already exists"}]
    assert got[1]["ValidationErrors"] == [] and got[1]["ItemID"]
    summarised = requests.put(url, data=json.dumps({"Items": [{"Code": "Y" * 31}, {"Code": "FRESH-2"}]}),
                              headers=h, timeout=5)
    assert summarised.status_code == 400
    err = summarised.json()
    assert err["Type"] == "ValidationException" and err["ErrorNumber"] == 10
    assert err["Elements"][0]["ValidationErrors"][0]["Message"].startswith("Item Code must not be more than 30")
    assert fx.by_code("FRESH-2") is not None  # as observed on the real API: valid elements still written
    xml = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert xml.headers["Content-Type"].startswith("text/xml")
    raw = requests.get(url + "?unitdp=4", headers=h, timeout=5)
    assert '"\\/Date(' in raw.text and "5000.0000" in raw.text
    assert "5000.00," in requests.get(url, headers=h, timeout=5).text  # 2 places without unitdp=4
    assert requests.get(url, headers={**h, "Authorization": "Bearer nope"}, timeout=5).status_code == 401
    for _ in range(fx.minute_limit):
        requests.get(fx.url + "/api.xro/2.0/TaxRates", headers=h, timeout=5)
    limited = requests.get(fx.url + "/api.xro/2.0/TaxRates", headers=h, timeout=5)  # one over the limit
    assert limited.status_code == 429 and limited.headers["X-Rate-Limit-Problem"] == "minute"
    assert float(limited.headers["Retry-After"]) > 0 and limited.headers["X-MinLimit-Remaining"] == "0"
