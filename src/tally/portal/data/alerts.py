"""The customer's spend-control alerts and how close each is, through the alerts service's
own reading (`alerts.service.customer_status`: the figures the API's /api/alert-status and
the evaluator use), with the metrics' names and units."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from tally.alerts import service
from tally.alerts.schemas import progress_of
from tally.metering import queries as metering
from tally.models import Account, AlertType


@dataclass(frozen=True)
class AlertProgress:
    id: str
    type: AlertType
    metric_name: str | None
    unit: str | None
    currency: str | None
    value: Decimal
    threshold: Decimal
    period_start: date | None
    period_end: date | None
    fired: bool
    progress: Decimal  # towards the crossing, 0..1 (capped)


def alert_progress(session: Session, account: Account, customer_id: str) -> list[AlertProgress]:
    """Every live alert applying to the customer now: a fixed few queries."""
    statuses = service.customer_status(session, account, customer_id)
    metric_ids = {s.alert.metric_id for s in statuses if s.alert.metric_id}
    # No metric to name (no usage alert applies): no query; the Overview reads this under load.
    metrics = (
        {m.id: m for m in metering.metrics_and(session, account.id, metric_ids)}
        if metric_ids
        else {}
    )
    found = []
    for status in statuses:
        alert = status.alert
        metric = metrics.get(alert.metric_id or "")
        found.append(
            AlertProgress(
                id=alert.id,
                type=alert.type,
                metric_name=metric.name if metric else None,
                unit=metric.unit if metric else None,
                currency=alert.currency,
                value=status.value,
                threshold=alert.threshold,
                period_start=status.period_start,
                period_end=status.period_end,
                fired=status.fired,
                progress=min(progress_of(alert.type, status.value, alert.threshold), Decimal(1)),
            )
        )
    return found
