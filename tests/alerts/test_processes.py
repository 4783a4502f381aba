"""Two `tally serve` processes ingesting one customer's events at once (two clients each),
each running its own alert evaluator and webhook sender: the crossing fires once, and its
webhook arrives once."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path

import httpx

from tally.db import Database
from tests.alerts.helpers import firings
from tests.conftest import make_account
from tests.factories import customer_body
from tests.notifications.webhook_support import Receiver
from tests.support.serving import TALLY, clean_environment, free_port


@contextmanager
def _server(process: subprocess.Popen[bytes], url: str) -> Iterator[str]:
    try:
        deadline = time.monotonic() + 180  # a loaded machine imports slowly
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "not serving"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)


def servers(env: dict[str, str], count: int) -> list[AbstractContextManager[str]]:
    """`count` `tally serve` processes started at once (not one after the other)."""
    ports = [free_port() for _ in range(count)]
    return [
        _server(
            subprocess.Popen([str(TALLY), "serve", "--port", str(port)], env=env),
            f"http://127.0.0.1:{port}",
        )
        for port in ports
    ]


def test_two_server_processes_fire_a_crossing_once(database: Database, tmp_path: Path) -> None:
    account = make_account(database)
    auth = (account.api_key, account.api_secret)
    receiver = Receiver()
    env = clean_environment(
        TALLY_DATABASE_URL=database.url,
        TALLY_DATA_DIR=str(tmp_path),
        TALLY_BILLING_POLL_SECONDS="3600",
        TALLY_WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        TALLY_WEBHOOK_POLL_SECONDS="0.2",
        TALLY_RATE_LIMIT_PER_MINUTE="0",
        TALLY_INGESTION_RATE_LIMIT_PER_MINUTE="0",
    )
    try:
        with ExitStack() as stack:
            urls = [stack.enter_context(server) for server in servers(env, 2)]
            clients = [
                stack.enter_context(httpx.Client(base_url=urls[n % 2], auth=auth, timeout=60))
                for n in range(4)
            ]
            api = clients[0]
            customer = api.post("/api/customers", json=customer_body()).json()
            alias = {"customerId": customer["id"], "value": "hot-customer"}
            assert api.post("/api/customer-aliases", json=alias).status_code == 201
            metric = {
                "name": "calls",
                "metricType": "SIMPLE",
                "eventType": "api_call",
                "aggregationType": "COUNT",
            }
            metric_id = api.post("/api/usage-metrics", json=metric).json()["id"]
            policy = {
                "name": "alerts",
                "channel": "WEBHOOK",
                "recipients": [receiver.url],
                "notificationTypes": ["ALERT_TRIGGERED"],
            }
            assert api.post("/api/notifications/policies", json=policy).status_code == 201
            alert = {
                "name": "Cap",
                "type": "USAGE",
                "customerId": customer["id"],
                "metricId": metric_id,
                "threshold": "150",
            }
            alert_id = api.post("/api/alerts", json=alert).json()["id"]
            barrier = threading.Barrier(4, timeout=60)
            failures: list[str] = []

            def ingest(client: httpx.Client, worker: int) -> None:
                barrier.wait()
                for batch in range(10):
                    events = [
                        {
                            "customerAlias": "hot-customer",
                            "eventType": "api_call",
                            "customerEventId": f"{worker}-{batch}-{i}",
                        }
                        for i in range(10)
                    ]
                    response = client.post("/api/usage-events/batch", json={"events": events})
                    if response.status_code != 200:
                        failures.append(response.text)

            threads = [threading.Thread(target=ingest, args=(clients[n], n)) for n in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert failures == []
            deadline = time.monotonic() + 30
            while not receiver.arrivals and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(2)  # long enough for a second evaluator or sender to send another
            fired = firings(database, account.account_id, alert_id)
            assert len(fired) == 1
            assert fired[0].value >= 150
            assert [a.envelope["notificationType"] for a in receiver.arrivals] == [
                "ALERT_TRIGGERED"
            ]
            resource = receiver.arrivals[0].envelope["resource"]
            assert resource["id"] == fired[0].id
            assert resource["alert"]["id"] == alert_id
    finally:
        receiver.close()
