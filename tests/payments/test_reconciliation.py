"""Reconciliation: a payment whose webhook never came (no endpoint registered with localstripe)
is brought to what Stripe reports by the job, once however often it runs."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

from tally.core.clock import utcnow
from tally.db import Database
from tally.jobs import background_jobs, run_once
from tally.models import AttemptStatus, PaymentStatus
from tally.payments.reconciliation import ReconciliationReport, reconcile
from tally.settings import Settings
from tests.payments.stripe_support import (
    CARD_DECLINED_WHEN_CHARGED,
    invoice_state,
    merchant,
    start_payment,
)
from tests.support.api_client import ApiClient
from tests.support.localstripe import LocalStripe

GROSS = Decimal("270.00")
LATER = timedelta(minutes=6)  # past the default 300 s an attempt waits for its webhook


def test_a_payment_whose_webhook_never_came_is_paid_by_the_job_once(
    api: ApiClient, database: Database, settings: Settings, localstripe: LocalStripe
) -> None:
    shop = merchant(api, database)
    started = start_payment(database, settings, shop)
    # Too recent: its webhook may still come.
    young = reconcile(database, settings)
    assert started.attempt_id not in young.changed
    assert invoice_state(database, shop).payment_status is PaymentStatus.UNPAID

    first = reconcile(database, settings, now=utcnow() + LATER)
    assert started.attempt_id in first.changed
    second = reconcile(database, settings, now=utcnow() + LATER)
    assert started.attempt_id not in second.changed
    state = invoice_state(database, shop)
    assert state.payment_status is PaymentStatus.PAID and state.balance == 0
    assert state.payments == 1 and state.paid == GROSS
    assert state.attempt_status == AttemptStatus.SUCCEEDED


def test_the_background_job_reconciles_as_tally_worker_once_runs_it(
    api: ApiClient, database: Database, settings: Settings, localstripe: LocalStripe
) -> None:
    shop = merchant(api, database)
    start_payment(database, settings, shop)
    now_due = settings.model_copy(update={"payment_reconcile_after_seconds": 0})
    jobs = [job for job in background_jobs(now_due) if job.name == "payment-reconciliation"]
    assert len(jobs) == 1
    run_once(database, jobs)
    run_once(database, [job for job in background_jobs(now_due) if job.name == jobs[0].name])
    state = invoice_state(database, shop)
    assert state.payment_status is PaymentStatus.PAID
    assert state.payments == 1 and state.paid == GROSS


def test_a_missed_decline_fails_the_attempt_and_leaves_the_invoice_owed(
    api: ApiClient, database: Database, settings: Settings, localstripe: LocalStripe
) -> None:
    shop = merchant(api, database)
    started = start_payment(database, settings, shop, card=CARD_DECLINED_WHEN_CHARGED)
    report = reconcile(database, settings, now=utcnow() + LATER)
    assert started.attempt_id in report.changed
    state = invoice_state(database, shop)
    assert state.attempt_status == AttemptStatus.FAILED
    assert state.payment_status is PaymentStatus.UNPAID and state.balance == GROSS
    assert state.payments == 0


def test_concurrent_passes_record_the_payment_once(
    api: ApiClient, database: Database, settings: Settings, localstripe: LocalStripe
) -> None:
    shop = merchant(api, database)
    started = start_payment(database, settings, shop)
    gate = threading.Barrier(3)
    reports: list[ReconciliationReport] = []

    def run() -> None:
        gate.wait()
        reports.append(reconcile(database, settings, now=utcnow() + LATER))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reports) == 3
    assert sum(started.attempt_id in report.changed for report in reports) == 1
    state = invoice_state(database, shop)
    assert state.payment_status is PaymentStatus.PAID
    assert state.payments == 1 and state.paid == GROSS


def test_a_disconnected_accounts_attempts_are_left_alone(
    api: ApiClient, database: Database, settings: Settings, localstripe: LocalStripe
) -> None:
    shop = merchant(api, database)
    started = start_payment(database, settings, shop)
    api.delete("/api/payment-providers/stripe").raise_for_status()
    report = reconcile(database, settings, now=utcnow() + LATER)
    assert started.attempt_id not in report.changed + report.failed
    state = invoice_state(database, shop)
    assert state.attempt_status == AttemptStatus.PENDING
    assert state.payment_status is PaymentStatus.UNPAID
