"""Invoices, their line items and groups, and the billing runs that produce them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tally.models.base import Base, TenantMixin
from tally.models.billed import BilledLine, BilledLineGroup


class InvoiceStatus(StrEnum):
    IN_PROGRESS = "IN_PROGRESS"  # the current period: recalculated as usage arrives
    DRAFT = "DRAFT"  # period over, awaiting review
    FINAL = "FINAL"
    SENT = "SENT"
    VOIDED = "VOIDED"


EDITABLE_STATUSES = (InvoiceStatus.IN_PROGRESS, InvoiceStatus.DRAFT)


class PaymentStatus(StrEnum):
    UNPAID = "UNPAID"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    UNCOLLECTIBLE = "UNCOLLECTIBLE"


class DueDateSource(StrEnum):
    CALCULATED = "CALCULATED"  # issue date + payment terms
    MANUAL = "MANUAL"  # set on the invoice


class BillingRunStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class LineKind(StrEnum):
    PRICE = "PRICE"
    DISCOUNT = "DISCOUNT"
    MINIMUM = "MINIMUM"
    CREDIT = "CREDIT"
    MANUAL = "MANUAL"
    THRESHOLD = "THRESHOLD"  # deducts what a threshold invoice of the period invoiced


class BillingRun(TenantMixin, Base):
    """One invoice date of one schedule. The unique key makes a second run of the same date,
    by any worker, find the first one's invoice instead of billing twice."""

    __tablename__ = "billing_runs"
    # Account first: a run reads its batch's runs by account and schedules through this key.
    __table_args__ = (UniqueConstraint("account_id", "billing_schedule_id", "invoice_date"),)
    account_id_leads_a_key = True

    billing_schedule_id: Mapped[str] = mapped_column(String(36), ForeignKey("billing_schedules.id"))
    invoice_date: Mapped[date]
    billing_period_start: Mapped[date]
    billing_period_end: Mapped[date]
    status: Mapped[BillingRunStatus]
    invoice_id: Mapped[str | None] = mapped_column(String(36), default=None)


class ThresholdInvoice(TenantMixin, Base):
    """An invoice issued because a period's charges reached its phase's threshold: the
    `sequence`-th of the period whose invoice is dated `invoice_date`. The unique key makes
    a second run of the same step find the first one's instead of issuing twice.
    `charges`: what it invoiced per tax rate (`[{"taxRate", "taxRateVersionId", "net",
    "tax"}]`, decimal strings), which the period's later invoices deduct exactly."""

    __tablename__ = "threshold_invoices"
    __table_args__ = (
        UniqueConstraint(
            "account_id",
            "billing_schedule_id",
            "invoice_date",
            "sequence",
            name="uq_threshold_invoices_step",
        ),
    )
    account_id_leads_a_key = True

    billing_schedule_id: Mapped[str] = mapped_column(String(36), ForeignKey("billing_schedules.id"))
    invoice_date: Mapped[date]  # of the period's own invoice, which deducts this one
    billing_period_start: Mapped[date]
    billing_period_end: Mapped[date]
    sequence: Mapped[int]
    invoice_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    charges: Mapped[list[Any]] = mapped_column(default=list)


class Invoice(TenantMixin, Base):
    __tablename__ = "invoices"
    __table_args__ = (
        Index("ix_invoices_account_customer", "account_id", "customer_id"),
        Index("ix_invoices_account_schedule", "account_id", "billing_schedule_id"),
        Index("ix_invoices_account_status", "account_id", "status"),
    )

    customer_id: Mapped[str] = mapped_column(String(36), ForeignKey("customers.id"))
    billing_schedule_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("billing_schedules.id"), default=None
    )
    billing_run_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("billing_runs.id"), index=True, default=None
    )
    status: Mapped[InvoiceStatus]
    payment_status: Mapped[PaymentStatus] = mapped_column(default=PaymentStatus.UNPAID)
    currency: Mapped[str] = mapped_column(String(3))
    invoice_number: Mapped[str | None] = mapped_column(String(50), default=None)
    invoice_date: Mapped[date | None] = mapped_column(default=None)  # when it falls due to issue
    issue_date: Mapped[date | None] = mapped_column(default=None)
    due_date: Mapped[date | None] = mapped_column(default=None)
    billing_period_start: Mapped[date | None] = mapped_column(default=None)
    billing_period_end: Mapped[date | None] = mapped_column(default=None)
    accounting_date: Mapped[date]
    net_total: Mapped[Decimal] = mapped_column(default=Decimal(0))
    total_tax: Mapped[Decimal] = mapped_column(default=Decimal(0))
    gross_total: Mapped[Decimal] = mapped_column(default=Decimal(0))
    purchase_order_number: Mapped[str | None] = mapped_column(String(200), default=None)
    reference: Mapped[str | None] = mapped_column(String(500), default=None)
    memo: Mapped[str | None] = mapped_column(String(5000), default=None)
    payment_term_days: Mapped[int | None] = mapped_column(default=None)
    # The customer as billed: kept on the invoice so later edits never rewrite it.
    customer_legal_company_name: Mapped[str] = mapped_column(String(500))
    customer_emails: Mapped[list[Any]] = mapped_column(default=list)
    customer_billing_address: Mapped[dict[str, Any]]
    customer_tax_status: Mapped[str] = mapped_column(String(32))
    metadata_items: Mapped[list[Any]] = mapped_column(default=list)
    customer_shipping_address: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    payment_options: Mapped[list[Any]] = mapped_column(default=list)
    due_date_source: Mapped[DueDateSource] = mapped_column(default=DueDateSource.CALCULATED)
    # The lifecycle's moments (issue_date is the day it was finalized).
    finalized_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    voided_at: Mapped[datetime | None] = mapped_column(default=None)
    # A person changed its lines: billing no longer recalculates it (their edits would be lost).
    edited_at: Mapped[datetime | None] = mapped_column(default=None)
    # What is still owed once finalized: gross total less credit notes applied. Every change
    # bumps the version, which credit-note applications check (optimistic concurrency).
    balance: Mapped[Decimal] = mapped_column(default=Decimal(0))
    balance_version: Mapped[int] = mapped_column(default=0)
    # When billing last calculated it, and a digest of the result: a recalculation that comes
    # out the same rewrites nothing.
    calculated_at: Mapped[datetime | None] = mapped_column(default=None)
    calculation_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    # Sequence's creditBalances: the statement of the customer's credit balances it prints.
    credit_balances: Mapped[str | None] = mapped_column(String(2000), default=None)
    # Uploaded attachments sent with the invoice, in the order given: each one's id and
    # details (an attachment never changes, so the copy never goes stale).
    attachment_assets: Mapped[list[Any]] = mapped_column(default=list)

    groups: Mapped[list[InvoiceLineItemGroup]] = relationship(
        order_by="InvoiceLineItemGroup.index", lazy="raise", cascade="all, delete-orphan"
    )
    line_items: Mapped[list[InvoiceLineItem]] = relationship(
        order_by="InvoiceLineItem.index", lazy="raise", cascade="all, delete-orphan"
    )


class InvoiceLineItemGroup(BilledLineGroup, Base):
    """Lines of one product (or the adjustments) under one heading."""

    __tablename__ = "invoice_line_item_groups"

    invoice_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # Sequence's group settings, "for all line items in this line item group".
    tax_category_id: Mapped[str | None] = mapped_column(String(36), default=None)
    tax_category_name: Mapped[str | None] = mapped_column(String(200), default=None)
    revenue_recognition_method: Mapped[str | None] = mapped_column(String(32), default=None)
    revenue_classification: Mapped[str | None] = mapped_column(String(32), default=None)
    service_period_start: Mapped[date | None] = mapped_column(default=None)
    service_period_end: Mapped[date | None] = mapped_column(default=None)


class InvoiceLineItem(BilledLine, Base):
    __tablename__ = "invoice_line_items"

    invoice_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[str | None] = mapped_column(
        String(36),
        ForeignKey("invoice_line_item_groups.id", ondelete="CASCADE"),
        index=True,  # deleting a group looks up its lines
        default=None,
    )
    kind: Mapped[LineKind] = mapped_column(default=LineKind.PRICE)
    # The tax-rate version used, so a finalized invoice stays reproducible.
    tax_rate_version_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # Roll-up billing: each customer's share of the quantity.
    breakdown: Mapped[list[Any]] = mapped_column(default=list)
    # Tiered prices: what each tier charged (`engine.tiers.TierCharge.wire`), before
    # discounts; the amounts sum to the line's amount before rounding. For the document.
    tiers: Mapped[list[Any]] = mapped_column(default=list)
    # Discounts netted into the line ({title, percentage, amount}, amounts in minor units):
    # net_total less them is the line before discounts. For the document.
    netted_discounts: Mapped[list[Any]] = mapped_column(default=list)
    # CREDIT lines: the grant they draw on (projected until the invoice is finalized).
    credit_grant_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # As the client sent them (Sequence's `externalIds`), and the revenue treatment: given,
    # the group's, or what billing derives from the price and the line's kind.
    external_ids: Mapped[list[Any]] = mapped_column(default=list)
    revenue_recognition_method: Mapped[str | None] = mapped_column(String(32), default=None)
    revenue_classification: Mapped[str | None] = mapped_column(String(32), default=None)
