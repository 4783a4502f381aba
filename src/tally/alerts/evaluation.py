"""Evaluating alerts for a set of customers, and firing each crossing exactly once.

What each alert reads (for each customer it applies to, `queries.applicable_alerts`):
- USAGE: the metric's usage in the customer's current billing period, from the per-day
  rollups ingestion writes. The period is the one of the active schedule phase billing a
  price on the metric today (the schedule's anchor and recurrence day, the price's
  frequency, clipped to the phase); without one, the calendar month in the account's time
  zone. Crossed when usage >= threshold (exactly at the threshold counts).
- SPEND: the amounts of the customer's IN_PROGRESS invoices in the alert's currency (net,
  or gross with `includeTax`), for the period they cover. Crossed when >= threshold. No
  IN_PROGRESS invoice: nothing to compare, nothing fires.
- CREDIT_BALANCE: the credits usable today less what open invoices project to take
  (`credits.available`), of the metric's grants or the currency's cash grants. Crossed
  when the balance is strictly below the level (no credits at all is a balance of 0).

Exactly once: a crossing is a row of `alert_firings` inserted with ON CONFLICT DO NOTHING
on (account, alert, customer, period key); only the evaluator whose insert returned the row
announces it (webhook ALERT_TRIGGERED, emails, activity), in the same transaction, so any
number of concurrent evaluators, in any number of processes, announce it once. USAGE and
SPEND key by period ("period:<start>": a new period fires again); balance alerts by crossing
("crossing:<n>"): a firing stays open until the balance is back at or above the level, which
resolves it and re-arms the alert.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.alerts import notify, queries
from tally.alerts.queries import BilledPrice
from tally.core.clock import local_today
from tally.core.sql import upsert_insert
from tally.credits.available import available_balances
from tally.db import new_id, table_of
from tally.engine.periods import Period, periods
from tally.metering import queries as metering
from tally.models import Account, Alert, AlertFiring, AlertType
from tally.notifications.events import ALERT_FIRING, NotificationType, emit

ZERO = Decimal(0)
FIRING_KEY = ("account_id", "alert_id", "customer_id", "period_key")


@dataclass(frozen=True)
class Reading:
    """An alert's value for one customer now."""

    alert: Alert
    customer_id: str
    value: Decimal
    period: Period | None
    crossed: bool


def month_of(day: date) -> Period:
    start = day.replace(day=1)
    following = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return Period(start, date.fromordinal(following.toordinal() - 1))


def usage_period(
    billed: Sequence[BilledPrice], customer_id: str, metric_id: str, today: date
) -> Period:
    """The customer's current billing period for the metric (see the module's docstring)."""
    for item in sorted(billed, key=lambda b: (b.schedule_id, b.price.id)):
        months = item.price.billing_frequency.months
        if item.customer_id != customer_id or item.price.usage_metric_id != metric_id or not months:
            continue
        for period in periods(item.schedule_start, item.recurrence_day, months):
            if period.end >= today:
                phase = Period(item.phase_start, item.phase_end or date.max)
                return period.overlap(phase) or period
    return month_of(today)


def _usage(
    session: Session,
    account: Account,
    wanted: Sequence[tuple[Alert, str]],
    billed: Sequence[BilledPrice],
    today: date,
) -> list[Reading]:
    if not wanted:
        return []
    metric_ids = {alert.metric_id for alert, _ in wanted if alert.metric_id}
    metrics = {m.id: m for m in metering.metrics_and(session, account.id, metric_ids)}
    period_of: dict[tuple[str, str | None], Period] = {}
    for alert, customer in wanted:  # once per (customer, metric), not per alert
        if (customer, alert.metric_id) not in period_of:
            period_of[(customer, alert.metric_id)] = usage_period(
                billed, customer, alert.metric_id or "", today
            )
    groups: dict[tuple[str, Period], set[str]] = defaultdict(set)
    for (customer, metric_id), period in period_of.items():
        if metric_id in metrics:
            groups[(metric_id, period)].add(customer)
    names = metering.names_of(session, account.id, {c for _, c in wanted})
    values: dict[tuple[str, str], Decimal] = {}
    # One query (two for UNIQUE and LATEST metrics) per metric and period: periods are few.
    for (metric_id, period), customers in groups.items():
        pairs = [(name, customer) for customer in customers for name in names.get(customer, [])]
        grouping = metering.alias_groups(session, pairs)
        totals = metering.grouped_totals(
            session, metrics[metric_id], period.start, period.end, grouping
        )
        for customer in customers:
            total = totals.get(customer)
            values[(customer, metric_id)] = total.value if total else ZERO
    readings = []
    for alert, customer in wanted:
        value = values.get((customer, alert.metric_id or ""), ZERO)
        period = period_of[(customer, alert.metric_id)]
        readings.append(Reading(alert, customer, value, period, value >= alert.threshold))
    return readings


def _spend(
    session: Session, account: Account, wanted: Sequence[tuple[Alert, str]]
) -> list[Reading]:
    if not wanted:
        return []
    spend = queries.in_progress_spend(session, account.id, {c for _, c in wanted})
    readings = []
    for alert, customer in wanted:
        found = spend.get((customer, alert.currency or ""))
        if found is None or found.period_start is None or found.period_end is None:
            continue
        value = found.gross if alert.include_tax else found.net
        period = Period(found.period_start, found.period_end)
        readings.append(Reading(alert, customer, value, period, value >= alert.threshold))
    return readings


def _balances(
    session: Session, account: Account, wanted: Sequence[tuple[Alert, str]], today: date
) -> list[Reading]:
    if not wanted:
        return []
    balances = available_balances(session, account.id, sorted({c for _, c in wanted}), today)
    readings = []
    for alert, customer in wanted:
        pocket = ("METRIC", alert.metric_id) if alert.metric_id else ("CASH", alert.currency or "")
        value = balances.get(customer, {}).get(pocket, ZERO)
        readings.append(Reading(alert, customer, value, None, value < alert.threshold))
    return readings


@dataclass(frozen=True)
class Applying:
    """What the customers' live schedules bill today and the alerts that apply to each (the
    customers with none are absent): read once per evaluation, also by the re-billing that
    precedes it (`checks.evaluate_account`)."""

    billed: list[BilledPrice]
    alerts: dict[str, list[Alert]]


def applying(
    session: Session, account_id: str, customer_ids: Collection[str], today: date
) -> Applying:
    """Two queries."""
    billed = queries.billed_prices(session, account_id, customer_ids, today)
    return Applying(billed, queries.applicable_alerts(session, account_id, customer_ids, billed))


def read(
    session: Session,
    account: Account,
    customer_ids: Collection[str],
    today: date,
    found: Applying | None = None,
) -> list[Reading]:
    """Every applicable alert's reading for the customers: a fixed few queries (two fewer
    when `found` is given)."""
    found = found or applying(session, account.id, customer_ids, today)
    billed, applicable = found.billed, found.alerts
    by_type: dict[AlertType, list[tuple[Alert, str]]] = defaultdict(list)
    for customer, alerts in applicable.items():
        for alert in alerts:
            by_type[alert.type].append((alert, customer))
    return [
        *_usage(session, account, by_type[AlertType.USAGE], billed, today),
        *_spend(session, account, by_type[AlertType.SPEND]),
        *_balances(session, account, by_type[AlertType.CREDIT_BALANCE], today),
    ]


def _candidate(reading: Reading, key: str, now: datetime) -> dict[str, object]:
    return {
        "id": new_id(),
        "account_id": reading.alert.account_id,
        "created_at": now,
        "updated_at": now,
        "alert_id": reading.alert.id,
        "customer_id": reading.customer_id,
        "period_key": key,
        "period_start": reading.period.start if reading.period else None,
        "period_end": reading.period.end if reading.period else None,
        "value": reading.value,
        "threshold": reading.alert.threshold,
        "fired_at": now,
        "resolved_at": None,
    }


def period_key(reading: Reading) -> str:
    """A USAGE or SPEND reading's firing key: its period's (a new period fires again)."""
    assert reading.period is not None
    return f"period:{reading.period.start.isoformat()}"


def _candidates(
    session: Session, account_id: str, readings: Sequence[Reading], now: datetime
) -> list[dict[str, object]]:
    """The firings the readings call for that are not recorded yet; resolves the open
    firings of balance alerts whose balance is back (re-arming them)."""
    alert_ids = {r.alert.id for r in readings}
    customer_ids = {r.customer_id for r in readings}
    balance = [r for r in readings if r.alert.type is AlertType.CREDIT_BALANCE]
    crossings = (
        queries.balance_crossings(
            session, account_id, {r.alert.id for r in balance}, {r.customer_id for r in balance}
        )
        if balance
        else {}
    )
    periodic = [r for r in readings if r.alert.type is not AlertType.CREDIT_BALANCE and r.crossed]
    keyed = [(reading, period_key(reading)) for reading in periodic]
    fired = (
        queries.fired_keys(session, account_id, alert_ids, customer_ids, {key for _, key in keyed})
        if periodic
        else set()
    )
    rows, recovered = [], []
    for reading, key in keyed:
        if (reading.alert.id, reading.customer_id, key) not in fired:
            rows.append(_candidate(reading, key, now))
    for reading in balance:
        state = crossings.get((reading.alert.id, reading.customer_id))
        if reading.crossed and (state is None or state.open_id is None):
            key = f"crossing:{(state.count if state else 0) + 1}"
            rows.append(_candidate(reading, key, now))
        elif not reading.crossed and state is not None and state.open_id is not None:
            recovered.append(state.open_id)
    if recovered:
        session.execute(
            update(AlertFiring)
            .where(
                AlertFiring.account_id == account_id,
                AlertFiring.id.in_(recovered),
                AlertFiring.resolved_at.is_(None),
            )
            .values(resolved_at=now, updated_at=now)
        )
    return rows


def fire(
    session: Session, account: Account, readings: Sequence[Reading], now: datetime
) -> list[str]:
    """Record the crossings among `readings` and announce the ones this call recorded: the
    ids of the firings it inserted (another evaluator's are left to it)."""
    rows = _candidates(session, account.id, readings, now)
    if not rows:
        return []
    rows.sort(key=lambda row: (str(row["alert_id"]), str(row["customer_id"])))  # lock order
    table = table_of(AlertFiring)
    statement = (
        upsert_insert(session)(table)
        .values(rows)
        .on_conflict_do_nothing(
            index_elements=["account_id", "alert_id", "customer_id", "period_key"]
        )
        .returning(table.c.id)
    )
    inserted = set(session.scalars(statement))
    if not inserted:
        return []
    ids = [str(row["id"]) for row in rows if row["id"] in inserted]
    announce(session, account, ids, rows, readings)
    return ids


def announce(
    session: Session,
    account: Account,
    firing_ids: Sequence[str],
    rows: Sequence[dict[str, object]],
    readings: Sequence[Reading],
) -> None:
    """The webhook, the emails and the activity entries of new firings."""
    emit(session, account.id, NotificationType.ALERT_TRIGGERED, ALERT_FIRING, firing_ids)
    alerts = {r.alert.id: r.alert for r in readings}
    fired = [row for row in rows if row["id"] in set(firing_ids)]
    notify.queue_emails(session, account, alerts, fired)
    activity.record_all(
        session,
        account.id,
        [
            activity.Entry(
                verb="TRIGGERED",
                object_type="ALERT",
                object_id=str(row["alert_id"]),
                name="Alert triggered",
                summary=(
                    f"Alert {alerts[str(row['alert_id'])].name!r} fired: value "
                    f"{activity.number(row['value'])} against threshold "  # type: ignore[arg-type]
                    f"{activity.number(row['threshold'])}"  # type: ignore[arg-type]
                ),
                target_type="CUSTOMER",
                target_id=str(row["customer_id"]),
            )
            for row in fired
        ],
    )


def evaluate(
    session: Session,
    account: Account,
    customer_ids: Collection[str],
    now: datetime,
    found: Applying | None = None,
) -> list[str]:
    """Read every alert applying to the customers and fire what crossed: the new firings'
    ids. In the caller's transaction. `found`: what `applying` read for them today."""
    if not customer_ids:
        return []
    today = local_today(account.timezone, now)
    found = found or applying(session, account.id, customer_ids, today)
    if not found.alerts:  # usage of customers no alert watches: nothing more to read
        return []
    customers = sorted(found.alerts)
    return fire(session, account, read(session, account, customers, today, found), now)
