"""One HTTP policy for every remote API: timeouts, pacing, retries, Retry-After, redaction.

Xero and Cin7 adapters build an :class:`HttpClient` with their own :class:`RatePolicy` and a
``classify`` hook that recognises their throttling and fatal answers. Nothing here knows
either API.
"""
from __future__ import annotations

import collections
import logging
import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import requests

from .errors import RemoteError

log = logging.getLogger("inventory_tools.http")

#: Tests run fake servers with a scaled window (e.g. 60 calls per 2 s); this scales ours to match.
RATE_WINDOW_ENV = "INVENTORY_TOOLS_RATE_WINDOW_SECONDS"


@dataclass
class RatePolicy:
    calls: int = 60
    per_seconds: float = 60.0
    concurrency: int = 5

    @classmethod
    def from_env(cls, calls: int = 60, concurrency: int = 5) -> "RatePolicy":
        window = float(os.environ.get(RATE_WINDOW_ENV) or 60.0)
        return cls(calls=calls, per_seconds=window, concurrency=concurrency)


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


@dataclass
class CallStats:
    calls: int = 0
    rate_limited: int = 0
    retries: int = 0
    by_path: dict = field(default_factory=lambda: collections.Counter())


class MaybeSentError(RemoteError):
    """A non-idempotent request failed in a way that it may have reached the server."""


def redact(text: str, secrets: Iterable[str]) -> str:
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return text


class HttpClient:
    def __init__(self, base_url: str, *, name: str, policy: RatePolicy,
                 classify: Callable[[requests.Response], Verdict],
                 headers: Callable[[], dict] | None = None, secrets: Callable[[], list[str]] | None = None,
                 timeout: tuple[float, float] = (5.0, 60.0), max_attempts: int = 6,
                 backoff_base: float | None = None, backoff_cap: float | None = None,
                 session: requests.Session | None = None):
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
        self.session = session or requests.Session()
        self.stats = CallStats()

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, idempotent: bool = True, **kw) -> requests.Response:
        """Send with pacing and retries; return the final OK response or raise RemoteError.

        ``idempotent=False`` requests are never re-sent after a failure that may have reached the
        server (timeout, dropped connection, 5xx): :class:`MaybeSentError` is raised so the caller
        can check what happened first (e.g. look the SKU up before re-creating).
        """
        url = self.url(path)
        extra_headers = kw.pop("headers", None) or {}
        attempt = 0
        while True:
            attempt += 1
            headers = {**self._headers(), **extra_headers}
            self.limiter.acquire()
            try:
                self.stats.calls += 1
                self.stats.by_path[f"{method} {path.split('?')[0]}"] += 1
                resp = self.session.request(method, url, headers=headers, timeout=self.timeout, **kw)
            except requests.RequestException as exc:
                reason = redact(f"{type(exc).__name__}: {exc}", self._secrets())
                before_send = isinstance(exc, requests.ConnectTimeout) or (
                    isinstance(exc, requests.ConnectionError) and "Connection refused" in str(exc))
                if not idempotent and not before_send:
                    raise MaybeSentError(f"{self.name}: {method} {path} may or may not have been applied ({reason})",
                                         "re-run the same command: it checks before writing again") from None
                if attempt >= self.max_attempts:
                    raise RemoteError(f"{self.name} could not be reached: {reason}",
                                      "check the network and re-run; work done so far is kept") from None
                self._backoff(attempt, reason)
                continue
            finally:
                self.limiter.release()
            verdict = self.classify(resp)
            if verdict.kind == "ok":
                return resp
            if verdict.kind == "fatal":
                raise verdict.error or RemoteError(f"{self.name}: HTTP {resp.status_code} on {method} {path}")
            if verdict.kind == "throttle":
                self.stats.rate_limited += 1
                wait = verdict.wait if verdict.wait is not None else self._delay(attempt)
                log.info("%s throttled; waiting %.1fs", self.name, wait)
                self.limiter.block_for(wait)
                if attempt >= self.max_attempts * 3:
                    raise RemoteError(f"{self.name} kept refusing with its rate limit",
                                      "wait a few minutes and re-run; work done so far is kept")
                continue
            # retry (5xx and the like)
            if not idempotent:
                raise MaybeSentError(f"{self.name}: {method} {path} answered HTTP {resp.status_code}",
                                     "re-run the same command: it checks before writing again")
            if attempt >= self.max_attempts:
                raise RemoteError(f"{self.name} kept failing: HTTP {resp.status_code} on {method} {path}",
                                  "try again later; work done so far is kept")
            self._backoff(attempt, f"HTTP {resp.status_code}")

    def _delay(self, attempt: int) -> float:
        cap = min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1)))
        return random.uniform(cap / 2, cap)  # "equal jitter"

    def _backoff(self, attempt: int, reason: str) -> None:
        self.stats.retries += 1
        delay = self._delay(attempt)
        log.info("%s: %s; retry %d in %.2fs", self.name, reason, attempt, delay)
        time.sleep(delay)
