"""Billing schedules: which prices a customer is billed, from when to when, in phases."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tally.models.base import Base, TenantMixin

if TYPE_CHECKING:
    from tally.models.payment_settings import BillingSchedulePaymentSettings


class ScheduleStatus(StrEnum):
    DRAFT = "DRAFT"
    PENDING = "PENDING"  # starts in the future
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    CANCELLED = "CANCELLED"
    COMPLETED = "COMPLETED"  # past its end, fully billed


class DiscountType(StrEnum):
    PERCENTAGE = "PERCENTAGE"
    NOMINAL = "NOMINAL"


class SeatDiscountType(StrEnum):
    INCLUDED_SEATS_ONLY = "INCLUDED_SEATS_ONLY"
    OVERAGE_SEATS_ONLY = "OVERAGE_SEATS_ONLY"
    ALL_SEATS = "ALL_SEATS"


class RecurrencePreference(StrEnum):
    CONTINUE_FROM_PREVIOUS_PHASE = "CONTINUE_FROM_PREVIOUS_PHASE"
    RESET = "RESET"


class BillingSchedule(TenantMixin, Base):
    __tablename__ = "billing_schedules"
    __table_args__ = (Index("ix_billing_schedules_account_customer", "account_id", "customer_id"),)

    customer_id: Mapped[str] = mapped_column(String(36), ForeignKey("customers.id"))
    status: Mapped[ScheduleStatus]
    start_date: Mapped[date]
    end_date: Mapped[date | None] = mapped_column(default=None)  # None: open-ended
    recurrence_day_of_month: Mapped[int | None] = mapped_column(default=None)
    auto_issue_invoices: Mapped[bool] = mapped_column(default=False)
    roll_up_billing: Mapped[bool] = mapped_column(default=False)
    default_due_date_days: Mapped[int | None] = mapped_column(default=None)
    purchase_order_number: Mapped[str | None] = mapped_column(String(200), default=None)
    reference: Mapped[str | None] = mapped_column(String(500), default=None)
    label: Mapped[str | None] = mapped_column(String(500), default=None)
    memo: Mapped[str | None] = mapped_column(String(5000), default=None)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    integration_ids: Mapped[list[Any]] = mapped_column(default=list)
    # Uploaded attachments its invoices are sent with (id and details, as on invoices).
    attachment_assets: Mapped[list[Any]] = mapped_column(default=list)
    archived_at: Mapped[datetime | None] = mapped_column(default=None)
    # When the billing scheduler last brought this schedule's invoices up to date.
    billed_at: Mapped[datetime | None] = mapped_column(default=None, index=True)

    phases: Mapped[list[BillingSchedulePhase]] = relationship(
        back_populates="schedule", order_by="BillingSchedulePhase.start_date", lazy="raise"
    )
    tax_rates: Mapped[list[ScheduleTaxRate]] = relationship(lazy="raise")
    # Which provider collects its invoices, and whether automatically (the schedule's
    # paymentProvider and autoCharge): its live payment settings row is the one truth.
    payment_settings: Mapped[BillingSchedulePaymentSettings | None] = relationship(
        primaryjoin="and_(BillingSchedule.id == "
        "foreign(BillingSchedulePaymentSettings.billing_schedule_id), "
        "BillingSchedulePaymentSettings.deleted_at.is_(None))",
        viewonly=True,
        uselist=False,
        lazy="raise",
    )


class BillingSchedulePhase(TenantMixin, Base):
    __tablename__ = "billing_schedule_phases"
    __table_args__ = (
        # Ingestion asks, at every batch, whether the account has a threshold-invoiced phase.
        Index(
            "ix_billing_schedule_phases_thresholds",
            "account_id",
            sqlite_where=text("invoice_threshold IS NOT NULL"),
            postgresql_where=text("invoice_threshold IS NOT NULL"),
        ),
    )

    billing_schedule_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("billing_schedules.id"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(500), default=None)
    external_contract_ref: Mapped[str | None] = mapped_column(String(500), default=None)
    start_date: Mapped[date]
    end_date: Mapped[date | None] = mapped_column(default=None)
    recurrence_preference: Mapped[RecurrencePreference] = mapped_column(
        default=RecurrencePreference.CONTINUE_FROM_PREVIOUS_PHASE
    )
    phase_price_metadata: Mapped[list[Any]] = mapped_column(default=list)
    # Tally's thresholdInvoicing: invoice as soon as the period's charges reach this amount.
    invoice_threshold: Mapped[Decimal | None] = mapped_column(default=None)

    schedule: Mapped[BillingSchedule] = relationship(back_populates="phases", lazy="raise")
    prices: Mapped[list[PhasePrice]] = relationship(
        order_by="PhasePrice.position", lazy="raise", cascade="all, delete-orphan"
    )
    # Live discounts only; deleted ones go with the phase through the foreign key's cascade.
    discounts: Mapped[list[PhaseDiscount]] = relationship(
        primaryjoin="and_(BillingSchedulePhase.id == PhaseDiscount.phase_id, "
        "PhaseDiscount.deleted_at.is_(None))",
        order_by="PhaseDiscount.id",
        lazy="raise",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    minimums: Mapped[list[PhaseMinimum]] = relationship(
        order_by="PhaseMinimum.id", lazy="raise", cascade="all, delete-orphan"
    )


class PhasePrice(Base):
    """A price billed during a phase, in the order the phase lists them."""

    __tablename__ = "billing_schedule_phase_prices"
    __table_args__ = (UniqueConstraint("phase_id", "price_id"),)

    phase_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("billing_schedule_phases.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    price_id: Mapped[str] = mapped_column(String(36), ForeignKey("prices.id"))


class PhaseDiscount(TenantMixin, Base):
    __tablename__ = "billing_schedule_discounts"

    billing_schedule_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("billing_schedules.id"), index=True
    )
    phase_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("billing_schedule_phases.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[DiscountType]
    amount: Mapped[Decimal]  # PERCENTAGE: 10 is 10 %; NOMINAL: an amount of money
    message: Mapped[str] = mapped_column(String(500))
    separate_line_item: Mapped[bool]
    restrict_to_prices: Mapped[list[Any]] = mapped_column(default=list)  # empty: every price
    seat_discount_type: Mapped[SeatDiscountType | None] = mapped_column(default=None)
    # Days it applies within its phase (inclusive); None: from the phase's start, to its end.
    valid_from: Mapped[date | None] = mapped_column(default=None)
    valid_to: Mapped[date | None] = mapped_column(default=None)
    # DELETE /discounts/{id}: billing ignores it from then on; the row stays for the record.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class PhaseMinimum(TenantMixin, Base):
    __tablename__ = "billing_schedule_minimums"

    billing_schedule_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("billing_schedules.id"), index=True
    )
    phase_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("billing_schedule_phases.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[Decimal]
    restrict_to_prices: Mapped[list[Any]] = mapped_column(default=list)  # empty: every price


class ScheduleTaxRate(Base):
    """The tax rate a schedule applies to one of its prices."""

    __tablename__ = "billing_schedule_tax_rates"

    billing_schedule_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("billing_schedules.id", ondelete="CASCADE"), primary_key=True
    )
    price_id: Mapped[str] = mapped_column(String(36), ForeignKey("prices.id"), primary_key=True)
    tax_rate_id: Mapped[str] = mapped_column(String(36), ForeignKey("tax_rates.id"))
