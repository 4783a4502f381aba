"""Automatic collection: charging issued invoices to the customer's saved payment method,
off session, and dunning when that fails (`dunning.py`). A background job
(`collect_due`, in `tally.jobs`) so the invoices domain never imports payments:

1. invoices finalized lately (FINAL or SENT, something due) that automatic payments apply to
   and that have no collection yet get one, SCHEDULED for the account's today (one INSERT per
   batch; concurrent workers insert each once);
2. collections due (SCHEDULED, next attempt today or before, neither the invoice's collection
   nor its customer paused) are found one query per batch, and each is charged:
   - claim an attempt under the collection's and the invoice's row locks, COMMIT;
   - ask the provider, outside any transaction, with the attempt's idempotency key;
   - apply what it answered (`attempts.apply`: a payment is recorded once, by its id), and
     schedule the next retry, or finish.

Never twice: only the worker that claimed a new attempt calls the provider for it. Another
worker finding it open leaves it alone while its claimant may still be at it (`LEASE`), then
asks again with the same idempotency key (the provider answers with the first payment),
or reads the payment back when its id is known. A failure is counted once: the collection's
`attempts` is the number of its finished automatic attempts, raised under its row lock."""

from __future__ import annotations

import logging
import operator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from tally.billed.locks import lock_document
from tally.core.clock import local_today, utcnow
from tally.core.sql import exact_compare
from tally.db import Database, insert_new, new_id, table_of
from tally.exceptions import PaymentProviderUnavailable, ProviderNotConnected
from tally.invoices import audit
from tally.models import (
    Account,
    AttemptStatus,
    BillingSchedulePaymentSettings,
    CollectionStatus,
    CustomerDunningPause,
    CustomerPaymentSettings,
    Invoice,
    InvoiceCollection,
    InvoicePaymentSettings,
    InvoiceStatus,
    PaymentAttempt,
    PaymentProviderConnection,
    PaymentProviderName,
    PaymentStatus,
    ProviderCustomer,
    StripeCollectionSettings,
)
from tally.models.scoped import get_account, scoped
from tally.notifications.events import INVOICE, NotificationType, emit
from tally.payments import attempts, connections, dunning, preferences, queries
from tally.payments.off_session import OffSessionCharge, ask
from tally.payments.providers import ProviderPayment
from tally.settings import Settings

log = logging.getLogger(__name__)

BATCH = 100
# Invoices finalized this long ago at most are still "newly issued": turning automatic
# payments on does not charge a customer for old invoices all at once.
LOOKBACK = timedelta(days=3)
# How long a claimed attempt is left to the worker that claimed it before another one asks
# the provider again (with the same idempotency key).
LEASE = timedelta(minutes=15)
OWING = (PaymentStatus.UNPAID, PaymentStatus.PARTIALLY_PAID)
STRIPE = PaymentProviderName.STRIPE


@dataclass
class CollectionReport:
    scheduled: list[str] = field(default_factory=list)  # invoice ids
    succeeded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # a retry follows
    uncollectible: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # no method, not connected, processing
    skipped: list[str] = field(default_factory=list)  # another worker is charging it


# ---- 1. newly issued invoices ------------------------------------------------------------


def _wants_auto_charge(row: Any) -> bool:
    """Automatic payments apply to the invoice, by the rule the API answers
    (`preferences.preference_of`): Stripe collects it, and automatically."""
    facts = queries.CollectionFacts(
        invoice_provider=row.invoice_provider,
        schedule_provider=row.schedule_provider,
        schedule_auto_charge=row.schedule_auto_charge,
        customer_provider=row.customer_provider,
        enable_automatic_payments=row.enable_automatic_payments,
        auto_enable_stripe_payments=row.auto_enable_stripe_payments,
        stripe_connected=bool(row.stripe_connected),
    )
    preference = preferences.preference_of(facts)
    return preference.provider is STRIPE and preference.auto_charge


def schedule_new(
    db: Database,
    *,
    now: datetime,
    today: date | None = None,
    account_id: str | None = None,
    batch: int = BATCH,
) -> list[str]:
    """Give newly issued invoices that automatic payments apply to a collection due today:
    one query and one INSERT per batch. The invoice ids scheduled."""
    schedule = aliased(BillingSchedulePaymentSettings)
    on_invoice = aliased(InvoicePaymentSettings)
    on_customer = aliased(CustomerPaymentSettings)
    scheduled: list[str] = []
    after = ""
    while True:
        with db.transaction() as session:
            query = (
                select(
                    Invoice.id,
                    Invoice.account_id,
                    Account.timezone,
                    StripeCollectionSettings.enable_automatic_payments,
                    StripeCollectionSettings.auto_enable_stripe_payments,
                    schedule.auto_charge.label("schedule_auto_charge"),
                    schedule.payment_provider.label("schedule_provider"),
                    on_invoice.payment_provider.label("invoice_provider"),
                    on_customer.payment_provider.label("customer_provider"),
                    exists()
                    .where(
                        PaymentProviderConnection.account_id == Invoice.account_id,
                        PaymentProviderConnection.provider == STRIPE,
                        PaymentProviderConnection.disconnected_at.is_(None),
                    )
                    .label("stripe_connected"),
                )
                .join(Account, Account.id == Invoice.account_id)
                .outerjoin(
                    StripeCollectionSettings,
                    StripeCollectionSettings.account_id == Invoice.account_id,
                )
                .outerjoin(
                    schedule,
                    and_(
                        schedule.account_id == Invoice.account_id,
                        schedule.billing_schedule_id == Invoice.billing_schedule_id,
                        schedule.deleted_at.is_(None),
                    ),
                )
                .outerjoin(
                    on_invoice,
                    and_(
                        on_invoice.account_id == Invoice.account_id,
                        on_invoice.invoice_id == Invoice.id,
                        on_invoice.deleted_at.is_(None),
                    ),
                )
                .outerjoin(
                    on_customer,
                    and_(
                        on_customer.account_id == Invoice.account_id,
                        on_customer.customer_id == Invoice.customer_id,
                        on_customer.deleted_at.is_(None),
                    ),
                )
                .where(
                    Invoice.status.in_([InvoiceStatus.FINAL, InvoiceStatus.SENT]),
                    Invoice.payment_status.in_(OWING),
                    Invoice.finalized_at >= now - LOOKBACK,
                    exact_compare(session, Invoice.balance, operator.gt, Decimal(0)),
                    or_(
                        StripeCollectionSettings.enable_automatic_payments.is_(True),
                        schedule.auto_charge.is_(True),
                    ),
                    ~exists().where(
                        InvoiceCollection.account_id == Invoice.account_id,
                        InvoiceCollection.invoice_id == Invoice.id,
                    ),
                    Invoice.id > after,
                )
                .order_by(Invoice.id)
                .limit(batch)
            )
            if account_id is not None:
                query = query.where(Invoice.account_id == account_id)
            found = session.execute(query).all()
            stamp = utcnow()
            rows: list[dict[str, Any]] = [
                {
                    "id": new_id(),
                    "account_id": row.account_id,
                    "created_at": stamp,
                    "updated_at": stamp,
                    "invoice_id": row.id,
                    "status": CollectionStatus.SCHEDULED,
                    "attempts": 0,
                    "next_attempt_on": today or local_today(row.timezone, now),
                }
                for row in found
                if _wants_auto_charge(row)
            ]
            if rows:
                scheduled += sorted(
                    insert_new(
                        session,
                        table_of(InvoiceCollection),
                        rows,
                        ["account_id", "invoice_id"],
                    )
                )
        if len(found) < batch:
            return scheduled
        after = found[-1][0]


# ---- 2. collections due ------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    collection_id: str
    account_id: str
    invoice_id: str
    timezone: str
    provider_customer_id: str | None
    payment_method_id: str | None
    next_attempt_on: date | None


def due_collections(
    session: Session,
    *,
    now: datetime,
    today: date | None,
    account_id: str | None,
    after: str,
    batch: int,
) -> list[Due]:
    """A batch of collections that may be due, with what charging them needs: one query.
    Without `today`, those due by the latest local date anywhere: the caller holds each to
    its account's local today."""
    latest = today or (now.date() + timedelta(days=1))  # no local date is later
    paused_customer = exists().where(
        CustomerDunningPause.account_id == Invoice.account_id,
        CustomerDunningPause.customer_id == Invoice.customer_id,
        CustomerDunningPause.resumed_at.is_(None),
    )
    query = (
        select(
            InvoiceCollection.id,
            InvoiceCollection.account_id,
            InvoiceCollection.invoice_id,
            Account.timezone,
            ProviderCustomer.provider_customer_id,
            ProviderCustomer.default_payment_method_id,
            InvoiceCollection.next_attempt_on,
        )
        .join(
            Invoice,
            and_(
                Invoice.account_id == InvoiceCollection.account_id,
                Invoice.id == InvoiceCollection.invoice_id,
            ),
        )
        .join(Account, Account.id == InvoiceCollection.account_id)
        .outerjoin(
            ProviderCustomer,
            and_(
                ProviderCustomer.account_id == Invoice.account_id,
                ProviderCustomer.customer_id == Invoice.customer_id,
                ProviderCustomer.provider == STRIPE,
            ),
        )
        .where(
            InvoiceCollection.status == CollectionStatus.SCHEDULED,
            InvoiceCollection.next_attempt_on <= latest,
            InvoiceCollection.paused_at.is_(None),
            ~paused_customer,
            InvoiceCollection.id > after,
        )
        .order_by(InvoiceCollection.id)
        .limit(batch)
    )
    if account_id is not None:
        query = query.where(InvoiceCollection.account_id == account_id)
    return [Due(*row) for row in session.execute(query)]


def _lock_collection(session: Session, account_id: str, collection_id: str) -> InvoiceCollection:
    return session.scalars(
        scoped(InvoiceCollection, account_id)
        .where(InvoiceCollection.id == collection_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _customer_paused(session: Session, account_id: str, customer_id: str) -> bool:
    return (
        session.scalar(
            scoped(CustomerDunningPause, account_id)
            .with_only_columns(CustomerDunningPause.id)
            .where(
                CustomerDunningPause.customer_id == customer_id,
                CustomerDunningPause.resumed_at.is_(None),
            )
            .limit(1)
        )
        is not None
    )


def _wait(collection: InvoiceCollection, why: str, today: date, report: CollectionReport) -> None:
    """No attempt now: look again tomorrow."""
    collection.last_failure = why[:1000]
    collection.next_attempt_on = today + timedelta(days=1)
    report.waiting.append(collection.invoice_id)


def _still_due(collection: InvoiceCollection, today: date) -> bool:
    return (
        collection.status is CollectionStatus.SCHEDULED
        and collection.paused_at is None
        and collection.next_attempt_on is not None
        and collection.next_attempt_on <= today
    )


def _settled(collection: InvoiceCollection, invoice: Invoice) -> bool:
    """Whether there is nothing left to collect (paid, voided, written off since): then the
    collection ends, saying so."""
    issued = invoice.status in (InvoiceStatus.FINAL, InvoiceStatus.SENT)
    if invoice.payment_status is PaymentStatus.PAID or (issued and invoice.balance <= 0):
        collection.status = CollectionStatus.COMPLETED
    elif not issued or invoice.payment_status is PaymentStatus.UNCOLLECTIBLE:
        collection.status = CollectionStatus.NOT_REQUIRED
        collection.last_failure = (
            f"Not collected: the invoice is {invoice.status.value}, {invoice.payment_status.value}."
        )
    else:
        return False
    collection.next_attempt_on = None
    return True


def _no_method(
    session: Session,
    settings: Settings,
    collection: InvoiceCollection,
    invoice: Invoice,
    today: date,
    report: CollectionReport,
) -> None:
    """No attempt is made; the customer is asked (once) to pay or save a method."""
    _wait(collection, "The customer has no saved payment method.", today, report)
    dunning.queue_email(
        session,
        get_account(session, invoice.account_id),
        invoice,
        "no_method",
        failures=0,
        retry_on=None,
        reason=None,
        base_url=settings.public_url,
    )


def _claim(
    db: Database,
    settings: Settings,
    due: Due,
    today: date,
    now: datetime,
    report: CollectionReport,
) -> OffSessionCharge | None:
    """Under the collection's row lock: still due? then the attempt to charge, claimed and
    committed. None when there is nothing to ask the provider now."""
    with db.transaction() as session:
        collection = _lock_collection(session, due.account_id, due.collection_id)
        if not _still_due(collection, today):
            return None  # another worker took it meanwhile, or it was paused
        invoice = session.scalars(
            scoped(Invoice, due.account_id).where(Invoice.id == due.invoice_id)
        ).one()
        if _customer_paused(session, due.account_id, invoice.customer_id) or _settled(
            collection, invoice
        ):
            return None
        try:
            provider = connections.provider_for(session, settings, due.account_id, STRIPE)
        except ProviderNotConnected as missing:
            _wait(collection, missing.message, today, report)
            return None
        if not due.provider_customer_id or not due.payment_method_id:
            _no_method(session, settings, collection, invoice, today, report)
            return None
        attempt, new = attempts.claim(
            session, due.account_id, invoice.id, provider=STRIPE, off_session=True
        )
        if not new and attempt.provider_payment_id is None and attempt.created_at > now - LEASE:
            report.skipped.append(invoice.id)  # its claimant is asking the provider
            return None
        return OffSessionCharge(
            provider=provider,
            attempt_id=attempt.id,
            invoice_id=invoice.id,
            account_id=due.account_id,
            provider_customer_id=due.provider_customer_id,
            payment_method_id=due.payment_method_id,
            idempotency_key=attempt.idempotency_key,
            amount=attempt.amount,
            currency=attempt.currency,
            known_payment_id=attempt.provider_payment_id,
        )


def _finished_automatic_attempts(session: Session, account_id: str, invoice_id: str) -> int:
    return int(
        session.scalar(
            select(func.count(PaymentAttempt.id)).where(
                PaymentAttempt.account_id == account_id,
                PaymentAttempt.invoice_id == invoice_id,
                PaymentAttempt.off_session.is_(True),
                PaymentAttempt.status.not_in(attempts.OPEN),
            )
        )
        or 0
    )


def _apply(
    db: Database,
    settings: Settings,
    due: Due,
    charge: OffSessionCharge,
    payment: ProviderPayment,
    today: date,
    report: CollectionReport,
) -> None:
    """Record the provider's answer and what follows from it, under the collection's lock."""
    with db.transaction() as session:
        collection = _lock_collection(session, due.account_id, due.collection_id)
        attempt = session.scalars(
            scoped(PaymentAttempt, due.account_id)
            .where(PaymentAttempt.id == charge.attempt_id)
            .with_for_update()
        ).one()
        attempts.apply(session, due.account_id, attempt, payment)
        finished = _finished_automatic_attempts(session, due.account_id, due.invoice_id)
        if attempt.status in attempts.OPEN:
            # Still processing: read back tomorrow (a webhook may settle it before). Off
            # session, Stripe declines what needs the customer rather than waiting for them.
            _wait(collection, f"The payment is {attempt.status.value}.", today, report)
            return
        if finished <= collection.attempts:
            return  # counted already: another worker applied this outcome first
        collection.attempts = finished
        invoice = session.scalars(
            scoped(Invoice, due.account_id).where(Invoice.id == due.invoice_id)
        ).one()
        if attempt.status is AttemptStatus.SUCCEEDED:
            collection.status = CollectionStatus.COMPLETED
            collection.next_attempt_on = None
            collection.last_failure = None
            report.succeeded.append(invoice.id)
            return
        _failed(session, settings, collection, invoice, attempt, today, report)


def _failed(
    session: Session,
    settings: Settings,
    collection: InvoiceCollection,
    invoice: Invoice,
    attempt: PaymentAttempt,
    today: date,
    report: CollectionReport,
) -> None:
    account = get_account(session, invoice.account_id)
    rules = dunning.RetryRules.of(
        session.scalars(scoped(StripeCollectionSettings, invoice.account_id)).one_or_none()
    )
    reason = attempt.failure_message or f"the payment is {attempt.status.value}"
    collection.last_failure = reason[:1000]
    failures = collection.attempts
    anchor = dunning.anchor_date(invoice, rules.anchor, account.timezone)
    retry_on = dunning.next_retry(rules, anchor, failures, today)
    if retry_on is not None:
        collection.next_attempt_on = retry_on
        stage: dunning.Stage = "first" if failures == 1 else "retry"
        report.failed.append(invoice.id)
    else:
        collection.status = CollectionStatus.FAILED
        collection.next_attempt_on = None
        stage = "final"
        _write_off(session, invoice, failures, reason)
        report.uncollectible.append(invoice.id)
    dunning.queue_email(
        session,
        account,
        invoice,
        stage,
        failures=failures,
        retry_on=retry_on,
        reason=attempt.failure_message,
        base_url=settings.public_url,
    )


def _write_off(session: Session, invoice: Invoice, failures: int, reason: str) -> None:
    """The last retry failed: the invoice is UNCOLLECTIBLE (until money comes after all)."""
    invoice = lock_document(session, Invoice, invoice.account_id, invoice.id)
    before = audit.snapshot(invoice)
    invoice.payment_status = PaymentStatus.UNCOLLECTIBLE
    audit.record(
        session,
        invoice,
        "UNCOLLECTIBLE",
        "Marked uncollectible",
        f"{audit.label(invoice)} ({audit.money(invoice.balance, invoice.currency)} "
        f"{invoice.currency} due): automatic collection failed {failures} times, last: "
        f"{reason}",
        before,
    )
    emit(session, invoice.account_id, NotificationType.INVOICE_UNCOLLECTIBLE, INVOICE, [invoice.id])
    emit(session, invoice.account_id, NotificationType.INVOICE_UPDATED, INVOICE, [invoice.id])


def _collect(
    db: Database,
    settings: Settings,
    due: Due,
    today: date,
    now: datetime,
    report: CollectionReport,
) -> None:
    charge = _claim(db, settings, due, today, now, report)
    if charge is None:
        return
    try:
        payment = ask(charge)
    except PaymentProviderUnavailable as unavailable:
        # The attempt stays open: after the lease, a worker asks again with the same key.
        log.warning("collection of invoice %s: %s", due.invoice_id, unavailable.message)
        with db.transaction() as session:
            collection = _lock_collection(session, due.account_id, due.collection_id)
            collection.last_failure = unavailable.message[:1000]
        report.waiting.append(due.invoice_id)
        return
    _apply(db, settings, due, charge, payment, today, report)


def collect_due(
    db: Database,
    settings: Settings,
    *,
    today: date | None = None,
    now: datetime | None = None,
    account_id: str | None = None,
    batch: int = BATCH,
) -> CollectionReport:
    """One pass: schedule the newly issued invoices, then charge every collection due (of
    every account, or of one). Days are each account's local today as of `now`, or `today`
    for all (tests drive the clock with it)."""
    now = now or utcnow()
    report = CollectionReport()
    report.scheduled = schedule_new(db, now=now, today=today, account_id=account_id, batch=batch)
    after = ""
    while True:
        with db.session(write=False) as session:
            found = due_collections(
                session, now=now, today=today, account_id=account_id, after=after, batch=batch
            )
        for due in found:
            day = today or local_today(due.timezone, now)
            if due.next_attempt_on is None or due.next_attempt_on > day:
                continue
            try:
                _collect(db, settings, due, day, now, report)
            except Exception:  # one invoice's fault must not stop the others
                log.exception("collection of invoice %s failed", due.invoice_id)
        if len(found) < batch:
            return report
        after = found[-1].collection_id
