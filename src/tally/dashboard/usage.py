"""The dashboard's Usage section: the events explorer (here) and metric values per period
(`usage_metrics`, whose routes this module's router carries).

The explorer is the API's `GET /api/usage-events`: the same filters (`EventFilters`,
`filtered_events`) and keyset pages (`paginate`, newest received first). Choosing a customer
means every name its events may carry (`expand_aliases`, as the metric calculation reads
them); the alias field is one exact alias, as the API's `customerAlias`. Times typed in the
form are the account's local time. The page's aliases are resolved to customers in one query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Select
from sqlalchemy.orm import Session

from tally.api.deps import DbSession
from tally.api.pagination import PageParams, paginate
from tally.dashboard import usage_metrics
from tally.dashboard.usage_common import (
    USAGE,
    account_zone,
    customer_choices,
    query_fields,
    require_customer,
)
from tally.dashboard.web import SignedInViewer, render
from tally.exceptions import BadRequest
from tally.metering import queries
from tally.metering.events import EventFilters, explorer_events
from tally.models import UsageEvent

PAGE_SIZE = 25
FILTERS = (
    "customerId",
    "customerAlias",
    "eventType",
    "from",
    "to",
    "eventId",
    "unmappedAliasesOnly",
)
LABELS = {"from": "From", "to": "Until"}
# The API's `eventTimestampAfter` is exclusive; "From" includes its instant.
JUST_BEFORE = timedelta(microseconds=1)

router = APIRouter(prefix=USAGE, include_in_schema=False)
router.include_router(usage_metrics.router)


class FilterErrors(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class EventRow:
    id: str
    at: datetime  # in the account's time zone (the page prints it)
    at_utc: str  # ISO 8601, for <time datetime>
    alias: str
    customer_id: str | None
    customer_name: str | None
    event_type: str
    customer_event_id: str
    properties: str


# --- the filters -----------------------------------------------------------------------------


def _utc(raw: str, zone: ZoneInfo) -> datetime:
    """A datetime-local value (2024-05-01T10:00) read in the account's zone (an explicit
    offset is kept), in UTC. ValueError or OverflowError when it is not such a time."""
    moment = datetime.fromisoformat(raw)
    local = moment.replace(tzinfo=zone) if moment.tzinfo is None else moment
    return local.astimezone(UTC)


def _times(query: Mapping[str, str], zone: ZoneInfo) -> dict[str, datetime | None]:
    times: dict[str, datetime | None] = {}
    errors: dict[str, str] = {}
    for name in ("from", "to"):
        raw = query.get(name, "").strip()
        if not raw:
            times[name] = None
            continue
        try:
            moment = _utc(raw, zone)
            times[name] = moment - JUST_BEFORE if name == "from" else moment
        except (ValueError, OverflowError):  # not a time, or one beyond year 1 to 9999
            errors[name] = f"{raw!r} is not a date and time (YYYY-MM-DDTHH:MM)"
    start, end = times.get("from"), times.get("to")
    if start and end and end <= start + JUST_BEFORE:
        errors["to"] = "must be later than From"
    if errors:
        raise FilterErrors(errors)
    return times


def _aliases(session: Session, account_id: str, query: Mapping[str, str]) -> list[str] | None:
    """The aliases to show events of: a customer's every name, or the one alias typed (both:
    that alias if it is the customer's, else none). None: any alias."""
    customer_id = query.get("customerId", "").strip()
    alias = query.get("customerAlias", "").strip()
    if not customer_id:
        return [alias] if alias else None
    require_customer(session, account_id, customer_id)
    names = queries.expand_aliases(session, account_id, [customer_id])
    if alias:
        return [alias] if alias in names else []
    return names


def explorer_query(
    session: Session, account_id: str, query: Mapping[str, str], zone: ZoneInfo
) -> Select[UsageEvent]:
    """The API's event query for the form's filters (FilterErrors when one is wrong)."""
    times = _times(query, zone)
    aliases = _aliases(session, account_id, query)
    filters = EventFilters(
        customer_aliases=aliases,
        unmapped_aliases_only=query.get("unmappedAliasesOnly") == "true",
        event_type=query.get("eventType", "").strip() or None,
        after=times["from"],
        before=times["to"],
    )
    return explorer_events(account_id, filters, query.get("eventId", "").strip() or None)


# --- the rows --------------------------------------------------------------------------------


def _compact(properties_json: str) -> str:
    # Reformatted as text, never parsed into floats: numbers keep every digit as sent.
    return msgspec.json.format(properties_json, indent=0)


def event_rows(
    session: Session, account_id: str, events: list[UsageEvent], zone: ZoneInfo
) -> list[EventRow]:
    owners = queries.alias_owners(session, account_id, {event.customer_alias for event in events})
    rows = []
    for event in events:
        customer_id, name = owners.get(event.customer_alias, (None, None))
        local = event.event_timestamp.astimezone(zone)
        rows.append(
            EventRow(
                id=event.id,
                at=local,
                at_utc=event.event_timestamp.isoformat(),
                alias=event.customer_alias,
                customer_id=customer_id,
                customer_name=name,
                event_type=event.event_type,
                customer_event_id=event.customer_event_id,
                properties=_compact(event.properties_json),
            )
        )
    return rows


# --- the page --------------------------------------------------------------------------------


@router.get("")
def events_explorer(request: Request, viewer: SignedInViewer, session: DbSession) -> Response:
    query = query_fields(request)
    zone = account_zone(session, viewer.account_id)
    narrowed = {name: query[name] for name in FILTERS if query.get(name)}
    context: dict[str, Any] = {
        "query": {name: query.get(name, "") for name in FILTERS},
        "customers": customer_choices(session, viewer.account_id),
        "zone": zone.key,
        "labels": LABELS,
        "rows": [],
        "total": 0,
        "newer": None,
        "older": None,
        "errors": {},
        "narrowed": bool(narrowed),
    }
    try:
        statement = explorer_query(session, viewer.account_id, query, zone)
        paging = PageParams(
            limit=PAGE_SIZE, after=query.get("after") or None, before=query.get("before") or None
        )
        if paging.after and paging.before:
            raise BadRequest("Give either `after` or `before`, not both.")
        page = paginate(session, statement, UsageEvent.id, paging)
    except FilterErrors as invalid:
        context["errors"] = invalid.errors
    except BadRequest as wrong:  # a cursor edited by hand
        context["errors"] = {"form": wrong.message}
    if context["errors"]:
        return render(
            request,
            "dashboard/usage/events.html",
            viewer=viewer,
            active=USAGE,
            status_code=422,
            **context,
        )
    context["rows"] = event_rows(session, viewer.account_id, page.rows, zone)
    context["total"] = page.pagination.total_result_size
    if page.pagination.after:
        context["older"] = "?" + urlencode({**narrowed, "after": page.pagination.after})
    if page.pagination.before:
        context["newer"] = "?" + urlencode({**narrowed, "before": page.pagination.before})
    return render(request, "dashboard/usage/events.html", viewer=viewer, active=USAGE, **context)
