"""Bodies of the payments API (Tally's extensions): payments recorded by hand, refunds, the
customer's balance and the receivables aging report. Money travels as decimal strings in the
currency's minor unit ("150.00", JPY "1500"), as Sequence's does."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import Field

from tally.api.schemas import Schema
from tally.api.types import DecimalString, PlainText
from tally.core.wire import money
from tally.models import Payment, PaymentMethod, PaymentOrigin

Day = Annotated[date, Field(ge=date(1970, 1, 1), le=date(2999, 12, 31))]
Amount = Annotated[
    DecimalString, Field(max_digits=30, decimal_places=12, description='Money, e.g. "150.00".')
]


class PaymentCreate(Schema):
    """Money received outside any provider (a bank transfer, a cheque): partial allowed, never
    more than the invoice's amount due."""

    amount: Amount
    paid_on: Day | None = Field(
        default=None, description="Default: today, in the account's time zone."
    )
    reference: PlainText | None = Field(
        default=None, max_length=500, description="The bank's reference."
    )
    method: PaymentMethod = PaymentMethod.BANK_TRANSFER


class RefundCreate(Schema):
    amount: Amount
    reason: PlainText | None = Field(
        default=None, max_length=500, description="Printed on the credit note that documents it."
    )


class PaymentOut(Schema):
    id: str
    invoice_id: str
    customer_id: str
    origin: PaymentOrigin
    method: PaymentMethod | None = Field(
        default=None, description="How money recorded by hand arrived; none for a provider's."
    )
    amount: str
    currency: str
    paid_on: date
    reference: str | None = None
    provider_payment_id: str | None = None
    refunded_amount: str
    created_at: datetime

    @classmethod
    def build(cls, payment: Payment) -> PaymentOut:
        return cls(
            id=payment.id,
            invoice_id=payment.invoice_id,
            customer_id=payment.customer_id,
            origin=payment.origin,
            method=payment.method,
            amount=money(payment.amount, payment.currency),
            currency=payment.currency,
            paid_on=payment.paid_on,
            reference=payment.reference,
            provider_payment_id=payment.provider_payment_id,
            refunded_amount=money(payment.refunded_amount, payment.currency),
            created_at=payment.created_at,
        )


class RefundOut(Schema):
    payment: PaymentOut
    credit_note_id: str | None = Field(
        default=None,
        description="The credit note that documents the refund, applied to the invoice (none "
        "when the refund only returned what was paid beyond the invoice's total).",
    )
    provider_refund_id: str | None = None


class CurrencyBalance(Schema):
    currency: str
    outstanding: str = Field(
        description="What the customer's issued invoices (FINAL, SENT; not PAID) still owe."
    )
    overdue: str = Field(description="Of that, what overdue invoices owe.")
    unapplied_credit: str = Field(description="Issued credit notes' balance not yet applied.")
    payments_received: str = Field(description="Payments received to date.")
    refunded: str = Field(description="What was refunded of them.")


class CustomerBalanceOut(Schema):
    customer_id: str
    as_of: date
    balances: list[CurrencyBalance]


class AgingBuckets(Schema):
    current: str = Field(description="Not yet due (or no due date).")
    days_1_to_30: str = Field(alias="days1To30")
    days_31_to_60: str = Field(alias="days31To60")
    days_61_to_90: str = Field(alias="days61To90")
    over_90_days: str = Field(alias="over90Days")
    total: str


class CustomerAging(AgingBuckets):
    customer_id: str
    customer_name: str


class CurrencyAging(Schema):
    currency: str
    customers: list[CustomerAging]
    totals: AgingBuckets


class AgingReportOut(Schema):
    as_of: date
    currencies: list[CurrencyAging]
