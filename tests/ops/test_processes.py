"""Real `tally serve` and `tally worker` processes: JSON logs with no secrets, metrics summed
over several server processes, and graceful shutdown on SIGTERM."""

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from tally import migrations
from tally.app import create_app
from tally.db import Database
from tally.models import BillingSchedule, Invoice
from tally.settings import Settings
from tests.billing.helpers import Merchant
from tests.conftest import make_account
from tests.factories import customer_body
from tests.ops.conftest import scratch_database
from tests.ops.processes import json_lines, running, serving
from tests.support.api_client import ApiClient
from tests.support.serving import clean_environment


def request_count(metrics_text: str, route: str, method: str, status: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "tally_http_request_duration_seconds_count" and sample.labels == {
                "route": route,
                "method": method,
                "status": status,
            }:
                return sample.value
    return 0.0


def test_several_server_processes_log_json_without_secrets_and_share_metrics(
    database: Database, tmp_path: Path
) -> None:
    account = make_account(database)
    auth = (account.api_key, account.api_secret)
    env = clean_environment(
        TALLY_DATABASE_URL=database.url,
        TALLY_DATA_DIR=str(tmp_path),
        TALLY_BILLING_SCHEDULER="false",
        TALLY_METRICS_TOKEN="metrics-token",
    )
    with serving(env, tmp_path, "--workers", "2") as server:
        client = httpx.Client(base_url=server.base_url, timeout=30)
        customer = client.post("/api/customers", json=customer_body(), auth=auth).json()
        session = client.post(f"/api/customers/{customer['id']}/portal-sessions", auth=auth)
        token = session.json()["token"]
        portal_link = httpx.URL(customer["portalUrl"]).path
        for _ in range(12):
            assert client.get("/api/customers", auth=auth).status_code == 200
        traced = client.get(
            f"/api/customers/{customer['id']}", auth=auth, headers={"X-Request-Id": "trace-1"}
        )
        assert traced.headers["x-request-id"] == "trace-1"
        assert client.get(f"/portal/session?token={token}").status_code == 303
        assert client.get(portal_link).status_code == 200
        assert client.get("/api/customers", auth=(account.api_key, "wrong")).status_code == 401

        assert client.get("/metrics").status_code == 401
        bearer = {"Authorization": "Bearer metrics-token"}
        # Whichever process answers, it sums every process's counts.
        for _ in range(4):
            page = client.get("/metrics", headers=bearer).text
            assert request_count(page, "/api/customers", "GET", "2xx") == 12
        assert list((tmp_path / "metrics").glob("*.db"))
        assert server.terminate() == 0

    log = server.log
    for secret in (account.api_secret, token, portal_link.rsplit("/", 1)[-1], "metrics-token"):
        assert secret not in log
    lines = json_lines(log)
    [line] = [entry for entry in lines if entry.get("request_id") == "trace-1"]
    assert (line["route"], line["status"], line["logger"]) == (
        "/api/customers/{id}",
        200,
        "tally.access",
    )
    assert set(line) >= {"time", "level", "logger", "message", "method", "duration_ms"}
    routes = Counter((entry.get("method"), entry.get("route")) for entry in lines)
    assert routes["GET", "/api/customers"] == 13  # 12 answered, 1 refused
    assert routes["GET", "/portal/session"] == 1


def test_tally_serve_finishes_the_request_in_flight_on_sigterm(
    database: Database, tmp_path: Path, api: ApiClient
) -> None:
    merchant = Merchant(api)
    price = merchant.price({"pricingType": "FIXED", "price": "10.00"}, name="Platform")
    customer = merchant.customer()
    for _ in range(25):
        merchant.schedule(customer, [price], "2024-01-01")
    key, secret = api.auth  # type: ignore[misc]
    env = clean_environment(
        TALLY_DATABASE_URL=database.url,
        TALLY_DATA_DIR=str(tmp_path),
        TALLY_BILLING_SCHEDULER="false",
    )
    answers: list[httpx.Response] = []
    with serving(env, tmp_path) as server:

        def bill() -> None:
            url = f"{server.base_url}/api/billing/execution/accounts/self"
            answers.append(httpx.post(url, auth=(key, secret), timeout=120))

        request = threading.Thread(target=bill)
        request.start()
        time.sleep(0.5)
        signalled = time.monotonic()
        status = server.terminate(timeout=120)
        request.join(timeout=120)
        done = time.monotonic()

    assert status == 0, server.log
    [answer] = answers
    assert answer.status_code == 200, answer.text
    assert done > signalled  # answered after the signal: it was in flight
    assert answer.json()["billingSchedules"] == 25
    assert answer.json()["invoicesCreated"] >= 25 * 30  # monthly since January 2024
    messages = [entry["message"] for entry in json_lines(server.log)]
    assert "Shutting down" in messages
    assert messages.index("Shutting down") < messages.index("Application shutdown complete.")


def _billing_state(database: Database, account_id: str) -> tuple[list[Any], Counter[str]]:
    with database.session(write=False) as session:
        billed = list(
            session.scalars(
                select(BillingSchedule.billed_at).where(BillingSchedule.account_id == account_id)
            )
        )
        dates = session.execute(
            select(Invoice.billing_schedule_id, Invoice.invoice_date).where(
                Invoice.account_id == account_id
            )
        ).all()
    assert len(set(dates)) == len(dates)  # no (schedule, date) twice
    return billed, Counter(str(schedule_id) for schedule_id, _ in dates)


def test_tally_worker_finishes_the_billing_pass_in_progress_on_sigterm_and_exits_0(
    settings: Settings, tmp_path: Path
) -> None:
    with scratch_database(tmp_path) as scratch:
        migrations.upgrade(scratch.engine)
        account = make_account(scratch)
        app = create_app(settings.model_copy(update={"database_url": scratch.url}), scratch)
        with TestClient(app) as http:
            merchant = Merchant(ApiClient(http, (account.api_key, account.api_secret)))
            price = merchant.price({"pricingType": "FIXED", "price": "10.00"}, name="Seat")
            customer = merchant.customer()
            for _ in range(40):
                merchant.schedule(customer, [price], "2024-01-01")
        env = clean_environment(
            TALLY_DATABASE_URL=scratch.url,
            TALLY_DATA_DIR=str(tmp_path),
            TALLY_LOG_LEVEL="debug",
            TALLY_BILLING_POLL_SECONDS="60",
        )
        with running(["worker"], env, tmp_path) as worker:
            worker.wait_for_log("background job billing started", timeout=120)
            status = worker.terminate(timeout=300)
        billed, invoices = _billing_state(scratch, account.account_id)

    assert status == 0, worker.log
    messages = [entry["message"] for entry in json_lines(worker.log)]
    order = [
        next(i for i, m in enumerate(messages) if m == text)
        for text in ("background job billing started", "SIGTERM received")
    ]
    finished = next(i for i, m in enumerate(messages) if m.startswith("background job billing:"))
    stopped = messages.index("background jobs stopped")
    assert order[0] < order[1] < finished < stopped, messages  # signalled mid-run, run finished
    # The jobs after billing waited for the next start.
    assert "background job email started" not in messages
    # Every schedule billed whole: none left half-way.
    assert len(billed) == 40 and all(billed)
    assert len(invoices) == 40 and len(set(invoices.values())) == 1
