"""The fake Xero's HTTP side: one handler class per :class:`~tests.fakes.xero_server.FakeXero`."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
import socket
import time
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from .xero_server import (ITEMS_READ, ITEMS_WRITE, TAX_READ, VALIDATION_400_SAMPLE, FakeXero, Fault, _encode, now_ms,
                          sample_json)


def make_handler(fake: FakeXero):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeXero/1.0"

        def log_message(self, *args):  # quiet
            pass

        def setup(self):
            super().setup()
            # Headers and body go out in two writes: without this, Nagle + delayed ACK add 40 ms a call.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self):
            self._dispatch("GET")

        def do_POST(self):
            self._dispatch("POST")

        def do_PUT(self):
            self._dispatch("PUT")

        # -- plumbing -------------------------------------------------------------------------
        def _send(self, status: int, body: bytes = b"", ctype: str = "application/json; charset=utf-8",
                  headers: dict | None = None):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
            self._status = status

        def _json(self, status: int, obj, headers=None):
            self._send(status, _encode(obj), headers=headers)

        def _fault(self, fault: Fault, body: bytes = b""):
            if fault.kind == "redirect":
                return self._send(302, b"", headers={"Location": fault.location or "http://127.0.0.1:9/"})
            if fault.kind == "trickle":
                return self._trickle(body or b'{"Items": []}', fault.interval)
            if fault.kind in ("500", "503"):
                self._json(int(fault.kind), {"Title": "Service Unavailable" if fault.kind == "503" else
                                             "An error occurred", "Status": int(fault.kind)})
                return
            if fault.kind == "401":
                self._json(401, {"Type": None, "Title": "Unauthorized", "Status": 401,
                                 "Detail": "AuthenticationUnsuccessful"})
                return
            if fault.kind == "timeout":
                time.sleep(fake.hang_seconds)
            self._status = fault.kind
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def _trickle(self, body: bytes, interval: float):
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self._status = "trickle"
            self.close_connection = True
            try:
                for i in range(len(body)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(interval)
            except OSError:  # the client gave up
                pass

        def _dispatch(self, method: str):
            start = time.monotonic()
            parts = urlsplit(self.path)
            path = parts.path.rstrip("/") or "/"
            query = {k.lower(): v[-1] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with fake.lock:
                fake.inflight += 1
                fake.max_inflight = max(fake.max_inflight, fake.inflight)
                record = {"t": start, "method": method, "path": path, "query": query, "status": None,
                          "inflight": fake.inflight, "if_modified_since": self.headers.get("If-Modified-Since"),
                          "accept": self.headers.get("Accept"), "idempotency_key": self.headers.get("Idempotency-Key"),
                          "authorization": self.headers.get("Authorization"), "body": body}
                fake.calls.append(record)
            self._status = None
            try:
                if fake.latency:
                    time.sleep(fake.latency)
                self._route(method, path, query, body)
            finally:
                with fake.lock:
                    fake.inflight -= 1
                record["status"] = self._status
                record["t_end"] = time.monotonic()

        def _route(self, method, path, query, body):
            low = path.lower()
            if low == "/connect/token" and method == "POST":
                return self._token(body)
            token = (self.headers.get("Authorization") or "")[len("Bearer "):]
            with fake.lock:
                entry = fake.tokens.get(token)
            if not entry or entry[0] < time.monotonic():
                return self._json(401, {"Type": None, "Title": "Unauthorized", "Status": 401,
                                        "Detail": "AuthenticationUnsuccessful"})
            scopes = set(entry[1])
            if low == "/connections" and method == "GET":
                return self._json(200, fake.connections)
            if not low.startswith("/api.xro/2.0/"):
                return self._json(404, {"Title": "Not Found", "Status": 404})
            tenant = self.headers.get("xero-tenant-id")
            if tenant and tenant != fake.tenant_id:
                return self._json(403, {"Type": None, "Title": "Forbidden", "Status": 403,
                                        "Detail": "AuthenticationUnsuccessful"})
            problem, wait, remaining = fake.limits(time.monotonic())
            headers = {"X-MinLimit-Remaining": str(max(remaining, 0)),
                       "X-DayLimit-Remaining": str(max(fake.day_limit - fake.day_count, 0)),
                       "X-AppMinLimit-Remaining": "9999"}
            if problem:
                retry = str(math.ceil(wait)) if wait >= 5 else f"{max(wait, 0.05):.2f}"
                return self._send(429, b"", headers={**headers, "Retry-After": retry, "X-Rate-Limit-Problem": problem})
            resource = low[len("/api.xro/2.0/"):]
            need = TAX_READ if resource == "taxrates" else ITEMS_READ if method == "GET" else ITEMS_WRITE
            if not need & scopes:
                return self._json(fake.scope_answer, {"Type": None, "Title": "Unauthorized" if fake.scope_answer == 401
                                                      else "Forbidden", "Status": fake.scope_answer,
                                                      "Detail": "AuthorizationUnsuccessful"})
            fault = fake._pick_fault(method, path)
            if fault and fault.phase == "before":
                return self._fault(fault)
            unitdp = int(query.get("unitdp") or 2) if (query.get("unitdp") or "2").isdigit() else 2
            if resource == "items" and method == "GET":
                return self._items_get(unitdp, headers, fault)
            if resource == "taxrates" and method == "GET":
                if fault:
                    return self._fault(fault)
                return self._json(200, {"Id": str(uuid.uuid4()), "Status": "OK", "TaxRates": fake.tax_rates},
                                  headers=headers)
            if resource == "items" and method in ("POST", "PUT"):
                return self._items_write(method, query, body, unitdp, headers, fault)
            return self._json(404, {"Title": "Not Found", "Status": 404})

        def _items_get(self, unitdp: int, headers: dict, fault):
            if "application/json" not in (self.headers.get("Accept") or ""):
                return self._send(200, b"<Response><Status>OK</Status><Items/></Response>", ctype="text/xml",
                                  headers=headers)
            since = self.headers.get("If-Modified-Since")
            floor = None
            if since:
                stamp = dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
                stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)
                floor = int(stamp.timestamp() * 1000)
            with fake.lock:
                items = [fake.public_item(it, unitdp) for it in sorted(fake.items.values(), key=lambda i: i["Code"])
                         if floor is None or it["_updated"] >= floor]
            if since and not items and fake.not_modified:
                if fault:
                    return self._fault(fault)
                return self._send(304, b"", headers=headers)
            answer = {"Id": str(uuid.uuid4()), "Status": "OK", "ProviderName": "inventory-tools tests",
                      "DateTimeUTC": f"/Date({now_ms()})/", "Items": items}
            out = _encode(answer)
            if fault:
                return self._fault(fault, out)
            return self._send(200, out, headers=headers)

        def _items_write(self, method: str, query: dict, body: bytes, unitdp: int, headers: dict, fault):
            key = self.headers.get("Idempotency-Key")
            digest = hashlib.sha256(body + query.get("summarizeerrors", "").encode()).hexdigest()
            with fake.lock:
                cached = fake._idem.get(key) if key else None
            if cached:
                if cached[0] != digest:
                    return self._json(400, {"ErrorNumber": 10, "Type": "ValidationException",
                                            "Message": "Idempotency-Key was used with a different request"})
                if fault:
                    return self._fault(fault)
                return self._send(cached[1], cached[2], headers=headers)
            try:
                payload = json.loads(body.decode("utf-8"), parse_float=Decimal)
            except (ValueError, UnicodeDecodeError):
                return self._json(400, {"ErrorNumber": 14, "Type": "PostDataInvalidException",
                                        "Message": "JSON for post data was invalid"})
            elements = payload.get("Items") if isinstance(payload, dict) and "Items" in payload else [payload]
            results = fake.write_items(elements or [], create_only=method == "PUT", unitdp=unitdp)
            summarize = fake.force_summarize or query.get("summarizeerrors", "true").lower() != "false"
            if not summarize or not any(r.get("ValidationErrors") for r in results):
                status, out = 200, _encode({"Id": str(uuid.uuid4()), "Status": "OK",
                                            "ProviderName": "inventory-tools tests",
                                            "DateTimeUTC": f"/Date({now_ms()})/", "Items": results})
            else:
                shape = sample_json(VALIDATION_400_SAMPLE)
                shape["Elements"] = [r for r in results if r.get("ValidationErrors")]
                status, out = 400, _encode(shape)
            if key:
                with fake.lock:
                    fake._idem[key] = (digest, status, out)
            if fault:  # "after": the write happened, the answer is lost
                return self._fault(fault)
            return self._send(status, out, headers=headers)

        def _token(self, body: bytes):
            form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8")).items()}
            auth = self.headers.get("Authorization") or ""
            cid = secret = None
            if auth.startswith("Basic "):
                try:
                    cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                except ValueError:
                    pass
            cid = cid or form.get("client_id")
            secret = secret or form.get("client_secret")
            fault = fake._pick_fault("POST", "/connect/token")
            if fault and fault.phase == "before":
                return self._fault(fault)
            if form.get("grant_type") != "client_credentials":
                return self._json(400, {"error": "unsupported_grant_type"})
            if cid != fake.client_id or secret != fake.client_secret:
                return self._json(400, {"error": "invalid_client"})
            token = fake.issue_token()
            if fault:
                return self._fault(fault)
            answer = {"access_token": token, "expires_in": fake.token_ttl, "token_type": "Bearer"}
            if not fake.opaque_tokens:
                answer["scope"] = " ".join(fake.scopes)
            return self._json(200, answer)

    return Handler
