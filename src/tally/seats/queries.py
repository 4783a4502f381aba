"""Seat reads that resolve aliases in SQL: balances and timelines.

Events keep the alias they were sent with; which customer an alias names is decided when
reading, from the live aliases plus each customer's own id. So an event sent before its alias
existed counts for the customer as soon as the alias is created, and never needs rewriting.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, CompoundSelect, Select, and_, func, or_, select, union_all
from sqlalchemy.orm import Session

from tally.models import Customer, CustomerAlias, SeatEvent, SeatMetric
from tally.models.scoped import scoped


def seat_metric_query(account_id: str) -> Select[SeatMetric]:
    """The account's seat metrics (not deleted ones)."""
    return scoped(SeatMetric, account_id).where(SeatMetric.deleted_at.is_(None))


def seat_metrics(session: Session, account_id: str, limit: int | None = None) -> list[SeatMetric]:
    """The account's seat metrics by seat type."""
    query = seat_metric_query(account_id).order_by(SeatMetric.seat_type, SeatMetric.id)
    return list(session.scalars(query.limit(limit)))


def alias_map(
    account_id: str, customer_ids: Collection[str] | None = None
) -> CompoundSelect[tuple[str, str]]:
    """(alias, customer_id) for every name of the account's customers: live alias values and
    each customer's own id. Aliases are unique and never another customer's id, so each alias
    names at most one customer."""
    aliases = select(
        CustomerAlias.value.label("alias"), CustomerAlias.customer_id.label("customer_id")
    ).where(CustomerAlias.account_id == account_id, CustomerAlias.deleted_at.is_(None))
    own_ids = select(Customer.id.label("alias"), Customer.id.label("customer_id")).where(
        Customer.account_id == account_id
    )
    if customer_ids is not None:
        aliases = aliases.where(CustomerAlias.customer_id.in_(customer_ids))
        own_ids = own_ids.where(Customer.id.in_(customer_ids))
    return union_all(aliases, own_ids)


def aliases_of(account_id: str, customer_ids: Collection[str]) -> Select[tuple[str]]:
    """Every name of these customers (of this account), for an `IN` filter."""
    names = alias_map(account_id, customer_ids).subquery()
    return select(names.c.alias)


def archived_customer_named(session: Session, account_id: str, alias: str) -> str | None:
    """The id of the archived customer `alias` names (its id or a live alias), if any."""
    own_id = select(Customer.id).where(
        Customer.account_id == account_id, Customer.id == alias, Customer.archived_at.is_not(None)
    )
    by_alias = (
        select(Customer.id)
        .join(CustomerAlias, CustomerAlias.customer_id == Customer.id)
        .where(
            CustomerAlias.account_id == account_id,
            CustomerAlias.deleted_at.is_(None),
            CustomerAlias.value == alias,
            Customer.archived_at.is_not(None),
        )
    )
    return session.scalar(union_all(own_id, by_alias).limit(1))


def customers_named(account_id: str, aliases: Collection[str]) -> Select[tuple[str]]:
    """The ids of the customers that any of these aliases (or ids) name."""
    names = alias_map(account_id).subquery()
    return select(names.c.customer_id).where(names.c.alias.in_(aliases))


@dataclass(frozen=True)
class LatestSeatTotal:
    customer_id: str
    seat_type: str
    total: int
    change_timestamp: datetime


def _latest_totals(
    account_id: str, customer_ids: Collection[str] | None
) -> Select[tuple[str, str, int, datetime]]:
    """Per customer and live seat type: the total of the newest event over all its aliases
    (ties on the timestamp go to the event received last)."""
    names = alias_map(account_id, customer_ids).subquery()
    live_seat_types = select(SeatMetric.seat_type).where(
        SeatMetric.account_id == account_id, SeatMetric.deleted_at.is_(None)
    )
    newest_first = func.row_number().over(
        partition_by=(names.c.customer_id, SeatEvent.seat_type),
        order_by=(
            SeatEvent.event_timestamp.desc(),
            SeatEvent.received_at.desc(),
            SeatEvent.id.desc(),
        ),
    )
    ranked = (
        select(
            names.c.customer_id.label("customer_id"),
            SeatEvent.seat_type.label("seat_type"),
            SeatEvent.total.label("total"),
            SeatEvent.event_timestamp.label("change_timestamp"),
            newest_first.label("position"),
        )
        .join(names, names.c.alias == SeatEvent.customer_alias)
        .where(SeatEvent.account_id == account_id, SeatEvent.seat_type.in_(live_seat_types))
        .subquery()
    )
    return select(
        ranked.c.customer_id, ranked.c.seat_type, ranked.c.total, ranked.c.change_timestamp
    ).where(ranked.c.position == 1)


def latest_seat_totals(
    session: Session, account_id: str, customer_ids: Collection[str]
) -> list[LatestSeatTotal]:
    """The current balances of these customers, in one query."""
    if not customer_ids:
        return []
    latest = _latest_totals(account_id, customer_ids).subquery()
    rows = session.execute(select(latest).order_by(latest.c.customer_id, latest.c.seat_type))
    return [LatestSeatTotal(*row) for row in rows]


def customers_holding_seats(account_id: str) -> Select[tuple[str]]:
    """Ids of the customers whose current total over all seat types is above zero."""
    latest = _latest_totals(account_id, None).subquery()
    return select(latest.c.customer_id).where(latest.c.total > 0).distinct()


@dataclass(frozen=True)
class SeatEventRow:
    event_timestamp: datetime
    total: int


def seat_events_for_timeline(
    session: Session,
    account_id: str,
    customer_id: str,
    seat_type: str,
    starts_at: datetime,
    ends_at: datetime,
) -> list[SeatEventRow]:
    """In one query: the customer's events of one seat type from the newest one before
    `starts_at` (all events sharing that timestamp) up to `ends_at` (exclusive), oldest first;
    at equal timestamps the event received last comes last."""
    names = aliases_of(account_id, [customer_id])
    of_customer: ColumnElement[bool] = and_(
        SeatEvent.account_id == account_id,
        SeatEvent.seat_type == seat_type,
        SeatEvent.customer_alias.in_(names),
    )
    opening = (
        select(func.max(SeatEvent.event_timestamp))
        .where(of_customer, SeatEvent.event_timestamp < starts_at)
        .scalar_subquery()
    )
    rows = session.execute(
        select(SeatEvent.event_timestamp, SeatEvent.total)
        .where(
            of_customer,
            SeatEvent.event_timestamp < ends_at,
            or_(SeatEvent.event_timestamp >= starts_at, SeatEvent.event_timestamp == opening),
        )
        .order_by(SeatEvent.event_timestamp, SeatEvent.received_at, SeatEvent.id)
    )
    return [SeatEventRow(*row) for row in rows]
