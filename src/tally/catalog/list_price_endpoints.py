"""/api/list-prices: price templates that billing schedule phases turn into prices."""

from typing import Annotated

from fastapi import Query

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import Paging, paginate
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.api.types import Currency
from tally.catalog import list_prices
from tally.catalog.list_price_schemas import ListPriceIn, ListPriceOut
from tally.catalog.queries import list_price_query
from tally.models import BillingFrequency, ListPrice

router = api_router(tags=["List prices"])


@router.get("/list-prices", summary="List list prices")
def list_list_prices(
    account: CurrentAccount,
    session: ReplicaSession,
    paging: Paging,
    currency: Currency | None = None,
    product_id: Annotated[str | None, Query(alias="productId")] = None,
    billing_frequency: Annotated[BillingFrequency | None, Query(alias="billingFrequency")] = None,
    include_archived: Annotated[bool, Query(alias="includeArchived")] = False,
) -> Page[ListPriceOut]:
    query = list_price_query(
        account.account_id,
        currency=currency.value if currency is not None else None,
        product_id=product_id,
        billing_frequency=billing_frequency,
        include_archived=include_archived,
    )
    page = paginate(session, query, ListPrice.id, paging)
    return Page(items=[ListPriceOut.build(p) for p in page.rows], pagination=page.pagination)


@router.post("/list-prices", status_code=201, summary="Create a list price")
def create_list_price(
    body: ListPriceIn, account: CurrentAccount, session: DbSession
) -> ListPriceOut:
    return ListPriceOut.build(list_prices.create_list_price(session, account.account_id, body))


@router.get("/list-prices/{id}", summary="Get a list price")
def get_list_price(id: str, account: CurrentAccount, session: DbSession) -> ListPriceOut:
    return ListPriceOut.build(list_prices.get_list_price(session, account.account_id, id))


@router.put("/list-prices/{id}", summary="Update a list price (its variants keep their terms)")
def update_list_price(
    id: str, body: ListPriceIn, account: CurrentAccount, session: DbSession
) -> ListPriceOut:
    updated = list_prices.update_list_price(session, account.account_id, id, body)
    return ListPriceOut.build(updated)


@router.post("/list-prices/{id}/archive", summary="Archive a list price")
def archive_list_price(id: str, account: CurrentAccount, session: DbSession) -> ListPriceOut:
    return ListPriceOut.build(list_prices.archive_list_price(session, account.account_id, id))
