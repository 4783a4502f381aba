"""Reads of payments and their settings, shared by the API, the dashboard and the jobs.

Settings: the live rows (deleted ones are never found), by their id or by the object they
belong to, and what decides how an invoice is collected, in one statement. Payments: lists, a
customer's balance per currency and the receivables aging report, each one query (or one per
figure kind). The portal's Pay form: what is owed and the key Stripe.js needs."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, ScalarSelect, Select, and_, exists, select
from sqlalchemy.orm import Session

from tally.core.sql import exact_sum
from tally.documents.links import owes
from tally.invoices.queries import overdue_condition
from tally.models import (
    AccountPaymentSettings,
    BillingSchedulePaymentSettings,
    CreditNote,
    Customer,
    CustomerPaymentSettings,
    Invoice,
    InvoicePaymentSettings,
    InvoiceStatus,
    Payment,
    PaymentProviderConnection,
    PaymentProviderName,
    PaymentStatus,
    ProviderCustomer,
    StripeCollectionSettings,
)
from tally.models.scoped import scoped, scoped_get

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


def saved_method(
    session: Session,
    account_id: str,
    customer_id: str,
    provider: PaymentProviderName = PaymentProviderName.STRIPE,
) -> tuple[str, str] | None:
    """(provider customer id, default payment method id) to charge the customer off session;
    None when it has saved no method."""
    row = session.execute(
        scoped(ProviderCustomer, account_id)
        .with_only_columns(
            ProviderCustomer.provider_customer_id, ProviderCustomer.default_payment_method_id
        )
        .where(ProviderCustomer.customer_id == customer_id, ProviderCustomer.provider == provider)
    ).first()
    if row is None or not row[0] or not row[1]:
        return None
    return str(row[0]), str(row[1])
