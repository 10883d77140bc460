"""``check``: a read-only look at the connections the environment's credentials open.

For Xero: the organisation (tenant), the token's scopes and what they allow here, one cheap read
of the items (``If-Modified-Since`` now: a 304 or an empty list) and the limits Xero says are
left. For Cin7 Core: the company (``GET /me``), the sizes of the reference books a product
points at, and the rate: 60 calls a minute per application, how many this check used.

Nothing is written anywhere: no write call to either API (the only POST is Xero's token request),
no store opened, no local file (Cin7's local state is not touched: the client is used alone).
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import asdict, dataclass, field

from .errors import ExitCode, ToolError


@dataclass
class XeroCheck:
    configured: bool = False
    ok: bool = False
    mode: str | None = None  # "custom connection" | "access token"
    tenant_id: str | None = None
    tenant_name: str | None = None
    scopes: list[str] | None = None  # None: Xero did not say
    scope_meanings: dict[str, str] = field(default_factory=dict)
    allows: dict[str, bool | None] = field(default_factory=dict)  # read_items, write_items, read_tax_rates
    items_read: bool | None = None  # a real read of the items succeeded
    remaining: dict[str, int] = field(default_factory=dict)  # minute, day: what Xero says is left
    calls: int = 0
    error: str | None = None


@dataclass
class Cin7Check:
    configured: bool = False
    ok: bool = False
    host: str | None = None
    company: str | None = None
    reference_lists: dict[str, int] = field(default_factory=dict)  # book → entries
    tax_rules: dict[str, int] = field(default_factory=dict)  # active, for_sales, for_purchases
    calls_per_minute: int = 60
    calls_used: int = 0
    remaining_reported: int | None = None  # only if Cin7 sent X-RateLimit-Remaining (it is not documented)
    error: str | None = None


@dataclass
class CheckReport:
    xero: XeroCheck
    cin7: Cin7Check

    @property
    def ok(self) -> bool:
        configured = [c for c in (self.xero, self.cin7) if c.configured]
        return bool(configured) and all(c.ok for c in configured)

    @property
    def exit_code(self) -> int:
        return int(ExitCode.OK) if self.ok else int(ExitCode.FAILED)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "xero": asdict(self.xero), "cin7": asdict(self.cin7)}


def _xero_configured() -> str | None:
    env = os.environ
    if env.get("XERO_CLIENT_ID") and env.get("XERO_CLIENT_SECRET"):
        return "custom connection"
    return "access token" if env.get("XERO_ACCESS_TOKEN") else None


def check_xero(client=None) -> XeroCheck:
    from .xero import scopes as sc
    from .xero.api import XeroClient

    out = XeroCheck(mode=_xero_configured())
    out.configured = out.mode is not None or client is not None
    if not out.configured:
        return out
    try:
        client = client or XeroClient.from_env()
        out.tenant_id, out.tenant_name = client.tenant()
        held = client.scopes()
        out.scopes = sorted(held) if held is not None else None
        out.scope_meanings = {s: sc.meaning(s) for s in out.scopes or []}
        out.allows = sc.capabilities(held)
        client.get_items(dt.datetime.now(dt.timezone.utc))  # cheap: nothing has changed since now
        out.items_read = True
        out.ok = True
    except ToolError as exc:
        out.error = str(exc)
    finally:
        if client is not None:
            out.remaining = dict(client.remaining)
            out.calls = client.calls
    return out


def check_cin7() -> Cin7Check:
    from urllib.parse import urlparse

    from .stores.cin7.client import ACCOUNT_ENV, BASE_ENV, DEFAULT_API_BASE, KEY_ENV, Cin7Client
    from .stores.cin7.references import ReferenceBooks

    out = Cin7Check()
    account, key = (os.environ.get(ACCOUNT_ENV) or "").strip(), (os.environ.get(KEY_ENV) or "").strip()
    out.configured = bool(account or key)
    if not out.configured:
        return out
    base = os.environ.get(BASE_ENV) or DEFAULT_API_BASE
    out.host = urlparse(base).netloc or base
    if not (account and key):
        out.error = f"Cin7 Core credentials are incomplete: {ACCOUNT_ENV} and {KEY_ENV} are both needed"
        return out
    client = Cin7Client(account, key, base)
    try:
        me = client.me()
        out.company = str(me.get("Company") or me.get("Name") or "") or None
        books = ReferenceBooks.read(client)
        out.reference_lists = books.sizes()
        taxes = books.entries.get("tax", [])
        out.tax_rules = {"active": sum(1 for t in taxes if t.get("IsActive") is not False),
                         "for_sales": sum(1 for t in taxes if t.get("IsActive") is not False and t.get("IsTaxForSale")),
                         "for_purchases": sum(1 for t in taxes if t.get("IsActive") is not False
                                              and t.get("IsTaxForPurchase"))}
        out.ok = True
    except ToolError as exc:
        out.error = str(exc)
    finally:
        out.calls_used = client.calls
        raw = (client.http.last_headers.get("X-RateLimit-Remaining") or "").strip()
        out.remaining_reported = int(raw) if raw.isdigit() else None
        client.close()
    return out


def check(xero_client=None) -> CheckReport:
    """Both connections, read-only (see the module docstring)."""
    return CheckReport(xero=check_xero(xero_client), cin7=check_cin7())
