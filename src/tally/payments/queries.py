"""Reads about payments that pages ask (the portal's Pay form)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ScalarSelect, and_, select
from sqlalchemy.orm import Session

from tally.documents.links import owes
from tally.models import Invoice, InvoiceStatus, PaymentProviderConnection, PaymentProviderName
from tally.models.scoped import scoped


@dataclass(frozen=True)
class PayForm:
    """What the portal's Pay form needs: Stripe.js's publishable key and what is owed."""

    publishable_key: str
    amount_due: Decimal
    currency: str


def _stripe_key(account_id: str) -> ScalarSelect[str | None]:
    return (
        select(PaymentProviderConnection.publishable_key)
        .where(
            PaymentProviderConnection.account_id == account_id,
            PaymentProviderConnection.provider == PaymentProviderName.STRIPE,
            PaymentProviderConnection.disconnected_at.is_(None),
        )
        .scalar_subquery()
    )


def takes_card_payments(session: Session, account_id: str) -> bool:
    """The account's Stripe is connected with a publishable key: its owed invoices get a Pay
    button in the portal."""
    return session.scalar(select(_stripe_key(account_id))) is not None


def pay_form(
    session: Session, account_id: str, customer_id: str, invoice_id: str
) -> PayForm | None:
    """The Pay form of one of the customer's SENT invoices (the only ones the portal shows),
    or None when there is nothing to pay or the account takes no card payments. One query."""
    row = session.execute(
        scoped(Invoice, account_id)
        .add_columns(_stripe_key(account_id).label("publishable_key"))
        .where(
            and_(
                Invoice.id == invoice_id,
                Invoice.customer_id == customer_id,
                Invoice.status == InvoiceStatus.SENT,
            )
        )
    ).one_or_none()
    if row is None or row.publishable_key is None or not owes(row.Invoice):
        return None
    invoice: Invoice = row.Invoice
    return PayForm(row.publishable_key, invoice.balance, invoice.currency)
