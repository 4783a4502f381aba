"""Sequence's payment settings: the account's, the Stripe collection settings, and which
provider collects a customer's, a billing schedule's or an invoice's payments (precedence:
invoice > billing schedule > customer > the account's default)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from tally.models.base import Base, TenantMixin
from tally.models.payment import PaymentProviderName

DEFAULT_RETRY_OFFSET_DAYS = [3, 7, 14]


class FailureNotificationOption(StrEnum):
    SEND_NOTIFICATIONS = "SEND_NOTIFICATIONS"
    DO_NOT_SEND_NOTIFICATIONS = "DO_NOT_SEND_NOTIFICATIONS"


class RetryAnchor(StrEnum):
    SENT_DATE = "SENT_DATE"
    DUE_DATE = "DUE_DATE"


class AccountPaymentSettings(TenantMixin, Base):
    __tablename__ = "account_payment_settings"
    __table_args__ = (UniqueConstraint("account_id"),)
    account_id_leads_a_key = True

    merchant_notifications: Mapped[FailureNotificationOption] = mapped_column(
        default=FailureNotificationOption.SEND_NOTIFICATIONS
    )
    customer_notifications: Mapped[FailureNotificationOption] = mapped_column(
        default=FailureNotificationOption.SEND_NOTIFICATIONS
    )


class StripeCollectionSettings(TenantMixin, Base):
    __tablename__ = "stripe_collection_settings"
    __table_args__ = (UniqueConstraint("account_id"),)
    account_id_leads_a_key = True

    enable_automatic_payments: Mapped[bool] = mapped_column(default=False)
    auto_enable_stripe_payments: Mapped[bool] = mapped_column(default=False)
    retry_anchor: Mapped[RetryAnchor] = mapped_column(default=RetryAnchor.SENT_DATE)
    # Days after the anchor of each retry after the first attempt; the last failed retry
    # makes the invoice UNCOLLECTIBLE.
    retry_offset_days: Mapped[list[Any]] = mapped_column(
        default=lambda: list(DEFAULT_RETRY_OFFSET_DAYS)
    )


class CustomerPaymentSettings(TenantMixin, Base):
    __tablename__ = "customer_payment_settings"
    # One live row per customer; a deleted one frees the place for a new one.
    __table_args__ = (
        Index(
            "uq_customer_payment_settings_live",
            "account_id",
            "customer_id",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )
    account_id_leads_a_key = True

    customer_id: Mapped[str] = mapped_column(String(36), ForeignKey("customers.id"))
    payment_provider: Mapped[PaymentProviderName]
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class BillingSchedulePaymentSettings(TenantMixin, Base):
    __tablename__ = "billing_schedule_payment_settings"
    # One live row per billing schedule; a deleted one frees the place for a new one.
    __table_args__ = (
        Index(
            "uq_billing_schedule_payment_settings_live",
            "account_id",
            "billing_schedule_id",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )
    account_id_leads_a_key = True

    billing_schedule_id: Mapped[str] = mapped_column(String(36), ForeignKey("billing_schedules.id"))
    payment_provider: Mapped[PaymentProviderName]
    auto_charge: Mapped[bool] = mapped_column(default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class InvoicePaymentSettings(TenantMixin, Base):
    __tablename__ = "invoice_payment_settings"
    # One live row per invoice; a deleted one frees the place for a new one.
    __table_args__ = (
        Index(
            "uq_invoice_payment_settings_live",
            "account_id",
            "invoice_id",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )
    account_id_leads_a_key = True

    invoice_id: Mapped[str] = mapped_column(String(36), ForeignKey("invoices.id"))
    customer_id: Mapped[str] = mapped_column(String(36), ForeignKey("customers.id"))
    payment_provider: Mapped[PaymentProviderName]
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
