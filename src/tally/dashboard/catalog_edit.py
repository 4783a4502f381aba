"""Edit pages of the catalog: a product (name, label, tax category; archive) and a price.

A product's form builds the API's `ProductIn` and calls `update_product`, as PUT
/api/products/{id} does: every field is replaced, so a label left empty is cleared. Archiving
calls `archive_product`, as POST /api/products/{id}/archive does; the API has no unarchive.

A price's form is the create form of `catalog.py`, prefilled, read by the same function into
the API's `PriceIn`. PUT /api/prices/{id} changes a price's name and status only (invoices and
schedules rely on the rest), so:
- a form whose pricing is the price's own is saved through `PriceUpdate` and `update_price`;
- a form with other pricing replaces the price as an API client would: DELETE /api/prices/{id}
  (`delete_price`, which refuses a price a schedule phase bills) then POST /api/prices
  (`create_price`), in one transaction, so a refusal changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from tally.api.deps import DbSession
from tally.catalog import prices as price_service
from tally.catalog import service as product_service
from tally.catalog.price_schemas import PriceIn, PriceUpdate, parse_structure
from tally.catalog.schemas import ProductIn
from tally.dashboard.catalog import (
    ADVANCE_PRICING,
    MAX_TIER_ROWS,
    TIER_ROWS,
    TIER_ROWS_MORE,
    chosen_pricing_type,
    price_data,
    price_form,
    product_or_404,
    row_count,
)
from tally.dashboard.catalog_forms import (
    CATALOG,
    Problems,
    catalog_page,
    compact,
    failed,
    from_service,
    from_validation,
    options,
    present,
    snake,
)
from tally.dashboard.sessions import Viewer
from tally.dashboard.web import DashboardPageError, PostedForm, SignedInViewer
from tally.exceptions import Conflict, InvalidRequest, NotFound
from tally.models import Price, PriceStatus

STATUSES = options([status.value for status in PriceStatus])

router = APIRouter(prefix=CATALOG, include_in_schema=False)


# --- products --------------------------------------------------------------------------------


@router.get("/products/{product_id}/edit")
def edit_product_form(
    request: Request, product_id: str, viewer: SignedInViewer, session: DbSession
) -> Response:
    product = product_or_404(session, viewer.account_id, product_id)
    values = {
        "name": product.name,
        "label": product.label or "",
        "tax_category_id": product.tax_category_id or "",
    }
    return catalog_page(
        request, "product_form.html", viewer, product=product, values=values, errors=Problems()
    )


@router.post("/products/{product_id}/edit")
def edit_product(
    request: Request, product_id: str, form: PostedForm, session: DbSession
) -> Response:
    viewer = form.viewer
    product = product_or_404(session, viewer.account_id, product_id)
    data = compact(
        {
            "name": present(form.get("name")),
            "label": present(form.get("label")),
            "taxCategoryId": present(form.get("tax_category_id")),
        }
    )
    try:
        body = ProductIn.model_validate(data)
        product_service.update_product(session, viewer.account_id, product.id, body)
    except ValidationError as invalid:
        errors = from_validation(invalid)
        return catalog_page(
            request,
            "product_form.html",
            viewer,
            422,
            product=product,
            values=form.fields,
            errors=errors,
        )
    return RedirectResponse(
        f"{CATALOG}/products/{product.id}?done=product-updated", status_code=303
    )


@router.get("/products/{product_id}/archive")
def confirm_archive_product(
    request: Request, product_id: str, viewer: SignedInViewer, session: DbSession
) -> Response:
    product = product_or_404(session, viewer.account_id, product_id)
    return catalog_page(request, "product_archive.html", viewer, product=product)


@router.post("/products/{product_id}/archive")
def archive_product(product_id: str, form: PostedForm, session: DbSession) -> Response:
    try:
        product = product_service.archive_product(session, form.viewer.account_id, product_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing
    return RedirectResponse(
        f"{CATALOG}/products/{product.id}?done=product-archived", status_code=303
    )


# --- prices ----------------------------------------------------------------------------------


def _price(session: Session, account_id: str, price_id: str) -> Price:
    try:
        return price_service.get_price(session, account_id, price_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing


def _form_value(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else ""
    return "" if value is None else str(value)


def price_values(price: Price) -> tuple[dict[str, str], int]:
    """The price as the form's fields, and how many tiers it has. The stored structure is
    the API's camelCase JSON: its names are the form's, in snake case."""
    values = {
        "name": price.name,
        "status": price.status.value,
        "currency": price.currency,
        "billing_frequency": price.billing_frequency.value,
        "billing_type": price.billing_type.value,
    }
    tiers: list[dict[str, Any]] = price.structure.get("tiers", [])
    for key, value in price.structure.items():
        if key not in ("pricingType", "tiers"):
            values[snake(key)] = _form_value(value)
    for row, tier in enumerate(tiers):
        for key, value in tier.items():
            values[f"tier-{row}-{snake(key)}"] = _form_value(value)
    return values, len(tiers)


def _edit_form(
    request: Request,
    session: Session,
    viewer: Viewer,
    price: Price,
    kind: str,
    values: dict[str, str],
    errors: Problems,
    rows: int,
    status: int = 200,
) -> HTMLResponse:
    product = product_or_404(session, viewer.account_id, price.product_id)
    return price_form(
        request,
        session,
        viewer,
        product,
        kind,
        values,
        errors,
        rows,
        status,
        price=price,
        statuses=STATUSES,
    )


@router.get("/prices/{price_id}/edit")
def edit_price_form(
    request: Request,
    price_id: str,
    viewer: SignedInViewer,
    session: DbSession,
    pricing_type: Annotated[str | None, Query(alias="type")] = None,
) -> Response:
    price = _price(session, viewer.account_id, price_id)
    values, tier_count = price_values(price)
    if tier_count > MAX_TIER_ROWS:
        raise DashboardPageError(
            409,
            "Too many tiers for this form",
            f"This price has {tier_count} tiers, more than the dashboard's tier table holds "
            f"({MAX_TIER_ROWS}). Change it through the API.",
        )
    kind = chosen_pricing_type(pricing_type or price.pricing_type)
    if kind != price.pricing_type:  # another type: its own fields start empty
        values = {name: values[name] for name in ("name", "status", "currency")}
        values["billing_frequency"] = "ONE_TIME" if kind == "ONE_TIME" else "MONTHLY"
        values["billing_type"] = "IN_ADVANCE" if kind in ADVANCE_PRICING else "IN_ARREARS"
        tier_count = 0
    rows = min(max(TIER_ROWS, tier_count + 1), MAX_TIER_ROWS)  # room for one more tier
    return _edit_form(request, session, viewer, price, kind, values, Problems(), rows)


def _kept_settings(price: Price) -> dict[str, Any]:
    """What the form does not show, carried over to a replacing price as it is."""
    return compact(
        {
            "integrationIds": price.integration_ids,
            "customMetricParameters": price.custom_metric_parameters,
            "listPriceId": price.list_price_id,
            "usageCalculationPeriod": price.usage_calculation_period,
        }
    )


def _same_pricing(price: Price, body: PriceIn) -> bool:
    # Compared as models, so "15.0" and "15.00" are the same amount.
    return (
        body.currency.value == price.currency
        and body.billing_frequency == price.billing_frequency
        and body.billing_type == price.billing_type
        and body.structure == parse_structure(price.structure)
    )


def _save(session: Session, account_id: str, price: Price, body: PriceIn) -> str:
    """Save the edit as the API would take it; the notice to show."""
    if _same_pricing(price, body):
        update = PriceUpdate.model_validate({"name": body.name, "status": body.status})
        price_service.update_price(session, account_id, price.id, update)
        return "price-updated"
    price_service.delete_price(session, account_id, price.id)
    price_service.create_price(session, account_id, body)
    return "price-replaced"


@router.post("/prices/{price_id}/edit")
def edit_price(request: Request, price_id: str, form: PostedForm, session: DbSession) -> Response:
    viewer = form.viewer
    price = _price(session, viewer.account_id, price_id)
    product_id = price.product_id
    kind = chosen_pricing_type(form.get("pricing_type"))
    rows = row_count(form.get("tier_rows"))
    if form.get("add_rows"):  # "Add tier rows": the same form again, longer; nothing saved
        rows = min(rows + TIER_ROWS_MORE, MAX_TIER_ROWS)
        return _edit_form(request, session, viewer, price, kind, form.fields, Problems(), rows)
    data, to_field = price_data(form.fields, product_id, kind, rows)
    data.update(_kept_settings(price), status=present(form.get("status")) or price.status.value)
    try:
        done = _save(session, viewer.account_id, price, PriceIn.model_validate(data))
    except ValidationError as invalid:
        errors = from_validation(invalid, to_field)
        return _edit_form(request, session, viewer, price, kind, form.fields, errors, rows, 422)
    except (InvalidRequest, Conflict) as refused:
        status = failed(session, refused)
        errors = from_service(refused, to_field)
        return _edit_form(request, session, viewer, price, kind, form.fields, errors, rows, status)
    return RedirectResponse(f"{CATALOG}/products/{product_id}?done={done}", status_code=303)
