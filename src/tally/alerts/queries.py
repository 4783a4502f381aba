"""Reads of alerts, their firings, and what evaluating them needs that no domain answers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from tally.core.sql import exact_sum
from tally.models import (
    Alert,
    AlertFiring,
    AlertType,
    BillingSchedule,
    BillingSchedulePhase,
    CreditAutoRecharge,
    Customer,
    Invoice,
    InvoiceStatus,
    PhasePrice,
    Price,
    ScheduleStatus,
)
from tally.models.scoped import scoped


def alert_query(
    account_id: str,
    *,
    customer_id: str | None = None,
    price_id: str | None = None,
    alert_type: AlertType | None = None,
    live: bool | None = None,
) -> Select[Alert]:
    query = scoped(Alert, account_id)
    if customer_id is not None:
        query = query.where(Alert.customer_id == customer_id)
    if price_id is not None:
        query = query.where(Alert.price_id == price_id)
    if alert_type is not None:
        query = query.where(Alert.type == alert_type)
    if live is True:
        query = query.where(Alert.archived_at.is_(None))
    elif live is False:
        query = query.where(Alert.archived_at.is_not(None))
    return query


def alert(session: Session, account_id: str, alert_id: str) -> Alert | None:
    return session.scalar(scoped(Alert, account_id).where(Alert.id == alert_id))


def alert_names(session: Session, account_id: str, ids: Collection[str]) -> dict[str, str]:
    """id -> name of those of the account's alerts (archived ones too)."""
    if not ids:
        return {}
    query = alert_query(account_id).with_only_columns(Alert.id, Alert.name)
    rows = session.execute(query.where(Alert.id.in_(list(ids)))).tuples()
    return dict(rows)


def firing_query(
    account_id: str, *, alert_id: str | None = None, customer_id: str | None = None
) -> Select[AlertFiring]:
    query = scoped(AlertFiring, account_id)
    if alert_id is not None:
        query = query.where(AlertFiring.alert_id == alert_id)
    if customer_id is not None:
        query = query.where(AlertFiring.customer_id == customer_id)
    return query


def recent_firings(
    session: Session, account_id: str, customer_id: str, limit: int = 10
) -> list[AlertFiring]:
    query = firing_query(account_id, customer_id=customer_id)
    return list(session.scalars(query.order_by(AlertFiring.fired_at.desc()).limit(limit)))


def alert_firings(
    session: Session, account_id: str, alert_id: str, limit: int = 100
) -> list[AlertFiring]:
    """An alert's firings, newest first (the dashboard's alert page)."""
    query = firing_query(account_id, alert_id=alert_id)
    return list(session.scalars(query.order_by(AlertFiring.fired_at.desc()).limit(limit)))


def has_live_alerts(session: Session, account_id: str) -> bool:
    found = session.scalar(alert_query(account_id, live=True).with_only_columns(Alert.id).limit(1))
    return found is not None


def _active_phase_prices(
    account_id: str, customer_ids: Collection[str], today: date
) -> Select[str, str, date, int | None, date, date | None, Price]:
    """(customer, schedule, schedule start, recurrence day, phase start, phase end, price)
    of the customers' live schedules' phases serving `today`."""
    return (
        select(
            BillingSchedule.customer_id,
            BillingSchedule.id,
            BillingSchedule.start_date,
            BillingSchedule.recurrence_day_of_month,
            BillingSchedulePhase.start_date,
            BillingSchedulePhase.end_date,
            Price,
        )
        .join(BillingSchedulePhase, BillingSchedulePhase.billing_schedule_id == BillingSchedule.id)
        .join(PhasePrice, PhasePrice.phase_id == BillingSchedulePhase.id)
        .join(Price, Price.id == PhasePrice.price_id)
        .where(
            BillingSchedule.account_id == account_id,
            BillingSchedule.customer_id.in_(list(customer_ids)),
            BillingSchedule.archived_at.is_(None),
            BillingSchedule.status.in_([ScheduleStatus.ACTIVE, ScheduleStatus.PENDING]),
            BillingSchedulePhase.start_date <= today,
            or_(BillingSchedulePhase.end_date.is_(None), BillingSchedulePhase.end_date >= today),
        )
    )


@dataclass(frozen=True)
class BilledPrice:
    """A price a customer's active schedule phase bills today, and how its periods run."""

    customer_id: str
    schedule_id: str
    schedule_start: date
    recurrence_day: int
    phase_start: date
    phase_end: date | None
    price: Price


def billed_prices(
    session: Session, account_id: str, customer_ids: Collection[str], today: date
) -> list[BilledPrice]:
    """What the customers' live schedules bill today: one query."""
    if not customer_ids:
        return []
    rows = session.execute(_active_phase_prices(account_id, customer_ids, today)).all()
    return [
        BilledPrice(
            customer, schedule, start, recurrence or start.day, phase_start, phase_end, price
        )
        for customer, schedule, start, recurrence, phase_start, phase_end, price in rows
    ]


def applicable_alerts(
    session: Session, account_id: str, customer_ids: Collection[str], billed: Sequence[BilledPrice]
) -> dict[str, list[Alert]]:
    """customer -> its live alerts: its own, and the defaults of the prices it is billed
    (a price or the list price it is a variant of), except where an own alert of the same
    type and metric or currency replaces them. One query."""
    if not customer_ids:
        return {}
    prices: dict[str, set[str]] = defaultdict(set)
    for item in billed:
        prices[item.price.id].add(item.customer_id)
        if item.price.list_price_id:
            prices[item.price.list_price_id].add(item.customer_id)
    scope: ColumnElement[bool] = Alert.customer_id.in_(list(customer_ids))
    if prices:
        scope = or_(scope, Alert.price_id.in_(list(prices)))
    rows = session.scalars(alert_query(account_id, live=True).where(scope).order_by(Alert.id)).all()
    own: dict[str, list[Alert]] = defaultdict(list)
    defaults: dict[str, list[Alert]] = defaultdict(list)
    for row in rows:
        if row.customer_id is not None:
            own[row.customer_id].append(row)
        elif row.price_id is not None:
            for customer in prices.get(row.price_id, ()):
                defaults[customer].append(row)
    found: dict[str, list[Alert]] = {}
    for customer in customer_ids:
        mine = own.get(customer, [])
        taken = {replacement_key(a) for a in mine}
        kept = [a for a in defaults.get(customer, []) if replacement_key(a) not in taken]
        # A default reached through two prices applies once.
        unique = list({a.id: a for a in [*mine, *kept]}.values())
        if unique:
            found[customer] = unique
    return found


def replacement_key(alert: Alert) -> tuple[str, str]:
    """What a customer's own alert replaces the defaults of: its type and metric/currency."""
    return (alert.type.value, alert.metric_id or alert.currency or "")


@dataclass(frozen=True)
class Spend:
    net: Decimal
    gross: Decimal
    period_start: date | None
    period_end: date | None


def in_progress_spend(
    session: Session, account_id: str, customer_ids: Collection[str]
) -> dict[tuple[str, str], Spend]:
    """(customer, currency) -> the amounts of its IN_PROGRESS invoices (the current period's
    charges so far) and the period they cover. One query."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(
            Invoice.customer_id,
            Invoice.currency,
            exact_sum(session, Invoice.net_total),
            exact_sum(session, Invoice.gross_total),
            func.min(Invoice.billing_period_start),
            func.max(Invoice.billing_period_end),
        )
        .where(
            Invoice.account_id == account_id,
            Invoice.customer_id.in_(list(customer_ids)),
            Invoice.status == InvoiceStatus.IN_PROGRESS,
        )
        .group_by(Invoice.customer_id, Invoice.currency)
    ).all()
    return {
        (customer, currency): Spend(Decimal(net or 0), Decimal(gross or 0), start, end)
        for customer, currency, net, gross, start, end in rows
    }


@dataclass(frozen=True)
class Crossings:
    """A balance alert's firings for one customer: how many, and the open one (if any)."""

    count: int
    open_id: str | None


def balance_crossings(
    session: Session, account_id: str, alert_ids: Collection[str], customer_ids: Collection[str]
) -> dict[tuple[str, str], Crossings]:
    """(alert, customer) -> its firings so far. One query."""
    if not alert_ids or not customer_ids:
        return {}
    rows = session.execute(
        firing_query(account_id)
        .with_only_columns(
            AlertFiring.alert_id, AlertFiring.customer_id, AlertFiring.id, AlertFiring.resolved_at
        )
        .where(
            AlertFiring.alert_id.in_(list(alert_ids)),
            AlertFiring.customer_id.in_(list(customer_ids)),
        )
    ).all()
    count: dict[tuple[str, str], int] = defaultdict(int)
    open_ids: dict[tuple[str, str], str] = {}
    for alert_id, customer_id, firing_id, resolved_at in rows:
        count[(alert_id, customer_id)] += 1
        if resolved_at is None:
            open_ids[(alert_id, customer_id)] = firing_id
    return {key: Crossings(n, open_ids.get(key)) for key, n in count.items()}


def fired_keys(
    session: Session,
    account_id: str,
    alert_ids: Collection[str],
    customer_ids: Collection[str],
    period_keys: Collection[str] | None = None,
) -> set[tuple[str, str, str]]:
    """(alert, customer, period key) of the firings of these alerts and customers (of these
    period keys only, when given: not every past period's)."""
    if not alert_ids or not customer_ids or (period_keys is not None and not period_keys):
        return set()
    query = (
        firing_query(account_id)
        .with_only_columns(AlertFiring.alert_id, AlertFiring.customer_id, AlertFiring.period_key)
        .where(
            AlertFiring.alert_id.in_(list(alert_ids)),
            AlertFiring.customer_id.in_(list(customer_ids)),
        )
    )
    if period_keys is not None:
        query = query.where(AlertFiring.period_key.in_(sorted(period_keys)))
    rows = session.execute(query).all()
    return {(a, c, k) for a, c, k in rows}


def _billing(account_id: str, price_ids: Collection[str], today: date) -> Select[str]:
    """Customers whose live schedules bill one of the prices (or a variant of one) today."""
    return (
        select(BillingSchedule.customer_id)
        .join(BillingSchedulePhase, BillingSchedulePhase.billing_schedule_id == BillingSchedule.id)
        .join(PhasePrice, PhasePrice.phase_id == BillingSchedulePhase.id)
        .join(Price, Price.id == PhasePrice.price_id)
        .where(
            BillingSchedule.account_id == account_id,
            BillingSchedule.archived_at.is_(None),
            BillingSchedule.status.in_([ScheduleStatus.ACTIVE, ScheduleStatus.PENDING]),
            BillingSchedulePhase.start_date <= today,
            or_(BillingSchedulePhase.end_date.is_(None), BillingSchedulePhase.end_date >= today),
            or_(Price.id.in_(list(price_ids)), Price.list_price_id.in_(list(price_ids))),
        )
        .distinct()
    )


def customers_billed(session: Session, account_id: str, price_id: str, today: date) -> list[str]:
    """Customers a default alert of this price applies to today."""
    return sorted(session.scalars(_billing(account_id, [price_id], today)))


def customers_with_alerts(session: Session, account_id: str, today: date) -> list[str]:
    """Every customer some live alert applies to: its own, or billed a price with a default.
    Two queries (the periodic sweep's)."""
    live = session.execute(
        alert_query(account_id, live=True).with_only_columns(Alert.customer_id, Alert.price_id)
    ).all()
    customers = {c for c, _ in live if c is not None}
    prices = [p for _, p in live if p is not None]
    if prices:
        customers |= set(session.scalars(_billing(account_id, prices, today)))
    return sorted(customers)


def accounts_with_alerts(session: Session) -> list[str]:
    """Accounts with a live alert (the sweep's, across accounts by design)."""
    return list(
        session.scalars(select(Alert.account_id).where(Alert.archived_at.is_(None)).distinct())
    )


def charges_watched(
    session: Session, account_id: str, customer_ids: Collection[str], today: date
) -> set[str]:
    """Of these customers and their parents (a roll-up schedule bills its children's usage on
    the parent's), those whose invoices must follow usage as it arrives: a live schedule with
    a threshold-invoiced phase serving `today`, or a live auto-recharge (its balance counts
    what the open invoice will take). One query."""
    if not customer_ids:
        return set()
    wanted = list(customer_ids)
    parents = (
        select(Customer.parent_id)
        .where(
            Customer.account_id == account_id,
            Customer.id.in_(wanted),
            Customer.parent_id.is_not(None),
        )
        .scalar_subquery()
    )
    thresholds = (
        select(BillingSchedule.customer_id)
        .join(BillingSchedulePhase, BillingSchedulePhase.billing_schedule_id == BillingSchedule.id)
        .where(
            BillingSchedule.account_id == account_id,
            or_(BillingSchedule.customer_id.in_(wanted), BillingSchedule.customer_id.in_(parents)),
            BillingSchedule.archived_at.is_(None),
            BillingSchedulePhase.invoice_threshold.is_not(None),
            BillingSchedulePhase.start_date <= today,
            or_(BillingSchedulePhase.end_date.is_(None), BillingSchedulePhase.end_date >= today),
        )
    )
    recharges = select(CreditAutoRecharge.customer_id).where(
        CreditAutoRecharge.account_id == account_id,
        CreditAutoRecharge.customer_id.in_(wanted),
        CreditAutoRecharge.deleted_at.is_(None),
    )
    return set(session.scalars(thresholds.union(recharges)))
