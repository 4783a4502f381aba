"""Reads of products and prices: the statements the services build on, and one function per
question the dashboard's pages ask, each one query on the tenant-scoped base."""

from collections.abc import Collection
from enum import StrEnum

from sqlalchemy import ColumnElement, Exists, Select, case, exists, func
from sqlalchemy.orm import Session

from tally.models import (
    USAGE_PRICING,
    BillingFrequency,
    ListPrice,
    Price,
    Product,
    TaxCategory,
)
from tally.models.scoped import scoped


def product_query(account_id: str, name: str | None = None) -> Select[Product]:
    query = scoped(Product, account_id)
    return query.where(Product.name == name) if name is not None else query


def price_query(
    account_id: str,
    *,
    currency: str | None = None,
    name: str | None = None,
    billing_frequency: BillingFrequency | None = None,
    product_id: str | None = None,
) -> Select[Price]:
    """The account's live (not deleted) prices, optionally filtered."""
    query = scoped(Price, account_id).where(Price.deleted_at.is_(None))
    if currency is not None:
        query = query.where(Price.currency == currency)
    if name is not None:
        query = query.where(Price.name == name)
    if billing_frequency is not None:
        query = query.where(Price.billing_frequency == billing_frequency)
    if product_id is not None:
        query = query.where(Price.product_id == product_id)
    return query


def list_price_query(
    account_id: str,
    *,
    currency: str | None = None,
    product_id: str | None = None,
    billing_frequency: BillingFrequency | None = None,
    include_archived: bool = True,
) -> Select[ListPrice]:
    """The account's list prices, optionally filtered (archived ones unless left out)."""
    query = scoped(ListPrice, account_id)
    if not include_archived:
        query = query.where(ListPrice.archived_at.is_(None))
    if currency is not None:
        query = query.where(ListPrice.currency == currency)
    if product_id is not None:
        query = query.where(ListPrice.product_id == product_id)
    if billing_frequency is not None:
        query = query.where(ListPrice.billing_frequency == billing_frequency)
    return query


def products(session: Session, account_id: str, limit: int) -> list[Product]:
    """The account's first `limit` products by name."""
    query = product_query(account_id).order_by(Product.name, Product.id).limit(limit)
    return list(session.scalars(query))


def prices_by_product(
    session: Session, account_id: str, product_ids: Collection[str]
) -> dict[str, list[Price]]:
    """Each product's live prices by name (an empty list for one without)."""
    grouped: dict[str, list[Price]] = {product_id: [] for product_id in product_ids}
    query = price_query(account_id).where(Price.product_id.in_(list(product_ids)))
    for price in session.scalars(query.order_by(Price.name, Price.id)):
        grouped[price.product_id].append(price)
    return grouped


def prices_by_id(session: Session, account_id: str, ids: Collection[str]) -> dict[str, Price]:
    """The account's prices of `ids`, deleted ones too (a schedule still bills them)."""
    query = scoped(Price, account_id).where(Price.id.in_(list(ids)))
    return {price.id: price for price in session.scalars(query)}


def price_choices(
    session: Session, account_id: str, limit: int, also: Collection[str] = ()
) -> list[tuple[Price, str]]:
    """(price, product name) of the account's live prices to choose from, by product, with
    `also` (those a schedule bills already) even past `limit`."""
    query = (
        price_query(account_id)
        .join(Product, Product.id == Price.product_id)
        .add_columns(Product.name)
        .order_by(Product.name, Price.name, Price.id)
    )
    choices = [(price, name) for price, name in session.execute(query.limit(limit))]
    missing = set(also) - {price.id for price, _ in choices}
    if missing:
        choices += [(p, name) for p, name in session.execute(query.where(Price.id.in_(missing)))]
    return choices


# --- billing products: products with prices, and how their revenue is recognised -------------


class RecognitionMethod(StrEnum):
    """Sequence's RevenueRecognitionMethod. Tally reads a product's from its prices: USAGE
    when one is usage-priced, STRAIGHT_LINE when one recurs, POINT_IN_TIME when all are
    charged once. MILESTONE is never a product's own (it is a phase's)."""

    STRAIGHT_LINE = "STRAIGHT_LINE"
    USAGE = "USAGE"
    MILESTONE = "MILESTONE"
    POINT_IN_TIME = "POINT_IN_TIME"


def _live_price_of_product(account_id: str, *conditions: ColumnElement[bool]) -> Exists:
    return exists().where(
        Price.account_id == account_id,
        Price.product_id == Product.id,
        Price.deleted_at.is_(None),
        *conditions,
    )


def _recognition_method(account_id: str) -> ColumnElement[str]:
    return case(
        (
            _live_price_of_product(account_id, Price.pricing_type.in_(USAGE_PRICING)),
            RecognitionMethod.USAGE.value,
        ),
        (
            _live_price_of_product(
                account_id, Price.billing_frequency != BillingFrequency.ONE_TIME
            ),
            RecognitionMethod.STRAIGHT_LINE.value,
        ),
        else_=RecognitionMethod.POINT_IN_TIME.value,
    )


def billing_product_query(
    account_id: str,
    *,
    name: str | None = None,
    tax_category_ids: Collection[str] = (),
    methods: Collection[RecognitionMethod] = (),
) -> Select[Product]:
    """The account's products with at least one live price; `name` matches part of the
    name, case-insensitively."""
    query = scoped(Product, account_id).where(_live_price_of_product(account_id))
    if name:
        escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.lower(Product.name).like(f"%{escaped.lower()}%", escape="\\"))
    if tax_category_ids:
        query = query.where(Product.tax_category_id.in_(list(tax_category_ids)))
    if methods:
        query = query.where(_recognition_method(account_id).in_([m.value for m in methods]))
    return query


def recognition_methods(
    session: Session, account_id: str, product_ids: Collection[str]
) -> dict[str, RecognitionMethod]:
    """Each product's recognition method (the rule the filter uses), by id."""
    if not product_ids:
        return {}
    query = (
        scoped(Product, account_id)
        .with_only_columns(Product.id, _recognition_method(account_id))
        .where(Product.id.in_(list(product_ids)))
    )
    return {row[0]: RecognitionMethod(row[1]) for row in session.execute(query)}


def tax_category_names(
    session: Session, account_id: str, products: Collection[Product]
) -> dict[str, str]:
    """The name of each tax category the products name, by category id, in one query."""
    ids = {product.tax_category_id for product in products if product.tax_category_id}
    if not ids:
        return {}
    query = scoped(TaxCategory, account_id).where(TaxCategory.id.in_(ids))
    return {category.id: category.name for category in session.scalars(query)}
