"""Usage over time for the graph: per day from the rollups, per hour from the events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Text,
    cast,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from tally.core.sql import utc_hour_text
from tally.metering.queries import names_of_customer
from tally.metering.rollups import MetricDefinition, matches_filters, unique_value
from tally.models import (
    AggregationType,
    UsageMetric,
)
from tally.models.metering import USAGE_EVENTS, USAGE_ROLLUP_VALUES, USAGE_ROLLUPS
from tally.portal.data._common import ZERO, metering_dialect
from tally.portal.data.metrics import MetricInfo, load_metrics
from tally.portal.data.periods import BillingPeriod
from tally.portal.data.rollups import Days, day_usage


class UsageRange(StrEnum):
    DAY = "1d"
    WEEK = "7d"
    MONTH = "30d"
    PERIOD = "period"


@dataclass(frozen=True)
class MetricSeries:
    metric: MetricInfo
    values: list[Decimal]  # one per bucket
    total: Decimal  # of the bucket values (COUNT and SUM; the max for MAX, LATEST, UNIQUE)


@dataclass(frozen=True)
class UsageSeries:
    range: UsageRange
    hourly: bool
    buckets: list[datetime]  # each bucket's start (UTC for hours; midnight for days)
    series: list[MetricSeries] = field(default_factory=list)
    start: date | None = None
    end: date | None = None

    @property
    def empty(self) -> bool:
        return not self.series


def usage_series(
    session: Session,
    account_id: str,
    customer_id: str,
    usage_range: UsageRange,
    *,
    today: date,
    now: datetime,
    period: BillingPeriod | None = None,
    metrics: dict[str, tuple[UsageMetric, MetricInfo]] | None = None,
    days: Days | None = None,
) -> UsageSeries:
    """Usage per day (per hour for "1d"), one series per metric with usage in the range.

    Days come from the rollups: one grouped query per kind of aggregate (three at most).
    "period" is the given billing period (else the last 30 days). `metrics` (the account's
    live metrics) and `days` (covering the range) save their queries when the caller has
    them already."""
    if usage_range is UsageRange.DAY:
        return _hourly_series(session, account_id, customer_id, now)
    if usage_range is UsageRange.PERIOD and period is not None:
        start, end = period.start, period.end
    else:
        span = 7 if usage_range is UsageRange.WEEK else 30
        start, end = today - timedelta(days=span - 1), today
    if metrics is None:
        metrics = load_metrics(session, account_id)
    values = _daily_values(session, account_id, customer_id, metrics, start, end, days)
    count = (end - start).days + 1
    buckets = [
        datetime.combine(start + timedelta(days=i), datetime.min.time()) for i in range(count)
    ]
    series = []
    for metric_id, (_, info) in metrics.items():
        per_day = values.get(metric_id)
        if not per_day:
            continue
        row = [per_day.get(start + timedelta(days=i), ZERO) for i in range(count)]
        series.append(MetricSeries(info, row, _series_total(info.aggregation, row)))
    return UsageSeries(usage_range, False, buckets, series, start, end)


def _series_total(kind: AggregationType, values: Sequence[Decimal]) -> Decimal:
    if kind in (AggregationType.COUNT, AggregationType.SUM):
        return sum(values, ZERO)
    return max(values, default=ZERO)


def _daily_values(
    session: Session,
    account_id: str,
    customer_id: str,
    metrics: dict[str, tuple[UsageMetric, MetricInfo]],
    start: date,
    end: date,
    days: Days | None = None,
) -> dict[str, dict[date, Decimal]]:
    """Per metric and local day, the metric's value for the customer (from the rollups)."""
    rollups = USAGE_ROLLUPS
    aliases = names_of_customer(account_id, customer_id)
    where = [
        rollups.c.account_id == account_id,
        rollups.c.customer_alias.in_(aliases),
        rollups.c.day >= start,
        rollups.c.day <= end,
    ]
    kinds = {metric_id: info.aggregation for metric_id, (_, info) in metrics.items()}
    if days is None:
        days = day_usage(session, account_id, customer_id, metrics.keys(), start, end)
    result: dict[str, dict[date, Decimal]] = defaultdict(dict)
    for metric_id, per_day in days.items():
        kind = kinds.get(metric_id)
        if kind is None:
            continue
        for day, usage in per_day.items():
            if start <= day <= end:
                value = usage.value(kind)
                result[metric_id][day] = ZERO if value is None else value
    if any(kind is AggregationType.UNIQUE for kind in kinds.values()):
        values = USAGE_ROLLUP_VALUES
        for metric_id, day, count in session.execute(
            select(values.c.metric_id, values.c.day, func.count(func.distinct(values.c.value)))
            .where(
                values.c.account_id == account_id,
                values.c.customer_alias.in_(aliases),
                values.c.day >= start,
                values.c.day <= end,
            )
            .group_by(values.c.metric_id, values.c.day)
        ):
            if kinds.get(metric_id) is AggregationType.UNIQUE:
                result[metric_id][day] = Decimal(count)
    if any(kind is AggregationType.LATEST for kind in kinds.values()):
        rank = func.row_number().over(
            partition_by=(rollups.c.metric_id, rollups.c.day),
            order_by=(rollups.c.latest_at.desc(), rollups.c.latest_event_id.desc()),
        )
        ranked = (
            select(rollups.c.metric_id, rollups.c.day, rollups.c.latest_value, rank.label("rank"))
            .where(*where, rollups.c.latest_at.is_not(None))
            .subquery("ranked")
        )
        for metric_id, day, value in session.execute(
            select(ranked.c.metric_id, ranked.c.day, ranked.c.latest_value).where(
                ranked.c.rank == 1
            )
        ):
            if kinds.get(metric_id) is AggregationType.LATEST:
                result[metric_id][day] = Decimal(value)
    return result


def _hourly_series(
    session: Session, account_id: str, customer_id: str, now: datetime
) -> UsageSeries:
    """The last 24 hours, hour by hour, from the events themselves (rollups have no hours):
    one query, its scan bounded by the events' (account, alias, type, time) index."""
    end_hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first = end_hour - timedelta(hours=23)
    buckets = [first + timedelta(hours=i) for i in range(24)]
    metrics = load_metrics(session, account_id)
    if not metrics:
        return UsageSeries(UsageRange.DAY, True, buckets)
    sql = metering_dialect(session)
    events = USAGE_EVENTS
    hour = utc_hour_text(session, events.c.event_timestamp)
    aliases = names_of_customer(account_id, customer_id)
    selects = []
    for metric, _ in metrics.values():
        if metric.aggregation_type is AggregationType.CUSTOM:
            continue
        definition = MetricDefinition.of(metric)
        kind = metric.aggregation_type
        where = [
            events.c.account_id == account_id,
            events.c.customer_alias.in_(aliases),
            events.c.event_type == metric.event_type,
            events.c.event_timestamp >= first,
            events.c.event_timestamp < end_hour + timedelta(hours=1),
            *matches_filters(sql, events.c.properties, definition),
        ]
        value: ColumnElement[Any]
        if kind is AggregationType.COUNT:
            value = cast(func.count(), Text())
        elif kind is AggregationType.UNIQUE:
            value = cast(
                func.count(func.distinct(unique_value(sql, events.c.properties, definition))),
                Text(),
            )
        else:
            number = sql.property_number(events.c.properties, metric.aggregation_property or "")
            aggregate = (
                sql.decimal_sum(number) if kind is AggregationType.SUM else sql.decimal_max(number)
            )
            value = cast(aggregate, Text())
        selects.append(
            select(literal(metric.id).label("metric_id"), hour.label("hour"), value.label("value"))
            .where(*where)
            .group_by(hour)
        )
    if not selects:
        return UsageSeries(UsageRange.DAY, True, buckets)
    query = selects[0] if len(selects) == 1 else union_all(*selects)
    found: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for metric_id, hour_text, value_text in session.execute(query):
        if value_text is not None:
            found[metric_id][hour_text] = Decimal(str(value_text))
    keys = [bucket.strftime("%Y-%m-%d %H") for bucket in buckets]
    series = []
    for metric_id, (_, info) in metrics.items():
        per_hour = found.get(metric_id)
        if not per_hour:
            continue
        row = [per_hour.get(key, ZERO) for key in keys]
        series.append(MetricSeries(info, row, _series_total(info.aggregation, row)))
    return UsageSeries(UsageRange.DAY, True, buckets, series)
