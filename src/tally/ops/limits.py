"""Rate limits per API key, and throttling of repeated failed logins.

Token buckets held in this process's memory: cheap and with no moving parts, but each process
counts alone, so N `tally serve` processes let a key make N times the configured rate (put the
limit you want per key divided by N, or enforce it at the load balancer).

Defaults follow Sequence's documented limits: 1,500 requests a minute per API key, and 12,000
a minute for usage-event ingestion (`POST /usage-events`, here also its batch form), which has
its own bucket. A bucket holds a minute's worth, so a quiet key may burst.

Failed logins (a wrong key or secret) are counted per client address: past
`auth_failure_limit` within `auth_failure_window_seconds`, every attempt from that address is
refused with 429 until the bucket refills a little, right credentials included (the secret
is 256 random bits, so this is about load and noise rather than guessing). Behind a proxy,
set TALLY_FORWARDED_ALLOW_IPS so the client address is the real client's.
"""

import math
import threading
import time
from dataclasses import dataclass, field

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


class Limits:
    """The limits of one app (its settings): `app.state.limits`."""

    def __init__(
        self, *, per_minute: int, ingestion_per_minute: int, failures: int, failure_window: float
    ) -> None:
        self.requests = Buckets(per_minute, 60.0) if per_minute > 0 else None
        self.ingestion = Buckets(ingestion_per_minute, 60.0) if ingestion_per_minute > 0 else None
        self.failures = Buckets(failures, failure_window) if failures > 0 else None

    def check_client(self, client: str) -> None:
        """Before checking credentials: refuse a client that failed too often."""
        if self.failures is not None and (wait := self.failures.wait(client)):
            metrics.rate_limited.labels("auth_failures").inc()
            raise TooManyRequests("Too many failed authentication attempts; retry later.", wait)

    def failed_login(self, client: str) -> None:
        if self.failures is not None:
            self.failures.take(client)

    def check_key(self, api_key_id: str, method: str, path: str) -> None:
        """After authenticating: one token from the key's bucket for this kind of request."""
        ingestion = method == "POST" and path in INGESTION_PATHS
        buckets = self.ingestion if ingestion else self.requests
        if buckets is not None and (wait := buckets.take(api_key_id)):
            metrics.rate_limited.labels("api_key").inc()
            raise TooManyRequests("Rate limit exceeded for this API key; retry later.", wait)
