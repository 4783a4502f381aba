"""Reads of payment settings: the live rows (deleted ones are never found), by their id or by
the object they belong to, and what decides how an invoice is collected, in one statement."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from tally.models import (
    AccountPaymentSettings,
    BillingSchedulePaymentSettings,
    CustomerPaymentSettings,
    Invoice,
    InvoicePaymentSettings,
    PaymentProviderConnection,
    PaymentProviderName,
    StripeCollectionSettings,
)
from tally.models.scoped import scoped

ObjectSettings = CustomerPaymentSettings | BillingSchedulePaymentSettings | InvoicePaymentSettings


def live_customer_settings(account_id: str) -> Select[CustomerPaymentSettings]:
    return scoped(CustomerPaymentSettings, account_id).where(
        CustomerPaymentSettings.deleted_at.is_(None)
    )


def live_schedule_settings(account_id: str) -> Select[BillingSchedulePaymentSettings]:
    return scoped(BillingSchedulePaymentSettings, account_id).where(
        BillingSchedulePaymentSettings.deleted_at.is_(None)
    )


def live_invoice_settings(account_id: str) -> Select[InvoicePaymentSettings]:
    return scoped(InvoicePaymentSettings, account_id).where(
        InvoicePaymentSettings.deleted_at.is_(None)
    )


def account_settings(session: Session, account_id: str) -> AccountPaymentSettings | None:
    return session.scalar(scoped(AccountPaymentSettings, account_id))


def stripe_settings(session: Session, account_id: str) -> StripeCollectionSettings | None:
    return session.scalar(scoped(StripeCollectionSettings, account_id))


@dataclass(frozen=True)
class CollectionFacts:
    """Everything that decides how one invoice is collected, each level's setting or None."""

    invoice_provider: PaymentProviderName | None
    schedule_provider: PaymentProviderName | None
    schedule_auto_charge: bool | None
    customer_provider: PaymentProviderName | None
    enable_automatic_payments: bool | None  # None: the account never saved its settings
    auto_enable_stripe_payments: bool | None
    stripe_connected: bool


def collection_facts(session: Session, account_id: str, invoice: Invoice) -> CollectionFacts:
    """One statement: the invoice's, its schedule's and its customer's live settings, the
    account's Stripe collection settings, and whether Stripe is connected."""
    by_invoice = live_invoice_settings(account_id).where(
        InvoicePaymentSettings.invoice_id == invoice.id
    )
    by_schedule = live_schedule_settings(account_id).where(
        BillingSchedulePaymentSettings.billing_schedule_id == invoice.billing_schedule_id
    )
    by_customer = live_customer_settings(account_id).where(
        CustomerPaymentSettings.customer_id == invoice.customer_id
    )
    stripe = scoped(StripeCollectionSettings, account_id)
    connected = scoped(PaymentProviderConnection, account_id).where(
        PaymentProviderConnection.provider == PaymentProviderName.STRIPE,
        PaymentProviderConnection.disconnected_at.is_(None),
    )
    row = session.execute(
        select(
            by_invoice.with_only_columns(InvoicePaymentSettings.payment_provider)
            .scalar_subquery()
            .label("invoice_provider"),
            by_schedule.with_only_columns(BillingSchedulePaymentSettings.payment_provider)
            .scalar_subquery()
            .label("schedule_provider"),
            by_schedule.with_only_columns(BillingSchedulePaymentSettings.auto_charge)
            .scalar_subquery()
            .label("schedule_auto_charge"),
            by_customer.with_only_columns(CustomerPaymentSettings.payment_provider)
            .scalar_subquery()
            .label("customer_provider"),
            stripe.with_only_columns(StripeCollectionSettings.enable_automatic_payments)
            .scalar_subquery()
            .label("enable_automatic_payments"),
            stripe.with_only_columns(StripeCollectionSettings.auto_enable_stripe_payments)
            .scalar_subquery()
            .label("auto_enable_stripe_payments"),
            exists(connected).label("stripe_connected"),
        )
    ).one()
    return CollectionFacts(
        invoice_provider=_provider(row.invoice_provider),
        schedule_provider=_provider(row.schedule_provider),
        schedule_auto_charge=None
        if row.schedule_auto_charge is None
        else bool(row.schedule_auto_charge),
        customer_provider=_provider(row.customer_provider),
        enable_automatic_payments=None
        if row.enable_automatic_payments is None
        else bool(row.enable_automatic_payments),
        auto_enable_stripe_payments=None
        if row.auto_enable_stripe_payments is None
        else bool(row.auto_enable_stripe_payments),
        stripe_connected=bool(row.stripe_connected),
    )


def _provider(value: object) -> PaymentProviderName | None:
    # Scalar subqueries come back as the stored text on some drivers.
    return None if value is None else PaymentProviderName(str(value))
