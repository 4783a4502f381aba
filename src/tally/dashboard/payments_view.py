"""What the invoice and customer pages show of payments: an invoice's payments (each with
what was refunded of it and what is left to refund), and a customer's balance per currency
with its saved payment methods at the provider. Read through `payments/queries.py` and
`payments/balances.py`, as the API reads them; the provider is asked for saved methods only
when the account has it connected."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from tally.core.formatting import format_money
from tally.dashboard.labels import choices, label
from tally.exceptions import PaymentProviderUnavailable
from tally.models import Invoice, InvoiceStatus, PaymentMethod, PaymentProviderName
from tally.payments import balances, connections, queries
from tally.payments.providers import SavedMethod
from tally.settings import Settings

METHODS = choices(PaymentMethod)


@dataclass(frozen=True)
class PaymentRow:
    id: str
    paid_on: date
    origin: str
    method: str
    reference: str
    amount: str
    refunded: str
    refundable: str  # as typed in the refund form ("12.50"); "" when nothing is left


@dataclass(frozen=True)
class InvoicePayments:
    rows: list[PaymentRow]
    can_record: bool  # issued and something is still due
    amount_due: str


def invoice_section(session: Session, account_id: str, invoice: Invoice) -> InvoicePayments:
    rows = []
    for payment in queries.invoice_payments(session, account_id, invoice.id):
        left = payment.amount - payment.refunded_amount
        rows.append(
            PaymentRow(
                id=payment.id,
                paid_on=payment.paid_on,
                origin=label(payment.origin),
                method=label(payment.method),
                reference=payment.reference or "",
                amount=format_money(payment.amount, payment.currency),
                refunded=format_money(payment.refunded_amount, payment.currency),
                refundable=f"{left:f}" if left > 0 else "",
            )
        )
    issued = invoice.status in (InvoiceStatus.FINAL, InvoiceStatus.SENT)
    return InvoicePayments(
        rows=rows,
        can_record=issued and invoice.balance > 0,
        amount_due=format_money(invoice.balance, invoice.currency) if issued else "\u2014",
    )


@dataclass(frozen=True)
class BalanceRow:
    currency: str
    outstanding: str
    overdue: str
    unapplied_credit: str
    payments_received: str
    refunded: str


@dataclass
class CustomerPayments:
    balances: list[BalanceRow] = field(default_factory=list)
    methods: list[SavedMethod] = field(default_factory=list)
    connected: bool = False
    unreachable: bool = False


def _money(amount: Decimal, currency: str) -> str:
    return format_money(amount, currency)


def customer_section(
    session: Session, settings: Settings, account_id: str, customer_id: str
) -> CustomerPayments:
    _, figures = balances.customer_balance(session, account_id, customer_id)
    section = CustomerPayments(
        balances=[
            BalanceRow(
                currency=currency,
                outstanding=_money(f.outstanding, currency),
                overdue=_money(f.overdue, currency),
                unapplied_credit=_money(f.unapplied_credit, currency),
                payments_received=_money(f.payments_received, currency),
                refunded=_money(f.refunded, currency),
            )
            for currency, f in figures.items()
        ]
    )
    row = connections.connection(session, account_id, PaymentProviderName.STRIPE)
    if row is None:
        return section
    section.connected = True
    at_provider = queries.provider_customer_id(session, account_id, customer_id)
    if at_provider is None:
        return section
    try:
        section.methods = connections.build(settings, row).saved_methods(at_provider)
    except PaymentProviderUnavailable:
        section.unreachable = True  # the page still shows; the methods say they could not load
    return section
