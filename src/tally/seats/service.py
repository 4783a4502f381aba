"""Seat metrics, seat events, balances, and the seat timeline of a billing period.

A seat event carries the absolute number of seats of one type a customer holds from its
timestamp on. Its `customerEventId` is the idempotency key: a later event with the same one
replaces the stored event (which keeps its id), so only the last received version counts.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from tally.activity import service as activity
from tally.core.clock import utcnow
from tally.core.sql import upsert_insert
from tally.db import is_unique_violation, new_id
from tally.exceptions import DuplicateValue, InvalidRequest, NotFound
from tally.models import Account, Customer, SeatEvent, SeatMetric
from tally.seats import queries
from tally.seats.queries import LatestSeatTotal, seat_metric_query
from tally.seats.schemas import SeatEventIn, SeatMetricIn, SeatMetricUpdate

# --- seat metrics ----------------------------------------------------------------------------


def get_seat_metric(session: Session, account_id: str, metric_id: str) -> SeatMetric:
    metric = session.scalar(seat_metric_query(account_id).where(SeatMetric.id == metric_id))
    if metric is None:
        raise NotFound.resource("Seat metric", metric_id)
    return metric


def _seat_type_taken(seat_type: str) -> DuplicateValue:
    return DuplicateValue(f"A seat metric with seat type {seat_type!r} already exists")


def create_seat_metric(session: Session, account_id: str, data: SeatMetricIn) -> SeatMetric:
    taken = session.scalar(
        select(exists(seat_metric_query(account_id).where(SeatMetric.seat_type == data.seat_type)))
    )
    if taken:
        raise _seat_type_taken(data.seat_type)
    metric = SeatMetric(account_id=account_id, **data.model_dump())
    session.add(metric)
    try:
        session.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc):  # a concurrent request took the seat type first
            raise _seat_type_taken(data.seat_type) from exc
        raise
    return metric


def update_seat_metric(
    session: Session, account_id: str, metric_id: str, data: SeatMetricUpdate
) -> SeatMetric:
    metric = get_seat_metric(session, account_id, metric_id)
    if data.seat_type is not None and data.seat_type != metric.seat_type:
        raise InvalidRequest.field(
            "seatType", f"is immutable: this metric's seat type is {metric.seat_type!r}"
        )
    # PUT replaces: an omitted description is cleared.
    metric.label = data.label
    metric.description = data.description
    session.flush()
    return metric


def delete_seat_metric(session: Session, account_id: str, metric_id: str) -> SeatMetric:
    """Hide the metric and free its seat type; the events naming that type stay stored."""
    metric = get_seat_metric(session, account_id, metric_id)
    metric.deleted_at = utcnow()
    session.flush()
    activity.record(
        session,
        account_id,
        verb="DELETED",
        object_type="SEAT_METRIC",
        object_id=metric.id,
        name="Seat metric deleted",
        summary=f"Seat metric {metric.label!r} ({metric.seat_type}) deleted; its type is free",
        changes=activity.changed({"deletedAt": None}, {"deletedAt": metric.deleted_at}),
    )
    return metric


# --- seat events -----------------------------------------------------------------------------

_EVENT_CONTENT = ("customer_alias", "seat_type", "event_timestamp", "total")


def record_seat_event(session: Session, account_id: str, data: SeatEventIn) -> SeatEvent:
    """Store the event, or replace the stored one with the same `customerEventId`.

    One INSERT ... ON CONFLICT DO UPDATE on the (account, customerEventId) key: concurrent
    sends of one id leave one row, holding what the last to commit sent. An exact resend
    fails the update's WHERE, so it changes nothing (not even `received_at`).
    """
    live_metric = session.scalar(
        select(exists(seat_metric_query(account_id).where(SeatMetric.seat_type == data.seat_type)))
    )
    if not live_metric:
        raise InvalidRequest.field(
            "seatType", f"no seat metric has the seat type {data.seat_type!r}"
        )
    archived = queries.archived_customer_named(session, account_id, data.customer_alias)
    if archived is not None:
        raise InvalidRequest.field(
            "customerAlias",
            f"{data.customer_alias!r} names customer {archived}, which is archived: archived "
            "customers take no new seat events",
        )
    event_id = new_id()
    now = utcnow()
    customer_event_id = data.customer_event_id or event_id
    values = {
        "id": event_id,
        "account_id": account_id,
        "customer_event_id": customer_event_id,
        "customer_alias": data.customer_alias,
        "seat_type": data.seat_type,
        "event_timestamp": data.event_timestamp,
        "total": data.total,
        "received_at": now,
        "created_at": now,
        "updated_at": now,
    }
    insert = upsert_insert(session)
    statement = insert(SeatEvent).values(values)
    replacement = statement.excluded
    upsert = statement.on_conflict_do_update(
        index_elements=[SeatEvent.account_id, SeatEvent.customer_event_id],
        set_={
            column: replacement[column] for column in (*_EVENT_CONTENT, "received_at", "updated_at")
        },
        where=or_(
            *(getattr(SeatEvent, column) != replacement[column] for column in _EVENT_CONTENT)
        ),
    ).returning(SeatEvent)
    stored = session.scalars(upsert, execution_options={"populate_existing": True}).one_or_none()
    if stored is not None:
        return stored
    # An exact resend: the stored event stands as it was.
    return session.scalars(
        select(SeatEvent)
        .where(
            SeatEvent.account_id == account_id,
            SeatEvent.customer_event_id == customer_event_id,
        )
        .execution_options(populate_existing=True)
    ).one()


@dataclass(frozen=True)
class SeatEventFilters:
    customer_alias: str | None = None
    customer_ids: Sequence[str] | None = None
    seat_types: Sequence[str] | None = None
    customer_event_id: str | None = None
    # [after, before): `after` inclusive, `before` exclusive, so adjacent windows never overlap.
    timestamp_before: datetime | None = None
    timestamp_after: datetime | None = None


def seat_event_query(account_id: str, filters: SeatEventFilters | None = None) -> Select[SeatEvent]:
    filters = filters or SeatEventFilters()
    query = select(SeatEvent).where(SeatEvent.account_id == account_id)
    if filters.customer_alias is not None:
        query = query.where(SeatEvent.customer_alias == filters.customer_alias)
    if filters.customer_ids is not None:
        names = queries.aliases_of(account_id, filters.customer_ids)
        query = query.where(SeatEvent.customer_alias.in_(names))
    if filters.seat_types is not None:
        query = query.where(SeatEvent.seat_type.in_(filters.seat_types))
    if filters.customer_event_id is not None:
        query = query.where(SeatEvent.customer_event_id == filters.customer_event_id)
    if filters.timestamp_before is not None:
        query = query.where(SeatEvent.event_timestamp < filters.timestamp_before)
    if filters.timestamp_after is not None:
        query = query.where(SeatEvent.event_timestamp >= filters.timestamp_after)
    return query


def get_seat_event(session: Session, account_id: str, event_id: str) -> SeatEvent:
    event = session.scalar(seat_event_query(account_id).where(SeatEvent.id == event_id))
    if event is None:
        raise NotFound.resource("Seat event", event_id)
    return event


# --- seat balances ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SeatBalanceFilters:
    customer_ids: Sequence[str] | None = None
    customer_aliases: Sequence[str] | None = None
    exclude_zero_quantity: bool = False


def balance_customer_query(
    account_id: str, filters: SeatBalanceFilters | None = None
) -> Select[Customer]:
    """The customers a balance list covers: live ones of the account, filtered."""
    filters = filters or SeatBalanceFilters()
    query = (
        select(Customer)
        .where(Customer.account_id == account_id, Customer.archived_at.is_(None))
        .options(selectinload(Customer.aliases))
    )
    if filters.customer_ids is not None:
        query = query.where(Customer.id.in_(filters.customer_ids))
    if filters.customer_aliases is not None:
        query = query.where(
            Customer.id.in_(queries.customers_named(account_id, filters.customer_aliases))
        )
    if filters.exclude_zero_quantity:
        query = query.where(Customer.id.in_(queries.customers_holding_seats(account_id)))
    return query


@dataclass(frozen=True)
class CustomerSeats:
    """A customer's current seat totals: the newest event's total per live seat type."""

    customer: Customer
    balances: tuple[LatestSeatTotal, ...]

    @property
    def total(self) -> int:
        return sum(balance.total for balance in self.balances)

    @property
    def change_timestamp(self) -> datetime:
        """When the seats last changed; a customer without events has held none since its
        creation (Sequence requires the field)."""
        if not self.balances:
            return self.customer.created_at
        return max(balance.change_timestamp for balance in self.balances)


def customer_seats(
    session: Session, account_id: str, customers: Sequence[Customer]
) -> list[CustomerSeats]:
    """The balances of these customers, in one query, in the order given."""
    found: dict[str, list[LatestSeatTotal]] = {customer.id: [] for customer in customers}
    for latest in queries.latest_seat_totals(session, account_id, list(found)):
        found[latest.customer_id].append(latest)
    return [CustomerSeats(customer, tuple(found[customer.id])) for customer in customers]


# --- seat timeline (for the billing engine) --------------------------------------------------


@dataclass(frozen=True)
class SeatChange:
    timestamp: datetime  # aware UTC
    total: int


@dataclass(frozen=True)
class SeatTimeline:
    """A customer's seats of one type over a billing period.

    `opening_total` is in force at `starts_at` (the period's first local midnight, in UTC);
    each change sets a new total from its timestamp on, up to `ends_at` (the local midnight
    after `period_end_inclusive`, exclusive). Changes are in time order, at distinct
    timestamps, and each differs from the total before it.
    """

    customer_id: str
    seat_type: str
    period_start: date
    period_end_inclusive: date
    starts_at: datetime
    ends_at: datetime
    opening_total: int
    changes: tuple[SeatChange, ...]

    @property
    def closing_total(self) -> int:
        return self.changes[-1].total if self.changes else self.opening_total


def local_midnight_utc(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def seat_timeline(
    session: Session,
    account_id: str,
    customer_id: str,
    seat_type: str,
    period_start: date,
    period_end_inclusive: date,
) -> SeatTimeline:
    """The seat timeline of one customer and seat type over a billing period given as local
    dates of the account's timezone. Two queries: the timezone, then the events.

    Events count over every live alias of the customer and its own id. Events that share a
    timestamp resolve to the one received last; events that restate the total in force are
    no change.
    """
    if period_end_inclusive < period_start:
        raise InvalidRequest("The billing period ends before it starts")
    timezone = session.scalar(select(Account.timezone).where(Account.id == account_id))
    if timezone is None:
        raise NotFound.resource("Account", account_id)
    zone = ZoneInfo(timezone)
    starts_at = local_midnight_utc(period_start, zone)
    ends_at = local_midnight_utc(period_end_inclusive + timedelta(days=1), zone)
    rows = queries.seat_events_for_timeline(
        session, account_id, customer_id, seat_type, starts_at, ends_at
    )

    opening_total = 0
    latest_per_instant: dict[datetime, int] = {}
    for row in rows:  # oldest first; at one instant the event received last comes last
        if row.event_timestamp < starts_at:
            opening_total = row.total
        else:
            latest_per_instant[row.event_timestamp] = row.total
    changes: list[SeatChange] = []
    in_force = opening_total
    for timestamp, total in latest_per_instant.items():  # dicts keep insertion order
        if total != in_force:
            changes.append(SeatChange(timestamp, total))
            in_force = total
    return SeatTimeline(
        customer_id=customer_id,
        seat_type=seat_type,
        period_start=period_start,
        period_end_inclusive=period_end_inclusive,
        starts_at=starts_at,
        ends_at=ends_at,
        opening_total=opening_total,
        changes=tuple(changes),
    )
