"""Credits a customer buys: top-ups (an invoice for the purchase, the grant when it is paid or
at once) and auto-recharge (a top-up charged to the saved payment method when a balance falls
below a level), with each recharge claimed once before the provider is asked."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tally.models.base import Base, TenantMixin
from tally.models.credit import CreditUnitType


class GrantWhen(StrEnum):
    ON_PAYMENT = "ON_PAYMENT"  # the grant is given when the invoice is PAID
    IMMEDIATELY = "IMMEDIATELY"  # usable at once, whatever happens to the invoice


class TopUpStatus(StrEnum):
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    GRANTED = "GRANTED"
    CANCELLED = "CANCELLED"  # its invoice was voided before it was paid


class CreditTopUp(TenantMixin, Base):
    """Credits bought: the invoice for the purchase and, once given, the grant."""

    __tablename__ = "credit_top_ups"
    account_id_leads_a_key = True
    __table_args__ = (
        Index("ix_credit_top_ups_account_customer", "account_id", "customer_id"),
        UniqueConstraint("account_id", "invoice_id"),
    )

    customer_id: Mapped[str] = mapped_column(String(36), ForeignKey("customers.id"))
    name: Mapped[str] = mapped_column(String(500))
    credit_unit_type: Mapped[CreditUnitType]
    currency: Mapped[str] = mapped_column(String(3))
    metric_id: Mapped[str | None] = mapped_column(String(36), default=None)
    amount: Mapped[Decimal]  # credits bought
    cost: Mapped[Decimal]  # the price, before tax
    tax_rate_id: Mapped[str | None] = mapped_column(String(36), default=None)
    expiry_date: Mapped[date | None] = mapped_column(default=None)
    grant_when: Mapped[GrantWhen]
    status: Mapped[TopUpStatus]
    invoice_id: Mapped[str] = mapped_column(String(36), ForeignKey("invoices.id"))
    grant_id: Mapped[str | None] = mapped_column(String(36), default=None)
    recharge_id: Mapped[str | None] = mapped_column(String(36), default=None)
    granted_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)


class CreditAutoRecharge(TenantMixin, Base):
    """A customer's auto-recharge of one currency's cash credits: one row per customer and
    currency, kept (marked deleted) when turned off, revived when set again."""

    __tablename__ = "credit_auto_recharges"
    account_id_leads_a_key = True
    __table_args__ = (UniqueConstraint("account_id", "customer_id", "currency"),)

    customer_id: Mapped[str] = mapped_column(String(36), ForeignKey("customers.id"))
    currency: Mapped[str] = mapped_column(String(3))
    below_balance: Mapped[Decimal]
    recharge_amount: Mapped[Decimal]  # credits bought
    cost: Mapped[Decimal | None] = mapped_column(default=None)  # none: 1:1
    monthly_cap: Mapped[Decimal | None] = mapped_column(default=None)  # charged, tax included
    tax_rate_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # After a failure (a day) or the cap (the next month): no recharge before, unless the
    # settings change.
    paused_until: Mapped[datetime | None] = mapped_column(default=None)
    last_failure: Mapped[str | None] = mapped_column(String(1000), default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class RechargeStatus(StrEnum):
    PENDING = "PENDING"  # claimed: the provider is (being) asked
    SUCCEEDED = "SUCCEEDED"  # charged; the grant is given
    FAILED = "FAILED"  # declined or no way to charge: no grant
    CAPPED = "CAPPED"  # the monthly cap would be exceeded: nothing charged


class CreditRecharge(TenantMixin, Base):
    """One recharge of an auto-recharge, numbered: claimed (unique number) and committed
    before the provider is asked, so retries and concurrent checks charge once."""

    __tablename__ = "credit_recharges"
    account_id_leads_a_key = True
    __table_args__ = (
        UniqueConstraint("account_id", "auto_recharge_id", "number"),
        Index("ix_credit_recharges_account_customer", "account_id", "customer_id"),
    )

    auto_recharge_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("credit_auto_recharges.id")
    )
    customer_id: Mapped[str] = mapped_column(String(36), ForeignKey("customers.id"))
    currency: Mapped[str] = mapped_column(String(3))
    number: Mapped[int]
    status: Mapped[RechargeStatus]
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM in the account's time zone
    amount: Mapped[Decimal]  # credits
    charged: Mapped[Decimal]  # the invoice's gross total (what counts toward the cap)
    balance_before: Mapped[Decimal]
    top_up_id: Mapped[str | None] = mapped_column(String(36), default=None)
    invoice_id: Mapped[str | None] = mapped_column(String(36), default=None)
    attempt_id: Mapped[str | None] = mapped_column(String(36), default=None)
    failure_message: Mapped[str | None] = mapped_column(String(1000), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
