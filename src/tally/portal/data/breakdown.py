"""Each metric's usage in a billing period, grouped as its invoice groups it, with cost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    func,
    select,
)
from sqlalchemy.orm import Session

from tally.metering.queries import names_of_customer
from tally.models import (
    AggregationType,
    Invoice,
    InvoiceLineItem,
    InvoiceLineItemGroup,
    InvoiceStatus,
    LineKind,
    Price,
    UsageMetric,
)
from tally.models.metering import USAGE_ROLLUP_VALUES, USAGE_ROLLUPS
from tally.portal.data._common import ZERO
from tally.portal.data.metrics import MetricInfo, load_metrics
from tally.portal.data.periods import BillingPeriod
from tally.portal.data.rollups import Days, day_usage, total_of


@dataclass(frozen=True)
class MetricUsage:
    metric: MetricInfo
    total: Decimal
    events: int
    cost: Decimal | None  # the period's lines for it; None when no price bills it
    currency: str | None


@dataclass(frozen=True)
class UsageGroup:
    title: str
    rows: list[MetricUsage]
    cost: Decimal | None


@dataclass(frozen=True)
class UsageBreakdown:
    start: date
    end: date
    groups: list[UsageGroup]
    currency: str | None
    cost: Decimal | None  # all usage lines


def _metric_totals(
    session: Session,
    account_id: str,
    customer_id: str,
    metrics: dict[str, tuple[UsageMetric, MetricInfo]],
    start: date,
    end: date,
    days: Days | None = None,
) -> dict[str, tuple[Decimal, int]]:
    """Each metric's value and event count for the customer between two local days, from its
    usage per day (`days`, read when not given: one grouped query over the rollups), plus one
    query for UNIQUE and one for LATEST metrics when there are any."""
    if days is None:
        days = day_usage(session, account_id, customer_id, metrics.keys(), start, end)
    rollups = USAGE_ROLLUPS
    aliases = names_of_customer(account_id, customer_id)
    where = [
        rollups.c.account_id == account_id,
        rollups.c.customer_alias.in_(aliases),
        rollups.c.day >= start,
        rollups.c.day <= end,
    ]
    kinds = {metric_id: info.aggregation for metric_id, (_, info) in metrics.items()}
    unique: dict[str, Decimal] = {}
    if any(kind is AggregationType.UNIQUE for kind in kinds.values()):
        values = USAGE_ROLLUP_VALUES
        unique = {
            metric_id: Decimal(count)
            for metric_id, count in session.execute(
                select(values.c.metric_id, func.count(func.distinct(values.c.value)))
                .where(
                    values.c.account_id == account_id,
                    values.c.customer_alias.in_(aliases),
                    values.c.day >= start,
                    values.c.day <= end,
                )
                .group_by(values.c.metric_id)
            )
        }
    latest: dict[str, Decimal] = {}
    if any(kind is AggregationType.LATEST for kind in kinds.values()):
        rank = func.row_number().over(
            partition_by=rollups.c.metric_id,
            order_by=(rollups.c.latest_at.desc(), rollups.c.latest_event_id.desc()),
        )
        ranked = (
            select(rollups.c.metric_id, rollups.c.latest_value, rank.label("rank"))
            .where(*where, rollups.c.latest_at.is_not(None))
            .subquery("ranked")
        )
        latest = {
            metric_id: Decimal(value)
            for metric_id, value in session.execute(
                select(ranked.c.metric_id, ranked.c.latest_value).where(ranked.c.rank == 1)
            )
        }
    result = {}
    for metric_id, per_day in days.items():
        kind = kinds.get(metric_id)
        in_range = [usage for day, usage in per_day.items() if start <= day <= end]
        if kind is None or not in_range:
            continue
        events = sum(usage.events for usage in in_range)
        if kind is AggregationType.UNIQUE:
            value = unique.get(metric_id, ZERO)
        elif kind is AggregationType.LATEST:
            value = latest.get(metric_id, ZERO)
        else:
            value = total_of(kind, in_range)
        result[metric_id] = (value, events)
    return result


def usage_breakdown(
    session: Session, account_id: str, customer_id: str, period: BillingPeriod
) -> UsageBreakdown:
    """See `breakdown_with_days`."""
    return breakdown_with_days(session, account_id, customer_id, period)[0]


Metrics = dict[str, tuple[UsageMetric, MetricInfo]]


def breakdown_with_days(
    session: Session, account_id: str, customer_id: str, period: BillingPeriod
) -> tuple[UsageBreakdown, Metrics, Days]:
    """Each metric's usage in the period, grouped as the period's invoice groups its lines
    (by product): total usage with unit, event count, and cost so far (the usage lines of the
    period's invoices). Metrics with usage that no price bills come last, without a cost.

    Three queries (the period's usage lines, the metrics, the usage per day), and one more
    for UNIQUE and for LATEST metrics. Also gives the metrics and the period's usage per
    day, which the graph of the same period reuses."""
    lines = session.execute(
        select(
            Price.usage_metric_id,
            InvoiceLineItem.net_total,
            InvoiceLineItemGroup.title,
            InvoiceLineItemGroup.index,
            InvoiceLineItem.index.label("line_index"),
            Invoice.currency,
        )
        .join(Invoice, Invoice.id == InvoiceLineItem.invoice_id)
        .join(Price, Price.id == InvoiceLineItem.price_id)
        .outerjoin(InvoiceLineItemGroup, InvoiceLineItemGroup.id == InvoiceLineItem.group_id)
        .where(
            Invoice.account_id == account_id,
            Invoice.customer_id == customer_id,
            Invoice.status != InvoiceStatus.VOIDED,
            Invoice.billing_period_start == period.start,
            Invoice.billing_period_end == period.end,
            InvoiceLineItem.kind == LineKind.PRICE,
            Price.usage_metric_id.is_not(None),
        )
        .order_by(InvoiceLineItemGroup.index, InvoiceLineItem.index)
    ).all()
    metric_ids = {line.usage_metric_id for line in lines}
    metrics = load_metrics(session, account_id, metric_ids)
    days = day_usage(session, account_id, customer_id, metrics.keys(), period.start, period.end)
    totals = _metric_totals(
        session, account_id, customer_id, metrics, period.start, period.end, days
    )

    grouped: dict[str, dict[str, Decimal]] = {}  # group title -> metric -> cost
    currency = None
    for line in lines:
        title = line.title or "Usage"
        costs = grouped.setdefault(title, {})
        costs[line.usage_metric_id] = costs.get(line.usage_metric_id, ZERO) + line.net_total
        currency = currency or line.currency
    groups = []
    for title, costs in grouped.items():
        rows = []
        for metric_id, cost in costs.items():
            if metric_id not in metrics:
                continue
            value, events = totals.get(metric_id, (ZERO, 0))
            rows.append(MetricUsage(metrics[metric_id][1], value, events, cost, currency))
        if rows:
            groups.append(UsageGroup(title, rows, sum(costs.values(), ZERO)))
    unpriced = [
        MetricUsage(metrics[metric_id][1], value, events, None, None)
        for metric_id, (value, events) in totals.items()
        if metric_id not in metric_ids and metric_id in metrics
    ]
    if unpriced:
        unpriced.sort(key=lambda row: row.metric.name)
        groups.append(UsageGroup("Other usage", unpriced, None))
    breakdown = UsageBreakdown(
        start=period.start,
        end=period.end,
        groups=groups,
        currency=currency,
        cost=sum((g.cost for g in groups if g.cost is not None), ZERO) if lines else None,
    )
    return breakdown, metrics, days
