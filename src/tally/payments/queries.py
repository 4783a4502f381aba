"""Reads of payments the API and the dashboard share: lists, a customer's balance per
currency and the receivables aging report, each one query (or one per figure kind)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import Session

from tally.core.sql import exact_sum
from tally.invoices.queries import overdue_condition
from tally.models import (
    CreditNote,
    Customer,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentProviderName,
    PaymentStatus,
    ProviderCustomer,
)
from tally.models.scoped import scoped, scoped_get

ZERO = Decimal(0)
ISSUED = (InvoiceStatus.FINAL, InvoiceStatus.SENT)


def payments_query(
    account_id: str, *, customer_ids: Collection[str] = (), invoice_ids: Collection[str] = ()
) -> Select[Payment]:
    query = scoped(Payment, account_id)
    if customer_ids:
        query = query.where(Payment.customer_id.in_(list(customer_ids)))
    if invoice_ids:
        query = query.where(Payment.invoice_id.in_(list(invoice_ids)))
    return query


def get_payment(session: Session, account_id: str, payment_id: str) -> Payment:
    return scoped_get(session, Payment, account_id, payment_id, kind="Payment")


def invoice_payments(session: Session, account_id: str, invoice_id: str) -> list[Payment]:
    """The invoice's payments, oldest first."""
    return list(
        session.scalars(
            payments_query(account_id, invoice_ids=[invoice_id]).order_by(
                Payment.created_at, Payment.id
            )
        )
    )


def provider_customer_id(
    session: Session,
    account_id: str,
    customer_id: str,
    provider: PaymentProviderName = PaymentProviderName.STRIPE,
) -> str | None:
    """The customer's id at the provider (Stripe's `cus_...`), if it has one."""
    return session.scalar(
        scoped(ProviderCustomer, account_id)
        .with_only_columns(ProviderCustomer.provider_customer_id)
        .where(ProviderCustomer.customer_id == customer_id, ProviderCustomer.provider == provider)
    )


def receivable() -> tuple[ColumnElement[bool], ...]:
    """What is still owed: issued invoices (FINAL, SENT) that are not PAID; VOIDED and drafts
    owe nothing. UNCOLLECTIBLE ones are still owed (written off in dunning, not in the books)."""
    return (Invoice.status.in_(ISSUED), Invoice.payment_status != PaymentStatus.PAID)


@dataclass
class Figures:
    """One currency of a customer's balance."""

    outstanding: Decimal = ZERO
    overdue: Decimal = ZERO
    unapplied_credit: Decimal = ZERO
    payments_received: Decimal = ZERO
    refunded: Decimal = ZERO


def customer_figures(
    session: Session, account_id: str, customer_id: str, today: date
) -> dict[str, Figures]:
    """The customer's balance per currency, in three grouped queries (invoices, credit notes,
    payments)."""
    figures: dict[str, Figures] = {}

    def of(currency: str) -> Figures:
        return figures.setdefault(currency, Figures())

    overdue = overdue_condition(today)
    owed = session.execute(
        scoped(Invoice, account_id)
        .with_only_columns(Invoice.currency, overdue, exact_sum(session, Invoice.balance))
        .where(Invoice.customer_id == customer_id, *receivable())
        .group_by(Invoice.currency, overdue)
    )
    for currency, is_overdue, amount in owed:
        of(currency).outstanding += amount or ZERO
        if is_overdue:
            of(currency).overdue += amount or ZERO
    credit = session.execute(
        scoped(CreditNote, account_id)
        .with_only_columns(CreditNote.currency, exact_sum(session, CreditNote.balance))
        .where(CreditNote.customer_id == customer_id, CreditNote.status.in_(ISSUED))
        .group_by(CreditNote.currency)
    )
    for currency, amount in credit:
        of(currency).unapplied_credit += amount or ZERO
    paid = session.execute(
        scoped(Payment, account_id)
        .with_only_columns(
            Payment.currency,
            exact_sum(session, Payment.amount),
            exact_sum(session, Payment.refunded_amount),
        )
        .where(Payment.customer_id == customer_id)
        .group_by(Payment.currency)
    )
    for currency, amount, refunded in paid:
        of(currency).payments_received += amount or ZERO
        of(currency).refunded += refunded or ZERO
    return dict(sorted(figures.items()))


@dataclass(frozen=True)
class Receivable:
    """One invoice's amount due, as the aging report buckets it."""

    invoice_id: str
    customer_id: str
    customer_name: str
    currency: str
    due_date: date | None
    amount_due: Decimal


def receivables(session: Session, account_id: str) -> list[Receivable]:
    """Every invoice still owed, with its customer's name: one query."""
    rows = session.execute(
        scoped(Invoice, account_id)
        .with_only_columns(
            Invoice.id,
            Invoice.customer_id,
            Customer.legal_name,
            Invoice.currency,
            Invoice.due_date,
            Invoice.balance,
        )
        .join(Customer, (Customer.id == Invoice.customer_id) & (Customer.account_id == account_id))
        .where(*receivable())
        .order_by(Invoice.currency, Customer.legal_name, Invoice.customer_id, Invoice.id)
    )
    return [Receivable(*row) for row in rows]
