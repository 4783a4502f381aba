"""Per-metric daily rollups of usage events: built, extended and recomputed in SQL.

A rollup bucket is (metric, customer alias, local day of the account). New events extend
their buckets additively; a replaced event's old and new buckets are recomputed from the
events themselves. Everything runs as set-based SQL in the database.
"""

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Executable,
    FromClause,
    Numeric,
    Select,
    Table,
    Text,
    Uuid,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    not_,
    null,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session

from tally.db import advisory_lock, try_advisory_lock
from tally.metering.partitions import retired_until
from tally.metering.sql import MeteringSQL, metering_sql
from tally.models import AggregationType, UsageMetric
from tally.models.metering import USAGE_EVENTS, USAGE_ROLLUP_VALUES, USAGE_ROLLUPS

Bucket = tuple[str, date]
NUMERIC_AGGREGATIONS = (AggregationType.SUM, AggregationType.MAX, AggregationType.LATEST)
_BUCKET_KEY = ["metric_id", "customer_alias", "day"]


@dataclass(frozen=True)
class MetricDefinition:
    """What a metric aggregates, as a hashable value: SQL built from it can be cached."""

    id: str
    account_id: str
    event_type: str
    aggregation_type: AggregationType
    aggregation_property: str | None
    filters: tuple[tuple[str, tuple[str, ...]], ...]
    negated: frozenset[str]
    case_sensitive: bool

    @classmethod
    def of(cls, metric: UsageMetric) -> "MetricDefinition":
        return cls(
            id=metric.id,
            account_id=metric.account_id,
            event_type=metric.event_type,
            aggregation_type=metric.aggregation_type,
            aggregation_property=metric.aggregation_property,
            filters=tuple(
                (key, tuple(str(value) for value in values))
                for key, values in metric.property_filters.items()
            ),
            negated=frozenset(metric.properties_to_negate),
            case_sensitive=metric.case_sensitive,
        )


def _sql(session: Session) -> MeteringSQL:
    return metering_sql(session)


def matches_filters(
    sql: MeteringSQL, properties: ColumnElement[Any], metric: MetricDefinition
) -> list[ColumnElement[bool]]:
    """Every property filter of the metric (all must hold); negated ones mean "not in"."""
    conditions = []
    for key, allowed in metric.filters:
        value = sql.property_text(properties, key)
        values = list(allowed)
        if not metric.case_sensitive:
            value, values = func.lower(value), [v.lower() for v in values]
        if key in metric.negated:
            conditions.append(or_(value.is_(None), not_(value.in_(values))))
        else:
            conditions.append(value.in_(values))
    return conditions


def unique_value(
    sql: MeteringSQL, properties: ColumnElement[Any], metric: MetricDefinition
) -> ColumnElement[Any]:
    assert metric.aggregation_property is not None
    value = sql.property_text(properties, metric.aggregation_property)
    return value if metric.case_sensitive else func.lower(value)


def _matching(
    sql: MeteringSQL,
    source: FromClause,
    metric: MetricDefinition,
    where: Sequence[ColumnElement[bool]],
) -> list[ColumnElement[bool]]:
    return [
        source.c.event_type == metric.event_type,
        *matches_filters(sql, source.c.properties, metric),
        *where,
    ]


def bucket_select(
    sql: MeteringSQL,
    source: FromClause,
    metric: MetricDefinition,
    zone: str,
    where: Sequence[ColumnElement[bool]] = (),
) -> Select[Any]:
    """One row per (alias, day): the metric's aggregates over the matching rows of `source`."""
    kind = metric.aggregation_type
    day = sql.local_day(source.c.event_timestamp, zone)
    columns: list[ColumnElement[Any]] = [
        source.c.customer_alias.label("customer_alias"),
        day.label("day"),
    ]
    if kind in NUMERIC_AGGREGATIONS:
        value = sql.property_number(source.c.properties, metric.aggregation_property or "")
        columns.append(value.label("value"))
    if kind is AggregationType.LATEST:
        # Rank each bucket's rows so that the newest numeric one comes first.
        rank = func.row_number().over(
            partition_by=(source.c.customer_alias, day),
            order_by=(
                case((value.is_(None), 1), else_=0),
                source.c.event_timestamp.desc(),
                source.c.id.desc(),
            ),
        )
        columns += [
            source.c.id.label("id"),
            source.c.event_timestamp.label("event_timestamp"),
            rank.label("rank"),
        ]
    rows = select(*columns).where(*_matching(sql, source, metric, where)).subquery("matching")
    # Typed NULLs: in a UNION of several metrics the database must still know the types.
    none: dict[str, ColumnElement[Any]] = {
        "skipped_count": cast(literal(0), BigInteger),
        "value_sum": cast(null(), Numeric),
        "value_max": cast(null(), Numeric),
        "latest_at": cast(null(), DateTime(timezone=True)),
        "latest_event_id": cast(null(), Uuid(as_uuid=False)),
        "latest_value": cast(null(), Numeric),
    }
    aggregates = dict(none)
    if kind in NUMERIC_AGGREGATIONS:
        aggregates["skipped_count"] = func.count() - func.count(rows.c.value)
    if kind is AggregationType.SUM:
        aggregates["value_sum"] = sql.decimal_sum(rows.c.value)
    if kind is AggregationType.MAX:
        aggregates["value_max"] = sql.decimal_max(rows.c.value)
    if kind is AggregationType.LATEST:
        newest = and_(rows.c.rank == 1, rows.c.value.is_not(None))
        aggregates["latest_at"] = func.max(case((newest, rows.c.event_timestamp)))
        # max() has no uuid variant on PostgreSQL: compare as text, store as uuid again.
        aggregates["latest_event_id"] = cast(
            func.max(cast(case((newest, rows.c.id)), Text)), Uuid(as_uuid=False)
        )
        aggregates["latest_value"] = sql.decimal_max(case((newest, rows.c.value)))
    return select(
        literal(metric.id).label("metric_id"),
        literal(metric.account_id).label("account_id"),
        rows.c.customer_alias,
        rows.c.day,
        func.count().label("event_count"),
        *(expression.label(name) for name, expression in aggregates.items()),
    ).group_by(rows.c.customer_alias, rows.c.day)


def value_select(
    sql: MeteringSQL,
    source: FromClause,
    metric: MetricDefinition,
    zone: str,
    where: Sequence[ColumnElement[bool]] = (),
) -> Select[Any]:
    """For UNIQUE metrics: one row per (alias, day, distinct value) with its occurrences."""
    day = sql.local_day(source.c.event_timestamp, zone)
    value = unique_value(sql, source.c.properties, metric)
    return (
        select(
            literal(metric.id).label("metric_id"),
            literal(metric.account_id).label("account_id"),
            source.c.customer_alias,
            day.label("day"),
            value.label("value"),
            func.count().label("occurrences"),
        )
        .where(*_matching(sql, source, metric, where), value.is_not(None))
        .group_by(source.c.customer_alias, day, value)
    )


_VALUE_COLUMNS = ["metric_id", "account_id", "customer_alias", "day", "value", "occurrences"]
_ROLLUP_COLUMNS = [
    "metric_id",
    "account_id",
    "customer_alias",
    "day",
    "event_count",
    "skipped_count",
    "value_sum",
    "value_max",
    "latest_at",
    "latest_event_id",
    "latest_value",
]


def extend_statements(
    postgres: bool,
    metrics: Sequence[MetricDefinition],
    zone: str,
    source: FromClause,
    where: Sequence[ColumnElement[bool]],
) -> tuple[Executable, ...]:
    """The statements that add rollup rows for the matching rows of `source` (new events),
    for several metrics at once.

    The new events are read once (a CTE) and every metric aggregates them in the same
    INSERT. Plain inserts: nothing is updated, so concurrent batches never wait for each
    other. Pure: callers cache the statements, so a batch pays no SQL construction.
    """
    sql = MeteringSQL(postgres=postgres)
    columns = ("id", "customer_alias", "event_type", "event_timestamp", "properties")
    new_events = select(*(source.c[name] for name in columns)).where(*where).cte("new_events")
    buckets = [bucket_select(sql, new_events, metric, zone) for metric in metrics]
    statements: list[Executable] = [
        insert(USAGE_ROLLUPS).from_select(
            _ROLLUP_COLUMNS, buckets[0] if len(buckets) == 1 else union_all(*buckets)
        )
    ]
    distinct_values = [
        value_select(sql, new_events, metric, zone)
        for metric in metrics
        if metric.aggregation_type is AggregationType.UNIQUE
    ]
    if distinct_values:
        statements.append(
            insert(USAGE_ROLLUP_VALUES).from_select(
                _VALUE_COLUMNS,
                distinct_values[0] if len(distinct_values) == 1 else union_all(*distinct_values),
            )
        )
    return tuple(statements)


def _day_range(days: Iterable[date], zone: str) -> tuple[datetime, datetime]:
    """UTC instants safely around the given local days (to let an index narrow the scan)."""
    tz = ZoneInfo(zone)
    ordered = sorted(days)
    first, last = ordered[0], ordered[-1]
    start = datetime.combine(first - timedelta(days=1), time(), tz)
    end = datetime.combine(last + timedelta(days=2), time(), tz)
    return start, end


def _first_day_with_events(session: Session, zone: str) -> date | None:
    """The first local day whose events are all still stored, when retention dropped some
    months (`metering.retention`); None when none was."""
    until = retired_until(session)
    if until is None:
        return None
    tz = ZoneInfo(zone)
    boundary = datetime.combine(until, time(), UTC)
    day = boundary.astimezone(tz).date()
    return day if datetime.combine(day, time(), tz) >= boundary else day + timedelta(days=1)


def recompute(
    session: Session, metric: UsageMetric, zone: str, buckets: Sequence[Bucket] | None
) -> None:
    """Replace the rows of the given buckets (all of the metric's when None) with one row
    per bucket computed from the stored events. All of them means those of the days whose
    events retention has not dropped: the retired days' rows are all that is left of them.

    On PostgreSQL the delete and the insert are one statement, so they see the same events:
    a batch committing in between is either in both (its rows deleted, its events counted)
    or in neither (its rows kept, its events not counted), never half. Callers serialize
    recomputes within the account (`lock_maintenance`).
    """
    sql = _sql(session)
    definition = MetricDefinition.of(metric)
    events = USAGE_EVENTS
    where: list[ColumnElement[bool]] = [events.c.account_id == metric.account_id]
    rollups, values = USAGE_ROLLUPS, USAGE_ROLLUP_VALUES
    forget_rollups = delete(rollups).where(rollups.c.metric_id == metric.id)
    forget_values = delete(values).where(values.c.metric_id == metric.id)
    if buckets is not None:
        if not buckets:
            return
        start, end = _day_range((day for _, day in buckets), zone)
        day = sql.local_day(events.c.event_timestamp, zone)
        where += [
            events.c.customer_alias.in_({alias for alias, _ in buckets}),
            events.c.event_timestamp >= start,
            events.c.event_timestamp < end,
            tuple_(events.c.customer_alias, day).in_(list(buckets)),
        ]
        forget_rollups = forget_rollups.where(
            tuple_(rollups.c.customer_alias, rollups.c.day).in_(list(buckets))
        )
        forget_values = forget_values.where(
            tuple_(values.c.customer_alias, values.c.day).in_(list(buckets))
        )
    else:
        kept_from = _first_day_with_events(session, zone)
        if kept_from is not None:  # days before it are retired: their rows stay as they are
            where.append(
                events.c.event_timestamp >= datetime.combine(kept_from, time(), ZoneInfo(zone))
            )
            forget_rollups = forget_rollups.where(rollups.c.day >= kept_from)
            forget_values = forget_values.where(values.c.day >= kept_from)
    rebuilds = [
        (
            forget_rollups,
            insert(rollups).from_select(
                _ROLLUP_COLUMNS, bucket_select(sql, events, definition, zone, where)
            ),
        )
    ]
    if metric.aggregation_type is AggregationType.UNIQUE:
        rebuilds.append(
            (
                forget_values,
                insert(values).from_select(
                    _VALUE_COLUMNS, value_select(sql, events, definition, zone, where)
                ),
            )
        )
    else:
        session.execute(forget_values)  # left over from an earlier UNIQUE definition
    for forget_rows, rebuild in rebuilds:
        if sql.postgres:
            gone = forget_rows.returning(literal(1)).cte("gone")
            session.execute(rebuild.add_cte(gone))
        else:  # SQLite runs one writer at a time: two statements are just as safe
            session.execute(forget_rows)
            session.execute(rebuild)


def lock_definitions(session: Session, account_id: str, *, exclusive: bool) -> None:
    """Ingestion (shared) versus changes to the account's metrics or days (exclusive).

    A metric being created or redefined rebuilds its rollups from the stored events; the
    exclusive lock makes it wait for batches in flight, and batches after it see the metric.
    """
    advisory_lock(session, "usage-metric-definitions", account_id, shared=not exclusive)


def lock_maintenance(session: Session, account_id: str, *, wait: bool = True) -> bool:
    """Serialize what deletes rollup rows (recomputes, compaction) within an account.

    With `wait=False` the lock is only taken if free; the answer says whether it was.
    """
    scope = ("usage-rollup-maintenance", account_id)
    if wait:
        advisory_lock(session, *scope)
        return True
    return try_advisory_lock(session, *scope)


@dataclass(frozen=True)
class Merged:
    """What a compaction of one table did: the rows it looked at (new since the last pass)
    and how many fewer rows the table holds."""

    new_rows: int
    removed: int


@dataclass(frozen=True)
class Compacted:
    """How far compaction has looked: the newest row id of each table it has seen. Rows
    added since are the only ones that can have made a bucket crowded again."""

    rollups: int = 0
    values: int = 0
    merged: Merged = Merged(0, 0)  # what it did to the rollups


def compact(session: Session, account_id: str, seen: Compacted | None = None) -> Compacted:
    """Merge the rows of every bucket that has several into one, for the account's metrics;
    with `seen`, only the buckets that got rows since (a scan of the new rows, not of all the
    account's: compacting every bucket of 10,000 customers took ingestion a second each
    time). Returns how far this compaction looked.

    Append-only rows keep ingestion free of contention; merging them keeps reads short. The
    caller holds `lock_maintenance`.
    """
    sql = _sql(session)
    metric_ids = select(UsageMetric.id).where(UsageMetric.account_id == account_id)
    seen = seen or Compacted()
    bucket = ("metric_id", "customer_alias", "day")
    merged = functools.partial(_merged, sql)
    merged_rollups = _merge_crowded(
        session, sql, USAGE_ROLLUPS, _ROLLUP_COLUMNS, merged, metric_ids, bucket, seen.rollups
    )
    values_key = (*bucket, "value")
    _merge_crowded(
        session,
        sql,
        USAGE_ROLLUP_VALUES,
        _VALUE_COLUMNS,
        _merged_values,
        metric_ids,
        values_key,
        seen.values,
    )
    # Read after merging, so that the merged rows (new ids) count as seen. A batch in flight
    # may commit rows with lower ids later: their buckets are merged when they next get a
    # row (reads add up every row of a bucket, merged or not).
    return Compacted(
        rollups=session.scalar(select(func.max(USAGE_ROLLUPS.c.id))) or 0,
        values=session.scalar(select(func.max(USAGE_ROLLUP_VALUES.c.id))) or 0,
        merged=merged_rollups,
    )


def _merge_crowded(
    session: Session,
    sql: MeteringSQL,
    table: Table,
    columns: list[str],
    merged: Callable[[Any], Select[Any]],
    metric_ids: Select[Any],
    key_names: tuple[str, ...],
    after_id: int,
) -> "Merged":
    """Replace the rows sharing `key_names` by `merged` of them, for the keys with a row
    newer than `after_id`. On PostgreSQL the delete and the
    insert are one statement, so they see the same rows; SQLite runs one writer at a time,
    so two statements do."""
    key = tuple(table.c[name] for name in key_names)
    touched = select(*key).where(table.c.metric_id.in_(metric_ids), table.c.id > after_id)
    crowded = (
        select(*key)
        .where(table.c.metric_id.in_(metric_ids), tuple_(*key).in_(touched))
        .group_by(*key)
        .having(func.count() > 1)
    )
    in_crowded = tuple_(*key).in_(crowded)
    looked_at = select(func.count()).select_from(touched.subquery()).scalar_subquery()
    if sql.postgres:
        rows: Any = delete(table).where(in_crowded).returning(*table.c).cte("merged_rows")
        merged_into = (
            insert(table).from_select(columns, merged(rows)).returning(table.c.id).cte("merged")
        )
        counts = select(
            looked_at,
            select(func.count()).select_from(rows).scalar_subquery(),
            select(func.count()).select_from(merged_into).scalar_subquery(),
        )
        new_rows, deleted, inserted = session.execute(counts).one()
        return Merged(new_rows=int(new_rows), removed=int(deleted) - int(inserted))
    new_rows = session.scalar(select(looked_at)) or 0
    newest = session.scalar(select(func.max(table.c.id)))
    if newest is None:
        return Merged(new_rows, 0)
    old = select(table).where(table.c.id <= newest, in_crowded).subquery("merged_rows")
    inserted = session.execute(insert(table).from_select(columns, merged(old))).rowcount  # type: ignore[attr-defined]
    deleted = session.execute(delete(table).where(table.c.id <= newest, in_crowded)).rowcount  # type: ignore[attr-defined]
    return Merged(new_rows, int(deleted) - int(inserted))


def _merged(sql: MeteringSQL, rows: Any) -> Select[Any]:
    """One row per bucket of `rows`: the aggregate of their aggregates."""
    bucket = (rows.c.metric_id, rows.c.customer_alias, rows.c.day)
    rank = func.row_number().over(
        partition_by=bucket,
        order_by=(rows.c.latest_at.desc().nulls_last(), rows.c.latest_event_id.desc().nulls_last()),
    )
    ranked = select(rows, rank.label("rank")).subquery("ranked")
    newest = ranked.c.rank == 1
    return select(
        ranked.c.metric_id,
        func.min(ranked.c.account_id),
        ranked.c.customer_alias,
        ranked.c.day,
        func.sum(ranked.c.event_count),
        func.sum(ranked.c.skipped_count),
        sql.decimal_sum(ranked.c.value_sum),
        sql.decimal_max(ranked.c.value_max),
        func.max(case((newest, ranked.c.latest_at))),
        cast(func.max(cast(case((newest, ranked.c.latest_event_id)), Text)), Uuid(as_uuid=False)),
        sql.decimal_max(case((newest, ranked.c.latest_value))),
    ).group_by(*(ranked.c[name] for name in ("metric_id", "customer_alias", "day")))


def _merged_values(rows: Any) -> Select[Any]:
    """One row per bucket and distinct value of `rows`, with all their occurrences."""
    key = (rows.c.metric_id, rows.c.customer_alias, rows.c.day, rows.c.value)
    return select(
        rows.c.metric_id,
        func.min(rows.c.account_id),
        rows.c.customer_alias,
        rows.c.day,
        rows.c.value,
        func.sum(rows.c.occurrences),
    ).group_by(*key)


def forget(session: Session, metric: UsageMetric) -> None:
    """Drop all of a metric's rollups."""
    for table in (USAGE_ROLLUPS, USAGE_ROLLUP_VALUES):
        session.execute(delete(table).where(table.c.metric_id == metric.id))
