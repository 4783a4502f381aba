"""/api/credits: credit grants, and a customer's balances and grants.

Bodies are parsed without floats and answers written through msgspec, so grant amounts
(JSON numbers in Sequence's schema) keep every digit (see `schedules.endpoints`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Response
from sqlalchemy.orm import Session

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import Paging, paginate
from tally.api.raw import documented_body, exact_body, json_response
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.api.types import Currency
from tally.credits import auto_recharge, presenters, service, top_ups
from tally.credits.schemas import (
    CreditBalancesOut,
    CreditGrantCreate,
    CreditGrantOut,
    GrantItemsOut,
)
from tally.credits.top_up_schemas import (
    AutoRechargeOut,
    AutoRechargeSet,
    CreditRechargeOut,
    CreditRechargesOut,
    CreditTopUpCreate,
    CreditTopUpOut,
)
from tally.exceptions import InvalidRequest
from tally.models import CreditGrant, CreditTopUp
from tally.models.scoped import get_account
from tally.workflows import credit_grants, credit_top_ups

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
    session: ReplicaSession,
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


# ---- Tally's extensions: top-ups and auto-recharge ----------------------------------------

TopUpBody = Annotated[CreditTopUpCreate, Depends(exact_body(CreditTopUpCreate))]
AutoRechargeBody = Annotated[AutoRechargeSet, Depends(exact_body(AutoRechargeSet))]


def _top_up(top_up: CreditTopUp) -> Any:
    return CreditTopUpOut.build(top_up).model_dump(by_alias=True)


@router.post(
    "/credit-top-ups",
    status_code=201,
    summary="Buy credits (Tally)",
    description="An issued invoice for `cost` (taxed at `taxRateId`) and the credits: "
    "granted when the invoice is PAID (`grantWhen` ON_PAYMENT, the default) or at once "
    "(IMMEDIATELY). Voiding the unpaid invoice cancels the top-up.",
    response_model=None,
    responses={201: {"model": CreditTopUpOut}},
    openapi_extra=documented_body(CreditTopUpCreate),
)
def create_credit_top_up(body: TopUpBody, account: CurrentAccount, session: DbSession) -> Response:
    top_up, _ = credit_top_ups.create_top_up(
        session, get_account(session, account.account_id), body
    )
    return json_response(_top_up(top_up), status_code=201)


@router.get(
    "/credit-top-ups",
    summary="List credit top-ups (Tally)",
    description="Newest first; `customerId` filters.",
    response_model=None,
    responses={200: {"model": Page[CreditTopUpOut]}},
)
def list_credit_top_ups(
    account: CurrentAccount,
    session: ReplicaSession,
    paging: Paging,
    customer_id: Annotated[str | None, Query(alias="customerId")] = None,
) -> Response:
    page = paginate(
        session, top_ups.top_ups_query(account.account_id, customer_id), CreditTopUp.id, paging
    )
    return json_response(
        {
            "items": [_top_up(row) for row in page.rows],
            "pagination": page.pagination.model_dump(mode="json", by_alias=True),
        }
    )


@router.get(
    "/credit-top-ups/{id}",
    summary="Get a credit top-up (Tally)",
    response_model=None,
    responses={200: {"model": CreditTopUpOut}},
)
def get_credit_top_up(id: str, account: CurrentAccount, session: DbSession) -> Response:
    return json_response(_top_up(top_ups.get_top_up(session, account.account_id, id)))


def _currency(currency: str) -> str:
    try:
        return Currency(currency).value
    except ValueError:
        raise InvalidRequest.field(
            "currency", f"{currency!r} is not a currency Tally knows"
        ) from None


@router.put(
    "/customers/{id}/auto-recharges/{currency}",
    summary="Set a customer's auto-recharge (Tally)",
    description="When the customer's available cash balance of `currency` (the ledger "
    "balance less what open invoices project) falls below `belowBalance`, Tally buys "
    "`rechargeAmount` of credits for `cost` (1:1 by default), charged off session to its "
    "saved payment method, at most `monthlyCap` a calendar month. A change lifts a pause "
    "a failure or the cap set.",
    response_model=None,
    responses={200: {"model": AutoRechargeOut}},
    openapi_extra=documented_body(AutoRechargeSet),
)
def set_auto_recharge(
    id: str, currency: str, body: AutoRechargeBody, account: CurrentAccount, session: DbSession
) -> Response:
    row = auto_recharge.set_auto_recharge(
        session, account.account_id, id, _currency(currency), body
    )
    return json_response(AutoRechargeOut.build(row).model_dump(by_alias=True))


@router.get(
    "/customers/{id}/auto-recharges/{currency}",
    summary="Get a customer's auto-recharge (Tally)",
    response_model=None,
    responses={200: {"model": AutoRechargeOut}},
)
def get_auto_recharge(
    id: str, currency: str, account: CurrentAccount, session: DbSession
) -> Response:
    row = auto_recharge.get_auto_recharge(session, account.account_id, id, _currency(currency))
    return json_response(AutoRechargeOut.build(row).model_dump(by_alias=True))


@router.delete(
    "/customers/{id}/auto-recharges/{currency}",
    summary="Turn a customer's auto-recharge off (Tally)",
    response_model=None,
    responses={200: {"model": AutoRechargeOut}},
)
def delete_auto_recharge(
    id: str, currency: str, account: CurrentAccount, session: DbSession
) -> Response:
    row = auto_recharge.delete_auto_recharge(session, account.account_id, id, _currency(currency))
    return json_response(AutoRechargeOut.build(row).model_dump(by_alias=True))


@router.get(
    "/customers/{id}/credit-recharges",
    summary="A customer's auto-recharges' recharges (Tally)",
    description="Newest first, the latest 50: charged, failed or capped.",
    response_model=None,
    responses={200: {"model": CreditRechargesOut}},
)
def list_credit_recharges(id: str, account: CurrentAccount, session: ReplicaSession) -> Response:
    rows = auto_recharge.customer_recharges_of(session, account.account_id, id)
    return json_response(
        {"items": [CreditRechargeOut.build(row).model_dump(by_alias=True) for row in rows]}
    )
