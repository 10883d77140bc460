"""The Cin7 Core (DEAR) store: products live in Cin7 Core, reached through its External API v2.

Credentials and endpoint (environment only, never the command line):

* ``CIN7_ACCOUNT_ID``, ``CIN7_APPLICATION_KEY``: sent as the ``api-auth-accountid`` /
  ``api-auth-applicationkey`` headers; never printed, logged or written to a file.
* ``INVENTORY_TOOLS_CIN7_API_BASE``: default ``https://inventory.dearsystems.com/ExternalApi/v2``.
* ``INVENTORY_TOOLS_RATE_WINDOW_SECONDS``: length of the 60-call rate window (default 60; tests
  run fakes with a scaled window such as 2 s).

Local state (export snapshots, the operations journal, sync cursors) never goes into Cin7: it is
a SQLite file ``./.inventory-tools/cin7-<account hash>.db`` next to the work (the current
folder), or ``$INVENTORY_TOOLS_STATE_DIR/cin7-<account hash>.db``. The account hash is the
first 12 hex digits of the SHA-256 of the account id, so the file name does not reveal it.

What the API cannot do, and what we do instead:

* Products are read in pages of 1,000 (``GET /product?Page&Limit=1000&IncludeDeprecated=true``);
  the API's ``Sku`` filter is not exact, so codes are always matched exactly here.
* Writes are one product per call, paced to 60 calls a minute: ``POST /product`` creates (with
  Cin7's own defaults Category ``Other``, Type ``Stock``, CostingMethod ``FIFO``, UOM ``Item``
  filled in where blank), ``PUT /product`` updates with the full merged object taken from the
  page read (no extra GET per product). Read-only fields (AverageCost, LastModifiedOn, BOMType)
  are never sent; Type is never sent on PUT and cannot be changed.
* Columns with no product API field (blank ``api_field`` in ``schemas/columns.csv``: ProductFamily*,
  DimensionAttribute*, CartonVolume, ...) and the supplier columns (``Suppliers[].X``: read from
  the first supplier, but the API refuses them inline) are read-only here: an edit to them fails
  that product with "change it through Cin7's Inventory List import".
* Cin7 has no delete: ``ChangeSet.deletes`` deprecates (PUT ``Status: Deprecated``).
* Applying is journaled product by product in the local state (``journal`` table; ``done`` is 1
  applied, 2 sent but unconfirmed (settled against Cin7 on the next run), 0 pending or failed;
  reasons in the operation's ``detail["failed"]``). A finished run is ``applied`` (failed products
  listed in ``counts["failed"]`` / ``detail["failed"]``). Ctrl-C, a crash or a network loss leaves
  the operation ``interrupted``; re-running the same import (same kind and source) adopts that
  operation and resumes. A create whose answer was lost is looked up by SKU before any retry.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Iterable
from urllib.parse import urlparse

import pandas as pd
import requests

from .. import columns as cols
from .. import values
from ..columns import Column
from ..errors import RemoteError, StoreError
from ..http import HttpClient, MaybeSentError, RatePolicy, Verdict
from ..changes import ApplyOutcome, ChangeSet, WriteEstimate, empty_products
from .base import Store
from .state import LocalState, connect

log = logging.getLogger("inventory_tools.cin7")

DEFAULT_API_BASE = "https://inventory.dearsystems.com/ExternalApi/v2"
ACCOUNT_ENV, KEY_ENV, BASE_ENV = "CIN7_ACCOUNT_ID", "CIN7_APPLICATION_KEY", "INVENTORY_TOOLS_CIN7_API_BASE"
STATE_DIR_ENV = "INVENTORY_TOOLS_STATE_DIR"
DEFAULT_STATE_DIR = ".inventory-tools"

PAGE_LIMIT = 1000
CALLS_PER_WINDOW = 60
#: Pace a little under the limit so network jitter never pushes 61 calls into Cin7's window.
PACING_MARGIN = 1.02

#: Cin7's own defaults for the fields a create requires.
CREATE_DEFAULTS = {"Category": "Other", "Type": "Stock", "CostingMethod": "FIFO", "DefaultUnitOfMeasure": "Item"}
#: API fields never sent (computed by Cin7), plus nested lists we do not read or own.
READ_ONLY_FIELDS = {"AverageCost", "LastModifiedOn", "BOMType"}
NOT_SENT_ON_PUT = READ_ONLY_FIELDS | {
    "Type", "PriceTiers", "Suppliers", "ReorderLevels", "BillOfMaterialsProducts", "BillOfMaterialsServices",
    "Movements", "Attachments", "CustomPrices"}
WIRE_STATUS = {cols.ACTIVE: "Active", cols.SETUP_REQUIRED: "Setup required", cols.DEPRECATED: "Deprecated"}
THROTTLE_RE = re.compile(r"60 calls per", re.I)
INVENTORY_LIST_HINT = "change it through Cin7's Inventory List import (Inventory → Products → Import)"

#: Reference lists: column(s) → (endpoint, list key).
REFERENCE_ENDPOINTS = {
    "category": ("ref/category", "CategoryList"),
    "brand": ("ref/brand", "BrandList"),
    "unit": ("ref/unit", "UnitList"),
    "tax": ("ref/tax", "TaxRuleList"),
    "account": ("ref/account", "AccountsList"),
    "location": ("ref/location", "LocationList"),
}
REFERENCE_COLUMNS = {
    "Category": "category", "Brand": "brand", "DefaultUnitOfMeasure": "unit",
    "PurchaseTaxRule": "tax", "SaleTaxRule": "tax",
    "InventoryAccount": "account", "RevenueAccount": "account", "ExpenseAccount": "account",
    "COGSAccount": "account", "DefaultLocation": "location",
}

# journal.done values
# (failed is 0 like pending: whatever reads the journal treats only done == 1 as applied; the reason is
# in the operation's detail["failed"])
PENDING, SENT, DONE, FAILED = 0, 2, 1, 0


# ---------------------------------------------------------------------------------------------
# errors and response classification
class Cin7Refused(RemoteError):
    """Cin7 refused one request ({"ErrorCode", "Exception"}); reported per product, not fatal."""

    def __init__(self, message: str, hint: str = "", status: int | None = None):
        super().__init__(message, hint)
        self.status = status


class Cin7NotJson(RemoteError):
    """Cin7 answered 200 with something that is not JSON (an HTML page: wrong base URL?)."""


def _body(resp: requests.Response) -> str:
    try:
        return resp.content.decode("utf-8", errors="replace")
    except Exception:  # pragma: no cover - requests always has content
        return ""


def loads(text: str):
    """JSON with exact decimals (never through binary floats)."""
    return json.loads(text, parse_float=Decimal)


def error_messages(data) -> list[str]:
    """The messages of a Cin7 error body, in any of its shapes (object, array of objects)."""
    items = data if isinstance(data, list) else [data]
    out = []
    for it in items:
        if isinstance(it, dict) and "ErrorCode" in it:
            out.append(str(it.get("Exception") or it.get("Message") or f"error {it.get('ErrorCode')}").strip())
    return out


def classify(resp: requests.Response) -> Verdict:
    status = resp.status_code
    text = _body(resp)
    throttle_body = THROTTLE_RE.search(text[:2000]) and (status >= 400 or "ErrorCode" in text[:500])
    if status in (429, 503) or throttle_body:
        wait = None
        ra = resp.headers.get("Retry-After")
        if ra:
            try:
                wait = max(0.0, float(ra))
            except ValueError:
                wait = None
        return Verdict("throttle", wait=wait)
    if status in (401, 403):
        return Verdict("fatal", error=RemoteError(
            f"Cin7 Core refused the credentials (HTTP {status}: {text.strip()[:80] or 'no message'})",
            f"check {ACCOUNT_ENV} and {KEY_ENV} (Cin7 Core → Integrations → API); nothing was changed"))
    if status >= 500:
        return Verdict("retry")
    try:
        data = loads(text) if text.strip() else None
    except ValueError:
        data = None
        if 200 <= status < 300:
            return Verdict("fatal", error=Cin7NotJson(
                f"Cin7 Core answered HTTP {status} with a page that is not JSON ({resp.headers.get('Content-Type', '?')})",
                f"check {BASE_ENV} (default {DEFAULT_API_BASE}); re-run to resume"))
    resp._cin7_json = data  # type: ignore[attr-defined]  # parsed once, read by Cin7Client
    msgs = error_messages(data) if data is not None else []
    if msgs:
        code = next((it.get("ErrorCode") for it in (data if isinstance(data, list) else [data])
                     if isinstance(it, dict)), status)
        return Verdict("fatal", error=Cin7Refused(f"Cin7 Core refused it: {'; '.join(msgs)} (error {code})",
                                                  status=status))
    if status >= 400:
        snippet = text.strip()[:200] or "no message"
        if status == 404:
            return Verdict("fatal", error=Cin7Refused(f"Cin7 Core answered 404 Not Found: {snippet}",
                                                      f"check {BASE_ENV}", status=status))
        return Verdict("fatal", error=Cin7Refused(f"Cin7 Core refused it: HTTP {status}: {snippet}", status=status))
    return Verdict("ok")


# ---------------------------------------------------------------------------------------------
# exact-decimal JSON
_DEC_MARK = f"@@dec-{uuid.uuid4().hex}@@"  # a marker no real value contains
_DEC_RE = re.compile('"' + re.escape(_DEC_MARK) + r'([-0-9.eE+]+)"')


def dumps(obj) -> str:
    """JSON where Decimal values are written as exact JSON numbers."""

    def default(o):
        if isinstance(o, Decimal):
            return _DEC_MARK + format(o, "f")
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")

    return _DEC_RE.sub(r"\1", json.dumps(obj, default=default, ensure_ascii=False))


# ---------------------------------------------------------------------------------------------
# the client
class Cin7Client:
    """Cin7 Core External API v2 on plain requests, through the shared :mod:`inventory_tools.http` policy."""

    def __init__(self, account_id: str, application_key: str, base_url: str = DEFAULT_API_BASE,
                 policy: RatePolicy | None = None, timeout: tuple[float, float] = (5.0, 60.0)):
        if policy is None:
            policy = RatePolicy.from_env(calls=CALLS_PER_WINDOW, concurrency=1)
            policy.per_seconds *= PACING_MARGIN
        self._account_id, self._key = account_id, application_key
        self.http = HttpClient(base_url, name="Cin7 Core", policy=policy, classify=classify,
                               headers=self._headers, secrets=lambda: [self._account_id, self._key],
                               timeout=timeout)

    def _headers(self) -> dict:
        return {"api-auth-accountid": self._account_id, "api-auth-applicationkey": self._key,
                "Accept": "application/json"}

    @property
    def policy(self) -> RatePolicy:
        return self.http.limiter.policy

    def _json(self, resp: requests.Response):
        data = getattr(resp, "_cin7_json", None)
        if data is None:
            text = _body(resp)
            try:
                data = loads(text) if text.strip() else {}
            except ValueError:
                raise Cin7NotJson("Cin7 Core answered with a page that is not JSON",
                                  f"check {BASE_ENV}") from None
        return data

    def get(self, path: str, params: dict | None = None):
        return self._json(self.http.request("GET", path, params=params))

    def pages(self, path: str, list_key: str, params: dict | None = None, limit: int = PAGE_LIMIT):
        """Every item of a paged list (``{Total, Page, <list_key>: [...]}``)."""
        page, seen = 1, 0
        while True:
            data = self.get(path, {**(params or {}), "Page": page, "Limit": limit})
            if not isinstance(data, dict):
                raise RemoteError(f"Cin7 Core answered {path} with an unexpected body", f"check {BASE_ENV}")
            items = data.get(list_key) or []
            yield from items
            seen += len(items)
            total = int(data.get("Total") or 0)
            # Page by Total, not by the page length: a server that caps Limit lower must not cut the list short.
            if not items or seen >= total:
                return
            page += 1
            if limit and page * limit > total + limit * 1000:  # pragma: no cover - a server that never ends
                raise RemoteError(f"Cin7 Core kept paging {path} past its Total ({total})", "re-run later")

    def products(self, *, sku: str | None = None, modified_since: str | None = None) -> list[dict]:
        params = {"IncludeDeprecated": "true", "IncludeSuppliers": "true"}
        if sku is not None:
            params["Sku"] = sku
        if modified_since:
            params["ModifiedSince"] = modified_since
        return list(self.pages("product", "Products", params))

    def find_sku(self, sku: str) -> dict | None:
        """The product whose SKU is exactly ``sku`` (the API's filter is not exact)."""
        for p in self.products(sku=sku):
            if str(p.get("SKU") or "").strip() == sku.strip():
                return p
        return None

    def _write(self, method: str, body: dict) -> dict:
        resp = self.http.request(method, "product", data=dumps(body).encode("utf-8"),
                                 headers={"Content-Type": "application/json"}, idempotent=(method == "PUT"))
        data = self._json(resp)
        products = data.get("Products") if isinstance(data, dict) else None
        if products:
            return products[0]
        if isinstance(data, dict) and data.get("ID"):
            return data
        raise Cin7NotJson(f"Cin7 Core answered {method} /product without the saved product",
                          "re-run to resume: it checks what was saved")

    def create(self, body: dict) -> dict:
        return self._write("POST", body)

    def update(self, body: dict) -> dict:
        return self._write("PUT", body)

    def close(self) -> None:
        self.http.session.close()


# ---------------------------------------------------------------------------------------------
# column ↔ API field mapping
def _split_field(column: Column) -> tuple[str, str | None]:
    """(api field, supplier sub-field or None); ('', None) for no API field."""
    f = column.api_field
    if f.startswith("Suppliers[]."):
        return "Suppliers", f.split(".", 1)[1]
    return f, None


def is_writable(column: Column) -> bool:
    field, sub = _split_field(column)
    return bool(field) and sub is None and not column.read_only and field not in READ_ONLY_FIELDS


def unwritable_reason(column: Column) -> str:
    if column.read_only or column.api_field in READ_ONLY_FIELDS:
        return f"{column.name} is computed by Cin7 Core and cannot be written"
    if column.api_field.startswith("Suppliers[]"):
        return f"{column.name} (supplier) cannot be written through Cin7 Core's product API; {INVENTORY_LIST_HINT}"
    return f"{column.name} has no field in Cin7 Core's product API; {INVENTORY_LIST_HINT}"


def wire_to_text(column: Column, raw) -> str:
    """One API value → our canonical text."""
    if raw is None:
        return ""
    if column.type == "decimal":
        if isinstance(raw, (Decimal, int)) and not isinstance(raw, bool):
            return values.decimal_text(Decimal(raw))
        text, issue = values.parse_decimal(raw)
        return text if issue is None else str(raw)
    if column.type == "bool":
        yes, no = column.values
        if isinstance(raw, bool):
            return yes if raw else no
        text, issue = values.parse_bool(column, raw)
        return text if issue is None else str(raw)
    if column.type == "enum":
        text, issue = values.parse_enum(column, raw)
        return text if issue is None else str(raw)
    if isinstance(raw, (Decimal, int)) and not isinstance(raw, bool):
        return values.decimal_text(Decimal(raw))
    return str(raw)


def text_to_wire(column: Column, text: str):
    """Our canonical text → the API value (blank decimals are 0 and blank booleans false in Cin7)."""
    if column.type == "decimal":
        return Decimal(text) if text != "" else Decimal(0)
    if column.type == "bool":
        return text == column.values[0]
    if column.name == cols.STATUS:
        return WIRE_STATUS.get(text, text)
    if column.type == "enum":
        return text if text != "" else None
    if column.type == "account":
        return values.account_code(text)
    return text


def settled(column: Column, text: str) -> str:
    """The canonical value Cin7 holds after we write ``text`` (for comparisons)."""
    if column.type == "decimal" and text == "":
        return "0"
    if column.type == "bool" and text == "":
        return column.values[1]
    if column.type == "account":
        return values.account_code(text)
    if column.type == "enum" and text:
        v, issue = values.parse_enum(column, text)
        return v if issue is None else text
    return text


def same(column: Column, a: str, b: str) -> bool:
    return settled(column, a or "") == settled(column, b or "")


def product_to_row(p: dict) -> dict[str, str]:
    """One API product → a row of canonical texts for every column of the table."""
    supplier = (p.get("Suppliers") or [None])[0] or {}
    row = {}
    for c in cols.columns():
        field, sub = _split_field(c)
        if not field:
            row[c.name] = ""
        elif sub is not None:
            row[c.name] = wire_to_text(c, supplier.get(sub))
        else:
            row[c.name] = wire_to_text(c, p.get(field))
    row[cols.KEY] = row[cols.KEY].strip()
    return row


def rows_to_frame(rows: list[dict]) -> pd.DataFrame:
    if not rows:
        return empty_products()
    # Cin7's own order (as its Inventory List export lists them), like the SQLite store's creation order.
    return pd.DataFrame.from_records(rows, columns=list(cols.names())).astype(object)


def _neutral(column: Column, text: str) -> bool:
    """A value that means 'nothing set' (what Cin7's export writes for unset fields)."""
    if text == "":
        return True
    if column.type == "decimal":
        try:
            return Decimal(text) == 0
        except Exception:
            return False
    if column.type == "bool":
        return text == column.values[1]
    return False


def create_body(row: dict[str, str]) -> tuple[dict | None, str | None]:
    """(POST body, None) or (None, why it cannot be created through the API)."""
    body: dict = {}
    problems = []
    user_set = all(row.get(n, "") != "" for n in CREATE_DEFAULTS)
    for c in cols.columns():
        text = row.get(c.name, "")
        if c.read_only or c.api_field in READ_ONLY_FIELDS:
            continue  # data only when a product comes from a Cin7 export: Cin7 computes it
        if not is_writable(c):
            if not _neutral(c, text):
                problems.append(unwritable_reason(c))
            continue
        if c.name in CREATE_DEFAULTS and text == "":
            text = CREATE_DEFAULTS[c.name]
        if c.name == cols.STATUS and text == "":
            text = cols.ACTIVE if user_set else cols.SETUP_REQUIRED
        if text == "":
            continue  # leave Cin7's own default
        body[c.api_field] = text_to_wire(c, text)
    if problems:
        return None, "; ".join(problems)
    return body, None


def put_body(current: dict, changes: dict[str, str]) -> dict:
    """The full merged object: the page-read product, minus what is never sent, plus the changes."""
    body = {k: v for k, v in current.items() if k not in NOT_SENT_ON_PUT}
    for name, text in changes.items():
        c = cols.column(name)
        body[c.api_field] = text_to_wire(c, text)
    body["ID"] = current["ID"]
    return body


# ---------------------------------------------------------------------------------------------
def account_hash(account_id: str) -> str:
    return hashlib.sha256(account_id.strip().lower().encode("utf-8")).hexdigest()[:12]


def state_path(account_id: str) -> Path:
    folder = Path(os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)
    return folder / f"cin7-{account_hash(account_id)}.db"


def _call_progress(progress) -> None:
    """``progress`` is the project's ``advance(n)`` callable (see :mod:`inventory_tools.progress`)."""
    if progress is None:
        return
    if callable(progress):
        progress(1)
    elif hasattr(progress, "update"):
        progress.update(1)


class Cin7Store(Store):
    kind = "cin7core"
    #: Cin7 Core pushes its products to Xero itself: sync never pushes from this store.
    pushes_to_xero = False
    #: Cin7 requires these on create; its own defaults fill the blanks (sync loads with them).
    create_defaults = CREATE_DEFAULTS

    def __init__(self, account_id: str, application_key: str, *, base_url: str | None = None,
                 state_file: str | os.PathLike | None = None, policy: RatePolicy | None = None):
        if not account_id or not application_key:
            raise self._missing()
        self.base_url = (base_url or DEFAULT_API_BASE).rstrip("/")
        self._hash = account_hash(account_id)
        self.client = Cin7Client(account_id, application_key, self.base_url, policy=policy)
        path = Path(state_file) if state_file else state_path(account_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the local state folder {path.parent}: {exc.strerror}",
                             f"set {STATE_DIR_ENV} to a writable folder") from None
        self.state_path = str(path)
        self.db = connect(path, purpose="cin7-state")
        self.state = LocalState(self.db, self.state_path)
        self._products: dict[str, dict] | None = None  # exact code → API product (last page read)

    @staticmethod
    def _missing() -> RemoteError:
        return RemoteError(f"Cin7 Core credentials are not set: {ACCOUNT_ENV} and {KEY_ENV} are needed",
                           f"export {ACCOUNT_ENV} and {KEY_ENV} (Cin7 Core → Integrations → API → your application); "
                           "they are read from the environment only")

    @classmethod
    def from_env(cls) -> "Cin7Store":
        account = (os.environ.get(ACCOUNT_ENV) or "").strip()
        key = (os.environ.get(KEY_ENV) or "").strip()
        if not account or not key:
            missing = [n for n, v in ((ACCOUNT_ENV, account), (KEY_ENV, key)) if not v]
            raise RemoteError(f"Cin7 Core credentials are not set: {' and '.join(missing)} missing",
                              f"export {ACCOUNT_ENV} and {KEY_ENV} (Cin7 Core → Integrations → API → your application); "
                              "they are read from the environment only")
        return cls(account, key, base_url=os.environ.get(BASE_ENV) or None)

    # -- identity -------------------------------------------------------------------------------
    def identity(self) -> str:
        return f"cin7core:{self._hash}"

    def describe(self) -> str:
        host = urlparse(self.base_url).netloc or self.base_url
        return f"Cin7 Core account {self._hash} ({host}); local state {self.state_path}"

    def close(self) -> None:
        self.client.close()
        self.state.close()

    # -- reads ----------------------------------------------------------------------------------
    def _read_all(self) -> dict[str, dict]:
        index: dict[str, dict] = {}
        for p in self.client.products():
            code = str(p.get("SKU") or "").strip()
            if code:
                index[code] = p
        self._products = index
        return index

    def read_products(self, statuses: Iterable[str] | None = None) -> pd.DataFrame:
        index = self._read_all()
        rows = [product_to_row(p) for p in index.values()]
        if statuses:
            wanted = {values.fold(s) for s in statuses}
            rows = [r for r in rows if values.fold(r[cols.STATUS]) in wanted]
        return rows_to_frame(rows)

    def read_by_codes(self, codes: Iterable[str]) -> pd.DataFrame:
        codes = list(dict.fromkeys(c.strip() for c in codes))
        if not codes:
            return empty_products()
        if len(codes) <= 3:  # cheaper than a full read: one filtered GET each, matched exactly here
            rows = [product_to_row(p) for p in (self.client.find_sku(c) for c in codes) if p]
        else:
            index = self._read_all()
            rows = [product_to_row(index[c]) for c in codes if c in index]
        return rows_to_frame(rows)

    def read_modified_since(self, since: str) -> pd.DataFrame:
        """Products changed since ``since`` (ISO 8601 UTC, ``yyyy-MM-ddTHH:mm:ss``): incremental reads."""
        return rows_to_frame([product_to_row(p) for p in self.client.products(modified_since=since)])

    def status_counts(self) -> dict[str, int]:
        """Products per canonical status (one paged read)."""
        out: dict[str, int] = {}
        for p in self._read_all().values():
            st = product_to_row(p)[cols.STATUS]
            out[st] = out.get(st, 0) + 1
        return out

    def codes(self) -> list[str]:
        """Every product code in Cin7 (one paged read)."""
        return list(self._read_all())

    def last_ops(self, codes: Iterable[str]) -> dict[str, int | None]:
        """The last operation of ours that wrote each code (from the local journal; Cin7 keeps no such
        record, so edits made in Cin7 itself are not seen here)."""
        codes = list(codes)
        out: dict[str, int | None] = {c: None for c in codes}
        for i in range(0, len(codes), 500):
            part = codes[i:i + 500]
            out.update(self.db.execute(
                f"SELECT code, max(op_id) FROM journal WHERE done=1 AND code IN ({', '.join('?' * len(part))})"
                " GROUP BY code", part).fetchall())
        return out

    # -- references -----------------------------------------------------------------------------
    def reference_lists(self) -> dict[str, list[str]]:
        """Column name → the names Cin7 accepts (accounts as ``Code: Name``), for checks and dropdowns."""
        fetched: dict[str, list[str]] = {}
        for ref, (path, key) in REFERENCE_ENDPOINTS.items():
            names = []
            for item in self.client.pages(path, key):
                if ref == "account":
                    code = str(item.get("Code") or "").strip()
                    if code:
                        names.append(f"{code}: {item.get('Name')}" if item.get("Name") else code)
                else:
                    name = str(item.get("Name") or "").strip()
                    if name:
                        names.append(name)
            fetched[ref] = names
        return {column: list(fetched[ref]) for column, ref in REFERENCE_COLUMNS.items()}

    def check_references(self, frame: pd.DataFrame, lists: dict[str, list[str]] | None = None) -> list[dict]:
        """Problems for values Cin7 does not know (case-insensitive; accounts by code).

        Each problem: ``{"row" (0-based position in frame), "code", "column", "value", "rule",
        "severity", "message", "hint"}``. Blank cells are not checked here (the create defaults fill
        the required ones).
        """
        lists = lists if lists is not None else self.reference_lists()
        problems = []
        for column, allowed in lists.items():
            if column not in frame.columns:
                continue
            col = cols.column(column)
            key = (lambda t: values.account_code(t).casefold()) if col.type == "account" else values.fold
            known = {key(a) for a in allowed}
            if column == "Category":
                known.add(values.fold(CREATE_DEFAULTS["Category"]))
            if column == "DefaultUnitOfMeasure":
                known.add(values.fold(CREATE_DEFAULTS["DefaultUnitOfMeasure"]))
            series = frame[column]
            for pos, value in enumerate(series.tolist()):
                text = "" if value is None else str(value)
                if text.strip() == "" or key(text) in known:
                    continue
                sample = ", ".join(allowed[:8]) + (" …" if len(allowed) > 8 else "")
                problems.append({
                    "row": pos, "code": str(frame[cols.KEY].iloc[pos]) if cols.KEY in frame.columns else "",
                    "column": column, "value": text, "rule": "reference.unknown", "severity": "error",
                    "message": f"{column} '{text}' does not exist in Cin7 Core",
                    "hint": (f"choose one Cin7 knows ({sample})" if allowed else f"Cin7 Core has no {column} values yet")
                            + "; Cin7's API does not create reference values, add it in Cin7 first"})
        return problems

    # -- timing ---------------------------------------------------------------------------------
    def write_estimate(self, n_products: int, n_catalogue: int = 0) -> WriteEstimate:
        """How long writing ``n_products`` takes at the rate limit (one call each, plus the page
        reads of ``n_catalogue`` products, or one)."""
        p = self.client.policy
        calls = n_products + (math.ceil(n_catalogue / PAGE_LIMIT) if n_catalogue else 1)
        return WriteEstimate(products=n_products, calls=calls, seconds=calls * p.per_seconds / p.calls,
                             calls_per_minute=CALLS_PER_WINDOW)

    # -- writes ---------------------------------------------------------------------------------
    def apply(self, changes: ChangeSet, *, kind: str, source: str, base_export_id: str | None,
              counts: dict, progress=None, undo_of: int | None = None, detail: dict | None = None) -> ApplyOutcome:
        """Write product by product, journaled; resumable. See the module docstring.

        An empty change set makes no API call, unless it resumes an interrupted run of the same
        (kind, source), which it then settles and finishes.
        """
        if changes.empty and self.unfinished_operation(kind, source) is None:
            index: dict[str, dict] = {}
        else:
            index = self._read_all()  # the page read every PUT merges into (no GET per product)
        op_id = self._open_operation(changes, index, kind=kind, source=source, base_export_id=base_export_id,
                                     counts=counts, undo_of=undo_of, detail=detail)
        pending = self._pending(op_id)
        failed: dict[str, str] = {}
        total, done_n = len(pending), 0
        state = "interrupted"
        try:
            for code, entries in pending.items():
                reason = self._apply_product(op_id, code, entries, index)
                if reason:
                    failed[code] = reason
                done_n += 1
                _call_progress(progress)
            state = "applied"
        except RemoteError as exc:  # network, auth, a rate limit that ends the day: the journal is kept
            exc.hint = (f"{done_n} of {total} products were handled before it stopped (operation #{op_id}); "
                        "re-run the same command to resume: nothing is written twice")
            raise
        finally:
            self._finish(op_id, state, counts, failed)
        created, updated, deleted = self._done_codes(op_id)
        return ApplyOutcome(op_id=op_id, created=created, updated=updated, deleted=deleted, failed=failed)

    def unfinished_operation(self, kind: str, source: str | None) -> dict | None:
        """The interrupted operation a re-run of (kind, source) would resume, if any."""
        row = self.db.execute(
            "SELECT op_id FROM operations WHERE kind=? AND coalesce(source,'')=coalesce(?, '')"
            " AND state IN ('running', 'interrupted') ORDER BY op_id DESC LIMIT 1", (kind, source)).fetchone()
        return self.state.operation(row[0]) if row else None

    def _open_operation(self, changes: ChangeSet, index: dict[str, dict], *, kind, source, base_export_id,
                        counts, undo_of, detail) -> int:
        entries = []
        if not changes.creates.empty:
            for code in changes.creates[cols.KEY].tolist():
                entries.append((str(code).strip(), "create", None, None, None))
        for ch in changes.updates:
            entries.append((ch.code, "update", ch.column, ch.old, ch.new))
        for code in changes.deletes:
            cur = index.get(code)
            old = product_to_row(cur)[cols.STATUS] if cur else ""
            entries.append((code, "delete", cols.STATUS, old, cols.DEPRECATED))
        create_rows = {}
        if not changes.creates.empty:
            for rec in changes.creates[list(cols.names())].to_dict("records"):
                create_rows[str(rec[cols.KEY]).strip()] = {k: ("" if v is None else str(v)) for k, v in rec.items()}
        resume = self.unfinished_operation(kind, source)
        with self.state.transaction() as db:
            if resume:
                op_id = resume["op_id"]
                self._reconcile(db, op_id, index)
                prior = resume["detail"].get("create_rows", {})
                create_rows = {**prior, **create_rows}
                have = {(c, a, col, new) for c, a, col, _old, new, d in self.state.journal(op_id) if d == DONE}
                entries = [e for e in entries if (e[0], e[1], e[2], e[4]) not in have]
                det = {**resume["detail"], "create_rows": create_rows, "resumed": resume["detail"].get("resumed", 0) + 1}
                db.execute("UPDATE operations SET state='running', detail=? WHERE op_id=?", (json.dumps(det), op_id))
            else:
                det = {**(detail or {}), "store": self.identity(), "create_rows": create_rows}
                op_id = self.state.begin_operation(db, kind=kind, source=source, base_export_id=base_export_id,
                                                   counts=counts, state="running", undo_of=undo_of, detail=det)
            self.state.journal_add(db, op_id, entries, done=PENDING)
        return op_id

    def _reconcile(self, db, op_id: int, index: dict[str, dict]) -> None:
        """Resuming: settle entries whose answer was lost (checked against Cin7), drop the rest."""
        rows = db.execute("SELECT rowid, code, action, col, old, new, done FROM journal WHERE op_id=?",
                          (op_id,)).fetchall()
        for rowid, code, action, col, old, new, done in rows:
            if done == DONE:
                continue
            if done == SENT:
                cur = index.get(code)
                applied = False
                if action == "create":
                    applied = cur is not None
                elif cur is not None:
                    applied = same(cols.column(col), product_to_row(cur)[col], new or "")
                if applied:
                    db.execute("UPDATE journal SET done=? WHERE rowid=?", (DONE, rowid))
                    continue
            db.execute("DELETE FROM journal WHERE rowid=?", (rowid,))

    def _pending(self, op_id: int) -> dict[str, list[tuple]]:
        rows = self.db.execute(
            "SELECT rowid, code, action, col, old, new, done FROM journal WHERE op_id=? AND done IN (?, ?)"
            " ORDER BY rowid", (op_id, PENDING, SENT)).fetchall()
        out: dict[str, list[tuple]] = {}
        for r in rows:
            out.setdefault(r[1], []).append(r)
        return out

    def _mark(self, op_id: int, code: str, done: int, rowids: list[int] | None = None) -> None:
        with self.state.transaction() as db:
            if rowids is None:
                db.execute("UPDATE journal SET done=? WHERE op_id=? AND code=? AND done IN (?, ?)",
                           (done, op_id, code, PENDING, SENT))
            else:
                db.executemany("UPDATE journal SET done=? WHERE rowid=?", ((done, r) for r in rowids))

    def _create_row(self, op_id: int, code: str) -> dict[str, str] | None:
        op = self.state.operation(op_id)
        return (op["detail"].get("create_rows") or {}).get(code) if op else None

    def _apply_product(self, op_id: int, code: str, entries: list[tuple], index: dict[str, dict]) -> str | None:
        """Write one product; journal it. Returns a failure reason, or None when applied."""
        rowids = [e[0] for e in entries]
        actions = {e[2] for e in entries}
        cur = index.get(code)
        try:
            if "create" in actions:
                return self._create(op_id, code, entries, cur, index)
            if cur is None:
                self._mark(op_id, code, FAILED)
                return f"{code} is not in Cin7 Core (deleted or renamed since the plan)"
            changes: dict[str, str] = {}
            row = product_to_row(cur)
            problems = []
            for _rowid, _c, action, col, old, new, done in entries:
                column = cols.column(col)
                new, old = new or "", old or ""
                if same(column, row[col], new):
                    continue  # already there (a resumed or repeated run)
                if not same(column, row[col], old):
                    problems.append(f"{col} changed in Cin7 Core since the plan (expected '{old}', now '{row[col]}')")
                    continue
                if col == "Type":
                    problems.append("Type cannot be changed once a product exists in Cin7 Core")
                elif not is_writable(column):
                    problems.append(unwritable_reason(column))
                else:
                    changes[col] = new
            if problems:
                self._mark(op_id, code, FAILED)
                return "; ".join(problems)
            if not changes:
                self._mark(op_id, code, DONE)
                return None
            self._mark(op_id, code, SENT)
            saved = self.client.update(put_body(cur, changes))
            index[code] = {**cur, **saved}
            self._mark(op_id, code, DONE)
            return None
        except Cin7Refused as exc:
            self._mark(op_id, code, FAILED)
            return exc.message
        except Cin7NotJson as exc:
            return self._settle_unclear(op_id, code, entries, exc.message)

    def _settle_unclear(self, op_id: int, code: str, entries: list[tuple], reason: str) -> str | None:
        """A write got an unreadable answer: look the product up once and journal what really happened."""
        found = self.client.find_sku(code)  # a RemoteError here leaves the entry SENT for the next run
        applied = found is not None
        if found is not None:
            row = product_to_row(found)
            for _rowid, _c, action, col, _old, new, _d in entries:
                if action != "create" and not same(cols.column(col), row[col], new or ""):
                    applied = False
        if applied:
            self._products[code] = found
            self._mark(op_id, code, DONE)
            return None
        self._mark(op_id, code, FAILED)
        return reason + " (checked: the change was not saved)"

    def _create(self, op_id: int, code: str, entries: list[tuple], cur: dict | None,
                index: dict[str, dict]) -> str | None:
        if cur is not None:  # (our own lost creates were settled as done by _reconcile)
            self._mark(op_id, code, FAILED)
            return f"{code} already exists in Cin7 Core (created since the plan); nothing was changed"
        row = self._create_row(op_id, code)
        if row is None:
            self._mark(op_id, code, FAILED)
            return f"{code}: the product's values were not kept in the journal; run the import again"
        body, why = create_body(row)
        if body is None:
            self._mark(op_id, code, FAILED)
            return why
        self._mark(op_id, code, SENT)
        for attempt in range(3):
            try:
                saved = self.client.create(body)
            except MaybeSentError:
                found = self.client.find_sku(code)  # never re-create before checking
                if found is not None:
                    saved = found
                else:
                    continue
            index[code] = saved
            self._mark(op_id, code, DONE)
            return None
        raise RemoteError(f"Cin7 Core kept dropping the answer to creating {code}",
                          "check the network and re-run the same command; it checks before creating again")

    def _finish(self, op_id: int, state: str, counts: dict, failed: dict[str, str]) -> None:
        try:
            with self.state.transaction() as db:
                op = self.state.operation(op_id) or {"detail": {}, "counts": {}}
                done_now = {r[0] for r in self.state.journal(op_id) if r[5] == DONE}
                earlier = {c: r for c, r in op["detail"].get("failed", {}).items() if c not in done_now}
                det = {**op["detail"], "failed": {**earlier, **failed}}
                if state == "applied":
                    det.pop("create_rows", None)
                new_counts = {**(counts or {})}
                if det["failed"]:
                    new_counts["failed"] = len(det["failed"])
                self.state.finish_operation(db, op_id, state=state, counts=new_counts, detail=det)
                if state == "applied" and op.get("undo_of"):
                    self.state.finish_operation(db, op["undo_of"], state="undone")
        except StoreError:
            log.warning("could not record the end of operation %s", op_id)

    def _done_codes(self, op_id: int) -> tuple[list[str], list[str], list[str]]:
        created, updated, deleted = {}, {}, {}
        for code, action, _col, _old, _new, done in self.state.journal(op_id):
            if done != DONE:
                continue
            {"create": created, "update": updated, "delete": deleted}[action][code] = None
        return list(created), [c for c in updated if c not in created], list(deleted)
