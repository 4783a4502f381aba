"""The reads behind the analytics figures: one query per question, grouped in SQL where the
figure is a sum, never a query per month, customer or metric.

Months are folded from days in Python (`service.py`): grouping by a date column is the same
SQL on both databases, grouping by its month is not."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tally.core.sql import exact_sum
from tally.invoices.queries import overdue_condition
from tally.metering.queries import customer_names
from tally.metering.sql import metering_sql
from tally.models import (
    AggregationType,
    BillingSchedule,
    BillingSchedulePhase,
    CreditNote,
    Customer,
    DiscountType,
    Invoice,
    InvoiceStatus,
    Payment,
    Price,
    PricingType,
    ScheduleStatus,
    UsageMetric,
)
from tally.models.billing_schedule import PhaseDiscount, PhasePrice
from tally.models.metering import USAGE_ROLLUPS
from tally.models.scoped import scoped

ZERO = Decimal(0)
# Issued documents: FINAL and SENT. DRAFT, IN_PROGRESS and VOIDED never count.
ISSUED = (InvoiceStatus.FINAL, InvoiceStatus.SENT)
RECURRING = (PricingType.FIXED, PricingType.SEAT_BASED)


# --- billed revenue ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DayTotals:
    currency: str
    day: date
    count: int
    net: Decimal
    tax: Decimal
    gross: Decimal


def issued_invoices_by_day(
    session: Session, account_id: str, first: date, last: date
) -> list[DayTotals]:
    """Issued invoices' totals per currency and issue date between two days (inclusive)."""
    query = (
        scoped(Invoice, account_id)
        .with_only_columns(
            Invoice.currency,
            Invoice.issue_date,
            func.count(),
            exact_sum(session, Invoice.net_total),
            exact_sum(session, Invoice.total_tax),
            exact_sum(session, Invoice.gross_total),
        )
        .where(Invoice.status.in_(ISSUED), Invoice.issue_date >= first, Invoice.issue_date <= last)
        .group_by(Invoice.currency, Invoice.issue_date)
    )
    return [_day(row) for row in session.execute(query)]


def issued_credit_notes_by_day(
    session: Session, account_id: str, first: date, last: date
) -> list[DayTotals]:
    """Issued credit notes' totals per currency and issue date between two days."""
    query = (
        scoped(CreditNote, account_id)
        .with_only_columns(
            CreditNote.currency,
            CreditNote.issue_date,
            func.count(),
            exact_sum(session, CreditNote.net_total),
            exact_sum(session, CreditNote.total_tax),
            exact_sum(session, CreditNote.gross_total),
        )
        .where(
            CreditNote.status.in_(ISSUED),
            CreditNote.issue_date >= first,
            CreditNote.issue_date <= last,
        )
        .group_by(CreditNote.currency, CreditNote.issue_date)
    )
    return [_day(row) for row in session.execute(query)]


def _day(row: Any) -> DayTotals:
    currency, day, count, net, tax, gross = row
    return DayTotals(currency, day, int(count), net or ZERO, tax or ZERO, gross or ZERO)


# --- cash ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCash:
    currency: str
    day: date
    count: int
    received: Decimal
    refunded: Decimal


def payments_by_day(session: Session, account_id: str, first: date, last: date) -> list[DayCash]:
    """Payments recorded per currency and day paid (and what was refunded of them)."""
    query = (
        scoped(Payment, account_id)
        .with_only_columns(
            Payment.currency,
            Payment.paid_on,
            func.count(),
            exact_sum(session, Payment.amount),
            exact_sum(session, Payment.refunded_amount),
        )
        .where(Payment.paid_on >= first, Payment.paid_on <= last)
        .group_by(Payment.currency, Payment.paid_on)
    )
    return [
        DayCash(currency, day, int(count), received or ZERO, refunded or ZERO)
        for currency, day, count, received, refunded in session.execute(query)
    ]


# --- overdue invoices ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OverdueInvoice:
    invoice_id: str
    invoice_number: str | None
    customer_id: str
    customer_name: str
    currency: str
    due_date: date
    gross_total: Decimal
    amount_due: Decimal


def overdue_invoices(
    session: Session, account_id: str, today: date, limit: int | None = None
) -> list[OverdueInvoice]:
    """Overdue invoices (`invoices.queries.overdue_condition`), longest overdue first."""
    query = (
        scoped(Invoice, account_id)
        .with_only_columns(
            Invoice.id,
            Invoice.invoice_number,
            Invoice.customer_id,
            Customer.legal_name,
            Invoice.currency,
            Invoice.due_date,
            Invoice.gross_total,
            Invoice.balance,
        )
        .join(Customer, (Customer.id == Invoice.customer_id) & (Customer.account_id == account_id))
        .where(overdue_condition(today))
        .order_by(Invoice.due_date, Invoice.id)
        .limit(limit)
    )
    return [
        OverdueInvoice(
            row.id,
            row.invoice_number,
            row.customer_id,
            row.legal_name,
            row.currency,
            row.due_date,
            row.gross_total,
            row.balance,
        )
        for row in session.execute(query)
    ]


def overdue_count(session: Session, account_id: str, today: date) -> int:
    query = (
        scoped(Invoice, account_id).with_only_columns(func.count()).where(overdue_condition(today))
    )
    return int(session.scalar(query) or 0)


# --- customers by revenue ------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerRevenue:
    customer_id: str
    customer_name: str
    currency: str
    invoice_count: int
    net: Decimal
    gross: Decimal


def revenue_by_customer(
    session: Session, account_id: str, first: date, last: date
) -> list[CustomerRevenue]:
    """Issued invoices' net and gross per customer and currency between two issue dates."""
    query = (
        scoped(Invoice, account_id)
        .with_only_columns(
            Invoice.customer_id,
            Customer.legal_name,
            Invoice.currency,
            func.count(),
            exact_sum(session, Invoice.net_total),
            exact_sum(session, Invoice.gross_total),
        )
        .join(Customer, (Customer.id == Invoice.customer_id) & (Customer.account_id == account_id))
        .where(Invoice.status.in_(ISSUED), Invoice.issue_date >= first, Invoice.issue_date <= last)
        .group_by(Invoice.customer_id, Customer.legal_name, Invoice.currency)
    )
    return [
        CustomerRevenue(customer_id, name, currency, int(count), net or ZERO, gross or ZERO)
        for customer_id, name, currency, count, net, gross in session.execute(query)
    ]


# --- recurring prices of schedules (MRR) ----------------------------------------------------------


@dataclass(frozen=True)
class RecurringPrice:
    """A FIXED or SEAT_BASED price of a schedule's phase, with the dates that bound it."""

    schedule_id: str
    customer_id: str
    status: ScheduleStatus
    schedule_start: date
    schedule_end: date | None
    archived_at: datetime | None
    phase_id: str
    phase_start: date
    phase_end: date | None
    phase_price_metadata: list[Any]
    price_id: str
    currency: str
    billing_frequency: str
    pricing_type: PricingType
    structure: dict[str, Any]


def recurring_prices(
    session: Session, account_id: str, statuses: Collection[ScheduleStatus]
) -> list[RecurringPrice]:
    """Every FIXED and SEAT_BASED price of the phases of the account's schedules in
    `statuses`: one query."""
    query = (
        scoped(BillingSchedule, account_id)
        .with_only_columns(
            BillingSchedule.id,
            BillingSchedule.customer_id,
            BillingSchedule.status,
            BillingSchedule.start_date,
            BillingSchedule.end_date,
            BillingSchedule.archived_at,
            BillingSchedulePhase.id,
            BillingSchedulePhase.start_date,
            BillingSchedulePhase.end_date,
            BillingSchedulePhase.phase_price_metadata,
            Price.id,
            Price.currency,
            Price.billing_frequency,
            Price.pricing_type,
            Price.structure,
        )
        .join(
            BillingSchedulePhase,
            (BillingSchedulePhase.billing_schedule_id == BillingSchedule.id)
            & (BillingSchedulePhase.account_id == account_id),
        )
        .join(PhasePrice, PhasePrice.phase_id == BillingSchedulePhase.id)
        .join(Price, (Price.id == PhasePrice.price_id) & (Price.account_id == account_id))
        .where(BillingSchedule.status.in_(list(statuses)), Price.pricing_type.in_(RECURRING))
        .order_by(BillingSchedule.id, BillingSchedulePhase.start_date, PhasePrice.position)
    )
    fields = RecurringPrice.__dataclass_fields__
    return [RecurringPrice(**dict(zip(fields, row, strict=True))) for row in session.execute(query)]


@dataclass(frozen=True)
class PercentageDiscount:
    phase_id: str
    percentage: Decimal  # 10 is 10 %
    restrict_to_prices: list[Any]
    valid_from: date | None
    valid_to: date | None


def percentage_discounts(
    session: Session, account_id: str, phase_ids: Collection[str]
) -> list[PercentageDiscount]:
    """The live PERCENTAGE discounts of the phases: one query."""
    if not phase_ids:
        return []
    query = (
        scoped(PhaseDiscount, account_id)
        .with_only_columns(
            PhaseDiscount.phase_id,
            PhaseDiscount.amount,
            PhaseDiscount.restrict_to_prices,
            PhaseDiscount.valid_from,
            PhaseDiscount.valid_to,
        )
        .where(
            PhaseDiscount.phase_id.in_(list(phase_ids)),
            PhaseDiscount.deleted_at.is_(None),
            PhaseDiscount.type == DiscountType.PERCENTAGE,
        )
    )
    return [
        PercentageDiscount(phase_id, Decimal(amount), list(restrict or []), start, end)
        for phase_id, amount, restrict, start, end in session.execute(query)
    ]


def customer_names_of(session: Session, account_id: str, ids: Collection[str]) -> dict[str, str]:
    """id -> legal name of those of `ids` that are the account's customers."""
    if not ids:
        return {}
    query = (
        scoped(Customer, account_id)
        .with_only_columns(Customer.id, Customer.legal_name)
        .where(Customer.id.in_(list(ids)))
    )
    return {str(customer_id): str(name) for customer_id, name in session.execute(query)}


# --- usage -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricRow:
    id: str
    name: str
    unit: str | None
    aggregation: AggregationType


def usage_metrics(session: Session, account_id: str) -> list[MetricRow]:
    """The account's live usage metrics, by name."""
    query = (
        scoped(UsageMetric, account_id)
        .with_only_columns(
            UsageMetric.id, UsageMetric.name, UsageMetric.unit, UsageMetric.aggregation_type
        )
        .where(UsageMetric.deleted_at.is_(None))
        .order_by(UsageMetric.name, UsageMetric.id)
    )
    return [MetricRow(*row) for row in session.execute(query)]


@dataclass(frozen=True)
class UsageAmounts:
    events: int
    value_sum: Decimal
    value_max: Decimal | None


def usage_by_day(
    session: Session, account_id: str, first: date, last: date
) -> dict[tuple[str, date], UsageAmounts]:
    """(metric id, local day) -> the day's events and values over every alias of the
    account, from the rollups: one grouped query."""
    sql = metering_sql(session)
    rollups = USAGE_ROLLUPS
    query = (
        select(
            rollups.c.metric_id,
            rollups.c.day,
            func.sum(rollups.c.event_count),
            sql.decimal_sum(rollups.c.value_sum),
            sql.decimal_max(rollups.c.value_max),
        )
        .where(rollups.c.account_id == account_id, rollups.c.day >= first, rollups.c.day <= last)
        .group_by(rollups.c.metric_id, rollups.c.day)
    )
    return {
        (metric_id, day): UsageAmounts(
            int(events or 0),
            Decimal(total) if total is not None else ZERO,
            None if most is None else Decimal(most),
        )
        for metric_id, day, events, total, most in session.execute(query)
    }


def usage_by_customer(
    session: Session, account_id: str, first: date, last: date
) -> dict[tuple[str, str], UsageAmounts]:
    """(metric id, customer id) -> the customer's events and values between two local days,
    its events found by its id or any live alias: one grouped query."""
    sql = metering_sql(session)
    rollups = USAGE_ROLLUPS
    names = customer_names(account_id)
    query = (
        select(
            rollups.c.metric_id,
            names.c.subject,
            func.sum(rollups.c.event_count),
            sql.decimal_sum(rollups.c.value_sum),
            sql.decimal_max(rollups.c.value_max),
        )
        .select_from(rollups.join(names, names.c.alias == rollups.c.customer_alias))
        .where(rollups.c.account_id == account_id, rollups.c.day >= first, rollups.c.day <= last)
        .group_by(rollups.c.metric_id, names.c.subject)
    )
    return {
        (metric_id, customer_id): UsageAmounts(
            int(events or 0),
            Decimal(total) if total is not None else ZERO,
            None if most is None else Decimal(most),
        )
        for metric_id, customer_id, events, total, most in session.execute(query)
    }
