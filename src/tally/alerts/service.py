"""Alerts: the rules of creating, changing and archiving them, and the reads the API, the
dashboard and the portal share (a customer's alerts with how close each is)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.alerts import checks, evaluation, queries
from tally.alerts.schemas import AlertIn
from tally.api.references import resolve_one
from tally.core.clock import local_today, utcnow
from tally.exceptions import InvalidRequest, InvalidStateTransition, NotFound
from tally.models import Account, Alert, AlertType, Customer, Price, UsageMetric


def get_alert(session: Session, account_id: str, alert_id: str) -> Alert:
    found = queries.alert(session, account_id, alert_id)
    if found is None:
        raise NotFound.resource("Alert", alert_id)
    return found


def _check(session: Session, account_id: str, data: AlertIn) -> None:
    if (data.customer_id is None) == (data.price_id is None):
        message = "give exactly one of customerId (one customer) and priceId (a default)"
        raise InvalidRequest(message, details=[{"field": "customerId", "message": message}])
    if data.customer_id is not None:
        resolve_one(session, account_id, Customer, "customerId", data.customer_id)
    if data.price_id is not None:
        resolve_one(session, account_id, Price, "priceId", data.price_id)
    if data.metric_id is not None:
        resolve_one(session, account_id, UsageMetric, "metricId", data.metric_id)
    if data.threshold < 0:
        raise InvalidRequest.field("threshold", "must not be negative")
    kind = data.type
    if kind is AlertType.USAGE and data.metric_id is None:
        raise InvalidRequest.field("metricId", "a USAGE alert names its metric")
    if kind is AlertType.SPEND and data.metric_id is not None:
        raise InvalidRequest.field("metricId", "a SPEND alert names no metric")
    needs_currency = kind is AlertType.SPEND or (
        kind is AlertType.CREDIT_BALANCE and data.metric_id is None
    )
    if needs_currency and data.currency is None:
        raise InvalidRequest.field("currency", f"a {kind.value} alert on money names its currency")
    if not needs_currency and data.currency is not None:
        raise InvalidRequest.field("currency", "only SPEND and cash CREDIT_BALANCE alerts have one")
    if data.include_tax and kind is not AlertType.SPEND:
        raise InvalidRequest.field("includeTax", "only SPEND alerts include tax or not")


def _audited(alert: Alert) -> dict[str, Any]:
    return {
        "name": alert.name,
        "type": alert.type.value,
        "customerId": alert.customer_id,
        "priceId": alert.price_id,
        "metricId": alert.metric_id,
        "threshold": activity.number(alert.threshold),
        "currency": alert.currency,
        "includeTax": alert.include_tax,
        "emailAddresses": list(alert.email_addresses),
        "notifyCustomer": alert.notify_customer,
        "archivedAt": alert.archived_at,
    }


def _log(session: Session, alert: Alert, verb: str, summary: str, before: dict[str, Any]) -> None:
    activity.record(
        session,
        alert.account_id,
        verb=verb,
        object_type="ALERT",
        object_id=alert.id,
        name=f"Alert {verb.lower()}",
        summary=summary,
        changes=activity.changed(before, _audited(alert)),
        target_type="CUSTOMER" if alert.customer_id else "PRICE",
        target_id=alert.customer_id or alert.price_id,
    )


def _apply(alert: Alert, data: AlertIn) -> None:
    alert.name = data.name
    alert.type = data.type
    alert.customer_id = data.customer_id
    alert.price_id = data.price_id
    alert.metric_id = data.metric_id
    alert.threshold = data.threshold
    alert.currency = data.currency.value if data.currency else None
    alert.include_tax = data.include_tax
    alert.email_addresses = [str(address) for address in data.email_addresses]
    alert.notify_customer = data.notify_customer


def _evaluate_soon(session: Session, alert: Alert) -> None:
    """Its customers are evaluated by the next evaluator pass (within a second)."""
    today = local_today(_timezone(session, alert.account_id))
    if alert.customer_id:
        customers: Collection[str] = [alert.customer_id]
    else:
        customers = queries.customers_billed(session, alert.account_id, alert.price_id or "", today)
    checks.queue(session, alert.account_id, customers, utcnow())


def _timezone(session: Session, account_id: str) -> str:
    account = session.get(Account, account_id)
    return account.timezone if account is not None else "UTC"


def create_alert(session: Session, account_id: str, data: AlertIn) -> Alert:
    _check(session, account_id, data)
    alert = Alert(account_id=account_id)
    _apply(alert, data)
    session.add(alert)
    session.flush()
    _log(session, alert, "CREATED", f"Alert {alert.name!r} created", {})
    _evaluate_soon(session, alert)
    return alert


def update_alert(session: Session, account_id: str, alert_id: str, data: AlertIn) -> Alert:
    alert = get_alert(session, account_id, alert_id)
    if alert.archived_at is not None:
        raise InvalidStateTransition(f"Alert {alert_id!r} is archived: it cannot be changed")
    _check(session, account_id, data)
    before = _audited(alert)
    _apply(alert, data)
    session.flush()
    if _audited(alert) != before:
        _log(session, alert, "UPDATED", f"Alert {alert.name!r} updated", before)
        _evaluate_soon(session, alert)
    return alert


def archive_alert(session: Session, account_id: str, alert_id: str) -> Alert:
    """DELETE: the alert stops firing; it and its firings stay readable."""
    alert = get_alert(session, account_id, alert_id)
    if alert.archived_at is not None:
        raise InvalidStateTransition(f"Alert {alert_id!r} is archived already")
    before = _audited(alert)
    alert.archived_at = utcnow()
    session.flush()
    _log(session, alert, "ARCHIVED", f"Alert {alert.name!r} archived", before)
    return alert


@dataclass(frozen=True)
class AlertStatus:
    alert: Alert
    value: Decimal
    period_start: date | None
    period_end: date | None
    fired: bool


def customer_status(
    session: Session, account: Account, customer_id: str, now: datetime | None = None
) -> list[AlertStatus]:
    """Each alert applying to the customer now, its value and whether it fired this period
    (balance alerts: whether a crossing is open). Reads only; a fixed few queries."""
    resolve_one(session, account.id, Customer, "id", customer_id, deleted=True)
    now = now or utcnow()
    readings = evaluation.read(session, account, [customer_id], local_today(account.timezone, now))
    fired = queries.fired_keys(session, account.id, {r.alert.id for r in readings}, [customer_id])
    crossings = queries.balance_crossings(
        session, account.id, {r.alert.id for r in readings}, [customer_id]
    )
    found = []
    for reading in sorted(readings, key=lambda r: (r.alert.name, r.alert.id)):
        if reading.alert.type is AlertType.CREDIT_BALANCE:
            state = crossings.get((reading.alert.id, customer_id))
            was_fired = state is not None and state.open_id is not None
        else:
            key = f"period:{reading.period.start.isoformat()}" if reading.period else ""
            was_fired = (reading.alert.id, customer_id, key) in fired
        found.append(
            AlertStatus(
                reading.alert,
                reading.value,
                reading.period.start if reading.period else None,
                reading.period.end if reading.period else None,
                was_fired,
            )
        )
    return found
