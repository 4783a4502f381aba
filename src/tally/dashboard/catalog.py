"""The dashboard's catalog: the overview (products and their prices, usage and seat metrics,
tax rates), products and prices (every pricing type, tiers edited as a table). Metrics are
created in `catalog_metrics.py`, tax rates in `catalog_tax_rates.py`, edits in
`catalog_edit.py`.

Every form builds the API's own request model (`ProductIn`, `PriceIn`, `UsageMetricIn`,
`SeatMetricIn`, `TaxRateIn`/`TaxRateUpdate`) from its fields and calls the service the API
endpoint calls, so validation and rules are the API's; their errors are shown next to the
form (422, or 409 for a conflict) and nothing is saved. A saved form redirects (303) to a page
showing what was made. Tier tables offer a fixed number of rows; "Add tier rows" is a plain
submit that shows the form again with more.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from tally.api.deps import DbSession
from tally.api.types import Currency
from tally.catalog import prices as price_service
from tally.catalog import queries as catalog_queries
from tally.catalog import service as product_service
from tally.catalog.price_schemas import (
    OveragesFrequency,
    PriceIn,
    ProrationStrategy,
    parse_structure,
)
from tally.catalog.schemas import ProductIn
from tally.core.formatting import format_percent
from tally.dashboard.catalog_forms import (
    CATALOG,
    Location,
    Problems,
    catalog_page,
    checked,
    compact,
    default_field,
    failed,
    from_service,
    from_validation,
    notice,
    options,
    present,
)
from tally.dashboard.sessions import Viewer
from tally.dashboard.web import DashboardPageError, PostedForm, SignedInViewer
from tally.exceptions import Conflict, InvalidRequest, NotFound
from tally.metering import queries as metering_queries
from tally.models import (
    BillingFrequency,
    BillingType,
    Price,
    Product,
    SeatMetric,
    TaxRate,
    UsageMetric,
)
from tally.models.scoped import get_account
from tally.seats import queries as seat_queries
from tally.tax import queries as tax_queries

LIST_LIMIT = 200
TIER_ROWS = 6
TIER_ROWS_MORE = 3
ADVANCE_PRICING = ("FIXED", "ONE_TIME", "SEAT_BASED")
MAX_TIER_ROWS = 12  # a volume tier has 6 fields: 12 rows stay under the form's field limit

router = APIRouter(prefix=CATALOG, include_in_schema=False)

PRICING_LABELS = {
    "FIXED": "Fixed (every period)",
    "ONE_TIME": "One-time",
    "LINEAR": "Linear (per unit of usage)",
    "PACKAGE": "Package (per block of units)",
    "VOLUME": "Volume tiers",
    "GRADUATED": "Graduated tiers",
    "SEAT_BASED": "Seat-based",
}
TIER_FIELDS: dict[str, tuple[str, ...]] = {
    "VOLUME": ("upper_bound", "price", "fee", "is_price_percentage", "min_price", "max_price"),
    "GRADUATED": ("upper_bound", "price", "fee", "is_price_percentage"),
    "SEAT_BASED": ("upper_bound", "price", "fee"),
}
TIER_LABELS = {
    "upper_bound": "Up to (inclusive)",
    "price": "Price per unit",
    "fee": "Flat fee",
    "is_price_percentage": "Percentage",
    "min_price": "Min per event",
    "max_price": "Max per event",
}
_CAMEL_TIER = {
    "upper_bound": "upperBound",
    "price": "price",
    "fee": "fee",
    "is_price_percentage": "isPricePercentage",
    "min_price": "minPrice",
    "max_price": "maxPrice",
}
FREQUENCIES = [
    f.value
    for f in BillingFrequency
    if f not in (BillingFrequency.ON_DEMAND, BillingFrequency.PER_EVENT)
]


# --- reading ---------------------------------------------------------------------------------


def describe(price: Price) -> str:
    """A price's structure in a few words, e.g. `0.02 per unit` or `3 tiers`."""
    structure: Any = parse_structure(price.structure)
    kind = structure.pricing_type
    if kind in ("FIXED", "ONE_TIME"):
        return f"{structure.price} {price.currency}"
    if kind == "LINEAR":
        if structure.is_price_percentage:
            return f"{format_percent(structure.price_per_unit)} of usage"
        return f"{structure.price_per_unit} {price.currency} per unit"
    if kind == "PACKAGE":
        return f"{structure.price_per_package} {price.currency} per {structure.package_size} units"
    if kind == "SEAT_BASED":
        text = f"{structure.price_per_seat} {price.currency} per seat"
        return text + (f", {len(structure.tiers)} tiers" if structure.tiers else "")
    count = len(structure.tiers)
    return f"{count} tier{'s' if count != 1 else ''}"


def tier_rows(price: Price) -> list[dict[str, Any]]:
    structure: Any = parse_structure(price.structure)
    rows: list[dict[str, Any]] = []
    lower = Decimal(0)
    for tier in getattr(structure, "tiers", []):
        rows.append(
            {
                "from": lower,
                "to": tier.upper_bound,
                "price": tier.price,
                "fee": tier.fee,
                "percentage": getattr(tier, "is_price_percentage", False),
            }
        )
        lower = tier.upper_bound if tier.upper_bound is not None else lower
    return rows


def _usage_metrics(session: Session, account_id: str) -> list[UsageMetric]:
    return metering_queries.metrics(session, account_id, LIST_LIMIT)


def _seat_metrics(session: Session, account_id: str) -> list[SeatMetric]:
    return seat_queries.seat_metrics(session, account_id, LIST_LIMIT)


def _tax_rates(session: Session, account_id: str) -> list[TaxRate]:
    return tax_queries.tax_rates(session, account_id, limit=LIST_LIMIT)


@router.get("")
def overview(
    request: Request,
    viewer: SignedInViewer,
    session: DbSession,
    done: Annotated[str | None, Query()] = None,
) -> Response:
    products = catalog_queries.products(session, viewer.account_id, LIST_LIMIT)
    return catalog_page(
        request,
        "overview.html",
        viewer,
        notice=notice(done),
        products=products,
        prices=catalog_queries.prices_by_product(
            session, viewer.account_id, [p.id for p in products]
        ),
        usage_metrics=_usage_metrics(session, viewer.account_id),
        seat_metrics=_seat_metrics(session, viewer.account_id),
        tax_rates=_tax_rates(session, viewer.account_id),
        describe=describe,
    )


# --- products --------------------------------------------------------------------------------


@router.get("/products/new")
def new_product(request: Request, viewer: SignedInViewer) -> Response:
    return catalog_page(request, "product_form.html", viewer, values={}, errors=Problems())


@router.post("/products")
def create_product(request: Request, form: PostedForm, session: DbSession) -> Response:
    data = compact(
        {
            "name": present(form.get("name")),
            "label": present(form.get("label")),
        }
    )
    try:
        product = product_service.create_product(
            session, form.viewer.account_id, ProductIn.model_validate(data)
        )
    except ValidationError as invalid:
        errors = from_validation(invalid)
        return catalog_page(
            request, "product_form.html", form.viewer, 422, values=form.fields, errors=errors
        )
    return RedirectResponse(
        f"{CATALOG}/products/{product.id}?done=product-created", status_code=303
    )


def product_or_404(session: Session, account_id: str, product_id: str) -> Product:
    try:
        return product_service.get_product(session, account_id, product_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing


@router.get("/products/{product_id}")
def product_page(
    request: Request,
    product_id: str,
    viewer: SignedInViewer,
    session: DbSession,
    done: Annotated[str | None, Query()] = None,
) -> Response:
    product = product_or_404(session, viewer.account_id, product_id)
    product_prices = catalog_queries.prices_by_product(session, viewer.account_id, [product.id])[
        product.id
    ]
    return catalog_page(
        request,
        "product.html",
        viewer,
        notice=notice(done),
        product=product,
        prices=product_prices,
        describe=describe,
        tier_rows=tier_rows,
        pricing_labels=PRICING_LABELS,
    )


# --- prices ----------------------------------------------------------------------------------


def chosen_pricing_type(value: str | None) -> str:
    if value not in PRICING_LABELS:
        return "FIXED"
    return value


def price_form(
    request: Request,
    session: Session,
    viewer: Viewer,
    product: Product,
    pricing_type: str,
    values: dict[str, str],
    errors: Problems,
    rows: int,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    """The price form; the edit page passes the price (`price=`) and its statuses."""
    return catalog_page(
        request,
        "price_form.html",
        viewer,
        status,
        **extra,
        product=product,
        pricing_type=pricing_type,
        pricing_labels=PRICING_LABELS,
        values=values,
        errors=errors,
        rows=rows,
        more_rows=rows < MAX_TIER_ROWS,
        tier_fields=TIER_FIELDS.get(pricing_type, ()),
        tier_labels=TIER_LABELS,
        currencies=[(c.value, c.value) for c in Currency],
        frequencies=options(FREQUENCIES),
        billing_types=options([t.value for t in BillingType]),
        usage_metrics=[(m.id, m.name) for m in _usage_metrics(session, viewer.account_id)],
        seat_metrics=[
            (m.id, f"{m.label} ({m.seat_type})") for m in _seat_metrics(session, viewer.account_id)
        ],
        strategies=options([s.value for s in ProrationStrategy]),
        overages=options([o.value for o in OveragesFrequency]),
        calculation_modes=[
            ("BILLING_PERIOD", "The billing period's usage"),
            ("CUMULATIVE", "The running total"),
        ],
    )


@router.get("/products/{product_id}/prices/new")
def new_price(
    request: Request,
    product_id: str,
    viewer: SignedInViewer,
    session: DbSession,
    pricing_type: Annotated[str | None, Query(alias="type")] = None,
) -> Response:
    product = product_or_404(session, viewer.account_id, product_id)
    kind = chosen_pricing_type(pricing_type)
    values = {
        "currency": get_account(session, viewer.account_id).currency,  # its default currency
        "billing_frequency": "ONE_TIME" if kind == "ONE_TIME" else "MONTHLY",
        "billing_type": "IN_ADVANCE"
        if kind in ("FIXED", "ONE_TIME", "SEAT_BASED")
        else "IN_ARREARS",
    }
    return price_form(request, session, viewer, product, kind, values, Problems(), TIER_ROWS)


def _tiers(
    form_fields: dict[str, str], kind: str, rows: int
) -> tuple[list[dict[str, Any]], list[int]]:
    """The tier table's filled rows (in order) and the row number each came from."""
    names = TIER_FIELDS[kind]
    tiers: list[dict[str, Any]] = []
    kept: list[int] = []
    for row in range(rows):
        cells = {name: form_fields.get(f"tier-{row}-{name}", "") for name in names}
        if not any(cells[name].strip() for name in names if name != "is_price_percentage"):
            continue
        tier: dict[str, Any] = {}
        for name, value in cells.items():
            if name == "is_price_percentage":
                tier[_CAMEL_TIER[name]] = checked(value)
            elif value.strip():
                tier[_CAMEL_TIER[name]] = value.strip()
        tiers.append(tier)
        kept.append(row)
    return tiers, kept


def _structure(
    form_fields: dict[str, str], kind: str, tiers: list[dict[str, Any]]
) -> dict[str, Any]:
    def field(name: str) -> str | None:
        return present(form_fields.get(name, ""))

    structure: dict[str, Any] = {"pricingType": kind}
    if kind in ("FIXED", "ONE_TIME"):
        structure["price"] = field("price")
    elif kind == "LINEAR":
        structure["pricePerUnit"] = field("price_per_unit")
        structure["usageMetricId"] = field("usage_metric_id")
        structure["isPricePercentage"] = checked(form_fields.get("is_price_percentage", ""))
    elif kind == "PACKAGE":
        structure["packageSize"] = field("package_size")
        structure["pricePerPackage"] = field("price_per_package")
        structure["usageMetricId"] = field("usage_metric_id")
    elif kind == "VOLUME":
        structure["usageMetricId"] = field("usage_metric_id")
        structure["tiers"] = tiers
    elif kind == "GRADUATED":
        structure["usageMetricId"] = field("usage_metric_id")
        structure["usageCalculationMode"] = field("usage_calculation_mode")
        structure["tiers"] = tiers
    elif kind == "SEAT_BASED":
        structure["seatMetricId"] = field("seat_metric_id")
        structure["pricePerSeat"] = field("price_per_seat")
        structure["prorationStrategy"] = field("proration_strategy")
        structure["contractedMinimumSeats"] = field("contracted_minimum_seats")
        structure["overagesBillingFrequency"] = field("overages_billing_frequency")
        structure["prorateFlatFees"] = checked(form_fields.get("prorate_flat_fees", ""))
        structure["tiers"] = tiers
    return compact(structure)


def row_count(value: str) -> int:
    count = int(value) if value.isdecimal() else TIER_ROWS
    return max(TIER_ROWS, min(count, MAX_TIER_ROWS))


def price_data(
    form_fields: dict[str, str], product_id: str, kind: str, rows: int
) -> tuple[dict[str, Any], Callable[[Location], str]]:
    """The price form as a `PriceIn` body, and where each of its errors belongs on the form
    (the edit form reads its fields the same way)."""
    tiers, kept = _tiers(form_fields, kind, rows) if kind in TIER_FIELDS else ([], [])

    def to_field(loc: Location) -> str:
        parts = list(loc)
        if len(parts) >= 3 and parts[:2] == ["structure", "tiers"] and isinstance(parts[2], int):
            row = kept[parts[2]] if parts[2] < len(kept) else parts[2]
            name = default_field(parts[3:]) if len(parts) > 3 else "price"
            return f"tier-{row}-{name}"
        if parts == ["structure", "tiers"]:
            return "tiers"
        if parts == ["structure", "pricingType"]:
            return "pricing_type"
        return default_field(loc)

    def field(name: str) -> str | None:
        return present(form_fields.get(name, ""))

    data = compact(
        {
            "productId": product_id,
            "name": field("name"),
            "currency": present(form_fields.get("currency", "").upper()),
            "billingFrequency": field("billing_frequency"),
            "billingType": field("billing_type"),
            "structure": _structure(form_fields, kind, tiers),
        }
    )
    return data, to_field


@router.post("/products/{product_id}/prices")
def create_price(
    request: Request, product_id: str, form: PostedForm, session: DbSession
) -> Response:
    viewer = form.viewer
    product = product_or_404(session, viewer.account_id, product_id)
    kind = chosen_pricing_type(form.get("pricing_type"))
    rows = row_count(form.get("tier_rows"))
    if form.get("add_rows"):  # "Add tier rows": the same form again, longer; nothing saved
        rows = min(rows + TIER_ROWS_MORE, MAX_TIER_ROWS)
        return price_form(request, session, viewer, product, kind, form.fields, Problems(), rows)
    data, to_field = price_data(form.fields, product.id, kind, rows)
    try:
        price_service.create_price(session, viewer.account_id, PriceIn.model_validate(data))
    except ValidationError as invalid:
        errors = from_validation(invalid, to_field)
        return price_form(
            request, session, viewer, product, kind, form.fields, errors, rows, status=422
        )
    except (InvalidRequest, Conflict, NotFound) as refused:  # NotFound: a metric not ours
        status = failed(session, refused)
        errors = from_service(refused, to_field)
        return price_form(
            request, session, viewer, product, kind, form.fields, errors, rows, status=status
        )
    return RedirectResponse(f"{CATALOG}/products/{product.id}?done=price-created", status_code=303)
