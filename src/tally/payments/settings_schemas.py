"""Bodies of Sequence's payment settings operations (`/payments/settings...`,
`/stripe/collections/settings...`)."""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated

from pydantic import Field, field_validator

from tally.api.schemas import Schema
from tally.models import (
    AccountPaymentSettings,
    BillingSchedulePaymentSettings,
    CustomerPaymentSettings,
    FailureNotificationOption,
    InvoicePaymentSettings,
    PaymentProviderName,
    RetryAnchor,
    StripeCollectionSettings,
)

MAX_RETRIES = 10
MAX_RETRY_DAY = 365
_Id = Annotated[str, Field(min_length=1, max_length=36)]
_RetryDay = Annotated[int, Field(ge=0, le=MAX_RETRY_DAY, strict=True)]


class FailureNotifications(Schema):
    merchant_notifications: FailureNotificationOption
    customer_notifications: FailureNotificationOption


class AccountPaymentSettingsIn(Schema):
    failure_notifications: FailureNotifications


class AccountPaymentSettingsOut(Schema):
    id: str
    failure_notifications: FailureNotifications

    @classmethod
    def build(cls, row: AccountPaymentSettings) -> AccountPaymentSettingsOut:
        return cls(
            id=row.id,
            failure_notifications=FailureNotifications(
                merchant_notifications=row.merchant_notifications,
                customer_notifications=row.customer_notifications,
            ),
        )


class StripeCollectionSettingsIn(Schema):
    """Every field optional: those left out (or null) keep their values."""

    enable_automatic_payments: bool | None = Field(
        default=None,
        description="Charge a customer's saved payment method when an invoice is issued, "
        "unless its billing schedule says otherwise (`autoCharge`).",
    )
    auto_enable_stripe_payments: bool | None = Field(
        default=None,
        description="Collect through Stripe, once connected, what no invoice, billing "
        "schedule or customer payment settings assign to a provider.",
    )
    retry_anchor: RetryAnchor | None = Field(
        default=None, description="The invoice date retry offsets count from."
    )
    retry_offset_days: list[_RetryDay] | None = Field(
        default=None,
        max_length=MAX_RETRIES,
        description=f"Days after the anchor on which a failed collection is tried again: "
        f"whole days from 0 to {MAX_RETRY_DAY}, strictly increasing, at most {MAX_RETRIES}. "
        "After the last one fails the invoice is UNCOLLECTIBLE.",
    )

    @field_validator("retry_offset_days")
    @classmethod
    def _increasing(cls, days: list[int] | None) -> list[int] | None:
        if days is not None and any(b <= a for a, b in pairwise(days)):
            raise ValueError("must be strictly increasing (each day after the one before)")
        return days


class StripeCollectionSettingsOut(Schema):
    id: str
    sequence_account_id: str
    enable_automatic_payments: bool
    auto_enable_stripe_payments: bool
    retry_offset_days: list[int]
    retry_anchor: RetryAnchor = Field(description="Tally: the date retry offsets count from.")

    @classmethod
    def build(cls, row: StripeCollectionSettings) -> StripeCollectionSettingsOut:
        return cls(
            id=row.id,
            sequence_account_id=row.account_id,
            enable_automatic_payments=row.enable_automatic_payments,
            auto_enable_stripe_payments=row.auto_enable_stripe_payments,
            retry_offset_days=[int(day) for day in row.retry_offset_days],
            retry_anchor=row.retry_anchor,
        )


class CustomerPaymentSettingsIn(Schema):
    customer_id: _Id
    payment_provider: PaymentProviderName


class ProviderUpdate(Schema):
    """PUT of a customer's or an invoice's payment settings."""

    payment_provider: PaymentProviderName


class CustomerPaymentSettingsOut(Schema):
    id: str
    sequence_account_id: str
    customer_id: str
    payment_provider: PaymentProviderName

    @classmethod
    def build(cls, row: CustomerPaymentSettings) -> CustomerPaymentSettingsOut:
        return cls(
            id=row.id,
            sequence_account_id=row.account_id,
            customer_id=row.customer_id,
            payment_provider=row.payment_provider,
        )


class BillingSchedulePaymentSettingsIn(Schema):
    billing_schedule_id: _Id
    payment_provider: PaymentProviderName
    auto_charge: bool | None = Field(
        default=None, description="Charge its invoices automatically; left out: false."
    )


class BillingSchedulePaymentSettingsUpdate(Schema):
    payment_provider: PaymentProviderName
    auto_charge: bool | None = Field(default=None, description="Left out: kept.")


class BillingSchedulePaymentSettingsOut(Schema):
    id: str
    sequence_account_id: str
    billing_schedule_id: str
    payment_provider: PaymentProviderName
    auto_charge: bool

    @classmethod
    def build(cls, row: BillingSchedulePaymentSettings) -> BillingSchedulePaymentSettingsOut:
        return cls(
            id=row.id,
            sequence_account_id=row.account_id,
            billing_schedule_id=row.billing_schedule_id,
            payment_provider=row.payment_provider,
            auto_charge=row.auto_charge,
        )


class InvoicePaymentSettingsIn(Schema):
    invoice_id: _Id
    customer_id: _Id | None = Field(
        default=None, description="The invoice's customer (the default); no other."
    )
    payment_provider: PaymentProviderName


class InvoicePaymentSettingsOut(Schema):
    id: str
    sequence_account_id: str
    invoice_id: str
    customer_id: str
    payment_provider: PaymentProviderName

    @classmethod
    def build(cls, row: InvoicePaymentSettings) -> InvoicePaymentSettingsOut:
        return cls(
            id=row.id,
            sequence_account_id=row.account_id,
            invoice_id=row.invoice_id,
            customer_id=row.customer_id,
            payment_provider=row.payment_provider,
        )
