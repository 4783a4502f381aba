"""/api/seat-metrics, /api/seat-events and /api/seat-balances."""

from typing import Annotated

from fastapi import Query

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import Paging, paginate, paginate_sorted, sort_column
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.api.types import UtcTimestamp
from tally.exceptions import InvalidRequest
from tally.models import Customer, SeatEvent, SeatMetric
from tally.seats import queries, service
from tally.seats.schemas import (
    CustomerSeatBalancesOut,
    SeatBalanceOut,
    SeatEventIn,
    SeatEventOut,
    SeatMetricIn,
    SeatMetricOut,
    SeatMetricUpdate,
)

router = api_router(tags=["Seats"])

MAX_FILTER_VALUES = 25  # Sequence's limit on `customerIds` (and on `seatType` for events)
MAX_ALIAS_FILTER_VALUES = 100


def _filter_values(field: str, raw: list[str] | None, limit: int) -> list[str] | None:
    """Comma-separated values (the parameter may also repeat); None when none are given."""
    values = list(
        dict.fromkeys(
            part.strip() for item in raw or [] for part in item.split(",") if part.strip()
        )
    )
    if len(values) > limit:
        raise InvalidRequest.field(field, f"at most {limit} values, got {len(values)}")
    return values or None


# --- seat metrics ----------------------------------------------------------------------------


@router.get("/seat-metrics", summary="List seat metrics")
def list_seat_metrics(
    account: CurrentAccount, session: ReplicaSession, paging: Paging
) -> Page[SeatMetricOut]:
    query = queries.seat_metric_query(account.account_id)
    page = paginate(session, query, SeatMetric.id, paging)
    return Page(
        items=[SeatMetricOut.model_validate(m) for m in page.rows], pagination=page.pagination
    )


@router.post("/seat-metrics", status_code=201, summary="Create a seat metric")
def create_seat_metric(
    body: SeatMetricIn, account: CurrentAccount, session: DbSession
) -> SeatMetricOut:
    metric = service.create_seat_metric(session, account.account_id, body)
    return SeatMetricOut.model_validate(metric)


@router.get("/seat-metrics/{id}", summary="Get a seat metric")
def get_seat_metric(id: str, account: CurrentAccount, session: DbSession) -> SeatMetricOut:
    return SeatMetricOut.model_validate(service.get_seat_metric(session, account.account_id, id))


@router.put("/seat-metrics/{id}", summary="Update a seat metric")
def update_seat_metric(
    id: str, body: SeatMetricUpdate, account: CurrentAccount, session: DbSession
) -> SeatMetricOut:
    metric = service.update_seat_metric(session, account.account_id, id, body)
    return SeatMetricOut.model_validate(metric)


@router.delete("/seat-metrics/{id}", summary="Delete a seat metric")
def delete_seat_metric(id: str, account: CurrentAccount, session: DbSession) -> SeatMetricOut:
    metric = service.delete_seat_metric(session, account.account_id, id)
    return SeatMetricOut.model_validate(metric)


# --- seat events -----------------------------------------------------------------------------


@router.get("/seat-events", summary="List seat events")
def list_seat_events(
    account: CurrentAccount,
    session: ReplicaSession,
    paging: Paging,
    customer_alias: Annotated[str | None, Query(alias="customerAlias")] = None,
    customer_ids: Annotated[
        list[str] | None,
        Query(alias="customerIds", description="Comma-separated, at most 25: every alias."),
    ] = None,
    seat_type: Annotated[
        list[str] | None, Query(alias="seatType", description="Comma-separated, at most 25.")
    ] = None,
    customer_event_id: Annotated[str | None, Query(alias="customerEventId")] = None,
    event_timestamp_before: Annotated[
        UtcTimestamp | None, Query(alias="eventTimestampBefore", description="Exclusive.")
    ] = None,
    event_timestamp_after: Annotated[
        UtcTimestamp | None, Query(alias="eventTimestampAfter", description="Inclusive.")
    ] = None,
    sort_by: Annotated[
        str | None,
        Query(
            alias="sortBy",
            description="createdAt (default) or eventTimestamp; `sortOrder` gives the direction.",
        ),
    ] = None,
) -> Page[SeatEventOut]:
    sort = sort_column(sort_by, {"eventTimestamp": SeatEvent.event_timestamp})
    filters = service.SeatEventFilters(
        customer_alias=customer_alias,
        customer_ids=_filter_values("customerIds", customer_ids, MAX_FILTER_VALUES),
        seat_types=_filter_values("seatType", seat_type, MAX_FILTER_VALUES),
        customer_event_id=customer_event_id,
        timestamp_before=event_timestamp_before,
        timestamp_after=event_timestamp_after,
    )
    query = service.seat_event_query(account.account_id, filters)
    page = paginate_sorted(session, query, sort, SeatEvent.id, paging)
    return Page(
        items=[SeatEventOut.model_validate(e) for e in page.rows], pagination=page.pagination
    )


@router.post("/seat-events", status_code=201, summary="Create a seat event")
def create_seat_event(
    body: SeatEventIn, account: CurrentAccount, session: DbSession
) -> SeatEventOut:
    event = service.record_seat_event(session, account.account_id, body)
    return SeatEventOut.model_validate(event)


@router.get("/seat-events/{id}", summary="Get a seat event")
def get_seat_event(id: str, account: CurrentAccount, session: DbSession) -> SeatEventOut:
    return SeatEventOut.model_validate(service.get_seat_event(session, account.account_id, id))


# --- seat balances ---------------------------------------------------------------------------


@router.get("/seat-balances", summary="List seat balances by customer")
def list_seat_balances(
    account: CurrentAccount,
    session: ReplicaSession,
    paging: Paging,
    customer_ids: Annotated[
        list[str] | None, Query(alias="customerIds", description="Comma-separated, at most 25.")
    ] = None,
    customer_aliases: Annotated[
        list[str] | None, Query(alias="customerAliases", description="Comma-separated.")
    ] = None,
    exclude_zero_quantity: Annotated[bool, Query(alias="excludeZeroQuantity")] = False,
) -> Page[CustomerSeatBalancesOut]:
    filters = service.SeatBalanceFilters(
        customer_ids=_filter_values("customerIds", customer_ids, MAX_FILTER_VALUES),
        customer_aliases=_filter_values(
            "customerAliases", customer_aliases, MAX_ALIAS_FILTER_VALUES
        ),
        exclude_zero_quantity=exclude_zero_quantity,
    )
    query = service.balance_customer_query(account.account_id, filters)
    page = paginate(session, query, Customer.id, paging)
    items = [
        CustomerSeatBalancesOut(
            id=seats.customer.id,
            sequence_account_id=seats.customer.account_id,
            legal_name=seats.customer.legal_name,
            customer_aliases=[alias.value for alias in seats.customer.aliases],
            total=seats.total,
            change_timestamp=seats.change_timestamp,
            balances=[
                SeatBalanceOut(
                    seat_type=b.seat_type, total=b.total, change_timestamp=b.change_timestamp
                )
                for b in seats.balances
            ],
        )
        for seats in service.customer_seats(session, account.account_id, page.rows)
    ]
    return Page(items=items, pagination=page.pagination)
