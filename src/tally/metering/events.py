"""Usage events through the API: validate a body, store it, answer per event; list events."""

import uuid
from dataclasses import dataclass
from datetime import datetime

import msgspec
from sqlalchemy import ScalarSelect, Select, Text, cast, exists, false, or_, select
from sqlalchemy.orm import Session, defer, with_expression

from tally.metering import wire
from tally.metering.admission import Refusal
from tally.metering.ingest import IncomingEvent, Outcome, StoredOutcome, ingest
from tally.models import Account, Customer, CustomerAlias, UsageEvent, UsageEventKey


@dataclass(frozen=True)
class BatchAnswer:
    accepted: int
    replaced: int
    rejected: int
    results: list[wire.EventResult]


def _rejection(index: int, error: wire.InvalidEvent | Refusal) -> wire.EventResult:
    details = [{"field": error.field, "message": error.message}] if error.field else None
    return wire.EventResult(
        index=index,
        status="rejected",
        error=wire.EventError(type="ValidationError", message=error.message, details=details),
    )


def store_batch(
    session: Session, account: Account, decoded: list[IncomingEvent | wire.InvalidEvent]
) -> BatchAnswer:
    """Store the valid events of a batch; the invalid ones, and those Tally cannot bill, are
    answered, not stored."""
    valid = [(index, item) for index, item in enumerate(decoded) if isinstance(item, IncomingEvent)]
    outcomes = ingest(session, account, [event for _, event in valid])
    results: list[wire.EventResult] = [
        _rejection(index, item)
        for index, item in enumerate(decoded)
        if isinstance(item, wire.InvalidEvent)
    ]
    stored: list[StoredOutcome] = []
    for (index, _), outcome in zip(valid, outcomes, strict=True):
        if isinstance(outcome, Refusal):
            results.append(_rejection(index, outcome))
            continue
        stored.append(outcome)
        results.append(
            wire.EventResult(
                index=index,
                status=outcome.outcome.value,
                id=outcome.id,
                customer_event_id=outcome.customer_event_id,
                duplicate=outcome.duplicate,
            )
        )
    results.sort(key=lambda result: result.index)
    replaced = sum(outcome.outcome is Outcome.REPLACED for outcome in stored)
    return BatchAnswer(
        accepted=len(stored) - replaced,
        replaced=replaced,
        rejected=len(decoded) - len(stored),
        results=results,
    )


def get_stored(session: Session, account_id: str, event_id: str) -> UsageEvent:
    event = session.scalar(event_query(account_id).where(UsageEvent.id == event_id))
    assert event is not None, "a stored event is readable in its own transaction"
    return event


def event_query(account_id: str) -> Select[UsageEvent]:
    """Events with their properties as JSON text, exactly as stored."""
    return (
        select(UsageEvent)
        .where(UsageEvent.account_id == account_id)
        .options(
            defer(UsageEvent.properties),
            with_expression(UsageEvent.properties_json, cast(UsageEvent.properties, Text)),
        )
    )


@dataclass(frozen=True)
class EventFilters:
    customer_aliases: list[str] | None = None
    unmapped_aliases_only: bool = False
    event_type: str | None = None
    event_id: str | None = None
    customer_event_id: str | None = None
    before: datetime | None = None
    after: datetime | None = None


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _holder(account_id: str, customer_event_id: str) -> ScalarSelect[str]:
    """The id of the event holding a customerEventId: found by the keys' primary key (the
    partitioned events have no index on customer_event_id)."""
    return (
        select(UsageEventKey.event_id)
        .where(
            UsageEventKey.account_id == account_id,
            UsageEventKey.customer_event_id == customer_event_id,
        )
        .scalar_subquery()
    )


def filtered_events(account_id: str, filters: EventFilters) -> Select[UsageEvent]:
    query = event_query(account_id)
    if filters.customer_aliases:
        query = query.where(UsageEvent.customer_alias.in_(filters.customer_aliases))
    if filters.event_type:
        query = query.where(UsageEvent.event_type == filters.event_type)
    if filters.event_id:
        # Ids are UUIDs (a native UUID column on PostgreSQL): anything else names no event.
        query = query.where(
            UsageEvent.id == filters.event_id if is_uuid(filters.event_id) else false()
        )
    if filters.customer_event_id:
        query = query.where(UsageEvent.id == _holder(account_id, filters.customer_event_id))
    if filters.before:
        query = query.where(UsageEvent.event_timestamp < filters.before)
    if filters.after:
        query = query.where(UsageEvent.event_timestamp > filters.after)
    if filters.unmapped_aliases_only:
        query = query.where(
            ~exists().where(
                CustomerAlias.account_id == account_id,
                CustomerAlias.deleted_at.is_(None),
                CustomerAlias.value == UsageEvent.customer_alias,
            ),
            ~exists().where(
                Customer.account_id == account_id, Customer.id == UsageEvent.customer_alias
            ),
        )
    return query


def explorer_events(
    account_id: str, filters: EventFilters, any_id: str | None
) -> Select[UsageEvent]:
    """The dashboard's explorer: `filtered_events`, where an empty list of aliases (a typed
    alias that is not the chosen customer's) matches nothing, and `any_id` is Tally's id or
    the sender's own customerEventId (people hold the latter)."""
    query = filtered_events(account_id, filters)
    if filters.customer_aliases == []:
        query = query.where(false())
    if any_id:
        # The id column is a UUID on PostgreSQL: compared only with one.
        match = UsageEvent.id == _holder(account_id, any_id)
        query = query.where(or_(UsageEvent.id == any_id, match) if is_uuid(any_id) else match)
    return query


def event_out(event: UsageEvent) -> wire.EventOut:
    return wire.EventOut(
        id=event.id,
        customer_event_id=event.customer_event_id,
        customer_alias=event.customer_alias,
        event_type=event.event_type,
        sequence_account_id=event.account_id,
        event_timestamp=event.event_timestamp,
        event_properties=msgspec.Raw(event.properties_json.encode()),
    )
