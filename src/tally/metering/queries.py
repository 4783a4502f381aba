"""Reading usage: metric totals from the rollups, for one set of aliases or per customer."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, Subquery, func, literal, select, union_all
from sqlalchemy.orm import Session

from tally.metering.sql import metering_sql
from tally.models import AggregationType, Customer, CustomerAlias, UsageMetric
from tally.models.metering import USAGE_ROLLUP_VALUES, USAGE_ROLLUPS


@dataclass(frozen=True)
class UsageTotal:
    event_count: int
    skipped_event_count: int
    value: Decimal


ZERO = UsageTotal(event_count=0, skipped_event_count=0, value=Decimal(0))


def _in_period(
    table: FromClause, metric: UsageMetric, start: date, end: date
) -> list[ColumnElement[bool]]:
    return [table.c.metric_id == metric.id, table.c.day >= start, table.c.day <= end]


def _value(metric: UsageMetric, row: Any, unique_count: int | None) -> Decimal:
    kind = metric.aggregation_type
    if kind is AggregationType.COUNT:
        return Decimal(row.event_count or 0)
    if kind is AggregationType.UNIQUE:
        return Decimal(unique_count or 0)
    if kind is AggregationType.SUM:
        return Decimal(row.value_sum or 0)
    return Decimal(row.value_max or 0)  # MAX; LATEST is read separately


def _aggregates(session: Session, rollups: FromClause) -> list[ColumnElement[Any]]:
    sql = metering_sql(session.get_bind().dialect.name)
    return [
        func.coalesce(func.sum(rollups.c.event_count), 0).label("event_count"),
        func.coalesce(func.sum(rollups.c.skipped_count), 0).label("skipped_count"),
        sql.decimal_sum(rollups.c.value_sum).label("value_sum"),
        sql.decimal_max(rollups.c.value_max).label("value_max"),
    ]


def _newest_values(
    rollups: FromClause,
    source: FromClause,
    where: list[ColumnElement[bool]],
    subject: ColumnElement[Any] | None = None,
) -> Select[Any]:
    """Per subject (or overall), the newest numeric value the rollups hold (for LATEST)."""
    rank = func.row_number().over(
        partition_by=subject,
        order_by=(rollups.c.latest_at.desc(), rollups.c.latest_event_id.desc()),
    )
    subjects = (
        [subject.label("subject")] if subject is not None else [literal(None).label("subject")]
    )
    ranked = (
        select(*subjects, rollups.c.latest_value, rank.label("rank"))
        .select_from(source)
        .where(*where, rollups.c.latest_at.is_not(None))
        .subquery("ranked")
    )
    return select(ranked.c.subject, ranked.c.latest_value).where(ranked.c.rank == 1)


def totals(
    session: Session, metric: UsageMetric, aliases: list[str], start: date, end: date
) -> UsageTotal:
    """The metric over the events of `aliases` between two local days, both inclusive."""
    rollups = USAGE_ROLLUPS
    where = [*_in_period(rollups, metric, start, end), rollups.c.customer_alias.in_(aliases)]
    row = session.execute(select(*_aggregates(session, rollups)).where(*where)).one()
    unique_count = None
    if metric.aggregation_type is AggregationType.UNIQUE:
        values = USAGE_ROLLUP_VALUES
        unique_count = session.scalar(
            select(func.count(func.distinct(values.c.value))).where(
                *_in_period(values, metric, start, end), values.c.customer_alias.in_(aliases)
            )
        )
    if metric.aggregation_type is AggregationType.LATEST:
        newest = session.execute(_newest_values(rollups, rollups, where)).first()
        value = Decimal(newest.latest_value if newest else 0)
        return UsageTotal(int(row.event_count), int(row.skipped_count), value)
    return UsageTotal(
        int(row.event_count), int(row.skipped_count), _value(metric, row, unique_count)
    )


def customer_names(account_id: str) -> Subquery:
    """Every name a customer's events may carry: its id and its live aliases."""
    return union_all(
        select(Customer.id.label("customer_id"), Customer.id.label("alias")).where(
            Customer.account_id == account_id
        ),
        select(CustomerAlias.customer_id, CustomerAlias.value).where(
            CustomerAlias.account_id == account_id, CustomerAlias.deleted_at.is_(None)
        ),
    ).subquery("names")


def totals_by_customer(
    session: Session, metric: UsageMetric, start: date, end: date
) -> dict[str, UsageTotal]:
    """The metric for every customer of the account with usage in the period (grouped SQL)."""
    names = customer_names(metric.account_id)
    rollups = USAGE_ROLLUPS
    joined = rollups.join(names, names.c.alias == rollups.c.customer_alias)
    where = _in_period(rollups, metric, start, end)
    rows = session.execute(
        select(names.c.customer_id, *_aggregates(session, rollups))
        .select_from(joined)
        .where(*where)
        .group_by(names.c.customer_id)
    ).all()
    unique_counts: dict[str, int] = {}
    if metric.aggregation_type is AggregationType.UNIQUE:
        values = USAGE_ROLLUP_VALUES
        counted = session.execute(
            select(names.c.customer_id, func.count(func.distinct(values.c.value)))
            .select_from(values.join(names, names.c.alias == values.c.customer_alias))
            .where(*_in_period(values, metric, start, end))
            .group_by(names.c.customer_id)
        )
        unique_counts = dict(counted.all())
    latest: dict[str, Decimal] = {}
    if metric.aggregation_type is AggregationType.LATEST:
        newest = session.execute(_newest_values(rollups, joined, where, names.c.customer_id))
        latest = {row.subject: Decimal(row.latest_value) for row in newest}
    result = {}
    for row in rows:
        value = (
            latest.get(row.customer_id, Decimal(0))
            if metric.aggregation_type is AggregationType.LATEST
            else _value(metric, row, unique_counts.get(row.customer_id))
        )
        result[row.customer_id] = UsageTotal(int(row.event_count), int(row.skipped_count), value)
    return result


def expand_aliases(session: Session, account_id: str, given: list[str]) -> list[str]:
    """The given aliases plus every other name of the customers they name."""
    names = customer_names(account_id)
    named = select(names.c.customer_id).where(names.c.alias.in_(given))
    others = session.scalars(select(names.c.alias).where(names.c.customer_id.in_(named)))
    return sorted(set(given) | set(others))
