"""Webhook delivery under a slow tenant: does one account's slow receiver delay the others?

Issue 16 measured it on the old loop: a receiver answering after 12 s and 150 queued events
made another tenant's webhook wait 112 s instead of 3 s. Here the background sender `tally
serve` and `tally worker` run (`jobs.WebhookSender`, default settings: 8 senders, 2 in flight
per policy, polling every second) sends for two accounts on a scratch SQLite database, to
receivers in this process:

- the other tenant creates a customer every 0.25-0.75 s (at random, so the arrivals sample
  every phase of the sender's poll) for `TALLY_BENCH_WEBHOOK_SECONDS` (default 15); each
  CUSTOMER_CREATED webhook's delay is timed from the commit to its arrival;
- run twice: alone, then with a slow tenant that queued 150 events at the start for a
  receiver answering after `TALLY_BENCH_WEBHOOK_SLOW_SECONDS` (default 3).

Prints the other tenant's delay (median, p95, max) in both runs and their ratio; the target
is within 2x.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgspec
from tests.factories import customer_body

from tally import migrations
from tally.accounts.service import create_account
from tally.customers.schemas import CustomerIn
from tally.customers.service import create_customer
from tally.db import Database
from tally.jobs import WebhookSender
from tally.notifications.destinations import AllowList
from tally.notifications.schemas import PolicyIn
from tally.notifications.service import create_policy
from tally.settings import Settings

SECONDS = float(os.environ.get("TALLY_BENCH_WEBHOOK_SECONDS", "15"))
SLOW_SECONDS = float(os.environ.get("TALLY_BENCH_WEBHOOK_SLOW_SECONDS", "3"))
SLOW_EVENTS = 150
EVERY = (0.25, 0.75)  # seconds between the other tenant's events
TARGET_RATIO = 2.0


@dataclass
class Receiver:
    """Answers 200 after `delay` seconds; notes when each resource's webhook arrived."""

    delay: float = 0.0
    arrived: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.delay:
                    time.sleep(receiver.delay)
                resource_id = msgspec.json.decode(body).get("resourceId", "")
                receiver.arrived.setdefault(resource_id, time.monotonic())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class Delays:
    median: float
    p95: float
    worst: float
    count: int

    def __str__(self) -> str:
        return (
            f"median {self.median:6.2f} s   p95 {self.p95:6.2f} s   max {self.worst:6.2f} s"
            f"   ({self.count} webhooks)"
        )


ALLOWED = AllowList.parse("127.0.0.1")


def _tenant(db: Database, name: str, url: str) -> str:
    with db.transaction() as session:
        account, _ = create_account(session, name)
        body = {"name": "Hooks", "recipients": [url], "channel": "WEBHOOK"}
        create_policy(session, account.id, PolicyIn.model_validate(body), allowed=ALLOWED)
        return account.id


def _customers(db: Database, account_id: str, count: int) -> list[str]:
    with db.transaction() as session:
        return [
            create_customer(
                session, account_id, CustomerIn.model_validate(customer_body(legalName=f"C{n}"))
            ).id
            for n in range(count)
        ]


def run(slow_tenant: bool) -> Delays:
    with tempfile.TemporaryDirectory() as directory:
        db = Database(f"sqlite:///{Path(directory) / 'bench.db'}")
        migrations.upgrade(db.engine)
        settings = Settings(
            data_dir=Path(directory), database_url=db.url, webhook_allowed_hosts="127.0.0.1"
        )
        prompt, slow = Receiver(), Receiver(delay=SLOW_SECONDS)
        other = _tenant(db, "Other tenant", prompt.url)
        stopping = threading.Event()
        sender = WebhookSender(db, settings, stopping)
        sender.start()
        try:
            if slow_tenant:
                _customers(db, _tenant(db, "Slow tenant", slow.url), SLOW_EVENTS)
            committed: dict[str, float] = {}
            spacing = random.Random(16)  # the same pauses in both runs
            started = time.monotonic()
            while time.monotonic() - started < SECONDS:
                (customer_id,) = _customers(db, other, 1)
                committed[customer_id] = time.monotonic()
                time.sleep(spacing.uniform(*EVERY))
            deadline = time.monotonic() + 120
            while len(prompt.arrived.keys() & committed.keys()) < len(committed):
                if time.monotonic() > deadline:
                    raise RuntimeError("the other tenant's webhooks did not all arrive")
                time.sleep(0.05)
        finally:
            stopping.set()
            sender.join()
            prompt.close()
            slow.close()
            db.dispose()
    delays = sorted(prompt.arrived[key] - at for key, at in committed.items())
    return Delays(
        median=statistics.median(delays),
        p95=delays[max(0, round(0.95 * len(delays)) - 1)],
        worst=delays[-1],
        count=len(delays),
    )


def main() -> None:
    print(
        f"Webhooks: another tenant's delay, alone and beside a slow tenant "
        f"({SLOW_EVENTS} events, receiver answering after {SLOW_SECONDS:g} s)"
    )
    alone = run(slow_tenant=False)
    print(f"  alone:              {alone}")
    beside = run(slow_tenant=True)
    print(f"  beside a slow one:  {beside}")
    ratio = beside.median / alone.median
    p95_ratio = beside.p95 / alone.p95
    verdict = "within" if max(ratio, p95_ratio) <= TARGET_RATIO else "OVER"
    print(
        f"  ratio: median {ratio:.2f}x, p95 {p95_ratio:.2f}x "
        f"({verdict} the {TARGET_RATIO:g}x target)"
    )


if __name__ == "__main__":
    main()
