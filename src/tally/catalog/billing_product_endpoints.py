"""/api/billing-products: the products that have prices, each with them."""

from typing import Annotated

from fastapi import Query

from tally.api.auth import CurrentAccount
from tally.api.deps import ReplicaSession
from tally.api.pagination import Paging, paginate
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.catalog.queries import (
    RecognitionMethod,
    billing_product_query,
    prices_by_product,
    recognition_methods,
    tax_category_names,
)
from tally.catalog.schemas import BillingProductOut
from tally.exceptions import InvalidRequest
from tally.models import Product

router = api_router(tags=["Prices"])


def _csv(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def _methods(raw: str | None) -> list[RecognitionMethod]:
    methods = []
    for value in _csv(raw):
        try:
            methods.append(RecognitionMethod(value.upper()))
        except ValueError as exc:
            raise InvalidRequest.field(
                "recognitionMethod", f"{value!r} is not one of {', '.join(RecognitionMethod)}"
            ) from exc
    return methods


@router.get("/billing-products", summary="List products with their prices")
def list_billing_products(
    account: CurrentAccount,
    session: ReplicaSession,
    paging: Paging,
    name: Annotated[str | None, Query(description="Part of the name, any case.")] = None,
    tax_category_id: Annotated[
        str | None, Query(alias="taxCategoryId", description="Comma-separated.")
    ] = None,
    recognition_method: Annotated[
        str | None,
        Query(
            alias="recognitionMethod",
            description="Comma-separated: STRAIGHT_LINE, USAGE, MILESTONE, POINT_IN_TIME. "
            "A product's is USAGE when one of its prices is usage-priced, STRAIGHT_LINE "
            "when one recurs, POINT_IN_TIME otherwise.",
        ),
    ] = None,
) -> Page[BillingProductOut]:
    query = billing_product_query(
        account.account_id,
        name=name,
        tax_category_ids=_csv(tax_category_id),
        methods=_methods(recognition_method),
    )
    page = paginate(session, query, Product.id, paging)
    ids = [product.id for product in page.rows]
    prices = prices_by_product(session, account.account_id, ids)
    methods = recognition_methods(session, account.account_id, ids)
    categories = tax_category_names(session, account.account_id, page.rows)
    items = [
        BillingProductOut.build(
            p, prices[p.id], methods[p.id], categories.get(p.tax_category_id or "")
        )
        for p in page.rows
    ]
    return Page(items=items, pagination=page.pagination)
