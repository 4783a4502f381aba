"""Automatic collection against a real localstripe: finalizing schedules the invoice's
collection, the job charges the customer's saved card off session, once, however many
workers run it at the same time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.db import Database
from tally.jobs import background_jobs
from tally.models import Payment, PaymentAttempt, PaymentProviderName
from tally.payments import attempts
from tally.payments.collection import collect_due, schedule_new
from tally.settings import Settings
from tests.payments.collecting import DECLINING_CARD, GOOD_CARD, Merchant
from tests.support.api_client import ApiClient
from tests.support.localstripe import LocalStripe


@pytest.fixture
def merchant(
    api: ApiClient,
    database: Database,
    settings: Settings,
    localstripe: LocalStripe,
    account: Credentials,
) -> Merchant:
    return Merchant(api, database, settings, localstripe, account.account_id)


def _payments(merchant: Merchant, invoice_id: str) -> list[Payment]:
    with merchant.database.transaction() as session:
        rows = session.scalars(
            select(Payment).where(
                Payment.account_id == merchant.account_id, Payment.invoice_id == invoice_id
            )
        ).all()
        session.expunge_all()
    return list(rows)


def _attempts(merchant: Merchant, invoice_id: str) -> list[PaymentAttempt]:
    with merchant.database.transaction() as session:
        rows = session.scalars(
            select(PaymentAttempt)
            .where(
                PaymentAttempt.account_id == merchant.account_id,
                PaymentAttempt.invoice_id == invoice_id,
            )
            .order_by(PaymentAttempt.number)
        ).all()
        session.expunge_all()
    return list(rows)


def test_a_finalized_invoice_is_charged_to_the_saved_card_and_paid(merchant: Merchant) -> None:
    merchant.connect()
    merchant.listen()
    customer = merchant.customer()
    merchant.save_card(customer, GOOD_CARD)
    invoice_id = merchant.finalized(customer)
    assert merchant.invoice(invoice_id)["dunningStatus"] == "NOT_REQUIRED"

    report = collect_due(merchant.database, merchant.settings, account_id=merchant.account_id)

    assert report.scheduled == [invoice_id] and report.succeeded == [invoice_id]
    invoice = merchant.invoice(invoice_id)
    assert invoice["paymentStatus"] == "PAID" and invoice["dunningStatus"] == "COMPLETED"
    listed = merchant.api.get("/api/invoices", params={"customerId": customer["id"]}).json()
    assert [(i["id"], i["dunningStatus"]) for i in listed["items"]] == [(invoice_id, "COMPLETED")]
    [intent] = merchant.intents(invoice_id)
    assert intent["status"] == "succeeded" and intent["amount"] == 27000
    [payment] = _payments(merchant, invoice_id)
    assert payment.amount == Decimal("270") and payment.provider_payment_id == intent["id"]
    [attempt] = _attempts(merchant, invoice_id)
    assert attempt.off_session and attempt.status.value == "SUCCEEDED"
    assert attempt.idempotency_key.endswith(f"invoice-{invoice_id}-attempt-1")
    assert merchant.events(invoice_id) == ["PAYMENT_SUCCEEDED"]
    collection = merchant.collection(invoice_id)
    assert collection["status"] == "COMPLETED" and collection["automaticAttempts"] == 1
    assert [a["status"] for a in collection["attempts"]] == ["SUCCEEDED"]
    assert merchant.emails(invoice_id) == []

    # Another pass finds nothing to do: no second charge.
    again = collect_due(merchant.database, merchant.settings, account_id=merchant.account_id)
    assert again.scheduled == [] and again.succeeded == []
    assert len(merchant.intents(invoice_id)) == 1


def test_nothing_is_collected_without_automatic_payments(merchant: Merchant) -> None:
    merchant.connect(enabled=False)
    customer = merchant.customer()
    merchant.save_card(customer, GOOD_CARD)
    invoice_id = merchant.finalized(customer)
    report = collect_due(merchant.database, merchant.settings, account_id=merchant.account_id)
    assert report.scheduled == []
    assert merchant.stored_collection(invoice_id) is None
    assert merchant.invoice(invoice_id)["paymentStatus"] == "UNPAID"
    assert merchant.intents(invoice_id) == []


def test_drafts_and_old_invoices_are_not_collected(merchant: Merchant) -> None:
    merchant.connect()
    customer = merchant.customer()
    merchant.save_card(customer, GOOD_CARD)
    draft = merchant.draft(customer)
    finalized = merchant.finalized(customer)
    later = merchant.issue_date(finalized)
    # Seen four days on, the invoice is no longer newly issued: turning automatic payments
    # on does not charge old invoices.
    now = datetime.combine(later + timedelta(days=4), time(12), UTC)
    report = collect_due(
        merchant.database, merchant.settings, account_id=merchant.account_id, now=now
    )
    assert report.scheduled == []
    assert merchant.stored_collection(draft) is None
    assert merchant.stored_collection(finalized) is None


def test_a_customer_without_a_saved_method_is_asked_to_pay(merchant: Merchant) -> None:
    merchant.connect()
    customer = merchant.customer(email="nomethod@example.com")
    invoice_id = merchant.finalized(customer)
    today = merchant.issue_date(invoice_id)

    report = collect_due(
        merchant.database, merchant.settings, account_id=merchant.account_id, today=today
    )

    assert report.waiting == [invoice_id]
    collection = merchant.collection(invoice_id)
    assert collection["status"] == "SCHEDULED" and collection["attempts"] == []
    assert collection["lastFailure"] == "The customer has no saved payment method."
    assert collection["nextAttemptOn"] == (today + timedelta(days=1)).isoformat()
    [email] = merchant.emails(invoice_id)
    assert email.to_addresses == ["nomethod@example.com"]
    assert "could not be collected" in email.subject
    assert "no saved payment method" in email.text_body
    assert f"/invoices/{invoice_id}" in email.text_body  # the portal page with its Pay button
    assert merchant.intents(invoice_id) == []

    # The next day, still nothing saved: no second email.
    collect_due(
        merchant.database,
        merchant.settings,
        account_id=merchant.account_id,
        today=today + timedelta(days=1),
    )
    assert len(merchant.emails(invoice_id)) == 1

    # A card saved since: the next pass charges it.
    merchant.save_card(customer, GOOD_CARD)
    report = collect_due(
        merchant.database,
        merchant.settings,
        account_id=merchant.account_id,
        today=today + timedelta(days=2),
    )
    assert report.succeeded == [invoice_id]
    assert merchant.invoice(invoice_id)["paymentStatus"] == "PAID"


def _concurrently(*runs: Callable[[], object]) -> list[BaseException]:
    """Run each in its own thread, released together; the errors they raised."""
    start = threading.Barrier(len(runs))
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        start.wait()
        try:
            job()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.parametrize("card", [GOOD_CARD, DECLINING_CARD])
def test_workers_running_at_once_charge_once(merchant: Merchant, card: str) -> None:
    merchant.connect()
    customer = merchant.customer()
    merchant.save_card(customer, card)
    invoice_ids = [merchant.finalized(customer) for _ in range(3)]
    today = merchant.issue_date(invoice_ids[0])

    def job() -> object:
        return collect_due(
            merchant.database, merchant.settings, account_id=merchant.account_id, today=today
        )

    assert _concurrently(job, job, job) == []

    for invoice_id in invoice_ids:
        intents = merchant.intents(invoice_id)
        [attempt] = _attempts(merchant, invoice_id)
        assert len(intents) == 1
        assert intents[0]["metadata"]["tally_attempt_id"] == attempt.id
        if card == GOOD_CARD:
            assert len(_payments(merchant, invoice_id)) == 1
            assert merchant.payment_status(invoice_id) == "PAID"
        else:
            assert _payments(merchant, invoice_id) == []
            collection = merchant.collection(invoice_id)
            assert collection["automaticAttempts"] == 1  # the failure counted once
            assert len(merchant.emails(invoice_id)) == 1


def test_a_job_racing_a_finalize_charges_once(merchant: Merchant) -> None:
    merchant.connect()
    customer = merchant.customer()
    merchant.save_card(customer, GOOD_CARD)
    invoice_id = merchant.draft(customer)
    statuses: list[int] = []

    def finalize_then_collect() -> None:
        statuses.append(merchant.api.post(f"/api/invoices/{invoice_id}/finalize").status_code)
        collect_due(merchant.database, merchant.settings, account_id=merchant.account_id)

    def collect() -> None:
        for _ in range(3):
            collect_due(merchant.database, merchant.settings, account_id=merchant.account_id)

    assert _concurrently(finalize_then_collect, finalize_then_collect, collect, collect) == []

    assert sorted(statuses) == [200, 400]  # the second finalize is refused
    assert len(merchant.intents(invoice_id)) == 1
    assert len(_attempts(merchant, invoice_id)) == 1
    assert len(_payments(merchant, invoice_id)) == 1
    assert merchant.invoice(invoice_id)["paymentStatus"] == "PAID"


def test_an_attempt_claimed_by_a_worker_that_died_is_asked_again_with_its_key(
    merchant: Merchant,
) -> None:
    """A worker claims the attempt and dies before the provider answered: within the lease
    others leave it alone; after it, one asks again with the same idempotency key."""
    merchant.connect()
    customer = merchant.customer()
    merchant.save_card(customer, GOOD_CARD)
    invoice_id = merchant.finalized(customer)
    assert schedule_new(
        merchant.database, now=datetime.now(UTC), account_id=merchant.account_id
    ) == [invoice_id]
    with merchant.database.transaction() as session:
        attempt, new = attempts.claim(
            session,
            merchant.account_id,
            invoice_id,
            provider=PaymentProviderName.STRIPE,
            off_session=True,
        )
        key = attempt.idempotency_key
        assert new

    report = collect_due(merchant.database, merchant.settings, account_id=merchant.account_id)
    assert report.skipped == [invoice_id] and merchant.intents(invoice_id) == []

    later = datetime.now(UTC) + timedelta(minutes=16)
    report = collect_due(
        merchant.database, merchant.settings, account_id=merchant.account_id, now=later
    )
    assert report.succeeded == [invoice_id]
    [attempt_row] = _attempts(merchant, invoice_id)
    assert attempt_row.idempotency_key == key and attempt_row.status.value == "SUCCEEDED"
    assert len(merchant.intents(invoice_id)) == 1


def test_the_worker_runs_the_collection_job(settings: Settings) -> None:
    [job] = [job for job in background_jobs(settings) if job.name == "collection"]
    assert callable(job.run)
