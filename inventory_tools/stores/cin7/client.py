"""Cin7 Core External API v2 over plain requests, through the shared :mod:`inventory_tools.http` policy.

Only the wire here: auth headers, Cin7's answers (its error shapes, its throttle answers, HTML
pages instead of JSON), exact-decimal JSON, paging, and the handful of calls the store makes.
What a product means is in :mod:`.fields`; the journaled writes in :mod:`.writer`.
"""
from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal

import requests

from ...errors import RemoteError
from ...http import HttpClient, RatePolicy, Verdict

DEFAULT_API_BASE = "https://inventory.dearsystems.com/ExternalApi/v2"
ACCOUNT_ENV, KEY_ENV, BASE_ENV = "CIN7_ACCOUNT_ID", "CIN7_APPLICATION_KEY", "INVENTORY_TOOLS_CIN7_API_BASE"

PAGE_LIMIT = 1000
CALLS_PER_WINDOW = 60
#: Pace a little under the limit so network jitter never pushes 61 calls into Cin7's window.
PACING_MARGIN = 1.02
THROTTLE_RE = re.compile(r"60 calls per", re.I)
#: The nested lists a product's fresh read brings along, so that a PUT sends them back whole
#: (correct whether PUT merges or replaces). Movements, attachments and custom prices have
#: endpoints of their own and are not in the blueprint's PUT example: never requested or sent.
FRESH_READ_INCLUDES = {"IncludeSuppliers": "true", "IncludeReorderLevels": "true", "IncludeBOM": "true"}


class Cin7Refused(RemoteError):
    """Cin7 refused one request ({"ErrorCode", "Exception"}); reported per product, not fatal."""

    def __init__(self, message: str, hint: str = "", status: int | None = None, answer: str = ""):
        super().__init__(message, hint)
        self.status = status
        self.answer = answer  # Cin7's own words (redacted by the HTTP layer with the message)


class Cin7NotJson(RemoteError):
    """Cin7 answered 200 with something that is not JSON (an HTML page: wrong base URL?)."""


def _body(resp: requests.Response) -> str:
    return resp.content.decode("utf-8", errors="replace")


def loads(text: str):
    """JSON with exact decimals (never through binary floats)."""
    return json.loads(text, parse_float=Decimal)


_DEC_MARK = f"@@dec-{uuid.uuid4().hex}@@"  # a marker no real value contains
_DEC_RE = re.compile('"' + re.escape(_DEC_MARK) + r'([-0-9.eE+]+)"')


def dumps(obj) -> str:
    """JSON where Decimal values are written as exact JSON numbers."""

    def default(o):
        if isinstance(o, Decimal):
            return _DEC_MARK + format(o, "f")
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")

    return _DEC_RE.sub(r"\1", json.dumps(obj, default=default, ensure_ascii=False))


def error_messages(data) -> list[str]:
    """The messages of a Cin7 error body, in any of its shapes (object, array of objects)."""
    items = data if isinstance(data, list) else [data]
    out = []
    for it in items:
        if isinstance(it, dict) and "ErrorCode" in it:
            out.append(str(it.get("Exception") or it.get("Message") or f"error {it.get('ErrorCode')}").strip())
    return out


def _retry_after(resp: requests.Response) -> float | None:
    try:
        return max(0.0, float(resp.headers.get("Retry-After") or ""))
    except ValueError:
        return None


def classify(resp: requests.Response) -> Verdict:
    status = resp.status_code
    text = _body(resp)
    throttle_body = THROTTLE_RE.search(text[:2000]) and (status >= 400 or "ErrorCode" in text[:500])
    if status in (429, 503) or throttle_body:
        return Verdict("throttle", wait=_retry_after(resp))
    if status in (401, 403):
        return Verdict("fatal", error=RemoteError(
            f"Cin7 Core refused the credentials (HTTP {status}: {text.strip()[:80] or 'no message'})",
            f"check {ACCOUNT_ENV} and {KEY_ENV} (Cin7 Core → Integrations → API); nothing was changed"))
    try:
        data = loads(text) if text.strip() else None
    except ValueError:
        data = None
        if 200 <= status < 300:
            return Verdict("fatal", error=Cin7NotJson(
                f"Cin7 Core answered HTTP {status} with a page that is not JSON ({resp.headers.get('Content-Type', '?')})",
                f"check {BASE_ENV} (default {DEFAULT_API_BASE}); re-run to resume"))
    msgs = error_messages(data) if data is not None else []
    if status >= 500:
        detail = "; ".join(msgs) or text.strip()[:200]
        return Verdict("retry", detail=detail)
    resp._cin7_json = data  # type: ignore[attr-defined]  # parsed once, read by Cin7Client
    if msgs:
        code = next((it.get("ErrorCode") for it in (data if isinstance(data, list) else [data])
                     if isinstance(it, dict)), status)
        answer = "; ".join(msgs)
        return Verdict("fatal", error=Cin7Refused(f"Cin7 Core refused it: {answer} (error {code})",
                                                  status=status, answer=answer))
    if status >= 400:
        snippet = text.strip()[:200] or "no message"
        if status == 404:
            return Verdict("fatal", error=Cin7Refused(f"Cin7 Core answered 404 Not Found: {snippet}",
                                                      f"check {BASE_ENV}", status=status, answer=snippet))
        return Verdict("fatal", error=Cin7Refused(f"Cin7 Core refused it: HTTP {status}: {snippet}",
                                                  status=status, answer=snippet))
    return Verdict("ok")


class Cin7Client:
    """The calls the Cin7 store and ``check`` make (never a write outside ``create``/``update``)."""

    def __init__(self, account_id: str, application_key: str, base_url: str = DEFAULT_API_BASE,
                 policy: RatePolicy | None = None, timeout: tuple[float, float] = (5.0, 60.0)):
        if policy is None:
            policy = RatePolicy.from_env(calls=CALLS_PER_WINDOW, concurrency=1)
            policy.per_seconds *= PACING_MARGIN
        self._account_id, self._key = account_id, application_key
        self.http = HttpClient(base_url, name="Cin7 Core", policy=policy, classify=classify,
                               headers=self._headers, secrets=self._secrets, timeout=timeout,
                               base_hint=f"check {BASE_ENV} (default {DEFAULT_API_BASE})")

    def _headers(self) -> dict:
        return {"api-auth-accountid": self._account_id, "api-auth-applicationkey": self._key,
                "Accept": "application/json"}

    def _secrets(self) -> list[str]:
        return [s for s in (self._account_id, self._key) if s]

    @property
    def policy(self) -> RatePolicy:
        return self.http.limiter.policy

    @property
    def calls(self) -> int:
        return self.http.stats.calls

    def _json(self, resp: requests.Response):
        data = getattr(resp, "_cin7_json", None)
        if data is None:
            text = _body(resp)
            try:
                data = loads(text) if text.strip() else {}
            except ValueError:
                raise Cin7NotJson("Cin7 Core answered with a page that is not JSON", f"check {BASE_ENV}") from None
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
            if page * limit > total + limit * 1000:  # pragma: no cover - a server that never ends
                raise RemoteError(f"Cin7 Core kept paging {path} past its Total ({total})", "re-run later")

    def products(self, *, sku: str | None = None, fresh: bool = False, modified_since: str | None = None) -> list[dict]:
        params = {"IncludeDeprecated": "true", "IncludeSuppliers": "true"}
        if modified_since is not None:
            params["ModifiedSince"] = modified_since
        if fresh:
            params.update(FRESH_READ_INCLUDES)
        if sku is not None:
            params["Sku"] = sku
        return list(self.pages("product", "Products", params))

    def find_sku(self, sku: str, *, fresh: bool = False) -> dict | None:
        """The product whose SKU is exactly ``sku`` (the API's filter is not exact). ``fresh``: with
        its suppliers, reorder levels and bill of materials, as a write sends them back."""
        for p in self.products(sku=sku, fresh=fresh):
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

    def me(self) -> dict:
        data = self.get("me")
        return data if isinstance(data, dict) else {}

    def close(self) -> None:
        self.http.session.close()


__all__ = ["Cin7Client", "Cin7Refused", "Cin7NotJson", "classify", "dumps", "loads"]
