"""Dunning against a real localstripe: a card that saves fine and is declined when charged
walks the retry schedule to UNCOLLECTIBLE, with escalating emails and a webhook event for
each payment event; pausing stops the attempts, resuming restarts them."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.db import Database
from tally.invoices.lifecycle import void
from tally.models import (
    Account,
    AccountPaymentSettings,
    CustomerDunningPause,
    FailureNotificationOption,
    Invoice,
    NotificationEvent,
    RetryAnchor,
)
from tally.payments.collection import CollectionReport, collect_due
from tally.payments.dunning import RetryRules, next_retry
from tally.settings import Settings
from tests.payments.collecting import DECLINING_CARD, GOOD_CARD, Merchant
from tests.support.api_client import ApiClient
from tests.support.localstripe import LocalStripe

ALERTS = ["finance@merchant.example"]


@pytest.fixture
def merchant(
    api: ApiClient,
    database: Database,
    settings: Settings,
    localstripe: LocalStripe,
    account: Credentials,
) -> Merchant:
    return Merchant(api, database, settings, localstripe, account.account_id)


def _run(merchant: Merchant, today: date) -> CollectionReport:
    return collect_due(
        merchant.database, merchant.settings, account_id=merchant.account_id, today=today
    )


def _notify(
    merchant: Merchant,
    *,
    customers: FailureNotificationOption = FailureNotificationOption.SEND_NOTIFICATIONS,
    merchants: FailureNotificationOption = FailureNotificationOption.SEND_NOTIFICATIONS,
) -> None:
    with merchant.database.transaction() as session:
        account = session.get(Account, merchant.account_id)
        assert account is not None
        account.alert_email_addresses = list(ALERTS)
        session.add(
            AccountPaymentSettings(
                account_id=merchant.account_id,
                customer_notifications=customers,
                merchant_notifications=merchants,
            )
        )


def _declining(merchant: Merchant, **connect: Any) -> tuple[str, date]:
    merchant.connect(**connect)
    merchant.listen()
    customer = merchant.customer(email="payer@example.com")
    merchant.save_card(customer, DECLINING_CARD)
    invoice_id = merchant.finalized(customer)
    return invoice_id, merchant.issue_date(invoice_id)


def _activity(merchant: Merchant, object_id: str) -> list[tuple[str, str]]:
    page = merchant.api.get("/api/activity-logs", params={"activityLogObjectId": object_id})
    assert page.status_code == 200, page.text
    items = [log["activityLogItems"][0] for log in page.json()["items"]]
    return [(item["verb"], item["summary"]) for item in items]


def test_a_declined_card_walks_the_retry_schedule_to_uncollectible(merchant: Merchant) -> None:
    _notify(merchant)
    invoice_id, issued = _declining(merchant)
    day = issued

    # Day 0: the first attempt fails; a retry is set for the anchor (the issue date) + 3.
    assert _run(merchant, day).failed == [invoice_id]
    collection = merchant.collection(invoice_id)
    assert collection["status"] == "SCHEDULED" and collection["automaticAttempts"] == 1
    assert collection["nextAttemptOn"] == (issued + timedelta(days=3)).isoformat()
    assert collection["lastFailure"] == "Your card was declined."
    assert merchant.invoice(invoice_id)["dunningStatus"] == "SCHEDULED"
    [first] = merchant.emails(invoice_id)
    assert first.to_addresses == ["payer@example.com"] and first.cc_addresses == ALERTS
    assert "failed" in first.subject and "Action required" not in first.subject
    retry_day = issued + timedelta(days=3)
    assert f"We'll retry on {retry_day.day} " in first.text_body
    assert f"/invoices/{invoice_id}" in first.text_body and "Pay now" in (first.html_body or "")

    # Nothing is due before the retry date.
    for quiet in (issued + timedelta(days=1), issued + timedelta(days=2)):
        report = _run(merchant, quiet)
        assert report.failed == [] and report.uncollectible == []
    assert len(merchant.intents(invoice_id)) == 1

    # Days 3 and 7: the retries fail, the emails get firmer.
    for retry, following in ((3, 7), (7, 14)):
        assert _run(merchant, issued + timedelta(days=retry)).failed == [invoice_id]
        collection = merchant.collection(invoice_id)
        assert collection["nextAttemptOn"] == (issued + timedelta(days=following)).isoformat()
        latest = merchant.emails(invoice_id)[-1]
        assert latest.subject.startswith("Action required:")
        assert "marked uncollectible" in latest.text_body  # what happens if it keeps failing

    # Day 14: the last retry fails: FAILED, and the invoice is UNCOLLECTIBLE.
    assert _run(merchant, issued + timedelta(days=14)).uncollectible == [invoice_id]
    invoice = merchant.invoice(invoice_id)
    assert invoice["paymentStatus"] == "UNCOLLECTIBLE" and invoice["dunningStatus"] == "FAILED"
    collection = merchant.collection(invoice_id)
    assert collection["status"] == "FAILED" and "nextAttemptOn" not in collection
    assert collection["automaticAttempts"] == 4
    assert [a["status"] for a in collection["attempts"]] == ["FAILED"] * 4
    final = merchant.emails(invoice_id)[-1]
    assert final.subject.endswith("is marked uncollectible")
    assert len(merchant.emails(invoice_id)) == 4

    # One PaymentIntent per attempt, each declined; no payment recorded.
    intents = merchant.intents(invoice_id)
    assert len(intents) == 4
    assert len({i["metadata"]["tally_attempt_id"] for i in intents}) == 4
    assert all(i["status"] != "succeeded" for i in intents)

    # A webhook event for each: four failures, then uncollectible, the invoice as resource.
    assert merchant.events(invoice_id) == ["PAYMENT_FAILED"] * 4 + ["INVOICE_UNCOLLECTIBLE"]
    with merchant.database.transaction() as session:
        resource = session.scalars(
            select(NotificationEvent.resource).where(
                NotificationEvent.account_id == merchant.account_id,
                NotificationEvent.resource_id == invoice_id,
                NotificationEvent.notification_type == "INVOICE_UNCOLLECTIBLE",
            )
        ).one()
    assert resource is not None
    sent = json.loads(resource)
    assert (sent["id"], sent["paymentStatus"], sent["dunningStatus"]) == (
        invoice_id,
        "UNCOLLECTIBLE",
        "FAILED",
    )
    verbs = [verb for verb, _ in _activity(merchant, invoice_id)]
    assert "UNCOLLECTIBLE" in verbs

    # Later passes try no more.
    assert _run(merchant, issued + timedelta(days=30)).failed == []
    assert len(merchant.intents(invoice_id)) == 4


def test_retries_count_from_the_due_date_and_never_from_the_past(merchant: Merchant) -> None:
    invoice_id, issued = _declining(merchant, offsets=[1, 40], anchor=RetryAnchor.DUE_DATE)
    due = date.fromisoformat(merchant.invoice(invoice_id)["dueDate"])
    assert due > issued

    # First attempt a day after issue: due date + 1 is the first retry.
    _run(merchant, issued)
    assert (
        merchant.collection(invoice_id)["nextAttemptOn"]
        == (max(due + timedelta(days=1), issued + timedelta(days=1))).isoformat()
    )

    # Charged long after that retry was due: the next is not in the past but tomorrow at the
    # earliest (here due + 40, if still ahead, else tomorrow).
    late = due + timedelta(days=45)
    _run(merchant, late)
    assert (
        merchant.collection(invoice_id)["nextAttemptOn"] == (late + timedelta(days=1)).isoformat()
    )


def test_without_customer_notifications_the_merchant_is_told(merchant: Merchant) -> None:
    _notify(merchant, customers=FailureNotificationOption.DO_NOT_SEND_NOTIFICATIONS)
    invoice_id, issued = _declining(merchant)
    _run(merchant, issued)
    [notice] = merchant.emails(invoice_id)
    assert notice.to_addresses == ALERTS and notice.cc_addresses == []
    assert notice.subject.startswith("[Example Ltd] ")


def test_without_any_notifications_no_email_goes(merchant: Merchant) -> None:
    off = FailureNotificationOption.DO_NOT_SEND_NOTIFICATIONS
    _notify(merchant, customers=off, merchants=off)
    invoice_id, issued = _declining(merchant)
    assert _run(merchant, issued).failed == [invoice_id]
    assert merchant.emails(invoice_id) == []
    assert merchant.events(invoice_id) == ["PAYMENT_FAILED"]  # webhooks are not emails


def test_merchant_copies_are_left_out_when_merchants_are_not_notified(merchant: Merchant) -> None:
    _notify(merchant, merchants=FailureNotificationOption.DO_NOT_SEND_NOTIFICATIONS)
    invoice_id, issued = _declining(merchant)
    _run(merchant, issued)
    [email] = merchant.emails(invoice_id)
    assert email.to_addresses == ["payer@example.com"] and email.cc_addresses == []


def test_pausing_an_invoice_stops_its_attempts_and_resuming_restarts_them(
    merchant: Merchant,
) -> None:
    invoice_id, issued = _declining(merchant)
    _run(merchant, issued)
    paused = merchant.api.post(f"/api/invoices/{invoice_id}/collection/pause")
    assert paused.status_code == 200, paused.text
    assert paused.json()["paused"] is True and paused.json()["pausedAt"]
    # Pausing again changes nothing (and logs nothing).
    assert merchant.api.post(f"/api/invoices/{invoice_id}/collection/pause").status_code == 200

    retry = issued + timedelta(days=3)
    assert _run(merchant, retry).failed == []
    assert _run(merchant, retry + timedelta(days=5)).failed == []
    assert len(merchant.intents(invoice_id)) == 1

    resumed = merchant.api.post(f"/api/invoices/{invoice_id}/collection/resume")
    assert resumed.status_code == 200 and resumed.json()["paused"] is False
    # Overdue since the retry date: attempted at the next pass.
    assert _run(merchant, retry + timedelta(days=5)).failed == [invoice_id]
    assert len(merchant.intents(invoice_id)) == 2
    verbs = [verb for verb, _ in _activity(merchant, invoice_id)]
    assert verbs.count("COLLECTION_PAUSED") == 1 and verbs.count("COLLECTION_RESUMED") == 1


def test_pausing_a_customer_stops_every_invoice_of_theirs(merchant: Merchant) -> None:
    merchant.connect()
    customer = merchant.customer()
    merchant.save_card(customer, GOOD_CARD)
    paused = merchant.api.post(f"/api/customers/{customer['id']}/collection/pause")
    assert paused.status_code == 200, paused.text
    assert paused.json() == {
        "customerId": customer["id"],
        "paused": True,
        "pausedAt": paused.json()["pausedAt"],
    }
    invoice_id = merchant.finalized(customer)
    today = merchant.issue_date(invoice_id)

    report = _run(merchant, today)
    assert report.scheduled == [invoice_id] and report.succeeded == []
    collection = merchant.collection(invoice_id)
    assert collection["paused"] is True and "pausedAt" not in collection
    assert collection["customerPausedAt"] == paused.json()["pausedAt"]
    assert merchant.intents(invoice_id) == []

    resumed = merchant.api.post(f"/api/customers/{customer['id']}/collection/resume")
    assert resumed.status_code == 200 and resumed.json()["paused"] is False
    assert _run(merchant, today).succeeded == [invoice_id]
    assert merchant.invoice(invoice_id)["paymentStatus"] == "PAID"
    verbs = [verb for verb, _ in _activity(merchant, customer["id"])]
    assert "COLLECTION_PAUSED" in verbs and "COLLECTION_RESUMED" in verbs
    # Pauses are kept, never deleted: the lifted one has its resumed_at.
    with merchant.database.transaction() as session:
        pauses = session.scalars(
            select(CustomerDunningPause).where(
                CustomerDunningPause.account_id == merchant.account_id,
                CustomerDunningPause.customer_id == customer["id"],
            )
        ).all()
        assert len(pauses) == 1 and pauses[0].resumed_at is not None


def test_pausing_what_is_not_collected_is_refused(merchant: Merchant, other_api: ApiClient) -> None:
    merchant.connect()
    customer = merchant.customer()
    invoice_id = merchant.finalized(customer)  # not collected yet: the job has not run
    refused = merchant.api.post(f"/api/invoices/{invoice_id}/collection/pause")
    assert refused.status_code == 400
    assert refused.json()["error"]["type"] == "InvalidStateTransition"
    assert merchant.collection(invoice_id)["status"] == "NOT_REQUIRED"

    # Another account's invoice and customer are not found.
    for url in (
        f"/api/invoices/{invoice_id}/collection",
        f"/api/invoices/{invoice_id}/collection/pause",
        f"/api/customers/{customer['id']}/collection/pause",
        f"/api/customers/{customer['id']}/collection/resume",
    ):
        method = other_api.get if url.endswith("collection") else other_api.post
        assert method(url).status_code == 404, url


def test_a_collection_ends_when_the_invoice_is_paid_otherwise(merchant: Merchant) -> None:
    invoice_id, issued = _declining(merchant)
    _run(merchant, issued)
    with merchant.database.transaction() as session:
        invoice = session.scalars(
            select(Invoice).where(
                Invoice.account_id == merchant.account_id, Invoice.id == invoice_id
            )
        ).one()
        account = session.get(Account, merchant.account_id)
        assert account is not None
        void(session, account, invoice.id)
    _run(merchant, issued + timedelta(days=3))
    assert merchant.collection(invoice_id)["status"] == "NOT_REQUIRED"
    assert len(merchant.intents(invoice_id)) == 1
    refused = merchant.api.post(f"/api/invoices/{invoice_id}/collection/pause")
    assert refused.status_code == 400


@given(
    offsets=st.lists(st.integers(min_value=0, max_value=90), max_size=6),
    anchor=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    lateness=st.integers(min_value=-30, max_value=200),
    failures=st.integers(min_value=1, max_value=8),
)
def test_the_next_retry_follows_the_offsets_and_is_never_in_the_past(
    offsets: list[int], anchor: date, lateness: int, failures: int
) -> None:
    rules = RetryRules(RetryAnchor.SENT_DATE, offsets)
    today = anchor + timedelta(days=lateness)
    retry = next_retry(rules, anchor, failures, today)
    if failures - 1 >= len(offsets):
        assert retry is None  # every retry was made: the collection fails
    else:
        assert retry is not None and retry > today
        scheduled = anchor + timedelta(days=offsets[failures - 1])
        assert retry == max(scheduled, today + timedelta(days=1))
