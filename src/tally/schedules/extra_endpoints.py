"""/api/billing-schedules: duplicate, validate-taxes, and the custom field keys in use.

Kept apart from `endpoints.py` (the schedule itself) as operations about schedules; served
through the same guards (`api_router`) and answering through the same presenter."""

from typing import Annotated, Any

from fastapi import Depends, Response
from pydantic import Field

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.raw import documented_body, exact_body, json_response
from tally.api.routing import api_router
from tally.api.schemas import ItemList, Schema
from tally.schedules import custom_fields, duplicate, presenters, tax_check
from tally.schedules.schemas import BillingScheduleOut, ScheduleCreate

router = api_router(tags=["Billing schedules"])

CreateBody = Annotated[ScheduleCreate, Depends(exact_body(ScheduleCreate))]


class DuplicateRequest(Schema):
    """Sequence's DuplicateBillingScheduleRequest: whom the copy bills."""

    customer_id: str = Field(min_length=1, max_length=36)


@router.post(
    "/billing-schedules/{id}/duplicate",
    status_code=201,
    summary="Duplicate a billing schedule: a new DRAFT schedule for `customerId` with the "
    "source's phases, prices, discounts, minimums, credit grants, tax rates and terms",
    response_model=None,
    responses={201: {"model": BillingScheduleOut}},
)
def duplicate_billing_schedule(
    id: str, body: DuplicateRequest, account: CurrentAccount, session: DbSession
) -> Response:
    copy = duplicate.duplicate_schedule(session, account.account_id, id, body.customer_id)
    view: dict[str, Any] = presenters.schedule_views(session, account.account_id, [copy])[0]
    return json_response(view, status_code=201)


@router.post(
    "/billing-schedules/validate-taxes",
    summary="Validate the taxes a billing schedule request would apply, writing nothing",
    response_model=None,
    response_class=Response,
    responses={200: {"description": "The schedule's tax setup is valid (no body)."}},
    openapi_extra=documented_body(ScheduleCreate),
)
def validate_billing_schedule_taxes(
    body: CreateBody, account: CurrentAccount, session: DbSession
) -> Response:
    tax_check.validate_taxes(session, account.account_id, body)
    return Response(status_code=200)


@router.get(
    "/billing-schedule-custom-field-keys",
    summary="List the keys the account's billing schedules' custom fields use",
)
def list_billing_schedule_custom_field_keys(
    account: CurrentAccount, session: ReplicaSession
) -> ItemList[str]:
    return ItemList(items=custom_fields.custom_field_keys(session, account.account_id))
