"""/api/discounts: the discounts billing schedule phases give, listed, changed and deleted.

Bodies are read with exact numbers and answers written with them (`amount` is a JSON number
in Sequence's schema), as the billing schedule endpoints do."""

from typing import Annotated, Any

from fastapi import Depends, Response
from sqlalchemy.orm import Session

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import Paging, paginate
from tally.api.raw import documented_body, exact_body, json_response
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.models import PhaseDiscount
from tally.schedules import discounts
from tally.schedules.discount_schemas import DiscountOut, DiscountUpdate
from tally.schedules.queries import discount_query, phase_dates

router = api_router(tags=["Discounts"])

UpdateBody = Annotated[DiscountUpdate, Depends(exact_body(DiscountUpdate))]
_ONE: dict[int | str, dict[str, Any]] = {200: {"model": DiscountOut}}


def _views(session: Session, account_id: str, rows: list[PhaseDiscount]) -> list[dict[str, Any]]:
    dates = phase_dates(session, account_id, {row.phase_id for row in rows})
    return [DiscountOut.build(row, dates[row.phase_id]).wire() for row in rows]


@router.get(
    "/discounts",
    summary="List discounts",
    response_model=None,
    responses={200: {"model": Page[DiscountOut]}},
)
def list_discounts(account: CurrentAccount, session: ReplicaSession, paging: Paging) -> Response:
    page = paginate(session, discount_query(account.account_id), PhaseDiscount.id, paging)
    return json_response(
        {
            "items": _views(session, account.account_id, page.rows),
            "pagination": page.pagination.model_dump(mode="json", by_alias=True),
        }
    )


@router.get("/discounts/{id}", summary="Get a discount", response_model=None, responses=_ONE)
def get_discount(id: str, account: CurrentAccount, session: DbSession) -> Response:
    discount = discounts.get_discount(session, account.account_id, id)
    return json_response(_views(session, account.account_id, [discount])[0])


@router.put(
    "/discounts/{id}",
    summary="Update a discount",
    response_model=None,
    responses=_ONE,
    openapi_extra=documented_body(DiscountUpdate),
)
def update_discount(
    id: str, body: UpdateBody, account: CurrentAccount, session: DbSession
) -> Response:
    discount = discounts.update_discount(session, account.account_id, id, body)
    return json_response(_views(session, account.account_id, [discount])[0])


@router.delete(
    "/discounts/{id}",
    summary="Delete a discount (later and open invoices no longer take it)",
    response_model=None,
    responses=_ONE,
)
def delete_discount(id: str, account: CurrentAccount, session: DbSession) -> Response:
    discount = discounts.delete_discount(session, account.account_id, id)
    return json_response(_views(session, account.account_id, [discount])[0])
