"""The Usage page's reads: the breakdown of a billing period and the graph, sharing the
metrics and, when the graph shows that period (its default), the usage per day."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from tally.portal.data.breakdown import UsageBreakdown, breakdown_with_days
from tally.portal.data.metrics import live_metrics
from tally.portal.data.periods import BillingPeriod
from tally.portal.data.series import UsageRange, UsageSeries, usage_series


def period_usage(
    session: Session,
    account_id: str,
    customer_id: str,
    period: BillingPeriod | None,
    usage_range: UsageRange,
    *,
    today: date,
    now: datetime,
) -> tuple[UsageBreakdown | None, UsageSeries]:
    """`usage_breakdown(period)` and `usage_series(usage_range, period=period)` in three
    queries (lines, metrics, days) when the graph shows the period, one more otherwise."""
    if period is None:
        return None, usage_series(
            session, account_id, customer_id, usage_range, today=today, now=now
        )
    breakdown, metrics, days = breakdown_with_days(session, account_id, customer_id, period)
    series = usage_series(
        session,
        account_id,
        customer_id,
        usage_range,
        today=today,
        now=now,
        period=period,
        metrics=live_metrics(metrics),
        days=days if usage_range is UsageRange.PERIOD else None,
    )
    return breakdown, series
