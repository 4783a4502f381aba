"""What the dashboard shows of alerts: rows with names instead of ids, and a customer's
alerts with how close each is. Reads only, through the alerts, customers, catalog and
metering queries (the dashboard never queries itself)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from tally.alerts import queries, service
from tally.alerts.schemas import progress_of
from tally.catalog import queries as catalog
from tally.core.wire import plain
from tally.customers import queries as customers
from tally.metering import queries as metering
from tally.models import Account, Alert, AlertFiring, AlertType

RECENT_FIRINGS = 5


@dataclass(frozen=True)
class AlertRow:
    id: str
    name: str
    type: AlertType
    scope: str  # "Customer" or "Price default"
    target: str  # the customer's or the price's name
    target_url: str
    metric: str
    threshold: str
    currency: str
    include_tax: bool
    recipients: str
    archived: bool

    @property
    def compares(self) -> str:
        return "below" if self.type is AlertType.CREDIT_BALANCE else "at or above"


def rows(session: Session, account_id: str, alerts: Sequence[Alert]) -> list[AlertRow]:
    """The alerts with their customers', prices' and metrics' names: three queries."""
    names = customers.customer_names(
        session, account_id, {a.customer_id for a in alerts if a.customer_id}
    )
    prices = catalog.prices_by_id(session, account_id, {a.price_id for a in alerts if a.price_id})
    metric_ids = {a.metric_id for a in alerts if a.metric_id}
    metrics = {m.id: m.name for m in metering.metrics_and(session, account_id, metric_ids)}
    found = []
    for alert in alerts:
        if alert.customer_id:
            scope, target = "Customer", names.get(alert.customer_id, alert.customer_id)
            url = f"/dashboard/customers/{alert.customer_id}"
        else:
            price = prices.get(alert.price_id or "")
            scope, target = "Price default", price.name if price else (alert.price_id or "")
            url = "/dashboard/catalog"
            if price is not None:
                url = f"/dashboard/catalog/products/{price.product_id}"
        recipients = list(alert.email_addresses)
        if alert.notify_customer:
            recipients.append("the customer's billing contacts")
        found.append(
            AlertRow(
                id=alert.id,
                name=alert.name,
                type=alert.type,
                scope=scope,
                target=target,
                target_url=url,
                metric=metrics.get(alert.metric_id or "", "") if alert.metric_id else "",
                threshold=plain(alert.threshold),
                currency=alert.currency or "",
                include_tax=alert.include_tax,
                recipients=", ".join(recipients) or "No emails (the ALERT_TRIGGERED webhook only)",
                archived=alert.archived_at is not None,
            )
        )
    return found


@dataclass(frozen=True)
class Standing:
    """One alert applying to a customer, as it stands now."""

    row: AlertRow
    value: str
    percent: int  # towards the crossing, 0..100 (for the bar)
    period_start: date | None
    period_end: date | None
    fired: bool


@dataclass(frozen=True)
class FiringRow:
    id: str
    alert_id: str
    alert: str
    customer_id: str
    value: str
    threshold: str
    period_start: date | None
    period_end: date | None
    fired_at: datetime
    resolved_at: datetime | None


def percent(alert_type: AlertType, value: Decimal, threshold: Decimal) -> int:
    """How far towards the crossing, as a whole percentage capped at 100."""
    progress = progress_of(alert_type, value, threshold)
    return int(min(progress, Decimal(1)) * 100)


def firing_rows(firings: Sequence[AlertFiring], names: dict[str, str]) -> list[FiringRow]:
    return [
        FiringRow(
            id=f.id,
            alert_id=f.alert_id,
            alert=names.get(f.alert_id, "An alert"),
            customer_id=f.customer_id,
            value=plain(f.value),
            threshold=plain(f.threshold),
            period_start=f.period_start,
            period_end=f.period_end,
            fired_at=f.fired_at,
            resolved_at=f.resolved_at,
        )
        for f in firings
    ]


@dataclass(frozen=True)
class CustomerAlerts:
    standings: list[Standing]
    firings: list[FiringRow]


def customer_alerts(session: Session, account: Account, customer_id: str) -> CustomerAlerts:
    """The customer page's section: each alert applying to it now, and its recent firings."""
    statuses = service.customer_status(session, account, customer_id)
    shown = {r.id: r for r in rows(session, account.id, [s.alert for s in statuses])}
    standings = [
        Standing(
            row=shown[s.alert.id],
            value=plain(s.value),
            percent=percent(s.alert.type, s.value, s.alert.threshold),
            period_start=s.period_start,
            period_end=s.period_end,
            fired=s.fired,
        )
        for s in statuses
    ]
    firings = queries.recent_firings(session, account.id, customer_id, RECENT_FIRINGS)
    names = {s.alert.id: s.alert.name for s in statuses}
    missing = {f.alert_id for f in firings} - set(names)
    if missing:  # archived alerts, or defaults no longer applying
        names |= queries.alert_names(session, account.id, missing)
    return CustomerAlerts(standings, firing_rows(firings, names))
