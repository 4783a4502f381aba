"""Rate limits per API key, and throttling of repeated failed logins.

Token buckets held in this process's memory: cheap and with no moving parts, but each process
counts alone, so N `tally serve` processes let a key make N times the configured rate (put the
limit you want per key divided by N, or enforce it at the load balancer).

Defaults follow Sequence's documented limits: 1,500 requests a minute per API key, and 12,000
a minute for usage-event ingestion (`POST /usage-events`, here also its batch form), which has
its own bucket. A bucket holds a minute's worth, so a quiet key may burst.

Failed credentials are counted per door, each with a budget of its own, so failures at one
door never close another (20 bad portal links from an address do not stop that address's
valid API key), each `auth_failure_limit` within `auth_failure_window_seconds`:

- `api`: bad API keys, per client address. Past the limit, every API request from that
  address is refused with 429 until the bucket refills a little, right credentials included
  (the secret is 256 random bits: this is about load and noise, not guessing).
- `portal`: bad portal links, session cookies and tokens, per client address, the same way.
- `sign_in`: failed dashboard sign-ins, per client address, and per email from one address
  (`sign_in_email`, a quarter of the limit). A guesser is slowed to the refill rate (one
  attempt every window / limit), and the real user, signing in from another address, is never
  locked out: no budget counts an email alone, or anyone could lock any user out for good.

Every budget counts by client address: behind a proxy, set TALLY_FORWARDED_ALLOW_IPS to the
proxy's address, or every client shares the proxy's address, and with it one budget.
"""

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from tally.exceptions import TallyError
from tally.ops import metrics

INGESTION_PATHS = frozenset({"/api/usage-events", "/api/usage-events/batch"})
_MAX_KEYS = 100_000  # forget the fullest buckets past this, so memory stays bounded


class TooManyRequests(TallyError):
    status_code = 429
    error_type = "TooManyRequests"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}


@dataclass
class Buckets:
    """Token buckets by key: `capacity` tokens, refilled at `capacity / period` a second."""

    capacity: float
    period: float
    _levels: dict[str, tuple[float, float]] = field(default_factory=dict)  # key: tokens, at
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _level(self, key: str, now: float) -> float:
        tokens, at = self._levels.get(key, (self.capacity, now))
        return min(self.capacity, tokens + (now - at) * self.capacity / self.period)

    def take(self, key: str) -> float:
        """Take a token: 0 when there was one, else the seconds until there is one."""
        with self._lock:
            now = time.monotonic()
            tokens = self._level(key, now)
            if tokens < 1:
                self._levels[key] = (tokens, now)
                return (1 - tokens) * self.period / self.capacity
            if len(self._levels) >= _MAX_KEYS and key not in self._levels:
                self._forget_full(now)
            self._levels[key] = (tokens - 1, now)
            return 0.0

    def wait(self, key: str) -> float:
        """Seconds until `key` has a token again (0: it has one), taking nothing."""
        with self._lock:
            tokens = self._level(key, time.monotonic())
            return 0.0 if tokens >= 1 else (1 - tokens) * self.period / self.capacity

    def _forget_full(self, now: float) -> None:
        for key in [k for k in self._levels if self._level(k, now) >= self.capacity]:
            del self._levels[key]
        if len(self._levels) >= _MAX_KEYS:
            self._levels.clear()


# The doors failed credentials are counted at, each with its own budget.
Door = Literal["api", "portal", "sign_in", "sign_in_email"]
_REFUSALS: dict[Door, str] = {
    "api": "Too many failed authentication attempts; retry later.",
    "portal": "Too many failed attempts to open the portal; retry later.",
    "sign_in": "Too many failed sign-ins from this address; retry later.",
    "sign_in_email": "Too many failed sign-ins for this email from this address; retry later.",
}


class Limits:
    """The limits of one app (its settings): `app.state.limits`."""

    def __init__(
        self, *, per_minute: int, ingestion_per_minute: int, failures: int, failure_window: float
    ) -> None:
        self.requests = Buckets(per_minute, 60.0) if per_minute > 0 else None
        self.ingestion = Buckets(ingestion_per_minute, 60.0) if ingestion_per_minute > 0 else None
        self.failures: dict[Door, Buckets] = {}
        if failures > 0:
            self.failures = {
                "api": Buckets(failures, failure_window),
                "portal": Buckets(failures, failure_window),
                "sign_in": Buckets(failures, failure_window),
                "sign_in_email": Buckets(max(1, math.ceil(failures / 4)), failure_window),
            }

    def check_failures(self, door: Door, key: str) -> None:
        """Before checking credentials: refuse `key` (a client address, or an email and an
        address) when it failed too often at this door."""
        buckets = self.failures.get(door)
        if buckets is not None and (wait := buckets.wait(key)):
            metrics.rate_limited.labels(f"auth_failures_{door}").inc()
            raise TooManyRequests(_REFUSALS[door], wait)

    def failed(self, door: Door, key: str) -> None:
        """Count a refused credential of `key` at this door."""
        buckets = self.failures.get(door)
        if buckets is not None:
            buckets.take(key)

    def check_key(self, api_key_id: str, method: str, path: str) -> None:
        """After authenticating: one token from the key's bucket for this kind of request."""
        ingestion = method == "POST" and path in INGESTION_PATHS
        buckets = self.ingestion if ingestion else self.requests
        if buckets is not None and (wait := buckets.take(api_key_id)):
            metrics.rate_limited.labels("api_key").inc()
            raise TooManyRequests("Rate limit exceeded for this API key; retry later.", wait)
