"""What the webhook tests share: a real HTTP receiver in this process that records what
arrives and answers from a script, signature checks, and a webhook policy made through the
API."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.api_client import ApiClient


@dataclass(frozen=True)
class Arrival:
    headers: dict[str, str]
    body: bytes

    @property
    def envelope(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    @property
    def event_id(self) -> str:
        return self.headers["tally-event-id"]


@dataclass
class Receiver:
    """A webhook endpoint on a free local port. Answers each request with the next status of
    `statuses` (then 200), after `delay` seconds, or once `gate` is set (a receiver that
    hangs), a redirect to `location` if given. Its URL ends in a token of its own, and it
    records only requests to that URL: deliveries other tests left behind, sent by a worker
    to a port this receiver now has, are answered 410 and not counted. `most_at_once`: the
    most requests it held at the same time."""

    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    arrivals: list[Arrival] = field(default_factory=list)
    token: str = field(default_factory=lambda: secrets.token_hex(8))
    gate: threading.Event | None = None
    location: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    held: int = 0
    most_at_once: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path != receiver.path:
                    self._answer(410)
                    return
                with receiver._lock:
                    receiver.arrivals.append(
                        Arrival({k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.held += 1
                    receiver.most_at_once = max(receiver.most_at_once, receiver.held)
                if receiver.delay:
                    time.sleep(receiver.delay)
                if receiver.gate is not None:
                    receiver.gate.wait()
                with receiver._lock:
                    receiver.held -= 1
                self._answer(status)

            def _answer(self, status: int) -> None:
                text = b"ok" if status < 300 else b"receiver says no"
                try:
                    self.send_response(status)
                    if receiver.location is not None:
                        self.send_header("Location", receiver.location)
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    self.wfile.write(text)
                except OSError:  # the sender gave up waiting
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def path(self) -> str:
        return f"/hooks/{self.token}"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.bound_port}{self.path}"

    @property
    def bound_port(self) -> int:
        return int(self._server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    """Receivers a test starts (`start(...)`), all closed when it ends."""
    started: list[Receiver] = []
    yield started
    for receiver in started:
        receiver.close()


def start(started: list[Receiver], **options: Any) -> Receiver:
    receiver = Receiver(**options)
    started.append(receiver)
    return receiver


def signed_by(arrival: Arrival, secret: str) -> bool:
    """Whether `Sequence-Signature: t=<ms>,s=<hex>` is the HMAC-SHA256 of `<t>.<raw body>`."""
    parts = dict(part.split("=", 1) for part in arrival.headers["sequence-signature"].split(","))
    expected = hmac.new(
        secret.encode(), parts["t"].encode() + b"." + arrival.body, hashlib.sha256
    ).hexdigest()
    return parts["t"].isdigit() and hmac.compare_digest(parts["s"], expected)


def webhook_policy(api: ApiClient, url: str, *types: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Integration webhooks",
        "recipients": [url],
        "channel": "WEBHOOK",
        **overrides,
    }
    if types:
        body["notificationTypes"] = list(types)
    response = api.post("/api/notifications/policies", json=body)
    assert response.status_code == 201, response.text
    policy: dict[str, Any] = response.json()
    return policy


def deliveries(api: ApiClient, policy_id: str, **params: Any) -> list[dict[str, Any]]:
    response = api.get(f"/api/notifications/policies/{policy_id}/deliveries", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
