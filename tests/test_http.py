"""The one HTTP policy, against both fakes: no credential leaves for another host, every text an
API sends is redacted, every call has an overall deadline."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from inventory_tools.changes import CellChange
from inventory_tools.errors import ExitCode, RemoteError
from inventory_tools.http import redact
from inventory_tools.stores.cin7 import Cin7Store
from inventory_tools.xero.api import XeroClient
from tests.fakes.cin7_server import ACCOUNT_ID, APP_KEY, FakeCin7
from tests.fakes.xero_server import FakeXero
from tests.helpers.api import apply, point_env_at


class Thief:
    """Another host: records every request that reaches it (none should)."""

    def __init__(self):
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                seen.append(dict(self.headers))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_POST = do_PUT = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        # "localhost" is another host name than the fakes' 127.0.0.1, as an attacker's would be
        self.url = f"http://localhost:{self.server.server_address[1]}/ExternalApi/v2/product"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def thief():
    t = Thief()
    yield t
    t.stop()


@pytest.fixture
def cin7(monkeypatch, tmp_path):
    fake = FakeCin7(window=0.5).start()
    point_env_at(monkeypatch, fake.env())
    monkeypatch.setenv("INVENTORY_TOOLS_STATE_DIR", str(tmp_path / "state"))
    yield fake
    fake.stop()
    assert not fake.errors, fake.errors[0]


@pytest.fixture
def xero():
    fx = FakeXero(window=0.5, hang_seconds=0.5).start()
    yield fx
    fx.stop()


def xero_client(fx) -> XeroClient:
    return XeroClient(client_id=fx.client_id, client_secret=fx.client_secret, api_base=fx.url, identity_base=fx.url)


# -- item 10: no credential leaves for another host -------------------------------------------------
def test_cin7_never_follows_a_redirect_to_another_host(cin7, thief):
    cin7.add_product(SKU="A", Name="A")
    cin7.inject("redirect", method="GET", path="/product", body=thief.url, times=10)
    s = Cin7Store.from_env()
    with pytest.raises(RemoteError) as err:
        s.read_products()
    s.close()
    assert "redirect to localhost" in str(err.value) and "credentials are never sent there" in str(err.value)
    assert "INVENTORY_TOOLS_CIN7_API_BASE" in err.value.hint and err.value.exit_code == ExitCode.FAILED
    assert thief.seen == []


def test_a_redirect_on_the_api_host_is_followed_for_reads_only(cin7):
    cin7.add_product(SKU="A", Name="A")
    cin7.inject("redirect", method="GET", path="/product", body=cin7.base_url + "/product?Page=1&Limit=1000"
                "&IncludeDeprecated=true&IncludeSuppliers=true")
    s = Cin7Store.from_env()
    assert list(s.read_products()["ProductCode"]) == ["A"]
    cin7.inject("redirect", method="PUT", path="/product", body=cin7.base_url + "/product")
    with pytest.raises(RemoteError, match="a PUT is never re-sent to another address"):
        apply(s, updates=[CellChange("A", "Name", "A", "B")])
    s.close()
    assert cin7.by_sku("A")["Name"] == "A" and not [c for c in cin7.writes() if c.outcome == "answered"]


def test_xero_never_follows_a_redirect_to_another_host(xero, thief):
    c = xero_client(xero)
    c.token()
    xero.inject("redirect", method="GET", path="/api.xro/2.0/Items", location=thief.url)
    with pytest.raises(RemoteError, match="redirect to localhost"):
        c.get_items()
    assert thief.seen == []


# -- item 11: redaction everywhere ----------------------------------------------------------------
@pytest.mark.parametrize("echo", [str.lower, str.upper])
def test_cin7_error_bodies_echoing_the_key_are_redacted(cin7, echo):
    cin7.inject("status", method="GET", status=403, body=f"Incorrect credentials! key={echo(APP_KEY)} "
                                                         f"account={ACCOUNT_ID}")
    s = Cin7Store.from_env()
    with pytest.raises(RemoteError) as err:
        s.read_products()
    assert APP_KEY.lower() not in str(err.value).lower() and ACCOUNT_ID not in str(err.value)
    assert "***" in str(err.value)
    cin7.add_product(SKU="P", Name="P")
    cin7.inject("status", method="PUT", status=400,
                body={"ErrorCode": 400, "Exception": f"Bad request from {APP_KEY} / {ACCOUNT_ID}"})
    out = apply(s, updates=[CellChange("P", "Name", "P", "Q")])
    s.close()
    assert "Bad request from ***" in out.failed["P"] and APP_KEY not in out.failed["P"]


def test_a_secret_is_redacted_before_a_message_cuts_it_short(cin7):
    cin7.inject("status", method="GET", status=403, body="x" * 60 + APP_KEY + " was not accepted")
    s = Cin7Store.from_env()
    with pytest.raises(RemoteError) as err:
        s.read_products()
    s.close()
    assert APP_KEY[:12] not in str(err.value) and "***" in str(err.value)


def test_xero_texts_are_redacted_too(xero):
    c = xero_client(xero)
    token = c.token()
    assert redact(f"Bearer {token} and {xero.client_secret}", c._secrets()) == "Bearer *** and ***"
    results = c.post_items([{"Code": "X" * 31, "Name": xero.client_secret}])
    assert all(xero.client_secret not in m for m in results[0].errors)


def test_redaction_catches_encoded_forms():
    import base64
    from urllib.parse import quote

    secret = "s3cr3t/with+chars="
    text = f"{secret} {quote(secret, safe='')} {base64.b64encode(secret.encode()).decode()} {secret.upper()}"
    assert redact(text, [secret]) == "*** *** *** ***"


# -- item 12: a deadline per call -----------------------------------------------------------------
@pytest.mark.parametrize("kind", ["trickle", "trickle-headers"])
def test_a_trickling_cin7_answer_is_cut_at_the_deadline_and_retried(cin7, monkeypatch, kind):
    monkeypatch.setenv("INVENTORY_TOOLS_HTTP_DEADLINE", "0.3")
    cin7.add_product(SKU="A", Name="A")
    cin7.inject(kind, method="GET", path="/product", interval=0.1)
    s = Cin7Store.from_env()
    started = time.monotonic()
    assert list(s.read_products()["ProductCode"]) == ["A"]
    elapsed = time.monotonic() - started
    s.close()
    assert s.client.http.stats.retries == 1 and elapsed < 30  # generous: a trickle alone would take minutes


def test_a_call_that_never_completes_in_time_fails_clearly(cin7, monkeypatch):
    monkeypatch.setenv("INVENTORY_TOOLS_HTTP_DEADLINE", "0.3")
    cin7.inject("trickle", method="GET", path="/product", interval=0.1, times=100)
    s = Cin7Store.from_env()
    with pytest.raises(RemoteError) as err:
        s.read_products()
    s.close()
    assert "no complete answer within 0.3 s" in str(err.value) and "INVENTORY_TOOLS_HTTP_DEADLINE" in str(err.value)
    assert err.value.exit_code == ExitCode.FAILED and s.client.http.stats.calls == 6  # bounded


def test_a_trickling_answer_to_a_create_is_checked_by_sku_not_sent_again(cin7, monkeypatch):
    monkeypatch.setenv("INVENTORY_TOOLS_HTTP_DEADLINE", "0.5")
    cin7.inject("trickle", method="POST", interval=0.2)
    s = Cin7Store.from_env()
    out = apply(s, creates=[{"ProductCode": "ONCE", "Name": "Once"}])
    s.close()
    assert out.created == ["ONCE"] and cin7.skus() == ["ONCE"] and len(cin7.writes("POST")) == 1


def test_a_trickling_xero_answer_is_cut_at_the_deadline(xero, monkeypatch):
    monkeypatch.setenv("INVENTORY_TOOLS_HTTP_DEADLINE", "0.5")
    c = xero_client(xero)
    c.token()
    xero.inject("trickle", method="GET", path="/api.xro/2.0/Items", interval=0.2)
    assert len(c.get_items().items) == 5 and c.api.stats.retries == 1


def test_the_deadline_setting_is_checked(monkeypatch):
    from inventory_tools.errors import UsageError
    from inventory_tools.http import deadline_from_env

    monkeypatch.setenv("INVENTORY_TOOLS_HTTP_DEADLINE", "soon")
    with pytest.raises(UsageError, match="INVENTORY_TOOLS_HTTP_DEADLINE"):
        deadline_from_env()
