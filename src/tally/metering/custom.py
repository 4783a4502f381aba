"""CUSTOM metrics measured: their events read from the store (the metric's event type and
property filters, in the period), grouped by subject, and the metric's expression evaluated
over them by the engine (`engine/custom_metrics.py`) with a price's parameter values.

The expression is never part of the SQL: the query is the same for every custom metric.
"""

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import FromClause, Text, cast, select
from sqlalchemy.orm import Session

from tally.engine import custom_metrics
from tally.exceptions import InvalidRequest
from tally.metering.queries import ZERO, UsageTotal, alias_groups
from tally.metering.rollups import MetricDefinition, matches_filters
from tally.metering.schemas import parameter_value
from tally.metering.sql import metering_sql
from tally.models import UsageMetric
from tally.models.metering import USAGE_EVENTS


def bound_values(metric: UsageMetric, bound: Mapping[str, str]) -> dict[str, Decimal]:
    """The metric's parameters by name: the values `bound` gives by parameter id (or by
    name), the defaults for the rest."""
    values = {}
    for parameter in metric.parameters:
        text = bound.get(parameter.id, bound.get(parameter.name, parameter.default_value))
        value = parameter_value(parameter.type, text)
        if value is None:  # prices' values are checked when given; a default always fits
            value = parameter_value(parameter.type, parameter.default_value)
        values[parameter.name] = value if value is not None else Decimal(0)
    return values


def parse_given(metric: UsageMetric, given: str | None) -> dict[str, str]:
    """`customParameters` of a calculation: `name=value` pairs, comma separated (a parameter's
    id works as its name), each a value of the parameter's type."""
    if not given:
        return {}
    by_key = {p.name: p for p in metric.parameters} | {p.id: p for p in metric.parameters}
    values = {}
    for pair in given.split(","):
        key, _, text = pair.partition("=")
        parameter = by_key.get(key.strip())
        if parameter is None:
            known = ", ".join(p.name for p in metric.parameters) or "none"
            raise InvalidRequest.field(
                "customParameters", f"{key.strip()!r} is no parameter of the metric ({known})"
            )
        if parameter_value(parameter.type, text.strip()) is None:
            raise InvalidRequest.field(
                "customParameters", f"{parameter.name}: not a {parameter.type.value} value"
            )
        values[parameter.id] = text.strip()
    return values


def custom_totals(
    session: Session,
    metric: UsageMetric,
    start: date,
    end: date,
    grouping: FromClause,
    zone_name: str,
    bound: Mapping[str, str],
) -> dict[str, UsageTotal]:
    """The metric between two local days (inclusive) for each subject of `grouping` (a table
    of alias, subject) with events: one query for the events, evaluated per subject."""
    assert metric.expression is not None
    expression = custom_metrics.parse(metric.expression)
    values = bound_values(metric, bound)
    zone = ZoneInfo(zone_name)
    first = datetime.combine(start, time(), zone).astimezone(UTC)
    last = datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC)
    sql = metering_sql(session)
    events = USAGE_EVENTS
    rows = session.execute(
        select(grouping.c.subject, events.c.event_timestamp, cast(events.c.properties, Text))
        .select_from(events.join(grouping, grouping.c.alias == events.c.customer_alias))
        .where(
            events.c.account_id == metric.account_id,
            events.c.event_type == metric.event_type,
            events.c.event_timestamp >= first,
            events.c.event_timestamp < last,
            *matches_filters(sql, events.c.properties, MetricDefinition.of(metric)),
        )
        .order_by(events.c.event_timestamp, events.c.id)
    ).all()
    by_subject: dict[str, list[custom_metrics.Event]] = defaultdict(list)
    for subject, at, properties in rows:
        document = json.loads(properties, parse_float=Decimal)  # every digit as sent
        by_subject[subject].append(custom_metrics.Event(at.astimezone(zone).date(), document))
    return {
        subject: UsageTotal(len(found), 0, custom_metrics.evaluate(expression, values, found))
        for subject, found in by_subject.items()
    }


def totals(
    session: Session,
    metric: UsageMetric,
    aliases: Iterable[str],
    start: date,
    end: date,
    zone_name: str,
    bound: Mapping[str, str],
) -> UsageTotal:
    """The metric over the events of `aliases` between two local days, both inclusive."""
    grouping = alias_groups(session, [(alias, "all") for alias in aliases])
    found = custom_totals(session, metric, start, end, grouping, zone_name, bound)
    return found.get("all", ZERO)
