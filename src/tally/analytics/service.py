"""The analytics figures: the arithmetic over `queries.py`'s rows, per currency (amounts in
different currencies are never added), exact `Decimal`s throughout.

- MRR: what ACTIVE schedules' recurring prices charge per month on a day. A FIXED price is
  its price; a SEAT_BASED price its contracted minimum seats at the price per seat (seats
  bought above the minimum and usage prices are not recurring commitments: left out). Each
  is divided by its frequency's months (quarterly / 3, yearly / 12 ...), less the phase's
  PERCENTAGE discounts valid that day (one after another, as billing applies them); NOMINAL
  discounts, minimums and credits are left out. A price the phase marks `arrCalculation:
  EXCLUDE` counts nothing. ARR = 12 x MRR. Kept exact; rounded to the currency's minor
  unit only where it is written (the API, pages, CSV).
- The trend: MRR on each month's last day (today for the current month) from the phases'
  dates. Past months count schedules that were running then as far as the rows tell:
  COMPLETED, SUSPENDED and CANCELLED ones too (a cancelled one until the day it was archived);
  drafts and pending ones never.
- Billed revenue: issued invoices (FINAL, SENT) by the month of their issue date: net, tax,
  gross; issued credit notes in their own month, as separate columns (`credited*`), and the
  net less what was credited.
- Cash: payments by the month they were paid, less what was refunded of them (counted in the
  payment's month: a refund keeps no date of its own).
- Receivables aging: `payments.aging`'s buckets over `payments.queries.receivables`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from tally.analytics import queries
from tally.core.clock import local_date, local_today
from tally.exceptions import InvalidRequest
from tally.models import AggregationType, BillingFrequency, PricingType, ScheduleStatus
from tally.models.scoped import get_account
from tally.payments import aging
from tally.payments import queries as payment_queries

ZERO = Decimal(0)
HUNDRED = Decimal(100)
MONTHS_AT_MOST = 36
DAYS_AT_MOST = 366
TOP = 10


def today_of(session: Session, account_id: str) -> date:
    """The account's local today (`core.clock.local_today`)."""
    return local_today(get_account(session, account_id).timezone)


# --- months ------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str, field_name: str) -> Month:
        """ "2026-03" -> Month(2026, 3); anything else is a 400 naming the parameter."""
        try:
            year, month = text.split("-")
            parsed = cls(int(year), int(month))
            parsed.first  # noqa: B018 - validates the month
        except ValueError:
            raise InvalidRequest(f"{field_name} must be a month, YYYY-MM: {text!r}") from None
        if len(year) != 4 or len(month) != 2:
            raise InvalidRequest(f"{field_name} must be a month, YYYY-MM: {text!r}")
        return parsed

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return self.next().first - timedelta(days=1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def minus(self, count: int) -> Month:
        index = self.year * 12 + self.month - 1 - count
        return Month(index // 12, index % 12 + 1)

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def month_range(first: Month, last: Month) -> list[Month]:
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = month.next()
    return months


def months_window(
    today: date, first: str | None = None, last: str | None = None, count: int = 12
) -> list[Month]:
    """The months asked for (`from`, `to` as YYYY-MM), by default the last `count` up to the
    current one; at most 36, `from` not after `to` (400 otherwise)."""
    end = Month.parse(last, "to") if last else Month.of(today)
    start = Month.parse(first, "from") if first else end.minus(count - 1)
    if start > end:
        raise InvalidRequest(f"from ({start.key}) must not be after to ({end.key})")
    months = month_range(start, end)
    if len(months) > MONTHS_AT_MOST:
        raise InvalidRequest(f"from and to span {len(months)} months; at most {MONTHS_AT_MOST}")
    return months


def days_window(today: date, first: date | None, last: date | None) -> tuple[date, date]:
    """The days asked for, by default the last 30 up to today; at most 366, in order."""
    end = last or today
    start = first or end - timedelta(days=29)
    if start > end:
        raise InvalidRequest(f"from ({start}) must not be after to ({end})")
    if (end - start).days + 1 > DAYS_AT_MOST:
        raise InvalidRequest(f"from and to span more than {DAYS_AT_MOST} days")
    return start, end


# --- billed revenue ----------------------------------------------------------------------------


@dataclass
class RevenueMonth:
    month: str
    invoice_count: int = 0
    net: Decimal = ZERO
    tax: Decimal = ZERO
    gross: Decimal = ZERO
    credit_note_count: int = 0
    credited_net: Decimal = ZERO
    credited_tax: Decimal = ZERO
    credited_gross: Decimal = ZERO

    @property
    def net_after_credits(self) -> Decimal:
        return self.net - self.credited_net


@dataclass
class CurrencyRevenue:
    currency: str
    months: list[RevenueMonth]

    @property
    def total(self) -> RevenueMonth:
        total = RevenueMonth("total")
        for month in self.months:
            total.invoice_count += month.invoice_count
            total.net += month.net
            total.tax += month.tax
            total.gross += month.gross
            total.credit_note_count += month.credit_note_count
            total.credited_net += month.credited_net
            total.credited_tax += month.credited_tax
            total.credited_gross += month.credited_gross
        return total


def revenue(session: Session, account_id: str, months: list[Month]) -> list[CurrencyRevenue]:
    """Billed revenue per currency (alphabetical) and month, every month of each currency
    that has any (zeros where none)."""
    first, last = months[0].first, months[-1].last
    invoices = queries.issued_invoices_by_day(session, account_id, first, last)
    notes = queries.issued_credit_notes_by_day(session, account_id, first, last)
    table: dict[str, dict[str, RevenueMonth]] = {}

    def row(currency: str, day: date) -> RevenueMonth:
        per_month = table.setdefault(currency, {m.key: RevenueMonth(m.key) for m in months})
        return per_month[Month.of(day).key]

    for totals in invoices:
        entry = row(totals.currency, totals.day)
        entry.invoice_count += totals.count
        entry.net += totals.net
        entry.tax += totals.tax
        entry.gross += totals.gross
    for totals in notes:
        entry = row(totals.currency, totals.day)
        entry.credit_note_count += totals.count
        entry.credited_net += totals.net
        entry.credited_tax += totals.tax
        entry.credited_gross += totals.gross
    return [CurrencyRevenue(code, list(table[code].values())) for code in sorted(table)]


# --- cash --------------------------------------------------------------------------------------


@dataclass
class CashMonth:
    month: str
    payment_count: int = 0
    received: Decimal = ZERO
    refunded: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.received - self.refunded


@dataclass
class CurrencyCash:
    currency: str
    months: list[CashMonth]

    @property
    def total(self) -> CashMonth:
        total = CashMonth("total")
        for month in self.months:
            total.payment_count += month.payment_count
            total.received += month.received
            total.refunded += month.refunded
        return total


def cash(session: Session, account_id: str, months: list[Month]) -> list[CurrencyCash]:
    """Cash collected per currency and month the payments were made."""
    rows = queries.payments_by_day(session, account_id, months[0].first, months[-1].last)
    table: dict[str, dict[str, CashMonth]] = {}
    for day in rows:
        per_month = table.setdefault(day.currency, {m.key: CashMonth(m.key) for m in months})
        entry = per_month[Month.of(day.day).key]
        entry.payment_count += day.count
        entry.received += day.received
        entry.refunded += day.refunded
    return [CurrencyCash(code, list(table[code].values())) for code in sorted(table)]


# --- receivables aging -------------------------------------------------------------------------

BUCKET_LABELS = {
    "current": "Current",
    "days_1_to_30": "1-30 days",
    "days_31_to_60": "31-60 days",
    "days_61_to_90": "61-90 days",
    "over_90_days": "Over 90 days",
}


@dataclass
class AgingBucket:
    name: str
    label: str
    count: int = 0
    amount: Decimal = ZERO


@dataclass
class CurrencyAging:
    currency: str
    buckets: list[AgingBucket]

    @property
    def count(self) -> int:
        return sum(bucket.count for bucket in self.buckets)

    @property
    def total(self) -> Decimal:
        return sum((bucket.amount for bucket in self.buckets), ZERO)


def receivables_aging(session: Session, account_id: str, as_of: date) -> list[CurrencyAging]:
    """What issued invoices still owe per currency, in `payments.aging`'s buckets of days
    past due on `as_of`, with how many invoices each."""
    table: dict[str, dict[str, AgingBucket]] = {}
    for owed in payment_queries.receivables(session, account_id):
        buckets = table.setdefault(
            owed.currency,
            {name: AgingBucket(name, BUCKET_LABELS[name]) for name in aging.BUCKETS},
        )
        bucket = buckets[aging.bucket_of(owed.due_date, as_of)]
        bucket.count += 1
        bucket.amount += owed.amount_due
    return [CurrencyAging(code, list(table[code].values())) for code in sorted(table)]


# --- overdue -----------------------------------------------------------------------------------


def overdue(
    session: Session, account_id: str, today: date, limit: int | None = None
) -> list[queries.OverdueInvoice]:
    return queries.overdue_invoices(session, account_id, today, limit)


# --- top customers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CurrencyTopCustomers:
    currency: str
    customers: list[queries.CustomerRevenue]


def top_customers_by_revenue(
    session: Session, account_id: str, first: date, last: date, limit: int = TOP
) -> list[CurrencyTopCustomers]:
    """Per currency, the customers billed the most net between two issue dates."""
    by_currency: dict[str, list[queries.CustomerRevenue]] = defaultdict(list)
    for row in queries.revenue_by_customer(session, account_id, first, last):
        by_currency[row.currency].append(row)
    return [
        CurrencyTopCustomers(
            code,
            sorted(by_currency[code], key=lambda r: (-r.net, r.customer_name, r.customer_id))[
                :limit
            ],
        )
        for code in sorted(by_currency)
    ]


# What a metric's usage is measured by, across customers and days: COUNT by its events, SUM
# by the sum of its values, MAX by the highest value; UNIQUE, LATEST and CUSTOM values do not
# add up across customers or days, so they show their events.
MEASURED_BY = {
    AggregationType.COUNT: "events",
    AggregationType.SUM: "sum",
    AggregationType.MAX: "max",
}


def measure_of(metric: queries.MetricRow) -> str:
    return MEASURED_BY.get(metric.aggregation, "events")


def measured(measure: str, amounts: queries.UsageAmounts) -> Decimal:
    if measure == "sum":
        return amounts.value_sum
    if measure == "max":
        return amounts.value_max if amounts.value_max is not None else ZERO
    return Decimal(amounts.events)


@dataclass(frozen=True)
class CustomerUsage:
    customer_id: str
    customer_name: str
    events: int
    value: Decimal


@dataclass(frozen=True)
class MetricTopCustomers:
    metric: queries.MetricRow
    measure: str
    customers: list[CustomerUsage]


def top_customers_by_usage(
    session: Session, account_id: str, first: date, last: date, limit: int = TOP
) -> list[MetricTopCustomers]:
    """Per metric with usage between two local days, the customers that used it most."""
    metrics = queries.usage_metrics(session, account_id)
    usage = queries.usage_by_customer(session, account_id, first, last)
    names = queries.customer_names_of(session, account_id, {c for _, c in usage})
    result = []
    for metric in metrics:
        measure = measure_of(metric)
        rows = [
            CustomerUsage(
                customer_id,
                names.get(customer_id, customer_id),
                amounts.events,
                measured(measure, amounts),
            )
            for (metric_id, customer_id), amounts in usage.items()
            if metric_id == metric.id
        ]
        if rows:
            rows.sort(key=lambda r: (-r.value, -r.events, r.customer_name, r.customer_id))
            result.append(MetricTopCustomers(metric, measure, rows[:limit]))
    return result


# --- usage over time ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricUsage:
    metric: queries.MetricRow
    measure: str
    days: list[date]
    events: list[int]
    values: list[Decimal]

    @property
    def total(self) -> Decimal:
        if self.measure == "max":
            return max(self.values, default=ZERO)
        return sum(self.values, ZERO)


def usage_over_time(
    session: Session, account_id: str, first: date, last: date
) -> list[MetricUsage]:
    """Per metric with usage between two local days, its measure on each day, every customer
    together (from the rollups)."""
    metrics = queries.usage_metrics(session, account_id)
    usage = queries.usage_by_day(session, account_id, first, last)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    used = {metric_id for metric_id, _ in usage}
    empty = queries.UsageAmounts(0, ZERO, None)
    result = []
    for metric in metrics:
        if metric.id not in used:
            continue
        measure = measure_of(metric)
        amounts = [usage.get((metric.id, day), empty) for day in days]
        result.append(
            MetricUsage(
                metric,
                measure,
                days,
                [a.events for a in amounts],
                [measured(measure, a) for a in amounts],
            )
        )
    return result


# --- MRR ---------------------------------------------------------------------------------------

# Past month ends count schedules that ran then; today counts the ACTIVE ones only.
RAN = (
    ScheduleStatus.ACTIVE,
    ScheduleStatus.SUSPENDED,
    ScheduleStatus.CANCELLED,
    ScheduleStatus.COMPLETED,
)


@dataclass(frozen=True)
class MrrPoint:
    month: str
    day: date
    mrr: Decimal


@dataclass
class CurrencyMrr:
    currency: str
    mrr: Decimal = ZERO
    schedule_count: int = 0
    customer_count: int = 0
    trend: list[MrrPoint] = field(default_factory=list)

    @property
    def arr(self) -> Decimal:
        return self.mrr * 12


def monthly_amount(row: queries.RecurringPrice) -> Decimal:
    """A recurring price's charge per month, before discounts (0 for what MRR leaves out)."""
    months = BillingFrequency(row.billing_frequency).months
    if not months:
        return ZERO
    structure = row.structure
    if row.pricing_type is PricingType.FIXED:
        per_period = Decimal(str(structure.get("price", "0")))
    else:
        seats = Decimal(int(structure.get("contractedMinimumSeats") or 0))
        per_period = Decimal(str(structure.get("pricePerSeat", "0"))) * seats
    return per_period / months


def _excluded(row: queries.RecurringPrice) -> bool:
    return any(
        isinstance(item, dict)
        and item.get("priceId") == row.price_id
        and item.get("arrCalculation") == "EXCLUDE"
        for item in row.phase_price_metadata or []
    )


def _within(day: date, start: date | None, end: date | None) -> bool:
    return (start is None or start <= day) and (end is None or day <= end)


def _discounted(
    amount: Decimal, row: queries.RecurringPrice, day: date, discounts: list[Any]
) -> Decimal:
    for discount in discounts:
        if discount.restrict_to_prices and row.price_id not in discount.restrict_to_prices:
            continue
        if not _within(day, discount.valid_from, discount.valid_to):
            continue
        amount -= amount * min(discount.percentage, HUNDRED) / HUNDRED
    return amount


def _mrr_on(
    rows: list[queries.RecurringPrice],
    day: date,
    discounts: dict[str, list[queries.PercentageDiscount]],
    statuses: tuple[ScheduleStatus, ...],
    archived: dict[str, date],
) -> dict[str, tuple[Decimal, set[str], set[str]]]:
    """currency -> (MRR, schedule ids, customer ids) on `day`."""
    found: dict[str, tuple[Decimal, set[str], set[str]]] = {}
    for row in rows:
        if row.status not in statuses or _excluded(row):
            continue
        if not _within(day, row.schedule_start, row.schedule_end):
            continue
        if not _within(day, row.phase_start, row.phase_end):
            continue
        stopped = archived.get(row.schedule_id)
        if stopped is not None and day >= stopped:
            continue
        amount = _discounted(monthly_amount(row), row, day, discounts.get(row.phase_id, []))
        total, schedules, customers = found.get(row.currency, (ZERO, set(), set()))
        schedules.add(row.schedule_id)
        customers.add(row.customer_id)
        found[row.currency] = (total + amount, schedules, customers)
    return found


def mrr(session: Session, account_id: str, today: date, months: int = 12) -> list[CurrencyMrr]:
    """MRR (and ARR) per currency today, with its trend over the last `months` month ends."""
    rows = queries.recurring_prices(session, account_id, RAN)
    discounts: dict[str, list[queries.PercentageDiscount]] = defaultdict(list)
    for discount in queries.percentage_discounts(
        session, account_id, {row.phase_id for row in rows}
    ):
        discounts[discount.phase_id].append(discount)
    zone = get_account(session, account_id).timezone
    archived = {
        row.schedule_id: local_date(row.archived_at, zone)
        for row in rows
        if row.archived_at is not None
    }
    current = Month.of(today)
    points = [(m, m.last) for m in month_range(current.minus(months - 1), current.minus(1))]
    points.append((current, today))
    trend: dict[str, list[MrrPoint]] = defaultdict(list)
    now = _mrr_on(rows, today, discounts, (ScheduleStatus.ACTIVE,), {})
    seen = set(now)
    per_point = []
    for month, day in points:
        statuses = (ScheduleStatus.ACTIVE,) if day == today else RAN
        figures = now if day == today else _mrr_on(rows, day, discounts, statuses, archived)
        seen |= set(figures)
        per_point.append((month, day, figures))
    result = []
    for code in sorted(seen):
        for month, day, figures in per_point:
            amount = figures.get(code, (ZERO, set(), set()))[0]
            trend[code].append(MrrPoint(month.key, day, amount))
        total, schedules, customers = now.get(code, (ZERO, set(), set()))
        result.append(CurrencyMrr(code, total, len(schedules), len(customers), trend[code]))
    return result
