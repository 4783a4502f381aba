"""Late usage: events that arrive for days a finalized invoice already billed.

Finalized invoices never change, so such events are not billed; each run reports the ones
received since the schedule's previous run, so every late event is reported once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tally.billing.measures import Subject
from tally.billing.terms import LoadedSchedule
from tally.metering.queries import alias_groups
from tally.models import UsageMetric
from tally.models.metering import USAGE_EVENTS


def _event_types(
    session: Session, account_id: str, loaded: Sequence[LoadedSchedule]
) -> dict[str, set[str]]:
    """The event types each schedule's usage prices measure."""
    metric_of = {
        item.schedule.id: {p.usage_metric_id for p in item.prices.values() if p.usage_metric_id}
        for item in loaded
    }
    wanted = set().union(*metric_of.values())
    types = dict(
        session.execute(
            select(UsageMetric.id, UsageMetric.event_type).where(
                UsageMetric.account_id == account_id, UsageMetric.id.in_(wanted)
            )
        ).all()
    )
    return {sid: {types[m] for m in metrics if m in types} for sid, metrics in metric_of.items()}


def late_events(
    session: Session,
    account_id: str,
    zone_name: str,
    loaded: Sequence[LoadedSchedule],
    subjects: dict[str, Subject],
    finalized_through: dict[str, date],
) -> dict[str, int]:
    """Per schedule, events received since its last run for days up to the end of its last
    finalized billing period. One query per (last run, period end) pair; the schedules of a
    scheduler batch share their last run, and most their period end."""
    zone = ZoneInfo(zone_name)
    event_types = _event_types(session, account_id, loaded)
    groups: dict[tuple[datetime, date], list[str]] = defaultdict(list)
    for item in loaded:
        schedule = item.schedule
        through = finalized_through.get(schedule.id)
        if schedule.billed_at is None or through is None or not event_types[schedule.id]:
            continue
        groups[(schedule.billed_at, through)].append(schedule.id)
    events = USAGE_EVENTS
    found: dict[str, int] = {}
    for (since, through), schedule_ids in groups.items():
        until = datetime.combine(through + timedelta(days=1), time(), zone).astimezone(UTC)
        pairs = [(alias, sid) for sid in schedule_ids for alias in subjects[sid].aliases]
        grouping = alias_groups(session, pairs)
        rows = session.execute(
            select(grouping.c.subject, events.c.event_type, func.count())
            .select_from(events.join(grouping, grouping.c.alias == events.c.customer_alias))
            .where(
                events.c.account_id == account_id,
                events.c.received_at > since,
                events.c.event_timestamp < until,
            )
            .group_by(grouping.c.subject, events.c.event_type)
        )
        for schedule_id, event_type, count in rows:
            if event_type in event_types[schedule_id]:
                found[schedule_id] = found.get(schedule_id, 0) + count
    return found
