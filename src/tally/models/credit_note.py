"""Credit notes: what a merchant gives back against a sent invoice, their lines and groups,
and their applications to invoices (the ledger of balances)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tally.models.base import Base, TenantMixin
from tally.models.billed import BilledLine, BilledLineGroup
from tally.models.invoice import InvoiceStatus


class CreditNote(TenantMixin, Base):
    """Statuses are the invoice's (DRAFT, FINAL, SENT, VOIDED); numbers are gapless per
    account with their own prefix, assigned at finalize."""

    __tablename__ = "credit_notes"
    __table_args__ = (
        Index("ix_credit_notes_account_invoice", "account_id", "invoice_id"),
        Index("ix_credit_notes_account_customer", "account_id", "customer_id"),
    )

    invoice_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("invoices.id"), default=None
    )
    customer_id: Mapped[str] = mapped_column(String(36), ForeignKey("customers.id"))
    billing_schedule_id: Mapped[str | None] = mapped_column(String(36), default=None)
    status: Mapped[InvoiceStatus] = mapped_column(default=InvoiceStatus.DRAFT)
    currency: Mapped[str] = mapped_column(String(3))
    credit_note_number: Mapped[str | None] = mapped_column(String(50), default=None)
    issue_date: Mapped[date | None] = mapped_column(default=None)
    accounting_date: Mapped[date | None] = mapped_column(default=None)
    billing_period_start: Mapped[date | None] = mapped_column(default=None)
    billing_period_end: Mapped[date | None] = mapped_column(default=None)
    net_total: Mapped[Decimal] = mapped_column(default=Decimal(0))
    total_tax: Mapped[Decimal] = mapped_column(default=Decimal(0))
    gross_total: Mapped[Decimal] = mapped_column(default=Decimal(0))
    purchase_order_number: Mapped[str | None] = mapped_column(String(200), default=None)
    memo: Mapped[str | None] = mapped_column(String(5000), default=None)
    customer_legal_company_name: Mapped[str] = mapped_column(String(500))
    customer_emails: Mapped[list[Any]] = mapped_column(default=list)
    customer_billing_address: Mapped[dict[str, Any]]
    customer_shipping_address: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    customer_tax_id: Mapped[str | None] = mapped_column(String(100), default=None)
    metadata_items: Mapped[list[Any]] = mapped_column(default=list)
    # Sequence's settings.generateCashCreditGrant: ENABLED or DISABLED.
    generate_cash_credit_grant: Mapped[str] = mapped_column(String(20), default="DISABLED")
    finalized_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    voided_at: Mapped[datetime | None] = mapped_column(default=None)
    # What is left to apply to invoices; versioned like an invoice's balance.
    balance: Mapped[Decimal] = mapped_column(default=Decimal(0))
    balance_version: Mapped[int] = mapped_column(default=0)

    groups: Mapped[list[CreditNoteLineItemGroup]] = relationship(
        order_by="CreditNoteLineItemGroup.index", lazy="raise", cascade="all, delete-orphan"
    )
    line_items: Mapped[list[CreditNoteLineItem]] = relationship(
        order_by="CreditNoteLineItem.index", lazy="raise", cascade="all, delete-orphan"
    )


class CreditNoteLineItemGroup(BilledLineGroup, Base):
    __tablename__ = "credit_note_line_item_groups"

    credit_note_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("credit_notes.id", ondelete="CASCADE"), index=True
    )
    # The invoice's group this one credits (Sequence's `lineItemGroupId`), if any.
    invoice_line_item_group_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("invoice_line_item_groups.id"), default=None
    )


class CreditNoteLineItem(BilledLine, Base):
    __tablename__ = "credit_note_line_items"

    credit_note_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("credit_notes.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[str | None] = mapped_column(
        String(36),
        ForeignKey("credit_note_line_item_groups.id", ondelete="CASCADE"),
        index=True,
        default=None,
    )
    # The invoice line this one refunds (some or all of), if any.
    invoice_line_item_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("invoice_line_items.id"), index=True, default=None
    )
    # As the client sent them: Sequence's `externalIds`, revenue recognition and class.
    external_ids: Mapped[list[Any]] = mapped_column(default=list)
    revenue_recognition_method: Mapped[str | None] = mapped_column(String(32), default=None)
    revenue_classification: Mapped[str | None] = mapped_column(String(32), default=None)


class CreditNoteApplication(TenantMixin, Base):
    """One amount of a credit note applied to an invoice: a ledger transaction that lowers
    both balances together. Its id is Sequence's `ledgerTransactionId`."""

    __tablename__ = "credit_note_applications"

    credit_note_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("credit_notes.id"), index=True
    )
    invoice_id: Mapped[str] = mapped_column(String(36), ForeignKey("invoices.id"), index=True)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    applied_at: Mapped[datetime]
