"""Prices: how a product is charged. The structure's shape is checked by `price_schemas`;
this module checks what it refers to (product, usage or seat metric) in the caller's account.
"""

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.api import references
from tally.catalog.price_schemas import (
    PriceIn,
    PriceUpdate,
    VolumePricingStructure,
    structure_document,
)
from tally.catalog.queries import price_query
from tally.core.clock import utcnow
from tally.exceptions import ArchivedReference, InvalidRequest, NotFound, ReferenceInUse
from tally.metering.schemas import parameter_value
from tally.models import (
    AggregationType,
    BillingFrequency,
    ListPrice,
    PhasePrice,
    Price,
    Product,
    SeatMetric,
    UsageMetric,
    UsageMetricParameter,
)


def get_price(session: Session, account_id: str, price_id: str) -> Price:
    price = session.scalar(price_query(account_id).where(Price.id == price_id))
    if price is None:
        raise NotFound.resource("Price", price_id)
    return price


def check_terms(session: Session, account_id: str, data: PriceIn) -> Product:
    """What a price (or a list price, as the price it makes) names is the account's (404
    naming the field) and fits together (400); its product, which takes no new prices once
    archived."""
    product = references.resolve_one(session, account_id, Product, "productId", data.product_id)
    structure = data.structure
    seat_metric_id = getattr(structure, "seat_metric_id", None)
    check_usage_terms(session, account_id, data)
    if seat_metric_id is not None:
        field = "structure.seatMetricId"
        references.resolve_one(session, account_id, SeatMetric, field, seat_metric_id)
    if data.list_price_id is not None:  # the list price it is a variant of
        references.resolve_one(session, account_id, ListPrice, "listPriceId", data.list_price_id)
    if product.archived_at is not None:
        raise ArchivedReference(f"Product {product.id!r} is archived and takes no new prices")
    return product


def create_price(session: Session, account_id: str, data: PriceIn) -> Price:
    product = check_terms(session, account_id, data)
    structure = data.structure
    usage_metric_id = getattr(structure, "usage_metric_id", None)
    seat_metric_id = getattr(structure, "seat_metric_id", None)
    price = Price(
        account_id=account_id,
        product_id=product.id,
        name=data.name,
        currency=data.currency.value,
        billing_frequency=data.billing_frequency,
        billing_type=data.billing_type,
        pricing_type=structure.pricing_type,
        structure=structure_document(structure),
        usage_metric_id=usage_metric_id,
        seat_metric_id=seat_metric_id,
        usage_calculation_period=(
            data.usage_calculation_period.model_dump(mode="json", by_alias=True)
            if data.usage_calculation_period is not None
            else None
        ),
        integration_ids=[item.model_dump(mode="json") for item in data.integration_ids],
        custom_metric_parameters=[
            item.model_dump(mode="json", by_alias=True) for item in data.custom_metric_parameters
        ],
        list_price_id=data.list_price_id,
        status=data.status,
    )
    session.add(price)
    session.flush()
    return price


def check_usage_terms(session: Session, account_id: str, data: PriceIn) -> None:
    """The price's usage metric and the metric parameters it binds are the account's (404
    naming the field), and fit: what a price and a list price (its variants' terms) share."""
    usage_metric_id = getattr(data.structure, "usage_metric_id", None)
    metric = None
    if usage_metric_id is not None:
        field = "structure.usageMetricId"
        metric = references.resolve_one(session, account_id, UsageMetric, field, usage_metric_id)
    named = [
        (f"customMetricParameters.{index}.parameterId", bound.parameter_id)
        for index, bound in enumerate(data.custom_metric_parameters)
    ]
    parameters = references.resolve(session, account_id, UsageMetricParameter, named)
    if metric is not None:
        _check_per_event(data, metric)
    _check_parameters(data, metric, parameters)


def _check_per_event(data: PriceIn, metric: UsageMetric) -> None:
    """A PER_EVENT price charges each event's own value: its metric must have one (a count,
    1 per event, or a sum of a property)."""
    per_event = (AggregationType.COUNT, AggregationType.SUM)
    if data.billing_frequency is BillingFrequency.PER_EVENT and (
        metric.aggregation_type not in per_event
    ):
        raise InvalidRequest.field(
            "structure.usageMetricId",
            f"a PER_EVENT price charges each event on its own: its metric must COUNT events "
            f"or SUM a property, not {metric.aggregation_type.value}",
        )


def _check_parameters(
    data: PriceIn, metric: UsageMetric | None, parameters: dict[str, UsageMetricParameter]
) -> None:
    """`customMetricParameters` bind the parameters of the price's CUSTOM metric, each once,
    each to a value of its type; nothing else takes them."""
    custom = metric is not None and metric.aggregation_type is AggregationType.CUSTOM
    structure = data.structure
    if (
        custom
        and isinstance(structure, VolumePricingStructure)
        and any(t.min_price is not None or t.max_price is not None for t in structure.tiers)
    ):
        raise InvalidRequest.field(
            "structure.usageMetricId",
            "per-event minPrice and maxPrice price each event's value: a CUSTOM metric "
            "has none (use a SUM metric)",
        )
    if not data.custom_metric_parameters:
        return
    if not custom:
        raise InvalidRequest.field(
            "customMetricParameters", "only prices on a CUSTOM usage metric take parameters"
        )
    seen: set[str] = set()
    for index, bound in enumerate(data.custom_metric_parameters):
        parameter = parameters[bound.parameter_id]
        field = f"customMetricParameters.{index}"
        assert metric is not None
        if parameter.usage_metric_id != metric.id or bound.parameter_id in seen:
            raise InvalidRequest.field(
                f"{field}.parameterId",
                f"name each parameter of the price's metric {metric.name!r} at most once",
            )
        seen.add(bound.parameter_id)
        if parameter_value(parameter.type, bound.value) is None:
            raise InvalidRequest.field(
                f"{field}.value", f"{parameter.name} takes a {parameter.type.value} value"
            )


def update_price(session: Session, account_id: str, price_id: str, data: PriceUpdate) -> Price:
    """Only the name and status change: invoices and schedules rely on the rest."""
    price = get_price(session, account_id, price_id)
    before = {"name": price.name, "status": price.status}
    price.name = data.name
    if data.status is not None:
        price.status = data.status
    session.flush()
    if changes := activity.changed(before, {"name": price.name, "status": price.status}):
        summary = f"Price {price.name!r}: " + ", ".join(change["field"] for change in changes)
        _log(session, price, "UPDATED", "Price updated", summary, changes)
    return price


def _log(
    session: Session,
    price: Price,
    verb: str,
    name: str,
    summary: str,
    changes: list[dict[str, object]],
) -> None:
    activity.record(
        session,
        price.account_id,
        verb=verb,
        object_type="PRICE",
        object_id=price.id,
        name=name,
        summary=summary,
        changes=changes,
        target_type="PRODUCT",
        target_id=price.product_id,
    )


def delete_price(session: Session, account_id: str, price_id: str) -> Price:
    """Soft delete, refused while a billing schedule phase bills the price.

    The row is locked first (PostgreSQL), so a delete and a phase attaching the price do not
    both go through when the schedule side locks the prices it attaches as well.
    """
    price = session.scalar(
        price_query(account_id).where(Price.id == price_id).with_for_update(of=Price)
    )
    if price is None:
        raise NotFound.resource("Price", price_id)
    in_use = select(exists().where(PhasePrice.price_id == price.id))
    if session.scalar(in_use):
        raise ReferenceInUse(f"Price {price.id!r} is billed by a billing schedule phase")
    price.deleted_at = utcnow()
    session.flush()
    changes = activity.changed({"deletedAt": None}, {"deletedAt": price.deleted_at})
    summary = f"Price {price.name!r} ({price.currency}, {price.pricing_type.value}) deleted"
    _log(session, price, "DELETED", "Price deleted", summary, changes)
    return price
