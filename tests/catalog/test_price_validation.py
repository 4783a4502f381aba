"""POST /api/prices refuses what breaks a rule: 400 (404 for an unknown product or metric;
an archived product is a 400 `ArchivedReference`) in the error shape, naming the field, and
nothing is written."""

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.catalog.price_bodies import (
    create_price,
    fixed,
    graduated,
    linear,
    make_product,
    make_seat_metric,
    make_usage_metric,
    one_time,
    package,
    price_body,
    seat_based,
    volume,
)
from tests.support.api_client import ApiClient


class Ids:
    def __init__(self, product: str, usage_metric: str, seat_metric: str) -> None:
        self.product = product
        self.usage_metric = usage_metric
        self.seat_metric = seat_metric


@pytest.fixture
def ids(api: ApiClient) -> Ids:
    return Ids(make_product(api), make_usage_metric(api), make_seat_metric(api))


def price_count(api: ApiClient) -> int:
    return int(api.get("/api/prices").json()["pagination"]["totalResultSize"])


def refused(
    api: ApiClient, body: dict[str, Any], status: int = 400, error_type: str = "ValidationError"
) -> dict[str, Any]:
    """POST the body, expect `status` (a 400 of `error_type`), check nothing was written; the
    error body."""
    before = price_count(api)
    response = api.post("/api/prices", json=body)  # the client checks the error shape
    assert response.status_code == status, response.text
    assert price_count(api) == before
    error: dict[str, Any] = response.json()["error"]
    if status == 400:
        assert error["type"] == error_type
    return error


def fields(error: dict[str, Any]) -> list[str]:
    return [detail["field"] for detail in error.get("details", [])]


def tiers(*bounds: str | None, **extra: Any) -> list[dict[str, Any]]:
    result = []
    for bound in bounds:
        tier: dict[str, Any] = {"price": "1.00", **extra}
        if bound is not None:
            tier["upperBound"] = bound
        result.append(tier)
    return result


# --- the structure's shape -------------------------------------------------------------------

# name: (structure built from the ids, the field the error names, words of its message)
STRUCTURE_ERRORS: dict[str, tuple[Callable[[Ids], dict[str, Any]], str, str]] = {
    "pricingType missing": (lambda i: {"price": "1.00"}, "structure.pricingType", "one of"),
    "pricingType unknown": (
        lambda i: {"pricingType": "PERCENTAGE", "price": "1"},
        "structure.pricingType",
        "SEAT_BASED",
    ),
    "price missing": (lambda i: {"pricingType": "FIXED"}, "structure.price", ""),
    "price negative": (lambda i: fixed("-0.01"), "structure.price", "greater than or equal"),
    "price not a number": (lambda i: one_time("ten"), "structure.price", ""),
    "price as a JSON float": (
        lambda i: {"pricingType": "FIXED", "price": 0.1},
        "structure.price",
        "as strings",
    ),
    "price NaN": (lambda i: fixed("NaN"), "structure.price", ""),
    "price Infinity": (lambda i: fixed("Infinity"), "structure.price", ""),
    "price too precise": (lambda i: fixed("0.0000000000001"), "structure.price", "decimal"),
    "linear negative": (
        lambda i: linear(i.usage_metric, pricePerUnit="-1"),
        "structure.pricePerUnit",
        "",
    ),
    "linear percentage over 100 %": (
        lambda i: linear(i.usage_metric, pricePerUnit="2", isPricePercentage=True),
        "structure.pricePerUnit",
        "fraction",
    ),
    "linear without metric": (
        lambda i: {"pricingType": "LINEAR", "pricePerUnit": "1"},
        "structure.usageMetricId",
        "",
    ),
    "package size zero": (
        lambda i: package(i.usage_metric, packageSize="0"),
        "structure.packageSize",
        "greater than 0",
    ),
    "package size negative": (
        lambda i: package(i.usage_metric, packageSize="-250"),
        "structure.packageSize",
        "",
    ),
    "package price negative": (
        lambda i: package(i.usage_metric, pricePerPackage="-10"),
        "structure.pricePerPackage",
        "",
    ),
    "volume without tiers": (lambda i: volume(i.usage_metric, []), "structure.tiers", "at least"),
    "volume tiers missing": (
        lambda i: {"pricingType": "VOLUME", "usageMetricId": i.usage_metric},
        "structure.tiers",
        "",
    ),
    "volume last tier bounded": (
        lambda i: volume(i.usage_metric, tiers("100", "200")),
        "structure.tiers.1.upperBound",
        "open-ended",
    ),
    "volume single bounded tier": (
        lambda i: volume(i.usage_metric, tiers("100")),
        "structure.tiers.0.upperBound",
        "open-ended",
    ),
    "volume middle tier unbounded": (
        lambda i: volume(i.usage_metric, tiers("100", None, None)),
        "structure.tiers.1.upperBound",
        "needs an upperBound",
    ),
    "volume bounds descending": (
        lambda i: volume(i.usage_metric, tiers("100", "50", None)),
        "structure.tiers.1.upperBound",
        "rise strictly",
    ),
    "volume bounds repeated": (
        lambda i: volume(i.usage_metric, tiers("100", "100.0", None)),
        "structure.tiers.1.upperBound",
        "rise strictly",
    ),
    "volume bound zero": (
        lambda i: volume(i.usage_metric, tiers("0", None)),
        "structure.tiers.0.upperBound",
        "greater than 0",
    ),
    "volume bound negative": (
        lambda i: volume(i.usage_metric, tiers("-5", None)),
        "structure.tiers.0.upperBound",
        "greater than 0",
    ),
    "volume price negative": (
        lambda i: volume(i.usage_metric, [{"price": "-1"}]),
        "structure.tiers.0.price",
        "",
    ),
    "volume fee negative": (
        lambda i: volume(i.usage_metric, [{"price": "1", "fee": "-1"}]),
        "structure.tiers.0.fee",
        "",
    ),
    "volume minPrice negative": (
        lambda i: volume(
            i.usage_metric, [{"price": "0.1", "isPricePercentage": True, "minPrice": "-1"}]
        ),
        "structure.tiers.0.minPrice",
        "",
    ),
    "volume minPrice above maxPrice": (
        lambda i: volume(
            i.usage_metric,
            [{"price": "0.02", "isPricePercentage": True, "minPrice": "10", "maxPrice": "1"}],
        ),
        "structure.tiers.0.minPrice",
        "above maxPrice",
    ),
    "volume minPrice on an absolute tier": (
        lambda i: volume(i.usage_metric, [{"price": "2", "minPrice": "1"}]),
        "structure.tiers.0.minPrice",
        "percentage tiers",
    ),
    "volume maxPrice on an absolute tier": (
        lambda i: volume(
            i.usage_metric, [{"price": "2", "isPricePercentage": False, "maxPrice": "10"}]
        ),
        "structure.tiers.0.maxPrice",
        "percentage tiers",
    ),
    "volume percentage over 100 %": (
        lambda i: volume(i.usage_metric, [{"price": "1.5", "isPricePercentage": True}]),
        "structure.tiers.0.price",
        "fraction",
    ),
    "graduated PERIODIC without its period": (
        lambda i: graduated(i.usage_metric, usageCalculationMode="PERIODIC"),
        "usageCalculationPeriod",
        "PERIODIC",
    ),
    "graduated unknown mode": (
        lambda i: graduated(i.usage_metric, usageCalculationMode="DAILY"),
        "structure.usageCalculationMode",
        "",
    ),
    "graduated without tiers": (
        lambda i: graduated(i.usage_metric, []),
        "structure.tiers",
        "at least",
    ),
    "graduated bounds descending": (
        lambda i: graduated(i.usage_metric, tiers("1000", "2500", "2000", None)),
        "structure.tiers.2.upperBound",
        "rise strictly",
    ),
    "graduated fee negative": (
        lambda i: graduated(i.usage_metric, [{"price": "1", "fee": "-50"}]),
        "structure.tiers.0.fee",
        "",
    ),
    "graduated percentage over 100 %": (
        lambda i: graduated(i.usage_metric, [{"price": "5", "isPricePercentage": True}]),
        "structure.tiers.0.price",
        "fraction",
    ),
    "seats negative minimum": (
        lambda i: seat_based(i.seat_metric, contractedMinimumSeats=-1),
        "structure.contractedMinimumSeats",
        "",
    ),
    "seats price negative": (
        lambda i: seat_based(i.seat_metric, pricePerSeat="-15"),
        "structure.pricePerSeat",
        "",
    ),
    "seats proration missing": (
        lambda i: {k: v for k, v in seat_based(i.seat_metric).items() if k != "prorationStrategy"},
        "structure.prorationStrategy",
        "",
    ),
    "seats proration USE_FIRST": (
        lambda i: seat_based(i.seat_metric, prorationStrategy="USE_FIRST"),
        "structure.prorationStrategy",
        "",
    ),
    "seats overages WEEKLY": (
        lambda i: seat_based(i.seat_metric, overagesBillingFrequency="WEEKLY"),
        "structure.overagesBillingFrequency",
        "",
    ),
    "seats last tier bounded": (
        lambda i: seat_based(i.seat_metric, tiers=tiers("15")),
        "structure.tiers.0.upperBound",
        "open-ended",
    ),
    "seats tier fee negative": (
        lambda i: seat_based(i.seat_metric, tiers=[{"price": "12", "fee": "-1"}]),
        "structure.tiers.0.fee",
        "",
    ),
    "seats without metric": (
        lambda i: {k: v for k, v in seat_based(i.seat_metric).items() if k != "seatMetricId"},
        "structure.seatMetricId",
        "",
    ),
}


@pytest.mark.parametrize("case", STRUCTURE_ERRORS)
def test_invalid_structure_is_400_naming_the_field(api: ApiClient, ids: Ids, case: str) -> None:
    build, field, words = STRUCTURE_ERRORS[case]
    error = refused(api, price_body(ids.product, build(ids)))
    assert field in fields(error), error
    assert words in error["message"] or any(words in d["message"] for d in error["details"])


def test_every_error_is_reported(api: ApiClient, ids: Ids) -> None:
    body = price_body(
        ids.product,
        graduated(ids.usage_metric, [{"upperBound": "10", "price": "-1"}, {"price": "x"}]),
        currency="XYZ",
    )
    error = refused(api, body)
    assert {"currency", "structure.tiers.0.price", "structure.tiers.1.price"} <= set(fields(error))


# --- the rest of the body --------------------------------------------------------------------

FIELD_ERRORS: dict[str, tuple[dict[str, Any], str]] = {
    "currency unknown": ({"currency": "XXX"}, "currency"),
    "currency lower case": ({"currency": "gbp"}, "currency"),
    "name empty": ({"name": ""}, "name"),
    "name too long": ({"name": "x" * 501}, "name"),
    "billingType unknown": ({"billingType": "LATER"}, "billingType"),
    "billingFrequency unknown": ({"billingFrequency": "WEEKLY"}, "billingFrequency"),
    "status unknown": ({"status": "ARCHIVED"}, "status"),
    "integration service unknown": (
        {"integrationIds": [{"service": "MySpreadsheet", "id": "1"}]},
        "integrationIds.0.service",
    ),
    "usage period interval zero": (
        {"usageCalculationPeriod": {"frequency": "MONTHLY", "interval": 0}},
        "usageCalculationPeriod.interval",
    ),
}


@pytest.mark.parametrize("case", FIELD_ERRORS)
def test_invalid_field_is_400(api: ApiClient, ids: Ids, case: str) -> None:
    overrides, field = FIELD_ERRORS[case]
    error = refused(api, price_body(ids.product, fixed(), **overrides))
    assert field in fields(error), error


@pytest.mark.parametrize(
    "missing", ["productId", "name", "currency", "structure", "billingFrequency", "billingType"]
)
def test_required_field_missing_is_400(api: ApiClient, ids: Ids, missing: str) -> None:
    body = price_body(ids.product, fixed())
    del body[missing]
    assert missing in fields(refused(api, body))


def test_malformed_json_is_400(api: ApiClient) -> None:
    response = api.post(
        "/api/prices",
        content=b'{"name": "x", "structure": {"pricingType": "SEAT_BASED" "price": "1"}}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert price_count(api) == 0


# --- frequency and billing type --------------------------------------------------------------


@pytest.mark.parametrize("frequency", ["ON_DEMAND", "PER_EVENT"])
def test_usage_driven_frequencies_take_usage_prices_only(
    api: ApiClient, ids: Ids, frequency: str
) -> None:
    for structure in (fixed(), one_time(), seat_based(ids.seat_metric)):
        error = refused(api, price_body(ids.product, structure, billingFrequency=frequency))
        assert fields(error) == ["billingFrequency"]
        assert "LINEAR" in error["message"]


@pytest.mark.parametrize("kind", ["LINEAR", "PACKAGE", "VOLUME", "GRADUATED", "SEAT_BASED"])
def test_usage_and_seat_prices_need_a_recurring_frequency(
    api: ApiClient, ids: Ids, kind: str
) -> None:
    structure = {
        "LINEAR": linear(ids.usage_metric),
        "PACKAGE": package(ids.usage_metric),
        "VOLUME": volume(ids.usage_metric),
        "GRADUATED": graduated(ids.usage_metric),
        "SEAT_BASED": seat_based(ids.seat_metric),
    }[kind]
    error = refused(api, price_body(ids.product, structure, billingFrequency="ONE_TIME"))
    assert fields(error) == ["billingFrequency"]
    assert "recur" in error["message"]


@pytest.mark.parametrize("structure", [one_time(), fixed()], ids=["ONE_TIME", "FIXED"])
def test_one_time_frequency_fits_one_time_and_fixed_prices(
    api: ApiClient, ids: Ids, structure: dict[str, Any]
) -> None:
    for billing_type in ("IN_ADVANCE", "IN_ARREARS"):
        price = create_price(
            api,
            price_body(
                ids.product, structure, billingFrequency="ONE_TIME", billingType=billing_type
            ),
        )
        assert (price["billingFrequency"], price["billingType"]) == ("ONE_TIME", billing_type)


@pytest.mark.parametrize("kind", ["LINEAR", "PACKAGE", "VOLUME", "GRADUATED"])
def test_usage_prices_cannot_be_billed_in_advance(api: ApiClient, ids: Ids, kind: str) -> None:
    structure = {
        "LINEAR": linear(ids.usage_metric),
        "PACKAGE": package(ids.usage_metric),
        "VOLUME": volume(ids.usage_metric),
        "GRADUATED": graduated(ids.usage_metric),
    }[kind]
    error = refused(api, price_body(ids.product, structure, billingType="IN_ADVANCE"))
    assert fields(error) == ["billingType"]
    assert "credits" in error["message"]


def test_seat_prices_can_be_billed_in_advance(api: ApiClient, ids: Ids) -> None:
    price = create_price(
        api, price_body(ids.product, seat_based(ids.seat_metric), billingType="IN_ADVANCE")
    )
    assert price["billingType"] == "IN_ADVANCE"


# --- what the body refers to -----------------------------------------------------------------


def test_unknown_product_is_404(api: ApiClient, ids: Ids) -> None:
    error = refused(api, price_body(str(uuid.uuid4()), fixed()), status=404)
    assert error["type"] == "NotFound"


def test_archived_product_is_refused_as_an_archived_reference(api: ApiClient, ids: Ids) -> None:
    assert api.post(f"/api/products/{ids.product}/archive").status_code == 200
    error = refused(api, price_body(ids.product, fixed()), error_type="ArchivedReference")
    assert "archived" in error["message"]


def test_unknown_metrics_are_404_naming_the_field(api: ApiClient, ids: Ids) -> None:
    unknown = str(uuid.uuid4())
    for structure, field in (
        (linear(unknown), "structure.usageMetricId"),
        (package(unknown), "structure.usageMetricId"),
        (volume(unknown), "structure.usageMetricId"),
        (graduated(unknown), "structure.usageMetricId"),
        (seat_based(unknown), "structure.seatMetricId"),
        # A metric of the other kind is no better.
        (linear(ids.seat_metric), "structure.usageMetricId"),
        (seat_based(ids.usage_metric), "structure.seatMetricId"),
    ):
        error = refused(api, price_body(ids.product, structure), status=404)
        assert fields(error) == [field]


def test_deleted_metrics_are_404(api: ApiClient, ids: Ids) -> None:
    assert api.delete(f"/api/usage-metrics/{ids.usage_metric}").status_code == 200
    assert api.delete(f"/api/seat-metrics/{ids.seat_metric}").status_code == 200
    error = refused(api, price_body(ids.product, graduated(ids.usage_metric)), status=404)
    assert fields(error) == ["structure.usageMetricId"]
    error = refused(api, price_body(ids.product, seat_based(ids.seat_metric)), status=404)
    assert fields(error) == ["structure.seatMetricId"]


def test_another_accounts_product_and_metrics_are_unknown(
    api: ApiClient, other_api: ApiClient, ids: Ids
) -> None:
    mine = make_product(other_api, "Theirs")
    # Their product: 404, as an unknown one.
    error = refused(other_api, price_body(ids.product, fixed()), status=404)
    assert error["type"] == "NotFound"
    # Their metrics, on my product: 404, as unknown ones.
    error = refused(other_api, price_body(mine, linear(ids.usage_metric)), status=404)
    assert fields(error) == ["structure.usageMetricId"]
    error = refused(other_api, price_body(mine, seat_based(ids.seat_metric)), status=404)
    assert fields(error) == ["structure.seatMetricId"]
    assert price_count(api) == 0
