"""A customer's usage per metric and local day, read once from the rollups: the Usage page's
breakdown (totals of the period) and its graph (values per day) both come from it.

One grouped query, whatever the number of events; it names the metrics, so it walks the
rollups' (metric, alias, day) index instead of every rollup of the account.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tally.metering.queries import names_of_customer
from tally.models import AggregationType
from tally.models.metering import USAGE_ROLLUPS
from tally.portal.data._common import ZERO, metering_dialect


@dataclass(frozen=True)
class DayUsage:
    """One metric's rollups of one local day, summed."""

    events: int
    value_sum: Decimal
    value_max: Decimal | None

    def value(self, kind: AggregationType) -> Decimal | None:
        """The day's value for COUNT, SUM and MAX; None for the kinds that need more
        (UNIQUE counts distinct values, LATEST the newest one)."""
        if kind is AggregationType.COUNT:
            return Decimal(self.events)
        if kind is AggregationType.SUM:
            return self.value_sum
        if kind is AggregationType.MAX:
            return self.value_max if self.value_max is not None else ZERO
        return None


def total_of(kind: AggregationType, days: Iterable[DayUsage]) -> Decimal:
    """COUNT, SUM or MAX over several days, exactly (as the database would sum them)."""
    with localcontext() as context:
        context.prec = 200
        if kind is AggregationType.COUNT:
            return Decimal(sum(day.events for day in days))
        if kind is AggregationType.SUM:
            return sum((day.value_sum for day in days), ZERO)
        return max((day.value_max for day in days if day.value_max is not None), default=ZERO)


Days = dict[str, dict[date, DayUsage]]  # metric id -> local day -> usage


def day_usage(
    session: Session,
    account_id: str,
    customer_id: str,
    metric_ids: Collection[str],
    start: date,
    end: date,
) -> Days:
    """Per metric (of `metric_ids`) and local day between `start` and `end` (inclusive)."""
    if not metric_ids:
        return {}
    sql = metering_dialect(session)
    rollups = USAGE_ROLLUPS
    rows = session.execute(
        select(
            rollups.c.metric_id,
            rollups.c.day,
            func.sum(rollups.c.event_count).label("events"),
            sql.decimal_sum(rollups.c.value_sum).label("value_sum"),
            sql.decimal_max(rollups.c.value_max).label("value_max"),
        )
        .where(
            rollups.c.account_id == account_id,
            rollups.c.metric_id.in_(list(metric_ids)),
            rollups.c.customer_alias.in_(names_of_customer(account_id, customer_id)),
            rollups.c.day >= start,
            rollups.c.day <= end,
        )
        .group_by(rollups.c.metric_id, rollups.c.day)
    )
    days: Days = defaultdict(dict)
    for row in rows:
        days[row.metric_id][row.day] = DayUsage(
            events=int(row.events or 0),
            value_sum=Decimal(row.value_sum) if row.value_sum is not None else ZERO,
            value_max=Decimal(row.value_max) if row.value_max is not None else None,
        )
    return days
