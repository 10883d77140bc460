"""A local Xero (identity + Accounting Items) over real HTTP on 127.0.0.1, for tests and benches.

It follows the documented contract (``shared/reference/xero.md``):

* ``POST /connect/token`` (client_credentials, HTTP Basic) → a JWT-shaped token with its scopes;
* ``GET /connections`` → the organisation (from the real sample);
* ``GET /api.xro/2.0/Items`` → every item, unpaged; ``If-Modified-Since`` filters on
  UpdatedDateUTC; ``unitdp=4`` or prices are rounded to 2 places; without
  ``Accept: application/json`` the answer is XML; dates on the wire as ``\\/Date(ms+0000)\\/``;
* ``POST``/``PUT /api.xro/2.0/Items`` → create-or-update / create-only, per-item
  ``ValidationErrors`` with ``summarizeErrors=false``, else a 400 ValidationException (valid
  elements are still written, as observed on the real API); Code max 30, Name max 50;
  ``Idempotency-Key`` replays the first answer;
* ``GET /api.xro/2.0/TaxRates``;
* limits per tenant: a fixed window of ``minute_limit`` calls per ``window`` seconds (scaled: the
  client reads the same window from INVENTORY_TOOLS_RATE_WINDOW_SECONDS), ``concurrent_limit``
  calls in flight, ``day_limit`` calls a day: 429 + Retry-After + X-Rate-Limit-Problem, and the
  X-MinLimit-Remaining / X-DayLimit-Remaining / X-AppMinLimit-Remaining headers on every answer;
* injectable faults: 500, 503, timeouts (no answer until the client gave up) and dropped
  connections, before or after a write is applied; a redirect to another host; an answer that
  trickles in byte by byte; scheduled one by one or at random;
* scopes per endpoint (Items: accounting.settings(.read), or the granular accounting.invoices(.read),
  or the legacy accounting.transactions(.read); TaxRates: accounting.settings(.read)); a missing
  one is answered ``scope_answer`` (401 or 403) with Detail ``AuthorizationUnsuccessful``;
* ``calls``: every request with its start/end time, status and how many were in flight.

Each reading the documentation leaves open is a mode (see ``tests/fakes/README.md``): ``blocks``
"merge" (a SalesDetails/PurchaseDetails block sent is merged into the item's) or "replace" (it
replaces it: keys not sent are dropped); ``ignore_blank`` (a blank value sent in a block is
ignored); ``not_modified`` (a quiet If-Modified-Since is answered 304 instead of 200 with no
items); ``archived_marker`` (archived items carry ``Status: ARCHIVED``; without it they look like
any other item, as reported against the real API); ``elements_by_id`` (a 400's elements carry
the ItemID sent, not the Code); ``opaque_tokens`` (tokens whose scopes cannot be read).

Seeded from the real payloads in ``shared/reference/xero/samples`` (an inline copy is used when
that folder is not there).
"""
from __future__ import annotations

import base64
import copy
import json
import math
import os
import random
import re
import threading
import time
import uuid
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from http.server import ThreadingHTTPServer
from pathlib import Path

SAMPLES = Path(os.environ.get("XERO_SAMPLES_DIR") or
               Path(__file__).resolve().parents[1] / "data" / "samples" / "xero")  # copies of the reference samples
ITEM_SAMPLES = ("openapi_GET_Items_200_response.json", "docs_GET_Items_collection_tracked_and_untracked_response.json",
                "docs_GET_Items_by_Code_Merino-2011-LG_response.json")
CONNECTIONS_SAMPLE = "openapi_identity_GET_Connections_200_response.json"
VALIDATION_400_SAMPLE = "openapi_400_ValidationException_example_from_PUT_Accounts.json"

_INLINE = {
    "openapi_GET_Items_200_response.json": """{"Id": "8487e8d7-5fb3-4f02-b949-dec8f1e38182", "Status": "OK",
      "ProviderName": "Provider Name Example", "DateTimeUTC": "/Date(1552331874897)/", "Items": [
      {"ItemID": "c8c54d65-f3f2-452d-926e-bf450b12fb07", "Code": "123", "Description": "Guitars Fender Strat",
       "UpdatedDateUTC": "/Date(1551981476267+0000)/", "PurchaseDetails": {}, "SalesDetails": {"UnitPrice": 5000.0000,
       "AccountCode": "200", "TaxType": "OUTPUT2"}, "Name": "Guitars", "IsTrackedAsInventory": false, "IsSold": true,
       "IsPurchased": false},
      {"ItemID": "a4544d51-48f6-441f-a623-99ecbced6ab7", "Code": "abc65591", "Description": "Barfoo",
       "UpdatedDateUTC": "/Date(1552331873580+0000)/", "PurchaseDetails": {}, "SalesDetails": {}, "Name": "Hello11350",
       "IsTrackedAsInventory": false, "IsSold": true, "IsPurchased": true}]}""",
    "docs_GET_Items_collection_tracked_and_untracked_response.json": r"""{"Items": [
      {"ItemID": "19b79d12-0ae1-496e-9649-cbd04b15c7c5", "Code": "UnTrackedThing", "Description": "I sell this untracked thing",
       "PurchaseDescription": "I buy this untracked thing", "UpdatedDateUTC": "\/Date(1488338552390+0000)\/",
       "PurchaseDetails": {"UnitPrice": 20.0000, "AccountCode": "400", "TaxType": "NONE"},
       "SalesDetails": {"UnitPrice": 40.0000, "AccountCode": "200", "TaxType": "OUTPUT2"}, "Name": "An Untracked Item",
       "IsTrackedAsInventory": false, "IsSold": true, "IsPurchased": true},
      {"ItemID": "90a72d44-43e4-410d-a68b-1139ef0c0c07", "Code": "TrackedThing", "Description": "I sell this tracked thing",
       "PurchaseDescription": "I purchase this tracked thing", "UpdatedDateUTC": "\/Date(1488338552390+0000)\/",
       "PurchaseDetails": {"UnitPrice": 20.0000, "COGSAccountCode": "430", "TaxType": "NONE"},
       "SalesDetails": {"UnitPrice": 40.0000, "AccountCode": "200", "TaxType": "OUTPUT2"}, "Name": "Tracked Thing",
       "IsTrackedAsInventory": true, "InventoryAssetAccountCode": "630", "TotalCostPool": 200.00,
       "QuantityOnHand": 10.0000, "IsSold": true, "IsPurchased": true}]}""",
    "docs_GET_Items_by_Code_Merino-2011-LG_response.json": r"""{"Items": [
      {"ItemID": "9a59ea90-942e-484d-9b71-d00ab607e03b", "Code": "Merino-2011-LG", "Description": "2011 Merino Sweater - LARGE",
       "UpdatedDateUTC": "\/Date(1488338552390+0000)\/", "PurchaseDetails": {"UnitPrice": 149.0000, "AccountCode": "300"},
       "SalesDetails": {"UnitPrice": 299.0000, "AccountCode": "200"}}]}""",
    "openapi_identity_GET_Connections_200_response.json": """[{"id": "7cb59f93-2964-421d-bb5e-a0f7a4572a44",
      "tenantId": "fe79f7dd-b6d4-4a92-ba7b-538af6289c58", "tenantName": "Demo Company (NZ)", "tenantType": "ORGANISATION",
      "createdDateUtc": "2019-12-07T18:46:19.5165400", "updatedDateUtc": "2019-12-07T18:46:19.5187840"}]""",
    "openapi_400_ValidationException_example_from_PUT_Accounts.json": """{"ErrorNumber": 10,
      "Type": "ValidationException", "Message": "A validation exception occurred", "Elements": []}""",
}

TAX_RATES = [
    {"Name": "GST on Income", "TaxType": "OUTPUT2", "Status": "ACTIVE", "EffectiveRate": Decimal("15.0000")},
    {"Name": "GST on Expenses", "TaxType": "INPUT2", "Status": "ACTIVE", "EffectiveRate": Decimal("15.0000")},
    {"Name": "No GST", "TaxType": "NONE", "Status": "ACTIVE", "EffectiveRate": Decimal("0.0000")},
    {"Name": "No VAT", "TaxType": "NOVAT", "Status": "ACTIVE", "EffectiveRate": Decimal("0.0000")},
    # an archived rate sharing an active one's name, and one that exists only archived
    {"Name": "GST on Income", "TaxType": "TAX001", "Status": "ARCHIVED", "EffectiveRate": Decimal("12.5000")},
    {"Name": "Old Sales Tax", "TaxType": "TAX002", "Status": "DELETED", "EffectiveRate": Decimal("10.0000")},
]
ITEMS_WRITE = {"accounting.settings", "accounting.invoices", "accounting.transactions"}
ITEMS_READ = ITEMS_WRITE | {"accounting.settings.read", "accounting.invoices.read", "accounting.transactions.read"}
TAX_READ = {"accounting.settings", "accounting.settings.read"}
_DATE_RE = re.compile(r"Date\((-?\d+)([+-]\d{4})?\)")
ZERO_ID = "00000000-0000-0000-0000-000000000000"


def sample_text(name: str) -> str:
    path = SAMPLES / name
    return path.read_text(encoding="utf-8") if path.exists() else _INLINE[name]


def sample_json(name: str):
    return json.loads(sample_text(name), parse_float=Decimal)


def _ms(text: str) -> int:
    return int(_DATE_RE.search(text).group(1))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(scopes: list[str], tenant_id: str) -> str:
    """A JWT-shaped token (unsigned): the client may read its ``scope`` claim like Xero's."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64(json.dumps({"scope": scopes, "xero_tenant": tenant_id, "jti": uuid.uuid4().hex}).encode())
    return f"{header}.{payload}.{_b64(os.urandom(16))}"


def _encode(obj) -> bytes:
    """JSON with exact decimals (``5000.0000`` stays) and Xero's escaped ``\\/Date(...)\\/``."""
    marks: dict[str, str] = {}

    def default(v):
        if isinstance(v, Decimal):
            key = f"__dec{len(marks)}__"
            marks[key] = format(v, "f")
            return key
        raise TypeError(type(v).__name__)

    text = json.dumps(obj, default=default, ensure_ascii=False)
    if marks:
        text = re.sub(r'"(__dec\d+__)"', lambda m: marks[m.group(1)], text)
    text = re.sub(r'"/Date\((-?\d+(?:[+-]\d{4})?)\)/"', r'"\\/Date(\1)\\/"', text)
    return text.encode("utf-8")


class Fault:
    def __init__(self, kind: str, *, method: str | None = None, path: str | None = None, phase: str = "before",
                 location: str | None = None, interval: float = 0.5):
        assert kind in ("500", "503", "timeout", "drop", "401", "redirect", "trickle"), kind
        assert phase in ("before", "after")
        self.kind, self.method, self.path, self.phase = kind, method, path, phase
        self.location, self.interval = location, interval

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or path.startswith(self.path))


class FakeXero:
    def __init__(self, *, client_id: str = "fake-client-id-0001", client_secret: str = "fake-secret-S3CR3T-value-42",
                 scopes: tuple[str, ...] = ("accounting.settings",), window: float = 2.0, minute_limit: int = 60,
                 day_limit: int = 5000, concurrent_limit: int = 5, token_ttl: int = 1800, hang_seconds: float = 1.0,
                 seed: bool = True, latency: float = 0.0, blocks: str = "merge", ignore_blank: bool = False,
                 not_modified: bool = False, archived_marker: bool = False, elements_by_id: bool = False,
                 opaque_tokens: bool = False, scope_answer: int = 401):
        assert blocks in ("merge", "replace") and scope_answer in (401, 403)
        self.blocks, self.ignore_blank, self.not_modified = blocks, ignore_blank, not_modified
        self.archived_marker, self.elements_by_id, self.opaque_tokens = archived_marker, elements_by_id, opaque_tokens
        self.scope_answer = scope_answer
        self.client_id, self.client_secret = client_id, client_secret
        self.scopes = list(scopes)
        self.window, self.minute_limit, self.day_limit = window, minute_limit, day_limit
        self.concurrent_limit = concurrent_limit
        self.token_ttl, self.hang_seconds, self.latency = token_ttl, hang_seconds, latency
        conn = sample_json(CONNECTIONS_SAMPLE)
        self.connections = [dict(c) for c in conn]
        self.tenant_id = self.connections[0]["tenantId"]
        self.tenant_name = self.connections[0]["tenantName"]
        self.lock = threading.RLock()
        self.items: dict[str, dict] = {}  # ItemID -> item (UpdatedDateUTC as int ms in "_updated")
        self._codes: dict[str, str] = {}  # Code -> ItemID
        self.tokens: dict[str, tuple[float, list[str]]] = {}
        self.tax_rates = copy.deepcopy(TAX_RATES)
        self.calls: list[dict] = []
        self.created: Counter = Counter()  # Code -> times an item with it was created
        self.faults: list[Fault] = []
        self.fault_rate = 0.0
        self.fault_kinds = ("500", "503", "timeout", "drop")
        self.fault_phases = ("before", "after")
        self.rng = random.Random(1234)
        self.day_count = 0
        self.window_counts: Counter = Counter()
        self.inflight = 0
        self.max_inflight = 0
        self._idem: dict[str, tuple[str, int, bytes]] = {}
        #: Answer as if summarizeErrors=false were ignored (400 ValidationException for a bad batch).
        self.force_summarize = False
        #: Calls another app makes on the same organisation after each of ours (shared quota).
        self.shadow_calls = 0
        self._t0 = time.monotonic()
        self._last_ms = 0
        if seed:
            self.seed_samples()
        from .xero_http import make_handler  # the HTTP side (a module of its own)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self))
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeXero":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def env(self, *, mode: str = "client_credentials") -> dict:
        """Environment for the CLI / XeroClient.from_env pointing at this server."""
        env = {"INVENTORY_TOOLS_XERO_API_BASE": self.url, "INVENTORY_TOOLS_XERO_IDENTITY_BASE": self.url,
               "INVENTORY_TOOLS_RATE_WINDOW_SECONDS": str(self.window),
               "INVENTORY_TOOLS_XERO_TIMEOUT": str(max(self.hang_seconds / 3, 0.2))}
        if mode == "client_credentials":
            env.update(XERO_CLIENT_ID=self.client_id, XERO_CLIENT_SECRET=self.client_secret)
        else:
            env.update(XERO_ACCESS_TOKEN=self.issue_token(), XERO_TENANT_ID=self.tenant_id)
        return env

    # -- data ---------------------------------------------------------------------------------
    def seed_samples(self) -> None:
        for name in ITEM_SAMPLES:
            for it in sample_json(name)["Items"]:
                self.put_item(it, updated_ms=_ms(it["UpdatedDateUTC"]) if it.get("UpdatedDateUTC") else None)

    def put_item(self, item: dict, *, updated_ms: int | None = None) -> dict:
        """Insert/replace an item as if someone edited it in Xero (bumps UpdatedDateUTC)."""
        with self.lock:
            it = copy.deepcopy(item)
            it.setdefault("ItemID", str(uuid.uuid4()))
            it.pop("UpdatedDateUTC", None)
            it.pop("ValidationErrors", None)
            it["_updated"] = updated_ms if updated_ms is not None else self._tick()
            self._index(it, self.items.get(it["ItemID"]))
            self.items[it["ItemID"]] = it
            return it

    def add_items(self, n: int, *, prefix: str = "GEN", tracked_every: int = 0, updated_ms: int | None = None) -> list[str]:
        codes = []
        for i in range(n):
            code = f"{prefix}{i:05d}"
            tracked = bool(tracked_every) and i % tracked_every == 0
            item = {"Code": code, "Name": f"Generated {i}", "Description": f"Item {i}",
                    "SalesDetails": {"UnitPrice": Decimal(f"{i}.1234"), "AccountCode": "200", "TaxType": "OUTPUT2"},
                    "PurchaseDetails": {"AccountCode": "300"} if not tracked else {"COGSAccountCode": "310"},
                    "IsTrackedAsInventory": tracked, "IsSold": True, "IsPurchased": True}
            if tracked:
                item["InventoryAssetAccountCode"] = "630"
            self.put_item(item, updated_ms=updated_ms)
            codes.append(code)
        return codes

    def by_code(self, code: str) -> dict | None:
        with self.lock:
            item_id = self._codes.get(code)
            return self.items.get(item_id) if item_id else None

    def _index(self, item: dict, old: dict | None = None) -> None:
        if old is not None and self._codes.get(old["Code"]) == old["ItemID"]:
            del self._codes[old["Code"]]
        self._codes[item["Code"]] = item["ItemID"]

    def archive(self, code: str) -> None:
        """The item is archived in Xero's UI (it stays in GET Items; see ``archived_marker``)."""
        with self.lock:
            it = self.by_code(code)
            it["_archived"] = True
            it["_updated"] = self._tick()

    def delete_item(self, code: str) -> None:
        with self.lock:
            it = self.by_code(code)
            if it:
                del self.items[it["ItemID"]]
                del self._codes[code]

    def issue_token(self, scopes: list[str] | None = None, ttl: float | None = None) -> str:
        token = f"opaque-{uuid.uuid4().hex}" if self.opaque_tokens else make_token(scopes or self.scopes, self.tenant_id)
        with self.lock:
            self.tokens[token] = (time.monotonic() + (ttl if ttl is not None else self.token_ttl), scopes or self.scopes)
        return token

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def _tick(self) -> int:
        with self.lock:
            ms = max(now_ms(), self._last_ms + 1)
            self._last_ms = ms
            return ms

    # -- faults and records -------------------------------------------------------------------
    def inject(self, kind: str, *, method: str | None = None, path: str | None = None, phase: str = "before",
               times: int = 1, location: str | None = None, interval: float = 0.5) -> None:
        with self.lock:
            self.faults.extend(Fault(kind, method=method, path=path, phase=phase, location=location, interval=interval)
                               for _ in range(times))

    def storm(self, rate: float, *, seed: int = 7, kinds=("500", "503", "timeout", "drop")) -> None:
        with self.lock:
            self.fault_rate, self.fault_kinds, self.rng = rate, tuple(kinds), random.Random(seed)

    def _pick_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for i, f in enumerate(self.faults):
                if f.matches(method, path):
                    return self.faults.pop(i)
            if self.fault_rate and self.rng.random() < self.fault_rate:
                phase = self.rng.choice(self.fault_phases) if method in ("POST", "PUT") else "before"
                return Fault(self.rng.choice(self.fault_kinds), phase=phase)
        return None

    def api_calls(self) -> list[dict]:
        """Calls counted against the organisation's limits (the Accounting API)."""
        return [c for c in self.calls if c["path"].startswith("/api.xro/")]

    def max_calls_in_any_window(self, accepted_only: bool = True) -> int:
        """Most calls that started within any sliding span of ``window`` seconds."""
        times = sorted(c["t"] for c in self.api_calls() if not accepted_only or c["status"] != 429)
        best, j = 0, 0
        for i, t in enumerate(times):
            while times[j] <= t - self.window:
                j += 1
            best = max(best, i - j + 1)
        return best

    def codes(self) -> list[str]:
        with self.lock:
            return sorted(it["Code"] for it in self.items.values())

    # -- the answers --------------------------------------------------------------------------
    def public_item(self, it: dict, unitdp: int) -> dict:
        out = {k: copy.deepcopy(v) for k, v in it.items() if not k.startswith("_")}
        out["UpdatedDateUTC"] = f"/Date({it['_updated']}+0000)/"
        if it.get("_archived") and self.archived_marker:
            out["Status"] = "ARCHIVED"
        for side in ("SalesDetails", "PurchaseDetails"):
            d = out.get(side)
            if isinstance(d, dict) and isinstance(d.get("UnitPrice"), Decimal) and unitdp != 4:
                d["UnitPrice"] = d["UnitPrice"].quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return out

    def write_items(self, elements: list, *, create_only: bool, unitdp: int) -> list[dict]:
        out = []
        with self.lock:
            for el in elements:
                el = el if isinstance(el, dict) else {}
                errors = []
                code = str(el.get("Code") or "").strip()
                if not code:
                    errors.append("Item Code must be specified")
                elif len(code) > 30:
                    errors.append("Item Code must not be more than 30 characters long")
                if len(str(el.get("Name") or "")) > 50:
                    errors.append("Item Name must not be more than 50 characters long")
                if len(str(el.get("Description") or "")) > 4000:
                    errors.append("Item Description must not be more than 4000 characters long")
                target = None
                if not errors:
                    item_id = el.get("ItemID")
                    holder = self.by_code(code)
                    if create_only:
                        if holder:
                            errors.append(f"Price List Item with Code '{code}' already exists")
                    elif item_id:
                        target = self.items.get(item_id)
                        if target is None:
                            errors.append(f"Item with ItemID '{item_id}' could not be found")
                        elif holder and holder["ItemID"] != item_id:
                            errors.append(f"Price List Item with Code '{code}' already exists")
                    else:
                        target = holder
                if errors:
                    echo = {k: v for k, v in el.items()}
                    if self.elements_by_id and el.get("ItemID"):
                        echo = {"ItemID": el["ItemID"]}
                    echo["ValidationErrors"] = [{"Message": m} for m in errors]
                    out.append(echo)
                    continue
                new = copy.deepcopy(target) if target else {"ItemID": str(uuid.uuid4()), "IsSold": True,
                                                             "IsPurchased": True, "PurchaseDetails": {},
                                                             "SalesDetails": {}}
                for k, v in el.items():
                    if k in ("ItemID", "UpdatedDateUTC", "ValidationErrors", "IsTrackedAsInventory", "QuantityOnHand",
                             "TotalCostPool"):
                        continue
                    if k in ("SalesDetails", "PurchaseDetails") and isinstance(v, dict):
                        merged = dict(new.get(k) or {}) if self.blocks == "merge" else {}
                        for dk, dv in v.items():
                            if dk == "UnitPrice" and isinstance(dv, (Decimal, int)) and unitdp != 4:
                                dv = Decimal(dv).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                            if self.ignore_blank and dv in ("", None):
                                continue
                            merged[dk] = dv
                        new[k] = merged
                    else:
                        new[k] = v
                new["IsTrackedAsInventory"] = bool(new.get("InventoryAssetAccountCode")) and bool(
                    (new.get("PurchaseDetails") or {}).get("COGSAccountCode")) or bool(
                    target and target.get("IsTrackedAsInventory"))
                new["_updated"] = self._tick()
                if target is None:
                    self.created[code] += 1
                self._index(new, target)
                self.items[new["ItemID"]] = new
                answer = self.public_item(new, unitdp)
                answer["ValidationErrors"] = []
                out.append(answer)
        return out

    def limits(self, now: float) -> tuple[str | None, float, int]:
        """(problem or None, retry-after, minute remaining) — counts the call when allowed."""
        with self.lock:
            index = math.floor((now - self._t0) / self.window)
            if self.inflight > self.concurrent_limit:
                return "concurrent", 1.0, self.minute_limit - self.window_counts[index]
            if self.day_count >= self.day_limit:
                return "day", 5 * 3600.0, self.minute_limit - self.window_counts[index]
            if self.window_counts[index] >= self.minute_limit:
                wait = (index + 1) * self.window - (now - self._t0)
                return "minute", wait, 0
            self.window_counts[index] += 1
            self.day_count += 1
            remaining = self.minute_limit - self.window_counts[index]
            # Another app on the same organisation, after our answer's headers were computed.
            self.window_counts[index] += self.shadow_calls
            return None, 0.0, remaining
