"""Credit grants, the immutable ledger their balances are derived from, and the grants a
billing schedule phase hands out."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tally.models.base import Base, TenantMixin


class CreditUnitType(StrEnum):
    CURRENCY = "CURRENCY"  # cash: offsets money on any line
    METRIC = "METRIC"  # units of a usage metric: offsets that metric's usage lines


class GrantRefreshFrequency(StrEnum):
    NONE = "NONE"
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
    HALF_YEARLY = "HALF_YEARLY"
    YEARLY = "YEARLY"


class RolloverMode(StrEnum):
    NONE = "NONE"
    ON_GRANT_REFRESH = "ON_GRANT_REFRESH"
    ON_GRANT_REFRESH_AND_PHASE = "ON_GRANT_REFRESH_AND_PHASE"


class LedgerEntryType(StrEnum):
    GRANT = "GRANT"  # + the grant's amount, on its effective date
    DEBIT = "DEBIT"  # - spent by a finalized invoice
    RESTORE = "RESTORE"  # + given back by voiding that invoice
    EXPIRY = "EXPIRY"  # - what was left after the expiry date
    ROLLOVER = "ROLLOVER"  # +/- a phase grant's remainder carried into its refresh
    REVOKE = "REVOKE"  # - what was left when the grant was deleted


class CreditGrant(TenantMixin, Base):
    """Credits given to a customer. Amounts are in credits: money for CURRENCY grants, units
    of `metric_id` for METRIC ones. The balance is never stored here: it is the sum of the
    grant's ledger entries."""

    __tablename__ = "credit_grants"
    account_id_leads_a_key = True
    __table_args__ = (
        Index("ix_credit_grants_account_customer", "account_id", "customer_id"),
        # A phase grant is handed out once per refresh period (NULLs never collide).
        UniqueConstraint("account_id", "phase_credit_grant_id", "refresh_period_start"),
    )

    customer_id: Mapped[str] = mapped_column(String(36), ForeignKey("customers.id"))
    name: Mapped[str] = mapped_column(String(500))
    credit_unit_type: Mapped[CreditUnitType]
    currency: Mapped[str] = mapped_column(String(3))
    metric_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("usage_metrics.id"), default=None
    )
    amount: Mapped[Decimal]
    cost_of_credit: Mapped[Decimal | None] = mapped_column(default=None)
    tax_rate_id: Mapped[str | None] = mapped_column(String(36), default=None)
    effective_date: Mapped[date]
    expiry_date: Mapped[date | None] = mapped_column(default=None)  # last usable day
    # Wallet value: credits per unit of `currency` (10 = "434.2 credits ($43.42 value)").
    credits_per_currency_unit: Mapped[Decimal | None] = mapped_column(default=None)
    invoice_id: Mapped[str | None] = mapped_column(String(36), default=None)  # createInvoice
    credit_note_id: Mapped[str | None] = mapped_column(String(36), default=None)
    billing_schedule_id: Mapped[str | None] = mapped_column(String(36), default=None)
    phase_credit_grant_id: Mapped[str | None] = mapped_column(String(36), default=None)
    refresh_period_start: Mapped[date | None] = mapped_column(default=None)
    restrict_to_prices: Mapped[list[Any]] = mapped_column(default=list)  # empty: every price
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class CreditLedgerEntry(TenantMixin, Base):
    """One immutable movement of a grant's balance (signed: + adds credits, - takes them).

    `dedupe_key` is unique per account ("debit:<invoice>:<grant>", "expiry:<grant>:<n>", ...):
    a retried or concurrent writer of the same movement inserts nothing."""

    __tablename__ = "credit_ledger_entries"
    account_id_leads_a_key = True
    __table_args__ = (
        UniqueConstraint("account_id", "dedupe_key"),
        Index("ix_credit_ledger_entries_account_customer", "account_id", "customer_id"),
        Index("ix_credit_ledger_entries_grant", "grant_id"),
    )

    customer_id: Mapped[str] = mapped_column(String(36), ForeignKey("customers.id"))
    grant_id: Mapped[str] = mapped_column(String(36), ForeignKey("credit_grants.id"))
    entry_type: Mapped[LedgerEntryType]
    amount: Mapped[Decimal]
    effective_date: Mapped[date]
    invoice_id: Mapped[str | None] = mapped_column(String(36), default=None)
    billing_run_id: Mapped[str | None] = mapped_column(String(36), default=None)
    reason: Mapped[str] = mapped_column(String(500), default="")
    dedupe_key: Mapped[str] = mapped_column(String(200))


class PhaseCreditGrant(TenantMixin, Base):
    """A grant a billing schedule phase hands out (Sequence's embedded credit grant): once,
    or again every refresh period, with or without the remainder rolling over."""

    __tablename__ = "phase_credit_grants"

    billing_schedule_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("billing_schedules.id"), index=True
    )
    phase_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("billing_schedule_phases.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(500))
    credit_unit_type: Mapped[CreditUnitType]
    currency: Mapped[str] = mapped_column(String(3))
    metric_id: Mapped[str | None] = mapped_column(String(36), default=None)
    amount: Mapped[Decimal]
    cost_of_credit: Mapped[Decimal | None] = mapped_column(default=None)
    tax_rate_id: Mapped[str | None] = mapped_column(String(36), default=None)
    grant_refresh_frequency: Mapped[GrantRefreshFrequency] = mapped_column(
        default=GrantRefreshFrequency.NONE
    )
    rollover_mode: Mapped[RolloverMode] = mapped_column(default=RolloverMode.NONE)
    restrict_to_prices: Mapped[list[Any]] = mapped_column(default=list)
