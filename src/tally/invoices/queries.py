"""Reads of invoices the API, the dashboard and the portal share.

Overdue, one rule everywhere (DESIGN.md: "SENT, not paid, past due date"): an invoice is
overdue when it is SENT, its payment status is UNPAID or PARTIALLY_PAID, and its due date is
before the account's local today. PAID invoices never are, and neither are UNCOLLECTIBLE
ones: written off, nobody chases them. Due today is not overdue yet; no due date, never.
`overdue_condition` says it in SQL (filters, counts, summaries), `is_overdue` in Python for a
row already loaded; tests hold the two to the same answers."""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from tally.models import (
    AttemptStatus,
    CollectionStatus,
    Invoice,
    InvoiceCollection,
    InvoiceStatus,
    Payment,
    PaymentAttempt,
    PaymentProviderName,
    PaymentStatus,
)
from tally.models.scoped import scoped

# Payment statuses that still owe money (UNCOLLECTIBLE is written off).
OWING = (PaymentStatus.UNPAID, PaymentStatus.PARTIALLY_PAID)


def overdue_condition(today: date) -> ColumnElement[bool]:
    """The overdue rule in SQL; `today` is the account's local date. False (never NULL) for
    an invoice without a due date, so `NOT` of it is its complement."""
    return and_(
        Invoice.status == InvoiceStatus.SENT,
        Invoice.payment_status.in_(OWING),
        Invoice.due_date.is_not(None),
        Invoice.due_date < today,
    )


def is_overdue(
    status: InvoiceStatus, payment_status: PaymentStatus, due_date: date | None, today: date
) -> bool:
    """The overdue rule for a loaded invoice (or a row of its columns)."""
    return (
        status is InvoiceStatus.SENT
        and payment_status in OWING
        and due_date is not None
        and due_date < today
    )


def invoice_is_overdue(invoice: Invoice, today: date) -> bool:
    return is_overdue(invoice.status, invoice.payment_status, invoice.due_date, today)


def customer_invoices(
    session: Session,
    account_id: str,
    customer_id: str,
    *,
    statuses: Collection[InvoiceStatus] = (),
    limit: int | None = None,
) -> list[Invoice]:
    """One customer's invoices, the newest first (of `statuses` only, when given)."""
    query = scoped(Invoice, account_id).where(Invoice.customer_id == customer_id)
    if statuses:
        query = query.where(Invoice.status.in_(list(statuses)))
    return list(session.scalars(query.order_by(Invoice.id.desc()).limit(limit)))


def billed_periods(
    session: Session, account_id: str, customer_id: str
) -> list[tuple[date, date, InvoiceStatus]]:
    """(start, end, status) of the customer's schedule invoices that are not voided, the
    newest period first (one row per invoice: a period may have several)."""
    query = (
        scoped(Invoice, account_id)
        .with_only_columns(Invoice.billing_period_start, Invoice.billing_period_end, Invoice.status)
        .where(
            Invoice.customer_id == customer_id,
            Invoice.billing_schedule_id.is_not(None),
            Invoice.billing_period_start.is_not(None),
            Invoice.billing_period_end.is_not(None),
            Invoice.status != InvoiceStatus.VOIDED,
        )
        .order_by(Invoice.billing_period_start.desc(), Invoice.billing_period_end.desc())
    )
    return [
        (start, end, status)
        for start, end, status in session.execute(query)
        if start is not None and end is not None
    ]


# Sequence's IntegrationPaymentStatus of a Stripe attempt (a succeeded one is PAID, or
# REFUNDED once its payment was refunded in full).
_STRIPE_STATUS = {
    AttemptStatus.PENDING: "IN_PROGRESS",  # the provider is processing it
    AttemptStatus.REQUIRES_ACTION: "PENDING",  # waiting for the customer
    AttemptStatus.SUCCEEDED: "PAID",
    AttemptStatus.FAILED: "FAILED",
    AttemptStatus.CANCELLED: "CANCELLED",
}


@dataclass(frozen=True)
class PaymentFacts:
    """What an invoice's answer says about its payments: `paymentAllocations` (its payments,
    oldest first), `integrationPaymentStatuses.stripe` (its latest Stripe attempt's) and
    `dunningStatus` (its automatic collection's)."""

    payments: list[Payment] = field(default_factory=list)
    stripe_status: str | None = None
    dunning_status: CollectionStatus = CollectionStatus.NOT_REQUIRED


def payment_facts(
    session: Session, account_id: str, invoice_ids: Collection[str]
) -> dict[str, PaymentFacts]:
    """Every invoice's `PaymentFacts`, in three queries for a page of invoices. Read from the
    payments tables directly: the payments package sits above the invoices domain."""
    ids = list(invoice_ids)
    payments: dict[str, list[Payment]] = {invoice_id: [] for invoice_id in ids}
    if not ids:
        return {}
    for payment in session.scalars(
        scoped(Payment, account_id)
        .where(Payment.invoice_id.in_(ids))
        .order_by(Payment.created_at, Payment.id)
    ):
        payments[payment.invoice_id].append(payment)
    latest = (
        select(PaymentAttempt.invoice_id, func.max(PaymentAttempt.number).label("number"))
        .where(
            PaymentAttempt.account_id == account_id,
            PaymentAttempt.invoice_id.in_(ids),
            PaymentAttempt.provider == PaymentProviderName.STRIPE,
        )
        .group_by(PaymentAttempt.invoice_id)
        .subquery()
    )
    rows = session.execute(
        scoped(PaymentAttempt, account_id)
        .with_only_columns(
            PaymentAttempt.invoice_id,
            PaymentAttempt.status,
            Payment.amount,
            Payment.refunded_amount,
        )
        .join(
            latest,
            and_(
                latest.c.invoice_id == PaymentAttempt.invoice_id,
                latest.c.number == PaymentAttempt.number,
            ),
        )
        .outerjoin(
            Payment,
            and_(Payment.account_id == account_id, Payment.attempt_id == PaymentAttempt.id),
        )
    )
    stripe: dict[str, str] = {}
    for invoice_id, status, amount, refunded in rows:
        refunded_in_full = amount is not None and refunded >= amount
        stripe[invoice_id] = "REFUNDED" if refunded_in_full else _STRIPE_STATUS[status]
    dunning = dunning_statuses(session, account_id, ids)
    return {
        invoice_id: PaymentFacts(
            payments[invoice_id],
            stripe.get(invoice_id),
            dunning.get(invoice_id, CollectionStatus.NOT_REQUIRED),
        )
        for invoice_id in ids
    }


def dunning_statuses(
    session: Session, account_id: str, invoice_ids: Collection[str]
) -> dict[str, CollectionStatus]:
    """Sequence's `dunningStatus` of each invoice automatic collection (tally.payments) took
    on, read in one query for a page; the others have none (NOT_REQUIRED). Read from the
    table here so that invoices need not import payments."""
    if not invoice_ids:
        return {}
    rows = session.execute(
        scoped(InvoiceCollection, account_id)
        .with_only_columns(InvoiceCollection.invoice_id, InvoiceCollection.status)
        .where(InvoiceCollection.invoice_id.in_(list(invoice_ids)))
    )
    return {row[0]: row[1] for row in rows}
