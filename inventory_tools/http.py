"""One HTTP policy for every remote API: timeouts, a deadline per call, pacing, retries,
Retry-After, redirects kept on the API's own host, and redaction of every text an API sends.

Xero and Cin7 adapters build an :class:`HttpClient` with their own :class:`RatePolicy` and a
``classify`` hook that recognises their throttling and fatal answers. Nothing here knows
either API.
"""
from __future__ import annotations

import base64
import collections
import logging
import os
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable
from urllib.parse import quote, urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .errors import RemoteError, UsageError

log = logging.getLogger("inventory_tools.http")

#: Tests run fake servers with a scaled window (e.g. 60 calls per 2 s); this scales ours to match.
RATE_WINDOW_ENV = "INVENTORY_TOOLS_RATE_WINDOW_SECONDS"
#: The longest one call may take, connect to last byte of the answer (seconds).
DEADLINE_ENV = "INVENTORY_TOOLS_HTTP_DEADLINE"
DEFAULT_DEADLINE = 120.0
REDIRECTS = (301, 302, 303, 307, 308)
MAX_SAME_HOST_REDIRECTS = 3


@dataclass
class RatePolicy:
    calls: int = 60
    per_seconds: float = 60.0
    concurrency: int = 5

    @classmethod
    def from_env(cls, calls: int = 60, concurrency: int = 5) -> "RatePolicy":
        window = float(os.environ.get(RATE_WINDOW_ENV) or 60.0)
        return cls(calls=calls, per_seconds=window, concurrency=concurrency)


def deadline_from_env() -> float:
    raw = os.environ.get(DEADLINE_ENV)
    if not raw:
        return DEFAULT_DEADLINE
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise UsageError(f"{DEADLINE_ENV}={raw!r} is not a number of seconds above 0",
                         f"set {DEADLINE_ENV} to e.g. {DEFAULT_DEADLINE:g}, or unset it")
    return value


class RateLimiter:
    """Sliding-window pacing plus a concurrency cap (thread-safe).

    ``observe_remaining`` lets a server's own counter (e.g. Xero's X-MinLimit-Remaining) slow us
    down when someone else shares the same quota.
    """

    def __init__(self, policy: RatePolicy, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.policy = policy
        self._sent: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(policy.concurrency)
        self._clock, self._sleep = clock, sleep
        self._blocked_until = 0.0

    def acquire(self) -> None:
        self._slots.acquire()
        while True:
            with self._lock:
                now = self._clock()
                window = self.policy.per_seconds
                while self._sent and self._sent[0] <= now - window:
                    self._sent.popleft()
                wait = max(0.0, self._blocked_until - now)
                if not wait and len(self._sent) < self.policy.calls:
                    self._sent.append(now)
                    return
                if not wait:
                    wait = self._sent[0] + window - now
            self._sleep(max(wait, 0.001))

    def release(self) -> None:
        self._slots.release()

    def block_for(self, seconds: float) -> None:
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)

    def observe_remaining(self, remaining: int) -> None:
        """The server says only ``remaining`` calls are left in its window: fill ours to match."""
        with self._lock:
            now = self._clock()
            used = self.policy.calls - max(remaining, 0)
            while len(self._sent) < used:
                self._sent.append(now)


@dataclass
class Verdict:
    """What ``classify`` says about a response."""

    kind: str  # "ok" | "retry" | "throttle" | "fatal"
    wait: float | None = None  # seconds to wait before retrying (throttle)
    error: RemoteError | None = None  # for fatal
    detail: str = ""  # for retry: what the server said (the message if every try fails)


@dataclass
class CallStats:
    calls: int = 0
    rate_limited: int = 0
    retries: int = 0
    by_path: dict = field(default_factory=lambda: collections.Counter())


class MaybeSentError(RemoteError):
    """A non-idempotent request failed in a way that it may have reached the server.

    ``status`` is the HTTP status when the server answered (5xx), None for a lost connection."""

    status: int | None = None


class ServerError(RemoteError):
    """The server kept answering 5xx after every retry: ``status`` and what it said (redacted)."""

    status: int = 500
    detail: str = ""


class DeadlineExceeded(RemoteError):
    """A call did not finish within its deadline (connect to the last byte of the answer)."""


class RedirectRefused(RemoteError):
    """The API answered with a redirect to another host; not followed (the credentials stay home)."""


# -- redaction ---------------------------------------------------------------------------------
def secret_forms(secret: str) -> list[str]:
    """The ways a secret can be echoed back: as is, URL-encoded, and base64 of itself."""
    forms = [secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode()]
    return [f for f in dict.fromkeys(forms) if f]


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (in any of its forms, any case) replaced by ``***``."""
    if not text:
        return text
    for s in secrets:
        if not s or len(s) < 4:
            continue
        for form in secret_forms(s):
            if len(form) >= 4:
                text = re.sub(re.escape(form), "***", text, flags=re.IGNORECASE)
    return text


# -- a deadline for the whole call --------------------------------------------------------------
class _Watch:
    """One call's deadline: when it fires, the call's socket is shut so no read waits any longer."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.expired = False
        self._lock = threading.Lock()

    def attach(self, sock) -> None:
        with self._lock:
            self.sock = sock
            if self.expired:
                _shut(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            if self.sock is not None:
                _shut(self.sock)


def _shut(sock) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


_current = threading.local()


def _attach(conn) -> None:
    watch = getattr(_current, "watch", None)
    sock = getattr(conn, "sock", None)
    if watch is not None and sock is not None:
        watch.attach(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self):
        super().connect()
        _attach(self)

    def getresponse(self, *args, **kwargs):
        _attach(self)  # a kept-alive connection is not connected again
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self):
        super().connect()
        _attach(self)

    def getresponse(self, *args, **kwargs):
        _attach(self)
        return super().getresponse(*args, **kwargs)


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections can be cut when a call's deadline passes."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedPool, "https": _WatchedHTTPSPool}


def deadline_session(session: requests.Session | None = None) -> requests.Session:
    """A session (new, or the one given) whose calls honour :class:`HttpClient` deadlines."""
    session = session or requests.Session()
    if not isinstance(session.get_adapter("https://x"), DeadlineAdapter):
        session.mount("https://", DeadlineAdapter())
        session.mount("http://", DeadlineAdapter())
    return session


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


# -- the client ---------------------------------------------------------------------------------
class HttpClient:
    def __init__(self, base_url: str, *, name: str, policy: RatePolicy,
                 classify: Callable[[requests.Response], Verdict],
                 headers: Callable[[], dict] | None = None, secrets: Callable[[], list[str]] | None = None,
                 timeout: tuple[float, float] = (5.0, 60.0), max_attempts: int = 6,
                 backoff_base: float | None = None, backoff_cap: float | None = None,
                 session: requests.Session | None = None, deadline: float | None = None,
                 base_hint: str = ""):
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.limiter = RateLimiter(policy)
        self.classify = classify
        self._headers = headers or (lambda: {})
        self._secrets = secrets or (lambda: [])
        self.timeout = timeout
        self.max_attempts = max_attempts
        # Backoff scales with the rate window so tests with a 2 s window stay fast.
        scale = policy.per_seconds / 60.0
        self.backoff_base = backoff_base if backoff_base is not None else 1.0 * scale
        self.backoff_cap = backoff_cap if backoff_cap is not None else 30.0 * scale
        #: A Retry-After longer than this is a limit that ends the run (10 windows: 10 min at 60 s).
        self.max_throttle_wait = 10 * policy.per_seconds
        self.deadline = deadline if deadline is not None else deadline_from_env()
        self.base_hint = base_hint  # "check <VARIABLE>" for answers that suggest a wrong base URL
        self.session = deadline_session(session)
        self.stats = CallStats()
        self.last_headers: dict[str, str] = {}  # of the last answer (rate headers for `check`)

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

    def redact(self, text: str) -> str:
        return redact(text, self._secrets())

    def _redacted(self, err: RemoteError) -> RemoteError:
        err.message = self.redact(err.message)
        err.hint = self.redact(err.hint)
        err.args = (err.message,)
        for name in ("detail",):
            if isinstance(getattr(err, name, None), str):
                setattr(err, name, self.redact(getattr(err, name)))
        return err

    def request(self, method: str, path: str, *, idempotent: bool = True, **kw) -> requests.Response:
        """Send with pacing and retries; return the final OK response or raise RemoteError.

        ``idempotent=False`` requests are never re-sent after a failure that may have reached the
        server (timeout, dropped connection, 5xx, deadline): :class:`MaybeSentError` is raised so
        the caller can check what happened first (e.g. look the SKU up before re-creating).
        Every text from the server that ends up in an error is redacted.
        """
        try:
            return self._request(method, path, idempotent=idempotent, **kw)
        except RemoteError as exc:
            raise self._redacted(exc) from None

    def _request(self, method: str, path: str, *, idempotent: bool, **kw) -> requests.Response:
        url = self.url(path)
        extra_headers = kw.pop("headers", None) or {}
        attempt, redirects = 0, 0
        last_detail = ""
        while True:
            attempt += 1
            headers = {**self._headers(), **extra_headers}
            resp = None
            self.limiter.acquire()
            try:
                self.stats.calls += 1
                self.stats.by_path[f"{method} {path.split('?')[0]}"] += 1
                resp, failure = self._send(method, url, headers, kw)
            finally:
                self.limiter.release()
            if failure is not None:
                reason, before_send, expired = failure
                if expired:
                    reason = (f"no complete answer within {self.deadline:g} s "
                              f"(the deadline per call, {DEADLINE_ENV})")
                if not idempotent and not before_send:
                    err = MaybeSentError(f"{self.name}: {method} {_short(path)} may or may not have been applied "
                                         f"({reason})", "re-run the same command: it checks before writing again")
                    raise err
                if attempt >= self.max_attempts:
                    cls = DeadlineExceeded if expired else RemoteError
                    raise cls(f"{self.name} could not be reached: {reason} ({attempt} tries)",
                              "check the network and re-run; work done so far is kept")
                self._backoff(attempt, reason)
                continue
            assert resp is not None
            self.last_headers = dict(resp.headers)
            if resp.status_code >= 400 and resp.content:
                # An error body only ever becomes a message: redact it whole, before anything cuts it
                # short (a secret cut in half would no longer be recognised).
                resp._content = self.redact(resp.content.decode("utf-8", errors="replace")).encode("utf-8")
            if resp.status_code in REDIRECTS:
                target = self._redirect_target(method, url, resp)
                redirects += 1
                if redirects > MAX_SAME_HOST_REDIRECTS:
                    raise RedirectRefused(f"{self.name} kept redirecting {method} {_short(path)}",
                                          self.base_hint or "check the API base URL")
                url = target
                attempt -= 1
                continue
            verdict = self.classify(resp)
            if verdict.kind == "ok":
                return resp
            if verdict.kind == "fatal":
                raise verdict.error or RemoteError(f"{self.name}: HTTP {resp.status_code} on {method} {_short(path)}")
            if verdict.kind == "throttle":
                self._throttled(verdict, attempt)
                continue
            # retry (5xx and the like)
            last_detail = self.redact(verdict.detail or "")
            if not idempotent:
                err = MaybeSentError(f"{self.name}: {method} {_short(path)} answered HTTP {resp.status_code}"
                                     + (f": {last_detail}" if last_detail else ""),
                                     "re-run the same command: it checks before writing again")
                err.status = resp.status_code
                raise err
            if attempt >= self.max_attempts:
                err = ServerError(f"{self.name} answered HTTP {resp.status_code} to {method} {_short(path)} on every "
                                  f"try ({attempt})" + (f": {last_detail}" if last_detail else ""),
                                  "try again later; work done so far is kept")
                err.status, err.detail = resp.status_code, last_detail
                raise err
            self._backoff(attempt, f"HTTP {resp.status_code}")

    def _send(self, method: str, url: str, headers: dict, kw: dict):
        """One exchange under the deadline → (response, None) or (None, (reason, before_send, expired))."""
        watch = _Watch()
        timer = threading.Timer(self.deadline, watch.expire)
        timer.daemon = True
        _current.watch = watch
        timer.start()
        try:
            resp = self.session.request(method, url, headers=headers, timeout=self.timeout,
                                        allow_redirects=False, **kw)
            if watch.expired:  # the last byte came in just as the deadline passed: not a complete answer
                return None, ("deadline", False, True)
            return resp, None
        except requests.RequestException as exc:
            reason = self.redact(f"{type(exc).__name__}: {exc}")
            before_send = not watch.expired and (isinstance(exc, requests.ConnectTimeout) or (
                isinstance(exc, requests.ConnectionError) and "Connection refused" in str(exc)))
            return None, (reason, before_send, watch.expired)
        finally:
            timer.cancel()
            _current.watch = None

    def _redirect_target(self, method: str, url: str, resp: requests.Response) -> str:
        location = resp.headers.get("Location") or ""
        target = urljoin(url, location)
        same = _origin(target) == _origin(url)
        if same and method in ("GET", "HEAD") and location:
            return target
        host = urlsplit(target).hostname or "(no host)"
        why = ("another host: not followed, so the credentials are never sent there" if not same else
               f"the same host, but a {method} is never re-sent to another address")
        raise RedirectRefused(
            f"{self.name} answered {method} {_short(urlsplit(url).path)} with HTTP {resp.status_code}, a redirect to "
            f"{host}: {why}", self.base_hint or "check the API base URL")

    def _throttled(self, verdict: Verdict, attempt: int) -> None:
        self.stats.rate_limited += 1
        wait = verdict.wait if verdict.wait is not None else self._delay(attempt)
        if wait > self.max_throttle_wait:
            resume = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(time.time() + wait))
            raise RemoteError(f"{self.name} asks to wait {wait:.0f} s before the next call (its rate limit)",
                              f"re-run the same command after {resume}: what was done is kept and the run resumes")
        log.info("%s throttled; waiting %.1fs", self.name, wait)
        self.limiter.block_for(wait)
        if attempt >= self.max_attempts * 3:
            raise RemoteError(f"{self.name} kept refusing with its rate limit",
                              "wait a few minutes and re-run; work done so far is kept")

    def _delay(self, attempt: int) -> float:
        cap = min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1)))
        return random.uniform(cap / 2, cap)  # "equal jitter"

    def _backoff(self, attempt: int, reason: str) -> None:
        self.stats.retries += 1
        delay = self._delay(attempt)
        log.info("%s: %s; retry %d in %.2fs", self.name, self.redact(reason), attempt, delay)
        time.sleep(delay)


def _short(path: str) -> str:
    """A path for messages: no query string (it may hold values), at most 80 characters."""
    p = path.split("?", 1)[0]
    return p if len(p) <= 80 else p[:79] + "…"
