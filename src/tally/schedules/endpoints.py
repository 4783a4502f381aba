"""/api/billing-schedules.

Bodies are parsed here rather than by FastAPI, whose JSON decoding turns every number with a
fraction into a binary float: discount and minimum amounts are JSON numbers in Sequence's
schema, and must keep every digit they were sent with. Answers go out through msgspec for the
same reason, with those amounts as exact JSON numbers.
"""

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Query, Response
from sqlalchemy.orm import Session

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import Paging, custom_key_sort, paginate_sorted, sort_column
from tally.api.raw import documented_body, exact_body, json_response
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.exceptions import InvalidRequest
from tally.models import BillingSchedule, ScheduleStatus
from tally.schedules import presenters, service
from tally.schedules.schemas import BillingScheduleOut, ScheduleCreate, ScheduleUpdate

router = api_router(tags=["Billing schedules"])

CreateBody = Annotated[ScheduleCreate, Depends(exact_body(ScheduleCreate))]
UpdateBody = Annotated[ScheduleUpdate, Depends(exact_body(ScheduleUpdate))]
_ONE: dict[int | str, dict[str, Any]] = {200: {"model": BillingScheduleOut}}


def _present(
    session: Session, account_id: str, schedules: list[BillingSchedule]
) -> list[dict[str, Any]]:
    return presenters.schedule_views(session, account_id, schedules)


def _one(
    session: Session, account_id: str, schedule: BillingSchedule, status_code: int = 200
) -> Response:
    return json_response(_present(session, account_id, [schedule])[0], status_code=status_code)


def _csv(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def _statuses(raw: str | None) -> list[ScheduleStatus] | None:
    statuses = []
    for value in _csv(raw):
        try:
            statuses.append(ScheduleStatus(value.upper()))
        except ValueError as exc:
            raise InvalidRequest.field(
                "billingScheduleStatus",
                f"{value!r} is not one of {', '.join(ScheduleStatus)}",
            ) from exc
    return statuses or None


def _days(raw: str | None) -> list[int] | None:
    days = []
    for value in _csv(raw):
        if not value.isdecimal() or not 1 <= int(value) <= 31:
            raise InvalidRequest.field(
                "recurrenceDayOfMonth", f"{value!r} is not a day of the month (1 to 31)"
            )
        days.append(int(value))
    return days or None


@router.get(
    "/billing-schedules",
    summary="List billing schedules",
    response_model=None,
    responses={200: {"model": Page[BillingScheduleOut]}},
)
def list_billing_schedules(
    account: CurrentAccount,
    session: ReplicaSession,
    paging: Paging,
    customer_id: Annotated[str | None, Query(alias="customerId")] = None,
    status: Annotated[
        str | None,
        Query(alias="billingScheduleStatus", description="One status, or several: DRAFT,ACTIVE"),
    ] = None,
    auto_send_invoices: Annotated[bool | None, Query(alias="autoSendInvoices")] = None,
    label: Annotated[str | None, Query(description="Part of the label, any case.")] = None,
    include_archived: Annotated[bool, Query(alias="includeArchivedSchedules")] = False,
    starting_before: Annotated[date | None, Query(alias="startingBefore")] = None,
    starting_after: Annotated[date | None, Query(alias="startingAfter")] = None,
    ending_before: Annotated[date | None, Query(alias="endingBefore")] = None,
    ending_after: Annotated[date | None, Query(alias="endingAfter")] = None,
    include_open_ended: Annotated[
        bool | None,
        Query(
            alias="includeOpenEndedSchedules",
            description="Default: listed unless endingBefore or endingAfter is given.",
        ),
    ] = None,
    recurrence_days: Annotated[
        str | None, Query(alias="recurrenceDayOfMonth", description="Days, comma-separated.")
    ] = None,
    sort_by: Annotated[
        str | None,
        Query(
            alias="sortBy",
            description="createdAt (default), updatedAt, startDate, status or "
            "`customFields.<key>` (by that field's value; schedules without it first in "
            "ascending order); `sortOrder` gives the direction.",
        ),
    ] = None,
) -> Response:
    sort = sort_column(
        sort_by,
        {
            "updatedAt": BillingSchedule.updated_at,
            "startDate": BillingSchedule.start_date,
            "status": BillingSchedule.status,
        },
        custom_prefix="customFields",
        custom=lambda key: custom_key_sort(BillingSchedule.custom_fields, "custom_fields", key),
    )
    filters = service.ScheduleFilters(
        customer_id=customer_id,
        statuses=_statuses(status),
        auto_send_invoices=auto_send_invoices,
        label=label,
        include_archived=include_archived,
        starting_before=starting_before,
        starting_after=starting_after,
        ending_before=ending_before,
        ending_after=ending_after,
        include_open_ended=include_open_ended,
        recurrence_days=_days(recurrence_days),
    )
    query = service.filtered_schedules(account.account_id, filters)
    page = paginate_sorted(session, query, sort, BillingSchedule.id, paging)
    return json_response(
        {
            "items": _present(session, account.account_id, page.rows),
            "pagination": page.pagination.model_dump(mode="json", by_alias=True),
        }
    )


@router.post(
    "/billing-schedules",
    status_code=201,
    summary="Create a billing schedule",
    response_model=None,
    responses={201: {"model": BillingScheduleOut}},
    openapi_extra=documented_body(ScheduleCreate),
)
def create_billing_schedule(
    body: CreateBody, account: CurrentAccount, session: DbSession
) -> Response:
    schedule = service.create_schedule(session, account.account_id, body)
    return _one(session, account.account_id, schedule, status_code=201)


@router.get(
    "/billing-schedules/{id}", summary="Get a billing schedule", response_model=None, responses=_ONE
)
def get_billing_schedule(id: str, account: CurrentAccount, session: DbSession) -> Response:
    schedule = service.get_schedule(session, account.account_id, id)
    return _one(session, account.account_id, schedule)


@router.put(
    "/billing-schedules/{id}",
    summary="Update a billing schedule (replaces its phases and tax rates)",
    response_model=None,
    responses=_ONE,
    openapi_extra=documented_body(ScheduleUpdate),
)
def update_billing_schedule(
    id: str, body: UpdateBody, account: CurrentAccount, session: DbSession
) -> Response:
    schedule = service.update_schedule(session, account.account_id, id, body)
    return _one(session, account.account_id, schedule)


@router.put(
    "/billing-schedules/{id}/activate",
    summary="Activate a draft schedule",
    response_model=None,
    responses=_ONE,
)
def activate_billing_schedule(id: str, account: CurrentAccount, session: DbSession) -> Response:
    schedule = service.activate_schedule(session, account.account_id, id)
    return _one(session, account.account_id, schedule)


@router.post(
    "/billing-schedules/{id}/archive",
    summary="Archive a billing schedule",
    response_model=None,
    responses=_ONE,
)
def archive_billing_schedule(id: str, account: CurrentAccount, session: DbSession) -> Response:
    schedule = service.archive_schedule(session, account.account_id, id)
    return _one(session, account.account_id, schedule)
