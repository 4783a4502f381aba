"""Price request bodies for tests, valid by default, one structure per pricing type.

Metric ids are parameters: usage and seat structures must name a live metric of the account.
"""

from typing import Any

from tests.support.api_client import ApiClient


def price_body(product_id: str, structure: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "productId": product_id,
        "name": "Platform fee",
        "currency": "GBP",
        "billingFrequency": "MONTHLY",
        "billingType": "IN_ARREARS",
        "structure": structure,
        **overrides,
    }


def list_price_body(product_id: str, structure: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """Sequence's list price request (integrationIds and parameters are required there)."""
    return {
        **price_body(product_id, structure),
        "integrationIds": [],
        "customMetricParameters": [],
        **overrides,
    }


def one_time(price: str = "150.00") -> dict[str, Any]:
    return {"pricingType": "ONE_TIME", "price": price}


def fixed(price: str = "2500.00") -> dict[str, Any]:
    return {"pricingType": "FIXED", "price": price}


def linear(usage_metric_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "pricingType": "LINEAR",
        "pricePerUnit": "0.10",
        "usageMetricId": usage_metric_id,
        "isPricePercentage": False,
        **overrides,
    }


def package(usage_metric_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "pricingType": "PACKAGE",
        "packageSize": "250",
        "pricePerPackage": "10.00",
        "usageMetricId": usage_metric_id,
        **overrides,
    }


def volume(usage_metric_id: str, tiers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Sequence's VolumePriceRequest example: percentage tiers with per-event caps."""
    return {
        "pricingType": "VOLUME",
        "usageMetricId": usage_metric_id,
        "tiers": tiers
        if tiers is not None
        else [
            {
                "upperBound": "100",
                "price": "0.02",
                "fee": "50.00",
                "isPricePercentage": True,
                "minPrice": "1.00",
                "maxPrice": "10.00",
            },
            {
                "price": "0.01",
                "fee": "25.00",
                "isPricePercentage": True,
                "minPrice": "1.00",
                "maxPrice": "10.00",
            },
        ],
    }


def graduated(
    usage_metric_id: str, tiers: list[dict[str, Any]] | None = None, **overrides: Any
) -> dict[str, Any]:
    """Sequence's GraduatedPriceRequest example."""
    return {
        "pricingType": "GRADUATED",
        "usageMetricId": usage_metric_id,
        "usageCalculationMode": "BILLING_PERIOD",
        "tiers": tiers
        if tiers is not None
        else [
            {"upperBound": "200", "price": "1.00", "fee": "50.00", "isPricePercentage": False},
            {"upperBound": "400", "price": "0.75", "fee": "25.00", "isPricePercentage": False},
            {"price": "0.50", "fee": "0.00", "isPricePercentage": False},
        ],
        **overrides,
    }


def seat_based(seat_metric_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "pricingType": "SEAT_BASED",
        "seatMetricId": seat_metric_id,
        "pricePerSeat": "15.0",
        "prorationStrategy": "PRORATE_INCREMENTS",
        "contractedMinimumSeats": 0,
        "tiers": [],
        "overagesBillingFrequency": "NONE",
        "prorateFlatFees": False,
        **overrides,
    }


# --- the objects a price refers to ---------------------------------------------------------


def make_product(api: ApiClient, name: str = "Platform") -> str:
    response = api.post("/api/products", json={"name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def make_usage_metric(api: ApiClient, name: str = "API calls") -> str:
    body = {"name": name, "eventType": "api_call", "aggregationType": "COUNT"}
    response = api.post("/api/usage-metrics", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def make_seat_metric(api: ApiClient, seat_type: str = "editor") -> str:
    response = api.post("/api/seat-metrics", json={"seatType": seat_type, "label": "Editor"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def create_price(api: ApiClient, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/api/prices", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())
