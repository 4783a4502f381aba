"""Webhooks delivered for real: events from API changes, POSTed by `deliver_due` to an HTTP
server in this process, signed as Sequence signs, retried with exponential backoff."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from tally.accounts.service import Credentials
from tally.core.clock import utcnow
from tally.customers import service as customers
from tally.customers.schemas import CustomerIn
from tally.db import Database
from tally.models import NotificationEvent, WebhookDelivery
from tally.notifications.webhooks import DeliveryReport, deliver_due
from tally.settings import Settings
from tests.factories import customer_body, new_customer
from tests.notifications.webhook_support import (
    Receiver,
    deliveries,
    receivers,  # noqa: F401 - the fixture
    signed_by,
    start,
    webhook_policy,
)
from tests.schedules.helpers import Setup, phase
from tests.support.api_client import ApiClient


@pytest.fixture
def hooks(settings: Settings) -> Settings:
    """Quick to give up on a silent receiver; the default backoff (30 s) and attempts (8)."""
    return settings.model_copy(update={"webhook_timeout_seconds": 2.0})


def test_a_webhook_arrives_signed_with_the_customer_as_the_api_shows_it(
    api: ApiClient,
    account: Credentials,
    database: Database,
    hooks: Settings,
    receivers: list[Receiver],  # noqa: F811
) -> None:
    receiver = start(receivers)
    policy = webhook_policy(api, receiver.url, "CUSTOMER_CREATED")
    assert policy["webhookSecret"].startswith("whsec_")
    customer = new_customer(api)

    report = deliver_due(database, hooks)

    assert report.delivered >= 1
    (arrival,) = receiver.arrivals
    assert arrival.headers["content-type"] == "application/json"
    assert signed_by(arrival, policy["webhookSecret"])
    assert not signed_by(arrival, "whsec_someone-else")
    assert arrival.envelope == {
        "notificationType": "CUSTOMER_CREATED",
        "sequenceAccountId": account.account_id,
        "resourceType": "CustomerResponse",
        "resourceId": customer["id"],
        "resource": api.get(f"/api/customers/{customer['id']}").json(),
    }
    assert arrival.envelope["resource"] == customer

    (logged,) = deliveries(api, policy["id"])
    assert logged["status"] == "DELIVERED"
    assert (logged["attempts"], logged["responseStatus"]) == (1, 200)
    assert logged["eventId"] == arrival.event_id
    assert logged["notificationType"] == "CUSTOMER_CREATED"
    assert logged["resourceId"] == customer["id"]
    assert logged["url"] == receiver.url
    assert "deliveredAt" in logged
    assert "nextAttemptAt" not in logged
    assert [entry["responseStatus"] for entry in logged["attemptLog"]] == [200]

    deliver_due(database, hooks, utcnow() + timedelta(days=1))
    assert len(receiver.arrivals) == 1  # delivered once, never again


def test_a_failing_receiver_is_retried_with_exponential_backoff_until_it_answers(
    api: ApiClient,
    database: Database,
    hooks: Settings,
    receivers: list[Receiver],  # noqa: F811
) -> None:
    receiver = start(receivers, statuses=[500, 500, 200])
    policy = webhook_policy(api, receiver.url)
    new_customer(api)
    now = utcnow()

    def attempt(after_seconds: float) -> list[dict[str, Any]]:
        deliver_due(database, hooks, now + timedelta(seconds=after_seconds))
        return deliveries(api, policy["id"])

    (first,) = attempt(0)
    assert (first["status"], first["attempts"], first["responseStatus"]) == ("PENDING", 1, 500)
    assert first["lastError"] == "answered 500"  # Tally's words, never the receiver's
    assert "receiver says no" not in json.dumps(first)
    assert datetime.fromisoformat(first["nextAttemptAt"]) == now + timedelta(seconds=30)

    assert attempt(29)[0]["attempts"] == 1  # not due yet: 30 s after the first attempt
    second = attempt(31)[0]
    assert (second["status"], second["attempts"]) == ("PENDING", 2)
    # Twice the wait after the second failure: 60 s.
    assert datetime.fromisoformat(second["nextAttemptAt"]) == now + timedelta(seconds=91)
    assert attempt(90)[0]["attempts"] == 2
    third = attempt(92)[0]

    assert (third["status"], third["attempts"], third["responseStatus"]) == ("DELIVERED", 3, 200)
    log = third["attemptLog"]
    assert [entry["attempt"] for entry in log] == [1, 2, 3]
    assert [entry["responseStatus"] for entry in log] == [500, 500, 200]
    assert [("error" in entry) for entry in log] == [True, True, False]
    assert len(receiver.arrivals) == 3
    assert len({a.body for a in receiver.arrivals}) == 1  # the same envelope every time
    assert len({a.event_id for a in receiver.arrivals}) == 1
    assert all(signed_by(a, policy["webhookSecret"]) for a in receiver.arrivals)
    attempt(10_000)
    assert len(receiver.arrivals) == 3


def test_a_delivery_fails_after_its_last_attempt(
    api: ApiClient,
    database: Database,
    settings: Settings,
    receivers: list[Receiver],  # noqa: F811
) -> None:
    receiver = start(receivers, statuses=[503] * 10)
    hooks = settings.model_copy(update={"delivery_max_attempts": 3, "delivery_backoff_seconds": 10})
    policy = webhook_policy(api, receiver.url, "CUSTOMER_CREATED")
    new_customer(api)
    now = utcnow()
    reports = [deliver_due(database, hooks, now + timedelta(seconds=s)) for s in (0, 11, 32, 1000)]

    (failed,) = deliveries(api, policy["id"])
    assert (failed["status"], failed["attempts"], failed["responseStatus"]) == ("FAILED", 3, 503)
    assert "nextAttemptAt" not in failed
    assert len(failed["attemptLog"]) == 3
    assert len(receiver.arrivals) == 3  # and nothing after the last attempt
    assert sum(r.failed for r in reports) >= 1
    assert deliveries(api, policy["id"], status="FAILED") == [failed]
    assert deliveries(api, policy["id"], status="PENDING") == []


def test_no_answer_in_time_and_no_server_are_failed_attempts(
    api: ApiClient,
    database: Database,
    settings: Settings,
    receivers: list[Receiver],  # noqa: F811
) -> None:
    silent = start(receivers, delay=3.0)
    closed = start(receivers)
    closed.close()
    hooks = settings.model_copy(update={"webhook_timeout_seconds": 0.5})
    slow = webhook_policy(api, silent.url, "CUSTOMER_CREATED")
    gone = webhook_policy(api, closed.url, "CUSTOMER_CREATED")
    new_customer(api)

    deliver_due(database, hooks)

    (timed_out,) = deliveries(api, slow["id"])
    assert (timed_out["status"], timed_out["attempts"]) == ("PENDING", 1)
    assert timed_out["lastError"] == "timed out after 0.5 s"
    assert "responseStatus" not in timed_out
    (refused,) = deliveries(api, gone["id"])
    assert (refused["status"], refused["attempts"]) == ("PENDING", 1)
    assert refused["lastError"] == "connection refused"


def test_policies_receive_only_the_types_they_list(
    api: ApiClient,
    database: Database,
    hooks: Settings,
    receivers: list[Receiver],  # noqa: F811
) -> None:
    everything, updates, schedules = (start(receivers) for _ in range(3))
    webhook_policy(api, everything.url)
    webhook_policy(api, updates.url, "CUSTOMER_UPDATED")
    webhook_policy(api, schedules.url, "BILLING_SCHEDULE_CREATED", "BILLING_SCHEDULE_ARCHIVED")
    customer = new_customer(api)
    api.put(f"/api/customers/{customer['id']}", json=customer_body(legalName="Renamed Ltd"))
    api.post(f"/api/customers/{customer['id']}/archive")

    deliver_due(database, hooks)

    def received(receiver: Receiver) -> list[str]:
        return sorted(a.envelope["notificationType"] for a in receiver.arrivals)

    assert received(everything) == ["CUSTOMER_ARCHIVED", "CUSTOMER_CREATED", "CUSTOMER_UPDATED"]
    assert received(updates) == ["CUSTOMER_UPDATED"]
    (update,) = updates.arrivals
    assert update.envelope["resource"]["legalName"] == "Renamed Ltd"
    assert received(schedules) == []


def test_billing_schedule_events_carry_the_schedule_with_exact_amounts(
    api: ApiClient,
    database: Database,
    hooks: Settings,
    receivers: list[Receiver],  # noqa: F811
) -> None:
    receiver = start(receivers)
    setup = Setup(api)
    webhook_policy(api, receiver.url, "BILLING_SCHEDULE_CREATED", "BILLING_SCHEDULE_ARCHIVED")
    discount = {"type": "NOMINAL", "amount": "AMOUNT", "message": "E", "separateLineItem": True}
    body = setup.body(phases=[phase([setup.price_id], discounts=[discount])])
    raw = json.dumps(body).replace('"AMOUNT"', "123456789.123456789012")  # beyond a float
    created = api.post(
        "/api/billing-schedules", content=raw, headers={"Content-Type": "application/json"}
    )
    assert created.status_code == 201, created.text
    schedule = created.json()
    api.post(f"/api/customers/{setup.customer_id}/archive")  # archives its schedules too

    deliver_due(database, hooks)

    arrivals = {a.envelope["notificationType"]: a for a in receiver.arrivals}
    assert sorted(arrivals) == ["BILLING_SCHEDULE_ARCHIVED", "BILLING_SCHEDULE_CREATED"]
    created_event = arrivals["BILLING_SCHEDULE_CREATED"]
    assert created_event.envelope["resourceType"] == "BillingScheduleResponse"
    assert created_event.envelope["resourceId"] == schedule["id"]
    assert created_event.envelope["resource"] == schedule
    assert b'"amount":123456789.123456789012' in created_event.body  # every digit, no float
    archived = arrivals["BILLING_SCHEDULE_ARCHIVED"].envelope["resource"]
    assert archived == api.get(f"/api/billing-schedules/{schedule['id']}").json()
    assert archived["archivedAt"]


def test_merchant_updates_are_announced(
    api: ApiClient,
    account: Credentials,
    database: Database,
    hooks: Settings,
    receivers: list[Receiver],  # noqa: F811
) -> None:
    receiver = start(receivers)
    webhook_policy(api, receiver.url, "MERCHANT_UPDATED")
    url = f"/api/sequence-accounts/{account.account_id}"
    assert api.put(url, json={"companyName": "Renamed merchant"}).status_code == 200

    deliver_due(database, hooks)

    (arrival,) = receiver.arrivals
    assert arrival.envelope["resourceType"] == "SequenceAccount"
    assert arrival.envelope["resource"] == api.get(url).json()
    assert arrival.envelope["resource"]["companyName"] == "Renamed merchant"


def test_another_accounts_policy_hears_nothing(
    api: ApiClient,
    other_api: ApiClient,
    database: Database,
    hooks: Settings,
    receivers: list[Receiver],  # noqa: F811
) -> None:
    theirs = start(receivers)
    webhook_policy(other_api, theirs.url)
    new_customer(api)
    deliver_due(database, hooks)
    assert theirs.arrivals == []

    new_customer(other_api, "Their customer")
    deliver_due(database, hooks)
    assert [a.envelope["resource"]["legalName"] for a in theirs.arrivals] == ["Their customer"]


def test_a_rolled_back_change_announces_nothing(
    api: ApiClient,
    account: Credentials,
    database: Database,
    hooks: Settings,
    receivers: list[Receiver],  # noqa: F811
) -> None:
    receiver = start(receivers)
    webhook_policy(api, receiver.url)
    with database.session() as session:
        customers.create_customer(
            session, account.account_id, CustomerIn.model_validate(customer_body())
        )
        # The event and its delivery are in the transaction of the change ...
        queued = session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.account_id == account.account_id)
        )
        assert queued == 1
        session.rollback()  # ... and go with it

    deliver_due(database, hooks, utcnow() + timedelta(hours=1))

    with database.session(write=False) as session:
        events = session.scalar(
            select(func.count())
            .select_from(NotificationEvent)
            .where(NotificationEvent.account_id == account.account_id)
        )
    assert events == 0
    assert receiver.arrivals == []


def test_removed_recipients_and_deleted_policies_stop_pending_deliveries(
    api: ApiClient,
    database: Database,
    hooks: Settings,
    receivers: list[Receiver],  # noqa: F811
) -> None:
    kept, removed, deleted = (start(receivers) for _ in range(3))
    shared = webhook_policy(api, kept.url, "CUSTOMER_CREATED")
    api.post(
        f"/api/notifications/policies/{shared['id']}/recipients", json={"recipients": [removed.url]}
    )
    doomed = webhook_policy(api, deleted.url, "CUSTOMER_CREATED")
    new_customer(api)
    assert (
        api.delete(
            f"/api/notifications/policies/{shared['id']}/recipients/{quote(removed.url, safe='')}"
        ).status_code
        == 200
    )
    assert api.delete(f"/api/notifications/policies/{doomed['id']}").status_code == 200

    report = deliver_due(database, hooks)

    assert len(kept.arrivals) == 1
    assert removed.arrivals == deleted.arrivals == []
    assert report.stopped >= 2
    by_url = {d["url"]: d for d in deliveries(api, shared["id"])}
    assert by_url[kept.url]["status"] == "DELIVERED"
    assert by_url[removed.url]["status"] == "FAILED"
    assert by_url[removed.url]["attempts"] == 0
    assert "removed" in by_url[removed.url]["lastError"]


def test_two_workers_never_send_one_delivery_twice(
    api: ApiClient,
    database: Database,
    hooks: Settings,
    receivers: list[Receiver],  # noqa: F811
) -> None:
    receiver = start(receivers, delay=0.02)
    policy = webhook_policy(api, receiver.url, "CUSTOMER_CREATED")
    for n in range(24):
        new_customer(api, f"Customer {n}")
    now = utcnow()
    barrier = threading.Barrier(2)
    reports: list[DeliveryReport] = []

    def worker() -> None:
        barrier.wait()
        reports.append(deliver_due(database, hooks, now, batch=3))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    event_ids = [a.event_id for a in receiver.arrivals]
    assert len(event_ids) == 24
    assert len(set(event_ids)) == 24
    assert all(r.delivered > 0 for r in reports), "both workers took a share"
    logged = deliveries(api, policy["id"], limit=100)
    assert {(d["status"], d["attempts"]) for d in logged} == {("DELIVERED", 1)}
