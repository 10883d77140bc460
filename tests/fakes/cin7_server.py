"""A local Cin7 Core (DEAR) External API v2 over real HTTP, following the documented contract.

``FakeCin7`` runs a ``ThreadingHTTPServer`` on 127.0.0.1 (ephemeral port) and serves
``/ExternalApi/v2/...`` (path case-insensitive):

* auth: both ``api-auth-accountid`` and ``api-auth-applicationkey`` must match, else 403
  ``Incorrect credentials!``;
* ``GET /product`` with ``Page``/``Limit`` (1..1000, default 100), ``ID``, ``Sku`` and ``Name``
  (substring matches, as the docs half-say: never exact), ``ModifiedSince``, ``IncludeDeprecated``
  (default false: Deprecated hidden), ``IncludeSuppliers``/``IncludeBOM``/``IncludeReorderLevels``/...
  (default false: those lists come back empty);
  the envelope ``{"Total", "Page", "Products"}``;
* ``POST /product`` (one object, ``ID`` ignored, required SKU/Name/Category/Type/CostingMethod/UOM/
  Status, unique SKU, inline Suppliers refused) and ``PUT /product`` (``ID`` required, omitted
  fields keep their value, ``Type`` read-only); read-only fields (AverageCost, LastModifiedOn,
  BOMType) in a write body are refused, so a client that sends them is caught;
* reference books ``/ref/category|brand|unit|tax|account|location`` (paged); an unknown Category is
  ``404 {"ErrorCode":404,"Exception":"Category not found."}``, an unknown Brand 404 "... was not
  found in reference book", an unknown UOM / tax rule / account / location 400;
* a sliding rate window (``calls`` per ``window`` seconds) answered with 429, 503 or the 400
  ``[{"ErrorCode":400,"Exception":"You have reached 60 calls per 60 seconds API limit."}]``
  (``throttle_style``: "429" | "503" | "400" | "cycle");
* error bodies in the three shapes (``error_shape``: "object" | "array" | "200" = object with HTTP 200);
* injectable faults (:meth:`FakeCin7.inject`, optionally for one SKU only): lost answers, dropped
  connections, statuses (a product that answers 500 on every try), HTML pages, a redirect to
  another host, an answer that trickles in byte by byte; a record of every call (:attr:`calls`).

Each reading the documentation leaves open is a mode (see ``tests/fakes/README.md``):
``put_mode`` "merge" (omitted fields keep their value) or "replace" (omitted fields are cleared,
nested lists too); ``setup_required`` "accept" or "refuse" (POST with Status "Setup required");
:meth:`FakeCin7.schedule_edit` plays someone editing a product in Cin7 while a run goes on.
"""
from __future__ import annotations

import collections
import copy
import datetime as dt
import json
import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples" / "dear"  # copies of the reference samples
ACCOUNT_ID = "3f1e6a52-7c1d-4b1e-9a55-0c3b8f2d9e10"
APP_KEY = "b7e2c9d4-1a5f-4e8b-8c3d-6f0a2e9b1c77"
PREFIX = "/externalapi/v2"

READ_ONLY = ("AverageCost", "LastModifiedOn", "BOMType")
REQUIRED_ON_CREATE = ("SKU", "Name", "Category", "Type", "CostingMethod", "UOM", "Status")
STATUSES = {"active": "Active", "deprecated": "Deprecated", "setup required": "Setup required"}
#: What we assume Cin7 answers when it refuses "Setup required" (the March 2024 blueprint's own words).
SETUP_REFUSED = "Status 'Setup required' is not valid. The only valid values are Active and Deprecated"
REQUIRED_ON_PUT_REPLACE = ("SKU", "Name", "Category", "CostingMethod", "UOM", "Status")
INCLUDES = {"includesuppliers": ("Suppliers",), "includebom": ("BillOfMaterialsProducts", "BillOfMaterialsServices"),
            "includereorderlevels": ("ReorderLevels",), "includemovements": ("Movements",),
            "includeattachments": ("Attachments",), "includecustomprices": ("CustomPrices",)}

#: Every scalar field of a product with Cin7's defaults (the official GET example's keys).
PRODUCT_DEFAULTS = {
    "Brand": None, "DropShipMode": "No Drop Ship", "DefaultLocation": None,
    "Length": 0, "Width": 0, "Height": 0, "Weight": 0, "WeightUnits": "kg", "DimensionsUnits": "m",
    "Barcode": "", "MinimumBeforeReorder": 0, "ReorderQuantity": 0,
    **{f"PriceTier{i}": 0 for i in range(1, 11)}, "AverageCost": 0, "ShortDescription": "", "Description": "",
    "InternalNote": "", **{f"AdditionalAttribute{i}": "" for i in range(1, 11)}, "AttributeSet": None,
    "DiscountRule": None, "Tags": "", "StockLocator": "", "COGSAccount": None, "RevenueAccount": None,
    "ExpenseAccount": None, "InventoryAccount": None, "PurchaseTaxRule": None, "SaleTaxRule": None,
    "Sellable": True, "PickZones": "", "BillOfMaterial": False, "AutoAssembly": False, "AutoDisassembly": False,
    "QuantityToProduce": 0, "AssemblyInstructionURL": "", "AssemblyCostEstimationMethod": "",
    "AlwaysShowQuantity": 0, "ProductionBOM": False, "MakeToOrderBom": False,
    "Suppliers": [], "ReorderLevels": [], "BillOfMaterialsProducts": [], "BillOfMaterialsServices": [],
    "Movements": [], "Attachments": [], "CustomPrices": [],
    "CartonHeight": 0, "CartonWidth": 0, "CartonLength": 0, "CartonQuantity": 0, "CartonInnerQuantity": 0,
    "HSCode": "", "CountryOfOrigin": "", "CountryOfOriginCode": "",
}


def sample(name: str):
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"), parse_float=Decimal)


_DEC = f"@@dec-{uuid.uuid4().hex}@@"


def dumps(obj) -> str:
    """JSON with Decimal values as exact numbers (as Cin7 writes them)."""
    import re

    def default(o):
        if isinstance(o, Decimal):
            return _DEC + format(o, "f")
        raise TypeError(type(o).__name__)

    return re.sub('"' + _DEC + r'([-0-9.eE+]+)"', r"\1", json.dumps(obj, default=default))


@dataclass
class Call:
    t: float
    method: str
    path: str
    query: dict
    body: object
    status: int
    outcome: str = "answered"  # answered | throttled | fault:<kind> | lost


@dataclass
class Fault:
    # lost | drop | status | html | html-after-write | error200 | throttle400 | outage | redirect | trickle
    # | trickle-headers
    kind: str
    method: str | None = None  # match only this method
    path: str | None = None  # match only this path (e.g. "/product")
    at: int = 1  # trigger on the at-th matching call from now
    times: int = 1  # how many matching calls it affects
    status: int = 500
    body: object = None  # the answer (status, error200), the Location (redirect)
    sku: str | None = None  # match only calls about this SKU (query Sku or body SKU)
    interval: float = 0.5  # trickle: seconds between bytes
    seen: int = 0


@dataclass
class Edit:
    """Someone edits a product in Cin7 once ``after_writes`` writes of ours were answered."""

    after_writes: int
    sku: str
    fields: dict
    done: bool = False


class RefusedError(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


class FakeCin7:
    def __init__(self, *, window: float = 2.0, calls: int = 60, throttle_style: str = "429",
                 error_shape: str = "object", account_id: str = ACCOUNT_ID, app_key: str = APP_KEY,
                 max_limit: int = 1000, put_mode: str = "merge", setup_required: str = "accept"):
        assert put_mode in ("merge", "replace") and setup_required in ("accept", "refuse")
        self.put_mode, self.setup_required = put_mode, setup_required
        self.edits: list[Edit] = []
        self.window, self.limit = window, calls
        self.throttle_style, self.error_shape = throttle_style, error_shape
        self.max_limit = max_limit  # a server that serves fewer per page than asked
        self.account_id, self.app_key = account_id, app_key
        self.products: dict[str, dict] = {}  # ID -> product, in creation order
        self.refs = {
            "category": ["Other", "Bakery", "Hardware", "Golf"],
            "brand": ["Acme", "Titleist"],
            "unit": ["Item", "Box", "Hour", "kg"],
            "location": ["Main Warehouse", "Shop"],
        }
        #: name -> (IsActive, IsTaxForSale, IsTaxForPurchase), as /ref/tax describes a tax rule
        self.tax_rules = {"GST on Income": (True, True, False), "GST on Expenses": (True, False, True),
                          "Tax Exempt": (True, True, True), "Standard Rate Sales": (True, True, False),
                          "Old GST": (False, True, True)}
        #: (Code, Name, Class, Type, Status), as /ref/account describes an account
        self.accounts = [("200", "Sales", "REVENUE", "REVENUE", "ACTIVE"),
                         ("310", "Credit Card Fees (No VAT)", "REVENUE", "SALES", "ACTIVE"),
                         ("630", "Inventory", "ASSET", "INVENTORY", "ACTIVE"),
                         ("500", "Cost of Goods Sold", "EXPENSE", "DIRECTCOSTS", "ACTIVE"),
                         ("400", "Purchases", "EXPENSE", "EXPENSE", "ACTIVE"),
                         ("720", "Equipment", "ASSET", "FIXED", "ACTIVE"),
                         ("450", "Old Expenses", "EXPENSE", "EXPENSE", "ARCHIVED")]
        #: name -> IsActive (product discount rules, /reference/discount)
        self.discounts = {"Trade 10%": True, "Summer sale": False}
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.errors: list[str] = []  # tracebacks of the fake's own bugs (tests can assert it stays empty)
        self._accepted: collections.deque[float] = collections.deque()
        self._throttle_n = 0
        self.lock = threading.RLock()
        from .cin7_http import make_handler  # the HTTP side (a module of its own)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self))
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/ExternalApi/v2"

    def start(self) -> "FakeCin7":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def env(self) -> dict:
        return {"CIN7_ACCOUNT_ID": self.account_id, "CIN7_APPLICATION_KEY": self.app_key,
                "INVENTORY_TOOLS_CIN7_API_BASE": self.base_url,
                "INVENTORY_TOOLS_RATE_WINDOW_SECONDS": str(self.window)}

    # -- seeding --------------------------------------------------------------------------------
    def add_product(self, **fields) -> dict:
        with self.lock:
            p = copy.deepcopy(PRODUCT_DEFAULTS)
            p.update({"Category": "Other", "Type": "Stock", "CostingMethod": "FIFO", "UOM": "Item",
                      "Status": "Active"})
            p.update(fields)
            p.setdefault("ID", str(uuid.uuid4()))
            p.setdefault("LastModifiedOn", self._now())
            self.products[p["ID"]] = p
            return p

    def schedule_edit(self, after_writes: int, sku: str, **fields) -> None:
        """Someone edits ``sku`` in Cin7 (as its UI would) once ``after_writes`` of our writes were answered."""
        with self.lock:
            self.edits.append(Edit(after_writes, sku, fields))

    def _run_edits(self) -> None:
        answered = sum(1 for c in self.calls if c.method in ("POST", "PUT") and c.outcome == "answered")
        for e in self.edits:
            if not e.done and answered >= e.after_writes:
                e.done = True
                p = self.by_sku(e.sku)
                if p is not None:
                    p.update(copy.deepcopy(e.fields))
                    p["LastModifiedOn"] = self._now()

    def add_sample(self) -> dict:
        """The official Apiary GET example product (SKU 'Bread')."""
        p = sample("dear_api_v2_product_get_response_apiary_example.json")["Products"][0]
        with self.lock:
            self.products[p["ID"]] = p
            for ref, key in (("category", "Category"), ("unit", "UOM"), ("location", "DefaultLocation")):
                if p.get(key) and p[key] not in self.refs[ref]:
                    self.refs[ref].append(p[key])
        return p

    def by_sku(self, sku: str) -> dict | None:
        with self.lock:
            return next((p for p in self.products.values() if p["SKU"] == sku), None)

    def skus(self) -> list[str]:
        with self.lock:
            return [p["SKU"] for p in self.products.values()]

    # -- faults and records ---------------------------------------------------------------------
    def inject(self, kind: str, *, method: str | None = None, path: str | None = None, at: int = 1,
               times: int = 1, status: int = 500, body=None, sku: str | None = None, interval: float = 0.5) -> Fault:
        f = Fault(kind, method, path, at, times, status, body, sku, interval)
        with self.lock:
            self.faults.append(f)
        return f

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def writes(self, method: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.method in ((method,) if method else ("POST", "PUT"))]

    def max_in_window(self, outcome: str | None = "answered") -> int:
        """The most calls (with that outcome) that arrived within any window: must be <= limit."""
        ts = sorted(c.t for c in self.calls if outcome is None or c.outcome == outcome)
        best, j = 0, 0
        for i, t in enumerate(ts):
            while ts[j] <= t - self.window:
                j += 1
            best = max(best, i - j + 1)
        return best

    @staticmethod
    def _now() -> str:
        return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    # -- request handling -----------------------------------------------------------------------
    def _match_fault(self, method: str, path: str, query: dict, body) -> Fault | None:
        hit = None
        for f in self.faults:
            if f.method and f.method != method:
                continue
            if f.path and f.path.lower() != path:
                continue
            if f.sku is not None:
                about = query.get("sku") or (body.get("SKU") if isinstance(body, dict) else None)
                if about != f.sku:
                    continue
            f.seen += 1
            if hit is None and f.at <= f.seen < f.at + f.times:
                hit = f
        return hit

    def _rate_ok(self, now: float) -> bool:
        while self._accepted and self._accepted[0] <= now - self.window:
            self._accepted.popleft()
        if len(self._accepted) >= self.limit:
            return False
        self._accepted.append(now)
        return True

    def _throttle(self) -> tuple[int, object]:
        style = self.throttle_style
        if style == "cycle":
            style = ("429", "503", "400")[self._throttle_n % 3]
            self._throttle_n += 1
        if style == "503":
            return 503, "You reached 60 calls per minute API limit"
        if style == "400":
            return 400, [{"ErrorCode": 400, "Exception": "You have reached 60 calls per 60 seconds API limit."}]
        return 429, {"ErrorCode": 429, "Exception": "Too many requests: 60 calls per minute"}

    def error(self, status: int, message: str) -> tuple[int, object]:
        obj = {"ErrorCode": status, "Exception": message}
        if self.error_shape == "array":
            return status, [obj]
        if self.error_shape == "200":
            return 200, obj
        return status, obj

    def handle(self, method: str, raw_path: str, headers, body_bytes: bytes):
        """→ (status, body, action) where action is None, 'lost' or 'drop'."""
        parts = urlsplit(raw_path)
        path = parts.path.lower()
        if path.startswith(PREFIX):
            path = path[len(PREFIX):]
        path = "/" + path.strip("/")
        query = {k.lower(): v for k, v in parse_qsl(parts.query, keep_blank_values=True)}
        try:
            body = json.loads(body_bytes, parse_float=Decimal) if body_bytes else None
        except ValueError:
            body = "<invalid json>"
        now = time.monotonic()
        with self.lock:
            self._run_edits()
            call = Call(now, method, path, query, body, 0)
            self.calls.append(call)
            fault = self._match_fault(method, path, query, body)
            if fault and fault.kind == "redirect":
                call.status, call.outcome = fault.status if fault.status in (301, 302, 303, 307, 308) else 302, \
                    "fault:redirect"
                return call.status, fault.body, "redirect"
            if fault and fault.kind in ("drop", "outage"):
                call.outcome = f"fault:{fault.kind}"
                return 0, None, "drop"
            if fault and fault.kind == "status":
                call.status, call.outcome = fault.status, "fault:status"
                return fault.status, fault.body, None
            if fault and fault.kind == "html":
                call.status, call.outcome = 200, "fault:html"
                return 200, "<html><body><h1>Page not found</h1></body></html>", "html"
            if fault and fault.kind == "error200":
                call.status, call.outcome = 200, "fault:error200"
                return 200, fault.body or {"ErrorCode": 500, "Exception": "Unexpected error"}, None
            if fault and fault.kind == "throttle400":
                call.status, call.outcome = 400, "throttled"
                return 400, [{"ErrorCode": 400, "Exception": "You have reached 60 calls per 60 seconds API limit."}], None
            if (headers.get("api-auth-accountid") != self.account_id
                    or headers.get("api-auth-applicationkey") != self.app_key):
                call.status = 403
                return 403, "Incorrect credentials!", "text"
            if not self._rate_ok(now):
                status, payload = self._throttle()
                call.status, call.outcome = status, "throttled"
                return status, payload, ("text" if isinstance(payload, str) else None)
            try:
                status, payload = self._route(method, path, query, body)
            except RefusedError as exc:
                status, payload = self.error(exc.status, exc.message)
            call.status = status
            if fault and fault.kind == "html-after-write":
                call.outcome = "fault:html-after-write"
                return 200, "<html><body>Session expired</body></html>", "html"
            if fault and fault.kind == "lost":
                call.outcome = "lost"
                return status, payload, "lost"
            if fault and fault.kind in ("trickle", "trickle-headers"):
                call.outcome = f"fault:{fault.kind}"
                return status, payload, (fault.kind, fault.interval)
            return status, payload, None

    def _route(self, method: str, path: str, q: dict, body):
        if path == "/product":
            if method == "GET":
                return 200, self._list_products(q)
            if method == "POST":
                return 200, self._create(body)
            if method == "PUT":
                return 200, self._update(body)
            raise RefusedError(405, "Method not allowed")
        if path.startswith("/ref/") and method == "GET":
            return 200, self._ref(path[5:], q)
        if path == "/me" and method == "GET":
            return 200, {"Company": "Fake Company Ltd", "Currency": "NZD", "DefaultWeightUnits": "kg",
                         "DefaultDimensionsUnits": "cm"}
        if path == "/reference/discount" and method == "GET":
            rules = [{"ID": str(uuid.uuid5(uuid.NAMESPACE_OID, "discount" + n)), "Name": n, "IsActive": active,
                      "Type": "Percentage", "DiscountLines": []} for n, active in self.discounts.items()]
            return 200, {"Total": len(rules), "Page": 1, "DiscountRules": rules}
        raise RefusedError(404, "Endpoint does not exist")

    # -- /product -------------------------------------------------------------------------------
    def _page(self, q: dict) -> tuple[int, int]:
        try:
            page = int(q.get("page") or 1)
            limit = int(q.get("limit") or 100)
        except ValueError:
            raise RefusedError(400, "Page and Limit must be numbers") from None
        if page < 1 or not 1 <= limit <= 1000:
            raise RefusedError(400, "Limit must be between 1 and 1000")
        return page, min(limit, self.max_limit)

    def _list_products(self, q: dict) -> dict:
        page, limit = self._page(q)
        items = list(self.products.values())
        if q.get("includedeprecated", "").lower() not in ("true", "1"):
            items = [p for p in items if p.get("Status") != "Deprecated"]
        if q.get("id"):
            items = [p for p in items if p["ID"] == q["id"]]
        if q.get("sku"):
            items = [p for p in items if q["sku"].lower() in p["SKU"].lower()]
        if q.get("name"):
            items = [p for p in items if q["name"].lower() in (p.get("Name") or "").lower()]
        if q.get("modifiedsince"):
            since = q["modifiedsince"].rstrip("Z")
            items = [p for p in items if (p.get("LastModifiedOn") or "").rstrip("Z") >= since]
        out = []
        for p in items[(page - 1) * limit: page * limit]:
            p = copy.deepcopy(p)
            for flag, keys in INCLUDES.items():  # nested lists only when asked for (documented)
                if q.get(flag, "").lower() not in ("true", "1"):
                    for key in keys:
                        p[key] = []
            out.append(p)
        return {"Total": len(items), "Page": page, "Products": out}

    def _check_refs(self, p: dict) -> None:
        """Cin7's rules for the names a product points at (blueprint field table)."""
        def known(ref: str, value) -> bool:
            return any(str(value).lower() == v.lower() for v in self.refs[ref])

        if p.get("Category") and not known("category", p["Category"]):
            raise RefusedError(404, "Category not found.")
        if p.get("Brand") and not known("brand", p["Brand"]):
            raise RefusedError(404, f"Brand '{p['Brand']}' was not found in reference book")
        if p.get("UOM") and not known("unit", p["UOM"]):
            raise RefusedError(400, f"UOM '{p['UOM']}' not found in reference book")
        if p.get("DefaultLocation") and not known("location", p["DefaultLocation"]):
            raise RefusedError(400, f"Location '{p['DefaultLocation']}' not found")
        for key, flag in (("SaleTaxRule", 1), ("PurchaseTaxRule", 2)):
            if p.get(key):
                rule = next((v for n, v in self.tax_rules.items() if n.lower() == str(p[key]).lower()), None)
                if rule is None:
                    raise RefusedError(400, f"{key} '{p[key]}' not found")
                if not rule[0] or not rule[flag]:
                    raise RefusedError(400, f"{key} '{p[key]}' must be an active tax rule for "
                                            f"{'sales' if flag == 1 else 'purchases'}")
        stock = p.get("Type") != "Service"
        for key, klass in (("RevenueAccount", "REVENUE"), ("ExpenseAccount", "EXPENSE"), ("COGSAccount", "EXPENSE"),
                           ("InventoryAccount", "ASSET")):
            if not p.get(key) or (key != "RevenueAccount" and not stock):
                continue
            acc = next((a for a in self.accounts if a[0] == str(p[key])), None)
            if acc is None:
                raise RefusedError(400, f"Account with specified ID not found ({key})")
            if acc[4] != "ACTIVE" or acc[2] != klass or (key == "InventoryAccount" and acc[3] in ("FIXED", "BANK")):
                raise RefusedError(400, f"{key} must be an active {klass} account")
        if p.get("DiscountRule"):
            active = self.discounts.get(str(p["DiscountRule"]))
            if not active:
                raise RefusedError(400, f"Discount rule '{p['DiscountRule']}' not found or not active")
        if "Status" in p:
            st = STATUSES.get(str(p["Status"]).lower())
            if st is None:
                raise RefusedError(400, f"Status '{p['Status']}' is not valid")
            p["Status"] = st
        if p.get("Type") and p["Type"] not in ("Stock", "Service"):
            raise RefusedError(400, f"Type '{p['Type']}' is not valid")

    def _check_body(self, body) -> dict:
        if not isinstance(body, dict):
            raise RefusedError(400, "Request body must be one Product object")
        for key in READ_ONLY:
            if key in body:
                raise RefusedError(400, f"'{key}' is read-only")
        return body

    def _sku_taken(self, sku: str, except_id: str | None = None) -> bool:
        return any(p["SKU"].lower() == sku.lower() and p["ID"] != except_id for p in self.products.values())

    def _create(self, body) -> dict:
        body = self._check_body(body)
        for key in REQUIRED_ON_CREATE:
            if body.get(key) in (None, ""):
                raise RefusedError(400, f"Required attribute '{key}' not provided")
        if body.get("Suppliers"):
            raise RefusedError(400, "Suppliers is invalid")
        if self._sku_taken(body["SKU"]):
            raise RefusedError(400, f"Product with SKU '{body['SKU']}' already exists")
        if self.setup_required == "refuse" and str(body.get("Status")).lower() == "setup required":
            raise RefusedError(400, SETUP_REFUSED)
        if body.get("BillOfMaterial") is True and not body.get("QuantityToProduce"):
            raise RefusedError(400, "Required attribute 'QuantityToProduce' not provided")
        p = copy.deepcopy(PRODUCT_DEFAULTS)
        p.update({k: v for k, v in body.items() if k != "ID"})
        self._check_refs(p)
        p["ID"] = str(uuid.uuid4())
        p["LastModifiedOn"] = self._now()
        self.products[p["ID"]] = p
        return {"Total": 1, "Page": 1, "Products": [copy.deepcopy(p)]}

    def _update(self, body) -> dict:
        body = self._check_body(body)
        pid = body.get("ID")
        if not pid:
            raise RefusedError(400, "Required attribute 'ID' not provided")
        if pid not in self.products:
            raise RefusedError(404, "Product not found")
        if "Type" in body:
            raise RefusedError(400, "'Type' is read-only for PUT")
        if body.get("SKU") and self._sku_taken(body["SKU"], pid):
            raise RefusedError(400, f"Product with SKU '{body['SKU']}' already exists")
        if self.put_mode == "replace":  # omitted fields are cleared (to Cin7's defaults), nested lists too
            missing = [k for k in REQUIRED_ON_PUT_REPLACE if body.get(k) in (None, "")]
            if missing:
                raise RefusedError(400, f"Required attribute '{missing[0]}' not provided")
            old = self.products[pid]
            p = copy.deepcopy(PRODUCT_DEFAULTS)
            p.update({"Type": old.get("Type"), "AverageCost": old.get("AverageCost", 0)})
        else:
            p = copy.deepcopy(self.products[pid])
        p.update(copy.deepcopy(body))
        self._check_refs(p)
        p["LastModifiedOn"] = self._now()
        self.products[pid] = p
        return {"Total": 1, "Page": 1, "Products": [copy.deepcopy(p)]}

    # -- /ref -----------------------------------------------------------------------------------
    def _ref(self, name: str, q: dict) -> dict:
        page, limit = self._page(q)
        if name == "account":
            items = [{"Code": c, "Name": n, "Class": k, "Type": t, "Status": st, "DisplayName": f"{c}: {n}"}
                     for c, n, k, t, st in self.accounts]
            key = "AccountsList"
        elif name == "tax":
            items = [{"ID": str(uuid.uuid5(uuid.NAMESPACE_OID, n)), "Name": n, "IsActive": a,
                      "IsTaxForSale": s, "IsTaxForPurchase": pu} for n, (a, s, pu) in self.tax_rules.items()]
            key = "TaxRuleList"
        elif name in ("category", "brand", "unit", "location"):
            items = [{"ID": str(uuid.uuid5(uuid.NAMESPACE_OID, name + n)), "Name": n} for n in self.refs[name]]
            key = {"category": "CategoryList", "brand": "BrandList", "unit": "UnitList",
                   "location": "LocationList"}[name]
        else:
            raise RefusedError(404, "Endpoint does not exist")
        return {"Total": len(items), "Page": page, key: items[(page - 1) * limit: page * limit]}
