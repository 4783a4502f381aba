"""Reading usage: metric totals from the rollups, for any grouping of customer aliases.

Every read is one grouped query over the rollups (plus one for distinct values or newest
values when the aggregation needs it): per customer, per billing subject, or for one set of
aliases, never a query per customer; `period_totals` reads several metrics over several
periods at once, never a query per metric or per period.
"""

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    String,
    Subquery,
    Table,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from tally.core.sql import is_postgres
from tally.metering.sql import metering_sql
from tally.models import AggregationType, Customer, CustomerAlias, Price, UsageMetric
from tally.models.metering import USAGE_ROLLUP_VALUES, USAGE_ROLLUPS
from tally.models.scoped import scoped


@dataclass(frozen=True)
class UsageTotal:
    event_count: int
    skipped_event_count: int
    value: Decimal


ZERO = UsageTotal(event_count=0, skipped_event_count=0, value=Decimal(0))


def customer_names(account_id: str) -> Subquery:
    """Every name a customer's events may carry: its id and its live aliases, as
    (alias, subject) with the customer as the subject."""
    return union_all(
        select(Customer.id.label("alias"), Customer.id.label("subject")).where(
            Customer.account_id == account_id
        ),
        select(CustomerAlias.value, CustomerAlias.customer_id).where(
            CustomerAlias.account_id == account_id, CustomerAlias.deleted_at.is_(None)
        ),
    ).subquery("names")


def alias_owners(
    session: Session, account_id: str, aliases: Collection[str]
) -> dict[str, tuple[str, str]]:
    """alias -> (customer id, legal name) for those of `aliases` naming one of the account's
    customers (its id or a live alias): one query."""
    if not aliases:
        return {}
    names = customer_names(account_id)
    rows = session.execute(
        scoped(Customer, account_id)
        .with_only_columns(names.c.alias, Customer.id, Customer.legal_name)
        .join(names, Customer.id == names.c.subject)
        .where(names.c.alias.in_(list(aliases)))
    )
    return {alias: (customer_id, name) for alias, customer_id, name in rows}


def price_bindings(
    session: Session, account_id: str, metric_id: str
) -> list[tuple[str, list[Any]]]:
    """The live prices on a metric with the parameter values they bind (id, bindings)."""
    query = (
        scoped(Price, account_id)
        .with_only_columns(Price.id, Price.custom_metric_parameters)
        .where(Price.usage_metric_id == metric_id, Price.deleted_at.is_(None))
    )
    return [(price_id, list(bound or [])) for price_id, bound in session.execute(query).all()]


def metric_query(account_id: str) -> Select[UsageMetric]:
    """The account's usage metrics (not deleted ones)."""
    return scoped(UsageMetric, account_id).where(UsageMetric.deleted_at.is_(None))


def metrics(session: Session, account_id: str, limit: int | None = None) -> list[UsageMetric]:
    """The account's usage metrics by name."""
    query = metric_query(account_id).order_by(UsageMetric.name, UsageMetric.id).limit(limit)
    return list(session.scalars(query))


def metrics_and(session: Session, account_id: str, ids: Collection[str]) -> list[UsageMetric]:
    """The account's usage metrics by name, with those of `ids` even when deleted (a past
    invoice's usage names them)."""
    query = scoped(UsageMetric, account_id).where(
        or_(UsageMetric.deleted_at.is_(None), UsageMetric.id.in_(list(ids)))
    )
    return list(session.scalars(query.order_by(UsageMetric.name, UsageMetric.id)))


def alias_groups(session: Session, pairs: Sequence[tuple[str, str]]) -> FromClause:
    """(alias, subject) pairs as a table, for grouping usage by any subject: two array
    parameters on PostgreSQL, one JSON parameter on SQLite, whatever their number."""
    if is_postgres(session):
        text_array = postgresql.ARRAY(String())
        aliases = bindparam(None, [a for a, _ in pairs], type_=text_array)
        subjects = bindparam(None, [s for _, s in pairs], type_=text_array)
        return func.unnest(aliases, subjects).table_valued("alias", "subject").render_derived()
    rows = func.json_each(bindparam(None, json.dumps(pairs), type_=String())).table_valued("value")
    return select(
        func.json_extract(rows.c.value, "$[0]").label("alias"),
        func.json_extract(rows.c.value, "$[1]").label("subject"),
    ).subquery("alias_groups")


def grouped_totals(
    session: Session, metric: UsageMetric, start: date, end: date, grouping: FromClause
) -> dict[str, UsageTotal]:
    """The metric between two local days (inclusive) for each subject of `grouping`, a
    table of (alias, subject): the subjects with usage in the period."""
    sql = metering_sql(session)
    rollups = USAGE_ROLLUPS
    joined = rollups.join(grouping, grouping.c.alias == rollups.c.customer_alias)
    where = [rollups.c.metric_id == metric.id, rollups.c.day >= start, rollups.c.day <= end]
    rows = session.execute(
        select(
            grouping.c.subject,
            func.sum(rollups.c.event_count).label("event_count"),
            func.sum(rollups.c.skipped_count).label("skipped_count"),
            sql.decimal_sum(rollups.c.value_sum).label("value_sum"),
            sql.decimal_max(rollups.c.value_max).label("value_max"),
        )
        .select_from(joined)
        .where(*where)
        .group_by(grouping.c.subject)
    ).all()
    kind = metric.aggregation_type
    values_by_subject: dict[str, Decimal] = {}
    if kind is AggregationType.UNIQUE:
        distinct = USAGE_ROLLUP_VALUES
        counted = session.execute(
            select(grouping.c.subject, func.count(func.distinct(distinct.c.value)))
            .select_from(distinct.join(grouping, grouping.c.alias == distinct.c.customer_alias))
            .where(
                distinct.c.metric_id == metric.id, distinct.c.day >= start, distinct.c.day <= end
            )
            .group_by(grouping.c.subject)
        )
        values_by_subject = {subject: Decimal(count) for subject, count in counted}
    elif kind is AggregationType.LATEST:
        values_by_subject = _newest(session, joined, where, grouping.c.subject)
    return {row.subject: _total(kind, row, values_by_subject.get(row.subject)) for row in rows}


def _newest(
    session: Session,
    joined: FromClause,
    where: list[ColumnElement[bool]],
    subject: ColumnElement[Any],
) -> dict[str, Decimal]:
    """Per subject, the newest numeric value the rollups hold (for LATEST)."""
    rollups = USAGE_ROLLUPS
    rank = func.row_number().over(
        partition_by=subject,
        order_by=(rollups.c.latest_at.desc(), rollups.c.latest_event_id.desc()),
    )
    ranked = (
        select(subject.label("subject"), rollups.c.latest_value, rank.label("rank"))
        .select_from(joined)
        .where(*where, rollups.c.latest_at.is_not(None))
        .subquery("ranked")
    )
    newest = session.execute(
        select(ranked.c.subject, ranked.c.latest_value).where(ranked.c.rank == 1)
    )
    return {row.subject: Decimal(row.latest_value) for row in newest}


def totals(
    session: Session, metric: UsageMetric, aliases: Iterable[str], start: date, end: date
) -> UsageTotal:
    """The metric over the events of `aliases` between two local days, both inclusive."""
    grouping = alias_groups(session, [(alias, "all") for alias in aliases])
    return grouped_totals(session, metric, start, end, grouping).get("all", ZERO)


def totals_by_customer(
    session: Session, metric: UsageMetric, start: date, end: date
) -> dict[str, UsageTotal]:
    """The metric for every customer of the account with usage in the period."""
    return grouped_totals(session, metric, start, end, customer_names(metric.account_id))


def period_totals(
    session: Session,
    metrics: Sequence[UsageMetric],
    aliases: Iterable[str],
    periods: Sequence[tuple[date, date]],
) -> dict[tuple[str, int], UsageTotal]:
    """Each metric over the events of `aliases` in each period (local days, both inclusive;
    periods must not overlap), keyed by (metric id, index of the period): what `totals` gives
    for each pair alone, in one grouped query for all of them (plus one for the UNIQUE metrics
    and one for the LATEST ones). Pairs without usage are absent."""
    if not metrics or not periods:
        return {}
    ordered = sorted(periods)
    assert all(a[1] < b[0] for a, b in pairwise(ordered)), "periods must not overlap"
    grouping = alias_groups(session, [(alias, "all") for alias in aliases])
    by_id = {metric.id: metric for metric in metrics}
    start, end = ordered[0][0], ordered[-1][1]

    def bucketed(table: Table, ids: Iterable[str]) -> Subquery:
        """The table's rows of the metrics, aliases and days, with their period's index."""
        period = case(
            *(
                (and_(table.c.day >= first, table.c.day <= last), literal(index))
                for index, (first, last) in enumerate(periods)
            ),
            else_=literal(-1),
        )
        return (
            select(table, period.label("period"))
            .select_from(table.join(grouping, grouping.c.alias == table.c.customer_alias))
            .where(table.c.metric_id.in_(list(ids)), table.c.day >= start, table.c.day <= end)
            .subquery()
        )

    sql = metering_sql(session)
    rollups = bucketed(USAGE_ROLLUPS, by_id)
    rows = session.execute(
        select(
            rollups.c.metric_id,
            rollups.c.period,
            func.sum(rollups.c.event_count).label("event_count"),
            func.sum(rollups.c.skipped_count).label("skipped_count"),
            sql.decimal_sum(rollups.c.value_sum).label("value_sum"),
            sql.decimal_max(rollups.c.value_max).label("value_max"),
        )
        .where(rollups.c.period >= 0)
        .group_by(rollups.c.metric_id, rollups.c.period)
    ).all()
    special: dict[tuple[str, int], Decimal] = {}
    if unique := [m.id for m in metrics if m.aggregation_type is AggregationType.UNIQUE]:
        values = bucketed(USAGE_ROLLUP_VALUES, unique)
        counted = session.execute(
            select(values.c.metric_id, values.c.period, func.count(func.distinct(values.c.value)))
            .where(values.c.period >= 0)
            .group_by(values.c.metric_id, values.c.period)
        )
        special.update({(m, p): Decimal(count) for m, p, count in counted})
    if latest := [m.id for m in metrics if m.aggregation_type is AggregationType.LATEST]:
        newest = bucketed(USAGE_ROLLUPS, latest)
        rank = func.row_number().over(
            partition_by=(newest.c.metric_id, newest.c.period),
            order_by=(newest.c.latest_at.desc(), newest.c.latest_event_id.desc()),
        )
        ranked = (
            select(newest.c.metric_id, newest.c.period, newest.c.latest_value, rank.label("rank"))
            .where(newest.c.period >= 0, newest.c.latest_at.is_not(None))
            .subquery()
        )
        found = session.execute(
            select(ranked.c.metric_id, ranked.c.period, ranked.c.latest_value).where(
                ranked.c.rank == 1
            )
        )
        special.update({(m, p): Decimal(v) for m, p, v in found})
    return {
        (row.metric_id, row.period): _total(
            by_id[row.metric_id].aggregation_type, row, special.get((row.metric_id, row.period))
        )
        for row in rows
    }


def _total(kind: AggregationType, row: Any, computed: Decimal | None) -> UsageTotal:
    """A rollup row's total as its aggregation reads it (UNIQUE and LATEST computed apart)."""
    if kind is AggregationType.COUNT:
        value = Decimal(row.event_count or 0)
    elif kind is AggregationType.SUM:
        value = Decimal(row.value_sum or 0)
    elif kind is AggregationType.MAX:
        value = Decimal(row.value_max or 0)
    else:
        value = computed if computed is not None else Decimal(0)
    return UsageTotal(int(row.event_count), int(row.skipped_count), value)


def archived_names(session: Session, account_id: str, names: Iterable[str]) -> dict[str, str]:
    """Which of `names` name an archived customer, by its id or a live alias: name ->
    customer id. One query reads the account's archived customers with their aliases (a
    partial index finds them: an account without any pays one index probe) and they are
    matched here. It costs what the account's archived customers number, not the batch's
    names: sending a thousand names for the database to match left the plans at the mercy
    of statistics (seconds on freshly loaded tables)."""
    wanted = set(names)
    if not wanted:
        return {}
    # Joined on customer_id alone, deleted aliases read as NULL: a `deleted_at IS NULL`
    # condition would invite the partial unique index, scanned whole on fresh statistics.
    alias = case((CustomerAlias.deleted_at.is_(None), CustomerAlias.value))
    rows = session.execute(
        select(Customer.id, alias)
        .outerjoin(CustomerAlias, CustomerAlias.customer_id == Customer.id)
        .where(Customer.account_id == account_id, Customer.archived_at.is_not(None))
    )
    found: dict[str, str] = {}
    for customer_id, value in rows:
        for name in (customer_id, value):
            if name is not None and name in wanted:
                found[name] = customer_id
    return found


def names_of_customer(account_id: str, customer_id: str) -> Select[tuple[str]]:
    """Every name the customer's events may carry (its id and live aliases), for an `IN`."""
    names = customer_names(account_id)
    return select(names.c.alias).where(names.c.subject == customer_id)


def expand_aliases(session: Session, account_id: str, given: list[str]) -> list[str]:
    """The given aliases plus every other name of the customers they name."""
    names = customer_names(account_id)
    named = select(names.c.subject).where(names.c.alias.in_(given))
    others = session.scalars(select(names.c.alias).where(names.c.subject.in_(named)))
    return sorted(set(given) | set(others))


def names_of(
    session: Session, account_id: str, customer_ids: Iterable[str]
) -> dict[str, list[str]]:
    """Every alias of each customer (its id first)."""
    names = customer_names(account_id)
    found: dict[str, list[str]] = {customer_id: [customer_id] for customer_id in customer_ids}
    rows = session.execute(
        select(names.c.subject, names.c.alias).where(
            names.c.subject.in_(list(found)), names.c.alias != names.c.subject
        )
    )
    for subject, alias in rows:
        found[subject].append(alias)
    return found
