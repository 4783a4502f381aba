"""/api/prices."""

from typing import Annotated

from fastapi import Query

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import Paging, paginate
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.api.types import Currency
from tally.catalog import prices
from tally.catalog.price_schemas import PriceIn, PriceOut, PriceUpdate
from tally.catalog.queries import price_query
from tally.models import BillingFrequency, Price

router = api_router(tags=["Prices"])


@router.get("/prices", summary="List prices")
def list_prices(
    account: CurrentAccount,
    session: ReplicaSession,
    paging: Paging,
    currency: Currency | None = None,
    name: str | None = None,
    billing_frequency: Annotated[BillingFrequency | None, Query(alias="billingFrequency")] = None,
    product_id: Annotated[str | None, Query(alias="productId")] = None,
) -> Page[PriceOut]:
    query = price_query(
        account.account_id,
        currency=currency.value if currency is not None else None,
        name=name,
        billing_frequency=billing_frequency,
        product_id=product_id,
    )
    page = paginate(session, query, Price.id, paging)
    return Page(items=[PriceOut.build(p) for p in page.rows], pagination=page.pagination)


@router.post("/prices", status_code=201, summary="Create a price")
def create_price(body: PriceIn, account: CurrentAccount, session: DbSession) -> PriceOut:
    return PriceOut.build(prices.create_price(session, account.account_id, body))


@router.get("/prices/{id}", summary="Get a price")
def get_price(id: str, account: CurrentAccount, session: DbSession) -> PriceOut:
    return PriceOut.build(prices.get_price(session, account.account_id, id))


@router.put("/prices/{id}", summary="Update a price's name or status")
def update_price(
    id: str, body: PriceUpdate, account: CurrentAccount, session: DbSession
) -> PriceOut:
    return PriceOut.build(prices.update_price(session, account.account_id, id, body))


@router.delete("/prices/{id}", summary="Delete a price")
def delete_price(id: str, account: CurrentAccount, session: DbSession) -> PriceOut:
    return PriceOut.build(prices.delete_price(session, account.account_id, id))
