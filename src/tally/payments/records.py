"""Payments as records: every payment (a provider's or one a person records) is a row, and the
invoice's amount due (`balance`) moves with it in the same transaction, under the invoice's
row lock, the way credit notes move it (`credit_notes/applications.py`).

Amount due = gross total - credit notes applied - payments + refunds. Payment status follows:
nothing left is PAID, something paid is PARTIALLY_PAID."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.billed.locks import lock_document
from tally.core.money import minor_unit
from tally.credits import top_ups
from tally.exceptions import BalanceExceeded, InvalidRequest, InvalidStateTransition, NotFound
from tally.invoices import audit
from tally.models import (
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentOrigin,
    PaymentStatus,
)
from tally.models.scoped import scoped
from tally.notifications.events import INVOICE, NotificationType, emit

COLLECTABLE = (InvoiceStatus.FINAL, InvoiceStatus.SENT)


def _check_amount(amount: Decimal, currency: str, field: str = "amount") -> None:
    if amount <= 0 or amount != amount.quantize(minor_unit(currency)):
        raise InvalidRequest.field(
            field,
            f"must be a positive amount of {currency} in its minor unit ({minor_unit(currency)})",
        )


def settle(invoice: Invoice) -> None:
    """The payment status the amount due implies (UNCOLLECTIBLE stays until money comes)."""
    paid_something = invoice.balance < invoice.gross_total
    if invoice.balance <= 0:
        invoice.payment_status = PaymentStatus.PAID
    elif paid_something:
        invoice.payment_status = PaymentStatus.PARTIALLY_PAID
    elif invoice.payment_status is not PaymentStatus.UNCOLLECTIBLE:
        invoice.payment_status = PaymentStatus.UNPAID


def provider_payment(session: Session, account_id: str, provider_payment_id: str) -> Payment | None:
    return session.scalars(
        scoped(Payment, account_id).where(Payment.provider_payment_id == provider_payment_id)
    ).one_or_none()


def record_payment(
    session: Session,
    account_id: str,
    invoice_id: str,
    *,
    amount: Decimal,
    origin: PaymentOrigin,
    paid_on: date,
    method: PaymentMethod | None = None,
    reference: str | None = None,
    provider_payment_id: str | None = None,
    attempt_id: str | None = None,
    recorded_by: str | None = None,
    field: str | None = None,
) -> Payment:
    """Record money received against an issued invoice and lower its amount due.

    A provider payment is recorded once, by its id (a webhook, the reconciliation job and the
    portal's return may all report it): the second report finds the first one's row. Money a
    provider already took is recorded even beyond the amount due (the difference shows as a
    negative amount due, to refund or credit); a person recording more than is due is refused."""
    if provider_payment_id is not None:
        known = provider_payment(session, account_id, provider_payment_id)
        if known is not None:
            return known
    invoice = lock_document(session, Invoice, account_id, invoice_id, field=field)
    if provider_payment_id is not None:  # another transaction may have won while we waited
        known = provider_payment(session, account_id, provider_payment_id)
        if known is not None:
            return known
    _check_amount(amount, invoice.currency)
    if invoice.status not in COLLECTABLE:
        raise InvalidStateTransition(
            f"{audit.label(invoice)} is {invoice.status.value}: payments are recorded against "
            "FINAL or SENT invoices."
        )
    if origin is PaymentOrigin.MANUAL and amount > invoice.balance:
        raise BalanceExceeded(
            f"amount {amount} is more than {audit.label(invoice)}'s amount due "
            f"({invoice.balance} {invoice.currency})."
        )
    before = audit.snapshot(invoice)
    payment = Payment(
        account_id=account_id,
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        origin=origin,
        method=method,
        amount=amount,
        currency=invoice.currency,
        paid_on=paid_on,
        reference=reference,
        provider_payment_id=provider_payment_id,
        attempt_id=attempt_id,
        recorded_by=recorded_by,
    )
    session.add(payment)
    invoice.balance -= amount
    invoice.balance_version += 1
    settle(invoice)
    session.flush()
    how = origin.value.title() if origin is not PaymentOrigin.MANUAL else "recorded by hand"
    audit.record(
        session,
        invoice,
        "PAYMENT_RECEIVED",
        "Payment received",
        f"{audit.money(amount, invoice.currency)} {invoice.currency} received ({how}"
        f"{', ' + reference if reference else ''}); {audit.label(invoice)} is "
        f"{invoice.payment_status.value}, {audit.money(invoice.balance, invoice.currency)} "
        f"{invoice.currency} due",
        before,
    )
    emit(session, account_id, NotificationType.INVOICE_UPDATED, INVOICE, [invoice.id])
    emit(session, account_id, NotificationType.PAYMENT_SUCCEEDED, INVOICE, [invoice.id])
    if invoice.payment_status is PaymentStatus.PAID:
        # Every payment comes here, whoever reports it: a top-up's credits are given once.
        top_ups.release_paid(session, account_id, invoice.id)
    return payment


def record_refund(
    session: Session,
    account_id: str,
    payment_id: str,
    amount: Decimal,
    *,
    document: Callable[[Payment, Invoice], str | None] | None = None,
) -> tuple[Payment, Invoice]:
    """Money returned on a payment: the payment's refunded amount and the invoice's amount due
    rise together. `document` issues what documents it (`refunds.py`: a credit note) once
    both have moved, before the payment status is settled and the entry written; it answers
    a clause for the entry's summary."""
    payment = session.scalars(
        scoped(Payment, account_id).where(Payment.id == payment_id).with_for_update()
    ).one_or_none()
    if payment is None:  # another account's or unknown: not found, never a 500
        raise NotFound.resource("Payment", payment_id)
    invoice = lock_document(session, Invoice, account_id, payment.invoice_id)
    _check_amount(amount, payment.currency)
    if amount > payment.amount - payment.refunded_amount:
        raise BalanceExceeded(
            f"amount {amount} is more than what is left to refund of the payment "
            f"({payment.amount - payment.refunded_amount} {payment.currency})."
        )
    before = audit.snapshot(invoice)
    payment.refunded_amount += amount
    invoice.balance += amount
    invoice.balance_version += 1
    documented = document(payment, invoice) if document is not None else None
    settle(invoice)
    audit.record(
        session,
        invoice,
        "PAYMENT_REFUNDED",
        "Payment refunded",
        f"{audit.money(amount, payment.currency)} {payment.currency} refunded"
        f"{'; ' + documented if documented else ''}; {audit.label(invoice)} is "
        f"{invoice.payment_status.value}",
        before,
    )
    emit(session, account_id, NotificationType.INVOICE_UPDATED, INVOICE, [invoice.id])
    return payment, invoice


def payments_of(session: Session, account_id: str, invoice_ids: list[str]) -> list[Payment]:
    """The invoices' payments, oldest first (one query for a page of invoices)."""
    if not invoice_ids:
        return []
    return list(
        session.scalars(
            select(Payment)
            .where(Payment.account_id == account_id, Payment.invoice_id.in_(invoice_ids))
            .order_by(Payment.created_at, Payment.id)
        )
    )
