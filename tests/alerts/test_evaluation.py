"""Alerts fire once per crossing: usage and spend once per period (again in the next one),
balances once per fall below the level (again after recovering); exactly at the threshold
counts; the webhook and the emails go with the firing, never without, never twice."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI

from tally.accounts.service import Credentials
from tally.core.clock import utcnow
from tally.db import Database
from tally.models import LedgerEntryType
from tests.alerts.helpers import (
    account_of,
    alert_emails,
    create_alert,
    drain,
    evaluate_at,
    firings,
    triggered,
)
from tests.credits.helpers import grant, move
from tests.factories import customer_body
from tests.metering.helpers import create_metric, send
from tests.metering.test_concurrency import post_batch, together
from tests.notifications.webhook_support import webhook_policy
from tests.support.api_client import ApiClient

HOOK = "http://127.0.0.1:9/alerts"  # never delivered here: the events queued are counted


def calls(
    alias: str, count: int, at: datetime | None = None, prefix: str = "e"
) -> list[dict[str, Any]]:
    when = (at or utcnow()).isoformat()
    return [
        {
            "customerAlias": alias,
            "eventType": "api_call",
            "eventTimestamp": when,
            "customerEventId": f"{prefix}-{alias}-{i}",
            "eventProperties": {},
        }
        for i in range(count)
    ]


@pytest.fixture
def usage_alert(api: ApiClient) -> dict[str, Any]:
    """A customer (alias "acme-<n>"), a COUNT metric, a USAGE alert at 10, a webhook."""
    alias = "acme-crm-1"
    customer = api.post("/api/customers", json=customer_body())
    assert customer.status_code == 201, customer.text
    body = {"customerId": customer.json()["id"], "value": alias}
    assert api.post("/api/customer-aliases", json=body).status_code == 201
    metric = create_metric(api, aggregationType="COUNT")
    webhook_policy(api, HOOK, "ALERT_TRIGGERED")
    alert = create_alert(
        api,
        customerId=customer.json()["id"],
        metricId=metric["id"],
        threshold="10",
        emailAddresses=["ops@example.com"],
    )
    return {"alias": alias, "customer": customer.json()["id"], "alert": alert, "metric": metric}


def test_one_big_batch_crossing_fires_once_with_its_webhook(
    api: ApiClient, database: Database, usage_alert: dict[str, Any]
) -> None:
    account_id = account_of(api)
    drain(database)  # creating the alert queued its customer: nothing crossed yet
    assert firings(database, account_id, usage_alert["alert"]["id"]) == []
    send(api, *calls(usage_alert["alias"], 25))
    drain(database)
    drain(database)
    fired = firings(database, account_id, usage_alert["alert"]["id"])
    assert len(fired) == 1
    assert fired[0].value == Decimal(25)
    assert fired[0].threshold == Decimal(10)
    events = triggered(database, account_id)
    assert len(events) == 1
    resource = events[0]
    assert resource["id"] == fired[0].id
    assert resource["alert"]["id"] == usage_alert["alert"]["id"]
    assert resource["customerId"] == usage_alert["customer"]
    assert resource["value"] == "25"
    assert resource["threshold"] == "10"
    today = utcnow().date()
    assert resource["periodStart"] == today.replace(day=1).isoformat()
    assert resource["periodKey"] == f"period:{today.replace(day=1).isoformat()}"
    emails = alert_emails(database, account_id)
    assert [e.to_addresses for e in emails] == [["ops@example.com"]]
    assert "25" in emails[0].text_body
    # The firing is listed under its alert.
    listed = api.get(f"/api/alerts/{usage_alert['alert']['id']}/firings").json()["items"]
    assert [item["id"] for item in listed] == [fired[0].id]
    # More usage in the same period fires nothing more.
    send(api, *calls(usage_alert["alias"], 5, prefix="more"))
    drain(database)
    assert len(firings(database, account_id, usage_alert["alert"]["id"])) == 1
    assert len(triggered(database, account_id)) == 1


def test_exactly_at_the_threshold_fires_and_below_it_does_not(
    api: ApiClient, database: Database, usage_alert: dict[str, Any]
) -> None:
    account_id = account_of(api)
    send(api, *calls(usage_alert["alias"], 9))
    drain(database)
    assert firings(database, account_id, usage_alert["alert"]["id"]) == []
    status = api.get(f"/api/alert-status/{usage_alert['customer']}").json()["items"]
    assert [(s["value"], s["fired"], s["progress"]) for s in status] == [("9", False, "0.9000")]
    send(api, *calls(usage_alert["alias"], 1, prefix="tenth"))
    drain(database)
    fired = firings(database, account_id, usage_alert["alert"]["id"])
    assert [f.value for f in fired] == [Decimal(10)]
    status = api.get(f"/api/alert-status/{usage_alert['customer']}").json()["items"]
    assert [(s["value"], s["fired"]) for s in status] == [("10", True)]


def test_a_new_period_fires_again(
    api: ApiClient, database: Database, usage_alert: dict[str, Any]
) -> None:
    account_id = account_of(api)
    today = utcnow().date()
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    send(api, *calls(usage_alert["alias"], 12))
    drain(database)
    at = datetime(following.year, following.month, 2, 12, tzinfo=UTC)
    # Next month's usage, evaluated then: the period resets, the crossing fires again.
    evaluate_at(database, account_id, [usage_alert["customer"]], at)
    assert len(firings(database, account_id, usage_alert["alert"]["id"])) == 1  # no usage yet
    send(api, *calls(usage_alert["alias"], 10, at=at, prefix="next"))
    evaluate_at(database, account_id, [usage_alert["customer"]], at)
    evaluate_at(database, account_id, [usage_alert["customer"]], at)
    fired = firings(database, account_id, usage_alert["alert"]["id"])
    assert [f.period_key for f in fired] == [f"period:{first}", f"period:{following}"]
    assert len(triggered(database, account_id)) == 2


def test_concurrent_batches_and_evaluators_fire_exactly_once(
    app: FastAPI,
    api: ApiClient,
    account: Credentials,
    database: Database,
    usage_alert: dict[str, Any],
) -> None:
    account_id = account_of(api)
    drain(database)
    auth = (account.api_key, account.api_secret)
    batches = [calls(usage_alert["alias"], 4, prefix=f"b{b}") for b in range(6)]
    responses = together(app, auth, [post_batch(batch) for batch in batches])
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    # Several evaluators at once, each reading the same crossing.
    barrier = threading.Barrier(4, timeout=60)

    def evaluator() -> None:
        barrier.wait()
        evaluate_at(database, account_id, [usage_alert["customer"]])

    threads = [threading.Thread(target=evaluator) for _ in range(3)]
    threads.append(threading.Thread(target=lambda: (barrier.wait(), drain(database))))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drain(database)
    fired = firings(database, account_id, usage_alert["alert"]["id"])
    assert len(fired) == 1
    assert fired[0].value >= 10
    assert len(triggered(database, account_id)) == 1
    assert len(alert_emails(database, account_id)) == 1


def test_a_balance_alert_fires_below_the_level_and_rearms_after_recovering(
    api: ApiClient, database: Database
) -> None:
    account_id = account_of(api)
    customer = api.post(
        "/api/customers",
        json=customer_body(
            contacts=[
                {"name": "Billing", "email": "billing@acme.example", "billingPreference": "PRIMARY"}
            ]
        ),
    )
    assert customer.status_code == 201, customer.text
    customer_id = customer.json()["id"]
    webhook_policy(api, HOOK, "ALERT_TRIGGERED")
    credits = grant(api, customer_id, amount=100, currency="EUR", costOfCredit=0)
    alert = create_alert(
        api,
        name="Low balance",
        type="CREDIT_BALANCE",
        customerId=customer_id,
        currency="EUR",
        threshold="50",
        notifyCustomer=True,
    )
    evaluate_at(database, account_id, [customer_id])
    assert firings(database, account_id, alert["id"]) == []
    today = utcnow().date()
    # Exactly at the level is not below it.
    move(database, account_id, credits, LedgerEntryType.DEBIT, Decimal(-50), today, "d1")
    evaluate_at(database, account_id, [customer_id])
    assert firings(database, account_id, alert["id"]) == []
    move(database, account_id, credits, LedgerEntryType.DEBIT, Decimal("-0.01"), today, "d2")
    evaluate_at(database, account_id, [customer_id])
    evaluate_at(database, account_id, [customer_id])
    fired = firings(database, account_id, alert["id"])
    assert [(f.period_key, f.value, f.resolved_at) for f in fired] == [
        ("crossing:1", Decimal("49.99"), None)
    ]
    # Back at the level: resolved, re-armed; falling again fires the next crossing.
    move(database, account_id, credits, LedgerEntryType.RESTORE, Decimal("0.01"), today, "r1")
    evaluate_at(database, account_id, [customer_id])
    assert firings(database, account_id, alert["id"])[0].resolved_at is not None
    move(database, account_id, credits, LedgerEntryType.DEBIT, Decimal(-10), today, "d3")
    evaluate_at(database, account_id, [customer_id])
    evaluate_at(database, account_id, [customer_id])
    fired = firings(database, account_id, alert["id"])
    assert [(f.period_key, f.value) for f in fired] == [
        ("crossing:1", Decimal("49.99")),
        ("crossing:2", Decimal(40)),
    ]
    assert len(triggered(database, account_id)) == 2
    emails = alert_emails(database, account_id)
    assert [e.to_addresses for e in emails] == [["billing@acme.example"]] * 2
