"""The account's usage metrics as the portal shows them, each with its graph colour."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from tally.metering import queries
from tally.models import (
    AggregationType,
    UsageMetric,
)
from tally.portal.data._common import PALETTE


@dataclass(frozen=True)
class MetricInfo:
    id: str
    name: str
    unit: str | None
    aggregation: AggregationType
    color: str


def load_metrics(
    session: Session, account_id: str, ids: Iterable[str] | None = None
) -> dict[str, tuple[UsageMetric, MetricInfo]]:
    """The account's metrics (live, or any of `ids`), each with its graph colour: colours
    follow the metrics' names, so a metric keeps its colour on every page."""
    metrics = (
        queries.metrics(session, account_id)
        if ids is None
        else queries.metrics_and(session, account_id, list(ids))
    )
    return {
        metric.id: (
            metric,
            MetricInfo(
                id=metric.id,
                name=metric.name,
                unit=metric.unit,
                aggregation=metric.aggregation_type,
                color=PALETTE[position % len(PALETTE)],
            ),
        )
        for position, metric in enumerate(metrics)
    }


def live_metrics(
    metrics: dict[str, tuple[UsageMetric, MetricInfo]],
) -> dict[str, tuple[UsageMetric, MetricInfo]]:
    """The live ones of `load_metrics(..., ids)`, coloured as `load_metrics(...)` colours them
    (by position among the live metrics), without reading them again."""
    live = [metric for metric, _ in metrics.values() if metric.deleted_at is None]
    return {
        metric.id: (metric, replace(metrics[metric.id][1], color=PALETTE[position % len(PALETTE)]))
        for position, metric in enumerate(live)
    }
