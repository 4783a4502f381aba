"""localstripe (a stateful fake Stripe server, from PyPI) as a real process, for the tests
that collect payments: the official `stripe` package talks to it over HTTP, its
`/js.stripe.com/v3/` stands in for Stripe.js in the browser, and it signs and sends webhooks.

One server per test process, started when a test first asks for it, on a port reserved when
the session's settings are made (TALLY_STRIPE_API_BASE must be known before the app is)."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field

import httpx

from tests.support.serving import TEST_SECRET_KEY, free_port

__all__ = ["TEST_SECRET_KEY", "LocalStripe"]


@dataclass
class LocalStripe:
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def js_url(self) -> str:
        return f"{self.url}/js.stripe.com/v3/"

    def start(self) -> LocalStripe:
        if self.process is not None and self.process.poll() is None:
            return self
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localstripe", "--port", str(self.port), "--from-scratch"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(self.js_url, timeout=2).raise_for_status()
                return self
            except httpx.TransportError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.1)

    def register_webhook(self, name: str, url: str, secret: str) -> None:
        """localstripe sends every event to every registered URL, each signed with its own
        secret (so an account's endpoint also hears of other accounts' payments)."""
        httpx.post(
            f"{self.url}/_config/webhooks/{name}", data={"url": url, "secret": secret}, timeout=10
        ).raise_for_status()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
