"""A small Xero Accounting client on plain ``requests`` (Items, TaxRates, connections, tokens).

Everything goes through :class:`inventory_tools.http.HttpClient`: pacing (60 calls a window,
5 at once), retries with capped backoff and jitter, Retry-After, a deadline per call, redirects
kept on Xero's own hosts, redaction. This module only knows Xero: its auth modes, its answers.

Auth, in order of preference:
* ``XERO_CLIENT_ID`` + ``XERO_CLIENT_SECRET``: a custom connection (client_credentials grant);
  the token is cached until shortly before it expires and fetched again once after a 401;
* ``XERO_ACCESS_TOKEN`` (+ ``XERO_TENANT_ID``): a ready token from a standard app.

Secrets and tokens never appear in messages, logs or exceptions (they are redacted).
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import math
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import requests

from ..errors import RemoteError, UsageError
from ..http import HttpClient, RatePolicy, Verdict
from . import scopes as sc
from .dates import if_modified_since, parse_xero_date

log = logging.getLogger("inventory_tools.xero")

API_BASE_ENV = "INVENTORY_TOOLS_XERO_API_BASE"
IDENTITY_BASE_ENV = "INVENTORY_TOOLS_XERO_IDENTITY_BASE"
TIMEOUT_ENV = "INVENTORY_TOOLS_XERO_TIMEOUT"  # read timeout in seconds (tests shorten it)
DEFAULT_API_BASE = "https://api.xero.com"
DEFAULT_IDENTITY_BASE = "https://identity.xero.com"
ITEMS = "/api.xro/2.0/Items"
TAX_RATES = "/api.xro/2.0/TaxRates"
WRITE_SCOPE = "accounting.settings"
BATCH_SIZE = 50
ZERO_ID = "00000000-0000-0000-0000-000000000000"
#: Our pacing window is a little longer than Xero's so that network jitter between our clock
#: and the server's never puts a 61st call into one of its windows.
PACING_MARGIN = 1.03
SCOPE_HINT = ("add the scope to the connection in the Xero developer portal (custom connection → scopes; "
              "a standard app re-authorises with it), or run 'inventory-tools sync --pull-only'")


# -- errors -------------------------------------------------------------------------------------
class XeroAuthError(RemoteError):
    """Xero refused our credentials or token."""


class XeroScopeError(RemoteError):
    """The connection lacks the scope a call needs (Xero's 401/403 AuthorizationUnsuccessful)."""


class TokenRejected(RemoteError):
    """A 401 on an API call: the token expired or was revoked (one refresh is allowed), or
    (``authorization``) the token is fine but lacks the scope."""

    authorization: bool = False


class DailyLimitError(RemoteError):
    """Xero's daily call limit for the organisation is used up."""

    resume_at: str | None = None


class XeroValidationError(RemoteError):
    """A 400 ValidationException: per-element messages are in ``elements``."""

    elements: list = []


@dataclass
class ItemsResponse:
    items: list[dict]
    server_time: dt.datetime | None
    not_modified: bool = False  # a 304: nothing changed since If-Modified-Since


@dataclass
class ItemResult:
    code: str
    item_id: str | None
    errors: list[str] = field(default_factory=list)
    item: dict | None = None


@dataclass(frozen=True)
class TaxRate:
    tax_type: str
    name: str
    status: str  # ACTIVE | DELETED | ARCHIVED ("" when Xero did not say)

    @property
    def active(self) -> bool:
        return self.status in ("", "ACTIVE")


def _loads(resp: requests.Response):
    try:
        return json.loads(resp.content.decode("utf-8-sig"), parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        ctype = resp.headers.get("Content-Type", "")
        raise RemoteError(f"Xero answered {resp.request.method} {_path(resp.url)} with something that is not JSON "
                          f"({ctype or 'no content type'})", "try again later; if it persists, check "
                          f"{API_BASE_ENV} points at the Xero API") from None


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[-1].split("/", 1)[-1].split("?")[0] if "://" in url else url


def _detail(resp: requests.Response) -> str:
    try:
        body = json.loads(resp.content.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return ""
    return str(body.get("Detail") or body.get("detail") or "") if isinstance(body, dict) else ""


def _jwt_scopes(token: str) -> set[str] | None:
    """Scopes carried by a JWT access token (Xero's are JWTs), or None when it is opaque."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError, TypeError):
        return None
    scope = claims.get("scope") if isinstance(claims, dict) else None
    if scope is None:
        return None
    return set(scope.split()) if isinstance(scope, str) else {str(s) for s in scope}


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _int_header(resp: requests.Response, name: str) -> int | None:
    value = (resp.headers.get(name) or "").strip()
    return int(value) if value.isdigit() else None


class XeroClient:
    """One organisation's Xero API, paced and retried. Thread-safe for the token cache."""

    def __init__(self, *, client_id: str | None = None, client_secret: str | None = None,
                 access_token: str | None = None, tenant_id: str | None = None,
                 api_base: str | None = None, identity_base: str | None = None,
                 policy: RatePolicy | None = None, timeout: float | None = None,
                 session: requests.Session | None = None):
        if not ((client_id and client_secret) or access_token):
            raise XeroAuthError(
                "no Xero credentials: set XERO_CLIENT_ID and XERO_CLIENT_SECRET (a custom connection), "
                "or XERO_ACCESS_TOKEN and XERO_TENANT_ID",
                "put them in the environment (never on the command line); or load from a Xero export "
                "with --xero-file ItemsExport.csv")
        for name, url in ((API_BASE_ENV, api_base), (IDENTITY_BASE_ENV, identity_base)):
            if url and not re.match(r"^https?://[^/\s]+", url):
                raise UsageError(f"{name}={url!r} is not a URL", f"set {name} to e.g. "
                                 f"{DEFAULT_API_BASE if name == API_BASE_ENV else DEFAULT_IDENTITY_BASE}, or unset it")
        self._client_id, self._client_secret = client_id, client_secret
        self._ready_token = access_token if not (client_id and client_secret) else None
        self._token: str | None = self._ready_token
        self._token_expires = math.inf if self._ready_token else 0.0
        self._token_scopes: set[str] | None = _jwt_scopes(self._ready_token) if self._ready_token else None
        self._token_lock = threading.Lock()
        self._seen_tokens: list[str] = []  # every token this client held: redacted from any message
        self._run_nonce = uuid.uuid4().hex
        self.tenant_id = tenant_id or None
        self.tenant_name: str | None = None
        #: What Xero's last answer said about the limits: {"minute": n, "day": n} (for ``check``).
        self.remaining: dict[str, int] = {}
        policy = policy or RatePolicy.from_env()
        pacing = RatePolicy(calls=policy.calls, per_seconds=policy.per_seconds * PACING_MARGIN,
                            concurrency=policy.concurrency)
        read_timeout = timeout if timeout is not None else float(os.environ.get(TIMEOUT_ENV) or 60.0)
        timeouts = (min(5.0, read_timeout), read_timeout)
        session = session or requests.Session()
        scale = policy.per_seconds / 60.0
        self.api = HttpClient(api_base or DEFAULT_API_BASE, name="Xero", policy=pacing, classify=self._classify,
                              headers=self._headers, secrets=self._secrets, timeout=timeouts, session=session,
                              backoff_base=1.0 * scale, backoff_cap=30.0 * scale,
                              base_hint=f"check {API_BASE_ENV} (default {DEFAULT_API_BASE})")
        # Token calls are not counted against the organisation's API limits: separate pacing.
        self.identity = HttpClient(identity_base or DEFAULT_IDENTITY_BASE, name="Xero identity",
                                   policy=RatePolicy(calls=policy.calls, per_seconds=policy.per_seconds,
                                                     concurrency=policy.concurrency),
                                   classify=self._classify_identity, secrets=self._secrets, timeout=timeouts,
                                   session=session, backoff_base=1.0 * scale, backoff_cap=30.0 * scale,
                                   base_hint=f"check {IDENTITY_BASE_ENV} (default {DEFAULT_IDENTITY_BASE})")

    @classmethod
    def from_env(cls, **overrides) -> "XeroClient":
        env = os.environ
        kw = dict(client_id=env.get("XERO_CLIENT_ID"), client_secret=env.get("XERO_CLIENT_SECRET"),
                  access_token=env.get("XERO_ACCESS_TOKEN"), tenant_id=env.get("XERO_TENANT_ID"),
                  api_base=env.get(API_BASE_ENV) or DEFAULT_API_BASE,
                  identity_base=env.get(IDENTITY_BASE_ENV) or DEFAULT_IDENTITY_BASE)
        timeout = env.get(TIMEOUT_ENV)
        if timeout:
            try:
                kw["timeout"] = float(timeout)
            except ValueError:
                raise UsageError(f"{TIMEOUT_ENV}={timeout!r} is not a number of seconds",
                                 f"set {TIMEOUT_ENV} to e.g. 60 or unset it") from None
        kw.update(overrides)
        return cls(**kw)

    # -- bookkeeping --------------------------------------------------------------------------
    @property
    def calls(self) -> int:
        return self.api.stats.calls + self.identity.stats.calls

    @property
    def rate_limited(self) -> int:
        return self.api.stats.rate_limited + self.identity.stats.rate_limited

    @property
    def retries(self) -> int:
        return self.api.stats.retries + self.identity.stats.retries

    def _secrets(self) -> list[str]:
        basic = f"{self._client_id}:{self._client_secret}" if self._client_id and self._client_secret else None
        return [s for s in (self._client_secret, self._ready_token, self._client_id, basic, *self._seen_tokens) if s]

    def _headers(self) -> dict:
        headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}
        if self.tenant_id:
            headers["xero-tenant-id"] = self.tenant_id
        return headers

    # -- tokens -------------------------------------------------------------------------------
    def token(self) -> str:
        with self._token_lock:
            if self._token and time.monotonic() < self._token_expires:
                return self._token
            return self._fetch_token()

    def _fetch_token(self) -> str:
        if not (self._client_id and self._client_secret):
            raise XeroAuthError("Xero rejected the access token (expired or revoked)",
                                "get a new token into XERO_ACCESS_TOKEN, or use a custom connection "
                                "(XERO_CLIENT_ID / XERO_CLIENT_SECRET) which renews itself")
        resp = self.identity.request("POST", "/connect/token", data={"grant_type": "client_credentials"},
                                     auth=(self._client_id, self._client_secret))
        body = _loads(resp)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise XeroAuthError("Xero's token endpoint answered without an access token",
                                f"check {IDENTITY_BASE_ENV} and the custom connection")
        lifetime = float(body.get("expires_in") or 1800)
        self._token = token
        self._seen_tokens.append(token)
        self._token_expires = time.monotonic() + max(lifetime - min(60.0, lifetime / 10), 1.0)
        scope = body.get("scope")
        self._token_scopes = set(str(scope).split()) if scope else _jwt_scopes(token)
        return token

    def _invalidate_token(self) -> bool:
        """Forget the cached token; True when a new one can be fetched."""
        with self._token_lock:
            self._token_expires = 0.0
            return bool(self._client_id and self._client_secret)

    def scopes(self) -> set[str] | None:
        """The token's scopes, when Xero tells (client_credentials answer or JWT claim); else None."""
        self.token()
        return self._token_scopes

    def check_can_write(self) -> None:
        """Fail now, before any write, when the connection is known to be unable to write items.

        A token whose scopes cannot be read, or that holds a scope we do not know, is never refused
        here: a write it may not make gets Xero's own 401/403, explained as a missing scope."""
        scopes = self.scopes()
        if sc.capabilities(scopes)["write_items"] is False:
            shown = ", ".join(sorted(scopes or ())) or "none"
            raise XeroScopeError(
                f"this Xero connection may not write items: it has the scopes {shown}, and pushing products "
                f"needs {WRITE_SCOPE} (or the granular accounting.invoices)",
                f"add {WRITE_SCOPE} to the connection in the Xero developer portal (custom connection → edit "
                "scopes, then re-authorise), or run 'inventory-tools sync --pull-only'")

    # -- answers ------------------------------------------------------------------------------
    def _classify(self, resp: requests.Response) -> Verdict:
        minute, day = _int_header(resp, "X-MinLimit-Remaining"), _int_header(resp, "X-DayLimit-Remaining")
        if minute is not None:
            self.api.limiter.observe_remaining(minute)
            self.remaining["minute"] = minute
        if day is not None:
            self.remaining["day"] = day
        code = resp.status_code
        if 200 <= code < 300 or (code == 304 and resp.request.headers.get("If-Modified-Since")):
            return Verdict("ok")
        if code == 429:
            return self._rate_limited(resp)
        if code in (401, 403) and _detail(resp).lower() == "authorizationunsuccessful":
            err = TokenRejected(f"Xero refused {resp.request.method} {_path(resp.url)} (HTTP {code} "
                                "AuthorizationUnsuccessful)")
            err.authorization = True
            return Verdict("fatal", error=err)
        if code == 401:
            return Verdict("fatal", error=TokenRejected("Xero rejected the access token (HTTP 401)",
                                                        "check the credentials in the environment"))
        if code == 403:
            return Verdict("fatal", error=RemoteError(
                f"Xero refused access (HTTP 403) on {resp.request.method} {_path(resp.url)}: the connection is not "
                f"authorised for this organisation (tenant {self.tenant_id or 'unknown'}) or lacks the scope "
                f"{WRITE_SCOPE}",
                "check XERO_TENANT_ID is an organisation this connection was authorised for, that the "
                f"connection has the {WRITE_SCOPE} scope, and that the organisation is still active"))
        if code == 400:
            return Verdict("fatal", error=self._validation_error(resp))
        if code == 404:
            return Verdict("fatal", error=RemoteError(f"Xero answered 404 for {_path(resp.url)}",
                                                      f"check {API_BASE_ENV}"))
        if code >= 500 or code in (408, 425):
            return Verdict("retry", detail=_detail(resp))
        return Verdict("fatal", error=RemoteError(f"Xero answered HTTP {code} on {_path(resp.url)}",
                                                  "try again later; work done so far is kept"))

    def _rate_limited(self, resp: requests.Response) -> Verdict:
        problem = (resp.headers.get("X-Rate-Limit-Problem") or "").strip().lower()
        wait = _retry_after(resp)
        if not problem.startswith("day"):
            return Verdict("throttle", wait=wait)
        self.api.stats.rate_limited += 1  # a 429 seen, even though it ends the run
        reset = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=wait or 0)
        resume = reset.strftime("%Y-%m-%d %H:%M UTC")
        err = DailyLimitError(
            f"Xero's daily call limit for this organisation is used up; it resets at about {resume}",
            f"re-run the same command after {resume}: what was done is kept and the run resumes")
        err.resume_at = reset.isoformat(timespec="seconds")
        return Verdict("fatal", error=err)

    def _validation_error(self, resp: requests.Response) -> RemoteError:
        try:
            body = json.loads(resp.content.decode("utf-8"), parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            body = {}
        message = body.get("Message") if isinstance(body, dict) else None
        err = XeroValidationError(f"Xero refused the request: {message or 'HTTP 400'}",
                                  "see the messages per product")
        err.elements = list(body.get("Elements") or []) if isinstance(body, dict) else []
        return err

    def _classify_identity(self, resp: requests.Response) -> Verdict:
        code = resp.status_code
        if 200 <= code < 300:
            return Verdict("ok")
        if code in (400, 401, 403):
            try:
                reason = str((json.loads(resp.content.decode("utf-8")) or {}).get("error") or f"HTTP {code}")
            except (ValueError, UnicodeDecodeError, AttributeError):
                reason = f"HTTP {code}"
            return Verdict("fatal", error=XeroAuthError(
                f"Xero did not accept the custom connection's client id/secret ({reason[:80]})",
                "check XERO_CLIENT_ID and XERO_CLIENT_SECRET (Xero developer portal → your custom connection)"))
        if code == 429:
            return Verdict("throttle", wait=_retry_after(resp))
        if code >= 500:
            return Verdict("retry")
        return Verdict("fatal", error=XeroAuthError(f"Xero's token endpoint answered HTTP {code}",
                                                    f"check {IDENTITY_BASE_ENV}"))

    # -- calls ----------------------------------------------------------------------------------
    def _scope_error(self, method: str, path: str) -> XeroScopeError:
        held = self._token_scopes
        has = f"it has the scopes {', '.join(sorted(held))}" if held else "Xero did not say which scopes it has"
        return XeroScopeError(f"Xero refused {method} {path.split('?')[0]}: this connection lacks the scope for it "
                              f"(HTTP 401/403 AuthorizationUnsuccessful); {has}; {sc.needed_for(method, path)}",
                              SCOPE_HINT)

    def request(self, method: str, path: str, **kw) -> requests.Response:
        """One API call; after a 401 for the token the token is fetched again once and the call re-sent.
        A 401/403 for a missing scope says so (no new token would help)."""
        try:
            return self.api.request(method, path, **kw)
        except TokenRejected as exc:
            if exc.authorization:
                raise self._scope_error(method, path) from None
            if not self._invalidate_token():
                raise XeroAuthError("Xero rejected XERO_ACCESS_TOKEN (expired or revoked)",
                                    "get a fresh token into XERO_ACCESS_TOKEN, or use a custom connection "
                                    "(XERO_CLIENT_ID / XERO_CLIENT_SECRET) which renews itself") from None
        try:
            return self.api.request(method, path, **kw)
        except TokenRejected as exc:
            if exc.authorization:
                raise self._scope_error(method, path) from None
            raise XeroAuthError("Xero rejected a freshly issued token (HTTP 401 AuthenticationUnsuccessful)",
                                "check the custom connection is still active in the Xero developer portal") from None

    def tenant(self) -> tuple[str, str | None]:
        """The organisation we talk to: XERO_TENANT_ID, else the connection's organisation."""
        if self.tenant_id and self.tenant_name is not None:
            return self.tenant_id, self.tenant_name
        if self.tenant_id and self._ready_token:
            return self.tenant_id, None
        conns = _loads(self.request("GET", "/connections"))
        orgs = [c for c in conns or [] if isinstance(c, dict) and
                str(c.get("tenantType") or "ORGANISATION").upper() == "ORGANISATION"]
        if self.tenant_id:
            match = [c for c in orgs if c.get("tenantId") == self.tenant_id]
            self.tenant_name = (match[0].get("tenantName") if match else None) or ""
            return self.tenant_id, self.tenant_name
        if not orgs:
            raise RemoteError("this Xero connection is not connected to any organisation",
                              "connect it to your organisation in Xero, or set XERO_TENANT_ID")
        if len(orgs) > 1:
            names = ", ".join(f"{c.get('tenantName')} ({c.get('tenantId')})" for c in orgs[:5])
            raise UsageError(f"this Xero connection reaches {len(orgs)} organisations: {names}",
                             "set XERO_TENANT_ID to the one to sync with")
        self.tenant_id = str(orgs[0].get("tenantId"))
        self.tenant_name = orgs[0].get("tenantName") or ""
        return self.tenant_id, self.tenant_name

    def get_items(self, modified_since: dt.datetime | None = None) -> ItemsResponse:
        """Every item (Xero does not page Items), or those changed since ``modified_since``
        (a 304 answer means none: ``not_modified``)."""
        headers = {"If-Modified-Since": if_modified_since(modified_since)} if modified_since else {}
        resp = self.request("GET", ITEMS, params={"unitdp": 4}, headers=headers)
        if resp.status_code == 304:
            return ItemsResponse([], None, not_modified=True)
        body = _loads(resp)
        items = body.get("Items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise RemoteError("Xero's Items answer has no Items list", "try again later")
        items = [it for it in items if isinstance(it, dict) and str(it.get("Code") or "").strip()]
        server_time = None
        if isinstance(body, dict) and body.get("DateTimeUTC"):
            try:
                server_time = parse_xero_date(body["DateTimeUTC"])
            except ValueError:
                server_time = None
        return ItemsResponse(items, server_time)

    def tax_rates(self) -> list[TaxRate]:
        """Every tax rate with its TaxType code, name and status (ACTIVE, DELETED, ARCHIVED)."""
        body = _loads(self.request("GET", TAX_RATES))
        out = []
        for r in (body.get("TaxRates") if isinstance(body, dict) else None) or []:
            if isinstance(r, dict) and r.get("TaxType") and r.get("Name"):
                out.append(TaxRate(str(r["TaxType"]), str(r["Name"]), str(r.get("Status") or "").upper()))
        return out

    def post_items(self, items: list[dict]) -> list[ItemResult]:
        """Create or update up to 50 items; each item's own ValidationErrors come back with it.

        POST matches by ItemID (when sent) or Code, and retries carry the same Idempotency-Key, so
        re-sending a batch after a dropped answer never creates duplicates.
        """
        if len(items) > 500:  # Xero's maximum per request
            raise ValueError(f"{len(items)} items in one request; Xero takes at most 500")
        body = json.dumps({"Items": items}, ensure_ascii=False, separators=(",", ":"), default=_json_default)
        # Same key for every retry of this request (a lost answer is replayed, not re-applied), and a
        # new one in another run: the same body sent later (A → B → A) must really be applied again.
        key = hashlib.sha256(f"{self._run_nonce}:{body}".encode("utf-8")).hexdigest()[:64]
        try:
            resp = self.request("POST", ITEMS, params={"summarizeErrors": "false", "unitdp": 4},
                                data=body.encode("utf-8"),
                                headers={"Content-Type": "application/json", "Idempotency-Key": key})
        except XeroValidationError as exc:
            return self._redacted(_results_from_400(items, exc.elements))
        answer = _loads(resp)
        got = answer.get("Items") if isinstance(answer, dict) else None
        if not isinstance(got, list):
            raise RemoteError("Xero's answer to an Items write has no Items list", "re-run the same command")
        return self._redacted(_match_results(items, got))

    def _redacted(self, results: list[ItemResult]) -> list[ItemResult]:
        for r in results:
            r.errors = [self.api.redact(m) for m in r.errors]
        return results


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


def _messages(element: dict) -> list[str]:
    return [str(v.get("Message")) for v in element.get("ValidationErrors") or [] if isinstance(v, dict)]


def _results_from_400(items: list[dict], elements: list) -> list[ItemResult]:
    """A summarised 400: each element's messages, matched to the item sent by ItemID or by Code."""
    by_id, by_code = {}, {}
    for e in elements:
        if isinstance(e, dict):
            if e.get("ItemID") and e["ItemID"] != ZERO_ID:
                by_id.setdefault(str(e["ItemID"]), e)
            if str(e.get("Code") or "").strip():
                by_code.setdefault(str(e["Code"]).strip(), e)
    out = []
    for it in items:
        e = by_id.get(str(it.get("ItemID") or "")) or by_code.get(it["Code"]) or {}
        # Items without a message of their own may or may not have been written: not recorded as
        # pushed, so the next run sends them again (POST by ItemID or Code updates, never duplicates).
        out.append(ItemResult(it["Code"], None, _messages(e), None))
    return out


def _match_results(sent: list[dict], got: list) -> list[ItemResult]:
    by_code, by_id = {}, {}
    for g in got:
        if isinstance(g, dict):
            by_code.setdefault(str(g.get("Code") or "").strip(), g)
            if g.get("ItemID") and g["ItemID"] != ZERO_ID:
                by_id.setdefault(str(g["ItemID"]), g)
    out = []
    for i, it in enumerate(sent):
        g = got[i] if i < len(got) and isinstance(got[i], dict) and str(got[i].get("Code") or "").strip() == it["Code"] \
            else by_id.get(str(it.get("ItemID") or "")) or by_code.get(it["Code"])
        if g is None:
            out.append(ItemResult(it["Code"], None, [], None))
            continue
        item_id = g.get("ItemID")
        if item_id in (ZERO_ID, ""):
            item_id = None
        out.append(ItemResult(it["Code"], item_id, _messages(g), g))
    return out


def is_tracked(item: dict) -> bool:
    if item.get("IsTrackedAsInventory") is True:
        return True
    return bool(item.get("InventoryAssetAccountCode")) or bool((item.get("PurchaseDetails") or {}).get("COGSAccountCode"))


def is_archived(item: dict) -> bool:
    """An item marked archived: the CSV export's ``Status`` (Active/Archived). Xero's Items API
    documents no such marker (its GET returns archived items like any other, XeroAPI/Xero-NetStandard
    #460); should an answer carry ``Status`` or ``StatusAttributeString`` ARCHIVED, it counts too."""
    return any(str(item.get(k) or "").strip().upper() == "ARCHIVED" for k in ("Status", "StatusAttributeString"))
