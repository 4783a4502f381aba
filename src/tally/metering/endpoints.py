"""/api/usage-metrics (with calculate) and /api/usage-events (single, batch, list)."""

from datetime import date
from typing import Annotated

from fastapi import Path, Query, Response

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import Paging, paginate, paginate_sorted, sort_column
from tally.api.raw import RawBody, documented_body, json_response
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.api.types import UtcTimestamp
from tally.exceptions import BadRequest, InvalidRequest
from tally.metering import custom, events, metrics, queries, wire
from tally.metering.admission import Refusal
from tally.metering.ingest import Outcome, ingest
from tally.metering.schemas import (
    USAGE_LIMITS,
    UsageCalculationOut,
    UsageEventBatchIn,
    UsageEventBatchOut,
    UsageEventIn,
    UsageEventOut,
    UsageMetricIn,
    UsageMetricOut,
)
from tally.models import AggregationType, UsageEvent, UsageMetric
from tally.models.scoped import get_account
from tally.ops import metrics as ops_metrics

router = api_router(tags=["Usage metering"])
# Sending usage: the busiest routes, matched before every other route of the application
# (`tally.app`), since FastAPI tries routes one by one in order.
ingestion_router = api_router(tags=["Usage metering"])


def _invalid(error: wire.InvalidEvent) -> Exception:
    if error.malformed:
        return BadRequest(error.message)
    details = [{"field": error.field, "message": error.message}] if error.field else None
    return InvalidRequest(error.message, details=details)


@router.get("/usage-metrics", summary="List usage metrics")
def list_metrics(
    account: CurrentAccount,
    session: ReplicaSession,
    paging: Paging,
    name: str | None = None,
    id: str | None = None,
    event_type: Annotated[str | None, Query(alias="eventType")] = None,
    event_property: Annotated[str | None, Query(alias="eventProperty")] = None,
    aggregation_type: Annotated[AggregationType | None, Query(alias="aggregationType")] = None,
) -> Page[UsageMetricOut]:
    query = queries.metric_query(account.account_id)
    for column, value in (
        (UsageMetric.name, name),
        (UsageMetric.id, id),
        (UsageMetric.event_type, event_type),
        (UsageMetric.aggregation_property, event_property),
        (UsageMetric.aggregation_type, aggregation_type),
    ):
        if value is not None:
            query = query.where(column == value)
    page = paginate(session, query, UsageMetric.id, paging)
    return Page(items=[UsageMetricOut.build(m) for m in page.rows], pagination=page.pagination)


@router.post("/usage-metrics", status_code=201, summary="Create a usage metric")
def create_metric(
    body: UsageMetricIn, account: CurrentAccount, session: DbSession
) -> UsageMetricOut:
    owner = get_account(session, account.account_id)
    return UsageMetricOut.build(metrics.create_metric(session, owner, body))


@router.get("/usage-metrics/{id}", summary="Get a usage metric")
def get_metric(id: str, account: CurrentAccount, session: DbSession) -> UsageMetricOut:
    return UsageMetricOut.build(metrics.get_metric(session, account.account_id, id))


@router.put("/usage-metrics/{id}", summary="Update a usage metric (its rollups follow)")
def update_metric(
    id: str, body: UsageMetricIn, account: CurrentAccount, session: DbSession
) -> UsageMetricOut:
    owner = get_account(session, account.account_id)
    return UsageMetricOut.build(metrics.update_metric(session, owner, id, body))


@router.delete("/usage-metrics/{id}", summary="Delete a usage metric")
def delete_metric(id: str, account: CurrentAccount, session: DbSession) -> UsageMetricOut:
    return UsageMetricOut.build(metrics.delete_metric(session, account.account_id, id))


@router.get(
    "/usage-metrics/{usageMetricId}/calculate",
    summary="Calculate a usage metric for customers over a period",
    response_model=None,
    responses={200: {"model": UsageCalculationOut}},
)
def calculate(
    usage_metric_id: Annotated[str, Path(alias="usageMetricId")],
    account: CurrentAccount,
    session: DbSession,
    customer_aliases: Annotated[
        list[str],
        Query(
            alias="customerAliases",
            description="Aliases or customer ids, comma separated or repeated. A customer's "
            "every alias counts.",
        ),
    ],
    period_start: Annotated[date, Query(alias="periodStart")],
    period_end: Annotated[date, Query(alias="periodEnd", description="Inclusive.")],
    custom_parameters: Annotated[
        str | None,
        Query(
            alias="customParameters",
            description="Parameter values of a CUSTOM metric: `name=value` pairs, comma "
            "separated (a parameter's id works as its name), e.g. `included=100,rate=2`; "
            "parameters left out take their default. Refused for other metrics.",
        ),
    ] = None,
) -> Response:
    if period_end < period_start:
        raise InvalidRequest.field("periodEnd", "must not be before periodStart")
    given = [alias for value in customer_aliases for alias in value.split(",") if alias]
    if not given:
        raise InvalidRequest.field("customerAliases", "name at least one alias")
    metric = metrics.get_metric(session, account.account_id, usage_metric_id)
    aliases = queries.expand_aliases(session, account.account_id, given)
    if metric.aggregation_type is AggregationType.CUSTOM:
        bound = custom.parse_given(metric, custom_parameters)
        zone = get_account(session, account.account_id).timezone
        total = custom.totals(session, metric, aliases, period_start, period_end, zone, bound)
    elif custom_parameters:
        raise InvalidRequest.field("customParameters", "only CUSTOM metrics take parameters")
    else:
        total = queries.totals(session, metric, aliases, period_start, period_end)
    return json_response(
        {
            "name": metric.name,
            "metricType": metric.metric_type.value,
            "eventType": metric.event_type,
            "aggregationType": metric.aggregation_type.value,
            "eventCount": total.event_count,
            "skippedEventCount": total.skipped_event_count,
            "value": total.value,
            **({"unit": metric.unit} if metric.unit else {}),
            "periodStart": period_start.isoformat(),
            "periodEnd": period_end.isoformat(),
            "customerAliases": aliases,
        }
    )


@ingestion_router.post(
    "/usage-events",
    status_code=201,
    summary="Create a usage event",
    description=USAGE_LIMITS,
    response_model=None,
    responses={201: {"model": UsageEventOut}},
    openapi_extra=documented_body(UsageEventIn),
)
def create_event(body: RawBody, account: CurrentAccount, session: DbSession) -> Response:
    try:
        event = wire.decode_event(body)
    except wire.InvalidEvent as error:
        ops_metrics.usage_events_rejected.inc()
        raise _invalid(error) from error
    owner = get_account(session, account.account_id)
    [outcome] = ingest(session, owner, [event])
    if isinstance(outcome, Refusal):
        ops_metrics.usage_events_rejected.inc()
        raise InvalidRequest(
            outcome.message, details=[{"field": outcome.field, "message": outcome.message}]
        )
    ops_metrics.count_events_on_commit(
        session,
        accepted=int(outcome.outcome is not Outcome.REPLACED),
        replaced=int(outcome.outcome is Outcome.REPLACED),
    )
    stored = events.get_stored(session, account.account_id, outcome.id)
    return json_response(events.event_out(stored), status_code=201)


@ingestion_router.post(
    "/usage-events/batch",
    summary="Create up to 1,000 usage events",
    description="Each event is answered: accepted, replaced (an earlier event with its "
    "customerEventId was replaced) or rejected with its reason. Valid events are stored even "
    "when others are rejected. " + USAGE_LIMITS,
    response_model=None,
    responses={200: {"model": UsageEventBatchOut}},
    openapi_extra=documented_body(UsageEventBatchIn),
)
def create_event_batch(body: RawBody, account: CurrentAccount, session: DbSession) -> Response:
    try:
        decoded = wire.decode_batch(body)
    except wire.InvalidEvent as error:
        raise _invalid(error) from error
    owner = get_account(session, account.account_id)
    answer = events.store_batch(session, owner, decoded)
    ops_metrics.usage_events_rejected.inc(answer.rejected)
    ops_metrics.count_events_on_commit(session, accepted=answer.accepted, replaced=answer.replaced)
    return json_response(
        wire.BatchOut(answer.accepted, answer.replaced, answer.rejected, answer.results)
    )


@router.get(
    "/usage-events",
    summary="List usage events",
    response_model=None,
    responses={200: {"model": Page[UsageEventOut]}},
)
def list_events(
    account: CurrentAccount,
    session: ReplicaSession,
    paging: Paging,
    customer_alias: Annotated[list[str] | None, Query(alias="customerAlias")] = None,
    unmapped_aliases_only: Annotated[bool, Query(alias="unmappedAliasesOnly")] = False,
    event_type: Annotated[str | None, Query(alias="eventType")] = None,
    event_id: Annotated[str | None, Query(alias="eventId")] = None,
    customer_event_id: Annotated[
        str | None,
        Query(alias="customerEventId", description="Tally extension: the sender's own id."),
    ] = None,
    before: Annotated[UtcTimestamp | None, Query(alias="eventTimestampBefore")] = None,
    after: Annotated[UtcTimestamp | None, Query(alias="eventTimestampAfter")] = None,
    offset: Annotated[
        int,
        Query(
            ge=0,
            le=100_000,
            description="Rows to skip beyond the page `after` (or `before`) names, or from the "
            "start: a page further on without walking every page to it.",
        ),
    ] = 0,
    sort_by: Annotated[
        str | None,
        Query(
            alias="sortBy",
            description="createdAt (default; the order events were first received) or "
            "eventTimestamp; `sortOrder` gives the direction.",
        ),
    ] = None,
) -> Response:
    sort = sort_column(sort_by, {"eventTimestamp": UsageEvent.event_timestamp})
    filters = events.EventFilters(
        customer_aliases=customer_alias,
        unmapped_aliases_only=unmapped_aliases_only,
        event_type=event_type,
        event_id=event_id,
        customer_event_id=customer_event_id,
        before=before,
        after=after,
    )
    page = paginate_sorted(
        session,
        events.filtered_events(account.account_id, filters),
        sort,
        UsageEvent.id,
        paging,
        offset,
    )
    return json_response(
        {
            "items": [events.event_out(event) for event in page.rows],
            "pagination": page.pagination.model_dump(by_alias=True),
        }
    )
