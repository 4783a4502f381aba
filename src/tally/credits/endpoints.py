"""/api/credits: credit grants, and a customer's balances and grants.

Bodies are parsed without floats and answers written through msgspec, so grant amounts
(JSON numbers in Sequence's schema) keep every digit (see `schedules.endpoints`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Response
from sqlalchemy.orm import Session

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession
from tally.api.pagination import Paging, paginate
from tally.api.raw import documented_body, exact_body, json_response
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.credits import presenters, service
from tally.credits.schemas import (
    CreditBalancesOut,
    CreditGrantCreate,
    CreditGrantOut,
    GrantItemsOut,
)
from tally.models import CreditGrant
from tally.models.scoped import get_account
from tally.workflows import credit_grants

router = api_router(tags=["Credits"])

CreateBody = Annotated[CreditGrantCreate, Depends(exact_body(CreditGrantCreate))]
_ONE: dict[int | str, dict[str, Any]] = {200: {"model": CreditGrantOut}}


def _grants(session: Session, account_id: str, grants: list[CreditGrant]) -> list[Any]:
    balances = service.current_balances(session, account_id, [grant.id for grant in grants])
    return [presenters.plain(presenters.grant_out(g, balances[g.id])) for g in grants]


@router.get(
    "/credits",
    summary="List credit grants",
    description="Live grants (deleted ones are left out), newest first; `customerId` filters.",
    response_model=None,
    responses={200: {"model": Page[CreditGrantOut]}},
)
def list_credit_grants(
    account: CurrentAccount,
    session: DbSession,
    paging: Paging,
    customer_id: Annotated[str | None, Query(alias="customerId")] = None,
) -> Response:
    query = service.grants_query(account.account_id, customer_id)
    page = paginate(session, query, CreditGrant.id, paging)
    return json_response(
        {
            "items": _grants(session, account.account_id, page.rows),
            "pagination": page.pagination.model_dump(mode="json", by_alias=True),
        }
    )


@router.post(
    "/credits",
    status_code=201,
    summary="Grant credits",
    description="The grant and its GRANT ledger entry; `createInvoice` also makes a DRAFT "
    "invoice for `costOfCredit` (answered as `invoiceId`).",
    response_model=None,
    responses={201: {"model": CreditGrantOut}},
    openapi_extra=documented_body(CreditGrantCreate),
)
def create_credit_grant(body: CreateBody, account: CurrentAccount, session: DbSession) -> Response:
    grant = credit_grants.create_grant(session, get_account(session, account.account_id), body)
    return json_response(_grants(session, account.account_id, [grant])[0], status_code=201)


@router.get("/credits/{id}", summary="Get a credit grant", response_model=None, responses=_ONE)
def get_credit_grant(id: str, account: CurrentAccount, session: DbSession) -> Response:
    grant = service.get_grant(session, account.account_id, id)
    return json_response(_grants(session, account.account_id, [grant])[0])


@router.delete(
    "/credits/{id}",
    summary="Delete a credit grant",
    description="Revokes what is left (a REVOKE ledger entry) and answers the grant; it is "
    "no longer usable or listed.",
    response_model=None,
    responses=_ONE,
)
def delete_credit_grant(id: str, account: CurrentAccount, session: DbSession) -> Response:
    grant = service.delete_grant(session, get_account(session, account.account_id), id)
    return json_response(_grants(session, account.account_id, [grant])[0])


@router.get(
    "/credits/{customer}/balances",
    summary="A customer's credit balances",
    description="Per currency (CASH) and per metric (USAGE): the balance, the grants and "
    "every ledger entry as a transaction (DEBIT when it takes credits).",
    response_model=None,
    responses={200: {"model": CreditBalancesOut}},
)
def customer_balances(customer: str, account: CurrentAccount, session: DbSession) -> Response:
    credits = service.customer_credits(session, account.account_id, customer)
    return json_response(presenters.plain(presenters.balances_out(credits)))


@router.get(
    "/credits/{customer}/grants",
    summary="A customer's grants with credits left",
    response_model=None,
    responses={200: {"model": GrantItemsOut}},
)
def customer_grants(customer: str, account: CurrentAccount, session: DbSession) -> Response:
    credits = service.customer_credits(session, account.account_id, customer)
    return json_response(presenters.plain(presenters.grant_items_out(credits)))
