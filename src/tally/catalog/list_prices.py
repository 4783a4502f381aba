"""List prices: price templates in the catalog. A billing schedule phase that names one bills
a variant of it, a `Price` made from the template as it is then (`variants_of`), so invoices,
credits and everything downstream see an ordinary price, and changing or archiving the
template later changes no variant: an id, once given, stays."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.catalog.list_price_schemas import ListPriceIn
from tally.catalog.price_schemas import structure_document
from tally.catalog.prices import check_terms
from tally.catalog.queries import list_price_query, product_query
from tally.core.clock import utcnow
from tally.exceptions import ArchivedReference, NotFound
from tally.models import (
    ListPrice,
    Price,
    PriceStatus,
    PricingType,
    Product,
)


def get_list_price(session: Session, account_id: str, list_price_id: str) -> ListPrice:
    list_price = session.scalar(list_price_query(account_id).where(ListPrice.id == list_price_id))
    if list_price is None:
        raise NotFound.resource("List price", list_price_id)
    return list_price


def _terms(session: Session, account_id: str, data: ListPriceIn) -> dict[str, Any]:
    """The template's columns, once what it names is the account's (404 naming the field)."""
    # Checked as the price it makes: what it names is the account's (404), and it fits (400).
    product = check_terms(session, account_id, data.as_price())
    structure = data.structure
    usage_metric_id = getattr(structure, "usage_metric_id", None)
    seat_metric_id = getattr(structure, "seat_metric_id", None)
    return {
        "product_id": product.id,
        "name": data.name,
        "currency": data.currency.value,
        "billing_frequency": data.billing_frequency,
        "billing_type": data.billing_type,
        "pricing_type": PricingType(structure.pricing_type),
        "structure": structure_document(structure),
        "usage_metric_id": usage_metric_id,
        "seat_metric_id": seat_metric_id,
        "usage_calculation_period": (
            data.usage_calculation_period.model_dump(mode="json", by_alias=True)
            if data.usage_calculation_period is not None
            else None
        ),
        "integration_ids": [item.model_dump(mode="json") for item in data.integration_ids],
        "custom_metric_parameters": [
            item.model_dump(mode="json", by_alias=True) for item in data.custom_metric_parameters
        ],
    }


def _audited(list_price: ListPrice) -> dict[str, Any]:
    return {
        "productId": list_price.product_id,
        "name": list_price.name,
        "currency": list_price.currency,
        "billingFrequency": list_price.billing_frequency,
        "billingType": list_price.billing_type,
        "structure": list_price.structure,
        "usageCalculationPeriod": list_price.usage_calculation_period,
        "integrationIds": list_price.integration_ids,
        "customMetricParameters": list_price.custom_metric_parameters,
        "archivedAt": list_price.archived_at,
    }


def _log(
    session: Session,
    list_price: ListPrice,
    verb: str,
    summary: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    activity.record(
        session,
        list_price.account_id,
        verb=verb,
        object_type="LIST_PRICE",
        object_id=list_price.id,
        name=f"List price {verb.lower()}",
        summary=summary,
        changes=activity.changed(before, after),
        target_type="PRODUCT",
        target_id=list_price.product_id,
    )


def create_list_price(session: Session, account_id: str, data: ListPriceIn) -> ListPrice:
    list_price = ListPrice(account_id=account_id, **_terms(session, account_id, data))
    session.add(list_price)
    session.flush()
    summary = (
        f"List price {list_price.name!r} ({list_price.currency}, {list_price.pricing_type}) created"
    )
    _log(session, list_price, "CREATED", summary, {}, _audited(list_price))
    return list_price


def update_list_price(
    session: Session, account_id: str, list_price_id: str, data: ListPriceIn
) -> ListPrice:
    """Replace the template. Variants made from it earlier keep their terms."""
    list_price = get_list_price(session, account_id, list_price_id)
    terms = _terms(session, account_id, data)
    before = _audited(list_price)
    for column, value in terms.items():
        setattr(list_price, column, value)
    session.flush()
    after = _audited(list_price)
    if changes := activity.changed(before, after):
        fields = ", ".join(change["field"] for change in changes)
        _log(
            session,
            list_price,
            "UPDATED",
            f"List price {list_price.name!r}: {fields}",
            before,
            after,
        )
    return list_price


def archive_list_price(session: Session, account_id: str, list_price_id: str) -> ListPrice:
    """New phases can no longer name it; schedules billing its variants go on. Idempotent."""
    list_price = get_list_price(session, account_id, list_price_id)
    if list_price.archived_at is None:
        list_price.archived_at = utcnow()
        session.flush()
        summary = f"List price {list_price.name!r} archived: new phases can no longer name it"
        before, after = {"archivedAt": None}, {"archivedAt": list_price.archived_at}
        _log(session, list_price, "ARCHIVED", summary, before, after)
    return list_price


def _live_products(
    session: Session, account_id: str, list_prices: Sequence[ListPrice]
) -> dict[str, Product]:
    ids = {list_price.product_id for list_price in list_prices}
    return {
        product.id: product
        for product in session.scalars(product_query(account_id).where(Product.id.in_(ids)))
    }


def _takes_variants(field: str, list_price: ListPrice, products: dict[str, Product]) -> None:
    """Refused (Conflict, naming the field) for an archived list price or one whose product
    was archived since: neither takes new prices."""
    if list_price.archived_at is not None:
        raise ArchivedReference(f"{field}: list price {list_price.id!r} is archived")
    if products[list_price.product_id].archived_at is not None:
        raise ArchivedReference(
            f"{field}: list price {list_price.id!r} is of product "
            f"{list_price.product_id!r}, which is archived and takes no new prices"
        )


def _variant(account_id: str, terms: ListPrice | Price, list_price_id: str) -> Price:
    return Price(
        account_id=account_id,
        product_id=terms.product_id,
        name=terms.name,
        currency=terms.currency,
        billing_frequency=terms.billing_frequency,
        billing_type=terms.billing_type,
        pricing_type=terms.pricing_type,
        structure=dict(terms.structure),
        usage_metric_id=terms.usage_metric_id,
        seat_metric_id=terms.seat_metric_id,
        usage_calculation_period=terms.usage_calculation_period,
        integration_ids=list(terms.integration_ids),
        custom_metric_parameters=list(terms.custom_metric_parameters),
        list_price_id=list_price_id,
        status=PriceStatus.ACTIVE,
    )


def variants_of(
    session: Session, account_id: str, list_prices: Sequence[tuple[str, ListPrice]]
) -> dict[str, Price]:
    """A new price made from each (field, list price) as the template is now, by list price
    id. Refused (Conflict, naming the field) for an archived list price or one whose product
    was archived since: neither takes new prices."""
    products = _live_products(session, account_id, [item for _, item in list_prices])
    variants: dict[str, Price] = {}
    for field, list_price in list_prices:
        _takes_variants(field, list_price, products)
        variants.setdefault(list_price.id, _variant(account_id, list_price, list_price.id))
    session.add_all(variants.values())
    session.flush()
    return variants


def copies_of(session: Session, account_id: str, variants: Sequence[Price]) -> dict[str, Price]:
    """A new variant of the same list price for each of `variants` (by the variant's id),
    with that variant's terms rather than the template's today: another schedule that bills
    exactly what one bills, with a price of its own. Refused as `variants_of` refuses."""
    if not variants:
        return {}
    templates = {
        list_price.id: list_price
        for list_price in session.scalars(
            list_price_query(account_id).where(
                ListPrice.id.in_({variant.list_price_id for variant in variants})
            )
        )
    }
    products = _live_products(session, account_id, list(templates.values()))
    copies: dict[str, Price] = {}
    for variant in variants:
        if variant.list_price_id is None:  # a plain price: shared, as any catalog price
            continue
        _takes_variants(f"price {variant.id!r}", templates[variant.list_price_id], products)
        copies[variant.id] = _variant(account_id, variant, variant.list_price_id)
    session.add_all(copies.values())
    session.flush()
    return copies
