"""Measuring what charges depend on, for many billing subjects at once.

A subject is what one schedule bills: its customer, and with roll-up billing its children
too. Charges ask for usage of a metric over a range of days, or for seat levels of a seat
type over a period; equal requests are answered together, one grouped query per metric and
range (or per seat type and period) for all the subjects of a batch of schedules.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import FromClause, func, literal, select
from sqlalchemy.orm import Session

from tally.engine.periods import Period
from tally.engine.pricing import Tier
from tally.engine.seats import SeatChange
from tally.metering.custom import custom_totals
from tally.metering.queries import UsageTotal, alias_groups, grouped_totals
from tally.metering.rollups import MetricDefinition, matches_filters
from tally.metering.sql import metering_sql
from tally.models import AggregationType, SeatEvent, UsageMetric
from tally.models.metering import USAGE_EVENTS, USAGE_ROLLUPS


@dataclass(frozen=True)
class Subject:
    """Who a schedule bills: a key, and each member customer with all its names."""

    key: str
    members: dict[str, list[str]]  # customer id -> its id and aliases

    @property
    def aliases(self) -> list[str]:
        return [alias for names in self.members.values() for alias in names]


@dataclass(frozen=True)
class SeatLevels:
    opening: int
    changes: tuple[SeatChange, ...]


UsageKey = tuple[str, date, date]  # metric id, first day, last day
SeatKey = tuple[str, Period]  # seat type, period
UsageAnswers = dict[UsageKey, dict[str, UsageTotal]]  # by subject (or member) key
SeatAnswers = dict[SeatKey, dict[str, SeatLevels]]


UsageRequests = Mapping[UsageKey, Sequence[Subject]]
SeatRequests = Mapping[SeatKey, Sequence[Subject]]


def _member_pairs(subjects: Sequence[Subject]) -> list[tuple[str, str]]:
    """(alias, customer) for the members of rolled-up subjects, whose lines show a breakdown."""
    return [
        (alias, customer)
        for s in subjects
        if len(s.members) > 1
        for customer, names in s.members.items()
        for alias in names
    ]


def measure_of(metric_id: str, parameters: Sequence[tuple[str, str]] = ()) -> str:
    """What a usage request measures: a metric, with the parameter values a price binds
    (CUSTOM metrics: prices with different values measure different things)."""
    return metric_id if not parameters else f"{metric_id}#{json.dumps(sorted(parameters))}"


def split_measure(measure: str) -> tuple[str, dict[str, str]]:
    """The metric id and the bound parameter values (by parameter id) of a measure."""
    metric_id, _, bound = measure.partition("#")
    return metric_id, (dict(json.loads(bound)) if bound else {})


def _totals(
    session: Session,
    metric: UsageMetric,
    start: date,
    end: date,
    grouping: FromClause,
    zone_name: str,
    bound: Mapping[str, str],
) -> dict[str, UsageTotal]:
    if metric.aggregation_type is AggregationType.CUSTOM:
        return custom_totals(session, metric, start, end, grouping, zone_name, bound)
    return grouped_totals(session, metric, start, end, grouping)


def measure_usage(
    session: Session,
    metrics: Mapping[str, UsageMetric],
    requests: UsageRequests,
    zone_name: str,
) -> tuple[UsageAnswers, UsageAnswers]:
    """Usage per subject and per member customer: one grouped query per distinct request
    (metric and days), over the subjects that asked for it. CUSTOM metrics read their events
    and evaluate their expression with the request's parameter values."""
    by_subject: UsageAnswers = {}
    by_member: UsageAnswers = {}
    for request, subjects in sorted(requests.items()):
        measure, start, end = request
        metric_id, bound = split_measure(measure)
        metric = metrics[metric_id]

        pairs = [(alias, s.key) for s in subjects for alias in s.aliases]
        grouping = alias_groups(session, pairs)
        by_subject[request] = _totals(session, metric, start, end, grouping, zone_name, bound)
        if members := _member_pairs(subjects):
            grouping = alias_groups(session, members)
            by_member[request] = _totals(session, metric, start, end, grouping, zone_name, bound)
    return by_subject, by_member


def _bounds(period: Period, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(period.start, time(), zone).astimezone(UTC)
    end = datetime.combine(period.end + timedelta(days=1), time(), zone).astimezone(UTC)
    return start, end


def measure_seats(
    session: Session, account_id: str, zone_name: str, requests: SeatRequests
) -> tuple[SeatAnswers, SeatAnswers]:
    """Seat levels per subject (members' totals added up) and per member customer.

    Per request two queries: each member's latest total before the period, and the events
    inside it. A customer's aliases form one stream: the latest event wins, whichever alias
    it names.
    """
    zone = ZoneInfo(zone_name)
    by_subject: SeatAnswers = {}
    by_member: SeatAnswers = {}
    for (seat_type, period), subjects in sorted(requests.items()):
        owner = {
            alias: customer
            for s in subjects
            for customer, names in s.members.items()
            for alias in names
        }
        aliases = list(owner)
        start, end = _bounds(period, zone)
        mine = (
            SeatEvent.account_id == account_id,
            SeatEvent.seat_type == seat_type,
            SeatEvent.customer_alias.in_(aliases),
        )
        ranked = (
            select(
                SeatEvent.customer_alias,
                SeatEvent.total,
                func.row_number()
                .over(
                    partition_by=SeatEvent.customer_alias,
                    order_by=(SeatEvent.event_timestamp.desc(), SeatEvent.received_at.desc()),
                )
                .label("rank"),
                SeatEvent.event_timestamp,
                SeatEvent.received_at,
            )
            .where(*mine, SeatEvent.event_timestamp < start)
            .subquery()
        )
        latest_per_alias = session.execute(
            select(
                ranked.c.customer_alias,
                ranked.c.total,
                ranked.c.event_timestamp,
                ranked.c.received_at,
            ).where(ranked.c.rank == 1)
        ).all()
        opening: dict[str, tuple[datetime, datetime, int]] = {}
        for alias, total, at, received in latest_per_alias:
            customer = owner[alias]
            if customer not in opening or (at, received) > opening[customer][:2]:
                opening[customer] = (at, received, total)
        inside = session.execute(
            select(SeatEvent.customer_alias, SeatEvent.event_timestamp, SeatEvent.total)
            .where(*mine, SeatEvent.event_timestamp >= start, SeatEvent.event_timestamp < end)
            .order_by(SeatEvent.event_timestamp, SeatEvent.received_at)
        ).all()
        changes: dict[str, list[SeatChange]] = defaultdict(list)
        for alias, at, total in inside:
            changes[owner[alias]].append(SeatChange(at.astimezone(zone).date(), total))
        members = {
            customer: SeatLevels(
                opening[customer][2] if customer in opening else 0,
                tuple(changes.get(customer, ())),
            )
            for s in subjects
            for customer in s.members
        }
        by_member[(seat_type, period)] = members
        by_subject[(seat_type, period)] = _combine(members, subjects)
    return by_subject, by_member


def _combine(members: dict[str, SeatLevels], subjects: Sequence[Subject]) -> dict[str, SeatLevels]:
    """A subject's levels: at every change of any member, the sum of the members' totals."""
    combined = {}
    for subject in subjects:
        customers = list(subject.members)
        if len(customers) == 1:
            combined[subject.key] = members[customers[0]]
            continue
        current = {c: members[c].opening for c in customers}
        timeline = sorted(
            (
                (change.day, index, c, change.total)
                for c in customers
                for index, change in enumerate(members[c].changes)
            ),
        )
        changes = []
        for day, _, customer, total in timeline:
            current[customer] = total
            changes.append(SeatChange(day, sum(current.values())))
        opening = sum(members[c].opening for c in customers)
        combined[subject.key] = SeatLevels(opening, tuple(changes))
    return combined


def measure_capped(
    session: Session,
    metric: UsageMetric,
    tiers: Sequence[Tier],
    period: Period,
    zone_name: str,
    subjects: Sequence[Subject],
) -> dict[str, list[Decimal]]:
    """For VOLUME prices with per-event limits: per subject, for each tier, the sum of the
    events' charges priced on that tier and capped, in one query over the period's events."""
    sql = metering_sql(session)
    events = USAGE_EVENTS
    definition = MetricDefinition.of(metric)
    value = (
        sql.property_number(events.c.properties, metric.aggregation_property)
        if metric.aggregation_property
        else literal(1)
    )
    grouping = alias_groups(session, [(alias, s.key) for s in subjects for alias in s.aliases])
    start, end = _bounds(period, ZoneInfo(zone_name))
    sums = [
        sql.decimal_sum(
            sql.decimal_clamp(
                sql.decimal_mul(value, literal(tier.price)), tier.min_price, tier.max_price
            )
        ).label(f"tier_{index}")
        for index, tier in enumerate(tiers)
    ]
    rows = session.execute(
        select(grouping.c.subject, *sums)
        .select_from(events.join(grouping, grouping.c.alias == events.c.customer_alias))
        .where(
            events.c.account_id == metric.account_id,
            events.c.event_timestamp >= start,
            events.c.event_timestamp < end,
            *matches_filters(sql, events.c.properties, definition),
            events.c.event_type == metric.event_type,
            value.is_not(None),
        )
        .group_by(grouping.c.subject)
    ).all()
    return {row[0]: [Decimal(total or 0) for total in row[1:]] for row in rows}


UsageDays = dict[str, dict[str, set[date]]]  # by subject key, by metric id: days with usage
UsageValues = dict[UsageKey, dict[str, list[Decimal]]]  # by subject key: each event's value


def usage_days(
    session: Session,
    account_id: str,
    metric_ids: Collection[str],
    subjects: Sequence[Subject],
    first: date,
    last: date,
) -> UsageDays:
    """The local days from `first` to `last` on which each subject used each metric: what
    usage-driven (ON_DEMAND, PER_EVENT) prices are charged on. One query, over the daily
    rollups."""
    if not metric_ids or not subjects or last < first:
        return {}
    rollups = USAGE_ROLLUPS
    grouping = alias_groups(session, [(alias, s.key) for s in subjects for alias in s.aliases])
    rows = session.execute(
        select(grouping.c.subject, rollups.c.metric_id, rollups.c.day)
        .select_from(rollups.join(grouping, grouping.c.alias == rollups.c.customer_alias))
        .where(
            rollups.c.account_id == account_id,
            rollups.c.metric_id.in_(list(metric_ids)),
            rollups.c.day >= first,
            rollups.c.day <= last,
        )
        .group_by(grouping.c.subject, rollups.c.metric_id, rollups.c.day)
        .having(func.sum(rollups.c.event_count) > 0)
    ).all()
    days: UsageDays = defaultdict(lambda: defaultdict(set))
    for subject, metric_id, day in rows:
        days[subject][metric_id].add(day)
    return days


def measure_events(
    session: Session,
    metrics: Mapping[str, UsageMetric],
    zone_name: str,
    requests: UsageRequests,
) -> UsageValues:
    """Each matching event's value (1 for a COUNT metric), per subject, in time order: what
    PER_EVENT prices charge one by one. One query per request (a metric and its days)."""
    sql = metering_sql(session)
    events = USAGE_EVENTS
    zone = ZoneInfo(zone_name)
    answers: UsageValues = {}
    for request, subjects in sorted(requests.items()):
        metric_id, first, last = request
        metric = metrics[metric_id]
        value = (
            sql.property_number(events.c.properties, metric.aggregation_property)
            if metric.aggregation_property and metric.aggregation_type is AggregationType.SUM
            else literal(1)
        )
        grouping = alias_groups(session, [(alias, s.key) for s in subjects for alias in s.aliases])
        start, end = _bounds(Period(first, last), zone)
        rows = session.execute(
            select(grouping.c.subject, value)
            .select_from(events.join(grouping, grouping.c.alias == events.c.customer_alias))
            .where(
                events.c.account_id == metric.account_id,
                events.c.event_type == metric.event_type,
                events.c.event_timestamp >= start,
                events.c.event_timestamp < end,
                *matches_filters(sql, events.c.properties, MetricDefinition.of(metric)),
                value.is_not(None),
            )
            .order_by(events.c.event_timestamp, events.c.id)
        ).all()
        found: dict[str, list[Decimal]] = defaultdict(list)
        for subject, number in rows:
            found[subject].append(Decimal(str(number)))
        answers[request] = dict(found)
    return answers
