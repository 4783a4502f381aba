"""The dashboard's catalog: products and prices of every pricing type (tiers as a table),
usage metrics, seat metrics and tax rates with their versions, made through the API's own
models and services: the API reads back what the dashboard made, an invalid form answers 4xx
and saves nothing, another account's ids are 404 pages, a form without CSRF is refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tally.db import Database
from tests.conftest import make_account
from tests.dashboard.helpers import Merchant, page_token
from tests.support.api_client import ApiClient

CATALOG = "/dashboard/catalog"


def post(dashboard: TestClient, path: str, data: dict[str, str]) -> Any:
    token = page_token(dashboard, CATALOG)
    return dashboard.post(path, data={"csrf_token": token, **data})


def create_product(dashboard: TestClient, name: str = "Analytics") -> str:
    answer = post(dashboard, f"{CATALOG}/products", {"name": name, "label": "Core"})
    assert answer.status_code == 303, answer.text
    found = re.fullmatch(
        rf"{CATALOG}/products/([^?]+)\?done=product-created", answer.headers["location"]
    )
    assert found
    return found.group(1)


def usage_metric(api: ApiClient, name: str = "API calls") -> str:
    answer = api.post(
        "/api/usage-metrics",
        json={"name": name, "eventType": f"call-{name}", "aggregationType": "COUNT"},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def api_prices(api: ApiClient, product_id: str) -> list[dict[str, Any]]:
    answer = api.get(f"/api/prices?productId={product_id}&limit=100")
    assert answer.status_code == 200
    return list(answer.json()["items"])


# --- overview and products -------------------------------------------------------------------


def test_the_overview_lists_the_accounts_catalog_only(
    dashboard: TestClient, api: ApiClient, database: Database
) -> None:
    product_id = create_product(dashboard, "Data warehouse")
    usage_metric(api, "Rows scanned")
    other = make_account(database, "Another merchant")
    other_api = ApiClient(api.client, (other.api_key, other.api_secret))
    assert other_api.post("/api/products", json={"name": "Secret product"}).status_code == 201

    page = dashboard.get(CATALOG)
    assert page.status_code == 200
    assert 'aria-current="page">Catalog<' in page.text
    assert "Data warehouse" in page.text and f"/products/{product_id}" in page.text
    assert "Rows scanned" in page.text
    assert "Secret product" not in page.text


def test_creating_a_product_goes_through_the_api_model(
    dashboard: TestClient, api: ApiClient
) -> None:
    product_id = create_product(dashboard, "Storage")
    shown = dashboard.get(f"{CATALOG}/products/{product_id}?done=product-created")
    assert shown.status_code == 200
    assert "Product created." in shown.text and "Storage" in shown.text
    product = api.get(f"/api/products/{product_id}").json()
    assert (product["name"], product["label"]) == ("Storage", "Core")


def test_a_product_without_a_name_is_refused_and_nothing_is_saved(
    dashboard: TestClient, api: ApiClient
) -> None:
    before = api.get("/api/products?limit=100").json()["pagination"]["totalResultSize"]
    answer = post(dashboard, f"{CATALOG}/products", {"name": "  ", "label": "x"})
    assert answer.status_code == 422
    assert 'role="alert"' in answer.text and "Name: fill this in" in answer.text
    after = api.get("/api/products?limit=100").json()["pagination"]["totalResultSize"]
    assert after == before


def test_another_accounts_product_is_not_found(
    dashboard: TestClient, api: ApiClient, database: Database
) -> None:
    other = make_account(database, "Another merchant")
    other_api = ApiClient(api.client, (other.api_key, other.api_secret))
    product_id = other_api.post("/api/products", json={"name": "Theirs"}).json()["id"]
    assert dashboard.get(f"{CATALOG}/products/{product_id}").status_code == 404
    assert dashboard.get(f"{CATALOG}/products/{product_id}/prices/new").status_code == 404
    answer = post(
        dashboard,
        f"{CATALOG}/products/{product_id}/prices",
        {"pricing_type": "FIXED", "name": "Sneaky", "currency": "USD", "price": "1"},
    )
    assert answer.status_code == 404
    assert other_api.get(f"/api/prices?productId={product_id}").json()["items"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/products",
        "/usage-metrics",
        "/seat-metrics",
        "/tax-rates",
    ],
)
def test_a_form_without_the_csrf_token_changes_nothing(
    dashboard: TestClient, api: ApiClient, path: str
) -> None:
    before = api.get(f"/api{path}?limit=100").json()["pagination"]["totalResultSize"]
    answer = dashboard.post(f"{CATALOG}{path}", data={"name": "Forged", "label": "x"})
    assert answer.status_code == 403
    after = api.get(f"/api{path}?limit=100").json()["pagination"]["totalResultSize"]
    assert after == before


def test_a_price_form_without_the_csrf_token_changes_nothing(
    dashboard: TestClient, api: ApiClient
) -> None:
    product_id = create_product(dashboard)
    answer = dashboard.post(
        f"{CATALOG}/products/{product_id}/prices",
        data={"pricing_type": "FIXED", "name": "Forged", "currency": "USD", "price": "1"},
    )
    assert answer.status_code == 403
    assert api_prices(api, product_id) == []


# --- prices ----------------------------------------------------------------------------------


def test_a_fixed_price(dashboard: TestClient, api: ApiClient) -> None:
    product_id = create_product(dashboard)
    form = dashboard.get(f"{CATALOG}/products/{product_id}/prices/new?type=FIXED")
    assert form.status_code == 200 and "New price: Fixed" in form.text
    answer = post(
        dashboard,
        f"{CATALOG}/products/{product_id}/prices",
        {
            "pricing_type": "FIXED",
            "name": "Platform fee",
            "currency": "EUR",
            "billing_frequency": "MONTHLY",
            "billing_type": "IN_ADVANCE",
            "price": "99.50",
        },
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{CATALOG}/products/{product_id}?done=price-created"
    [price] = api_prices(api, product_id)
    assert price["name"] == "Platform fee" and price["currency"] == "EUR"
    assert price["structure"] == {"pricingType": "FIXED", "price": "99.50"}
    shown = dashboard.get(answer.headers["location"])
    assert "Price created." in shown.text and "99.50 EUR" in shown.text


def test_a_linear_price_and_the_apis_rules_about_it(dashboard: TestClient, api: ApiClient) -> None:
    product_id = create_product(dashboard)
    metric_id = usage_metric(api, "Linear calls")
    fields = {
        "pricing_type": "LINEAR",
        "name": "Per call",
        "currency": "USD",
        "billing_frequency": "MONTHLY",
        "billing_type": "IN_ADVANCE",  # usage prices are billed in arrears
        "usage_metric_id": metric_id,
        "price_per_unit": "0.002",
    }
    path = f"{CATALOG}/products/{product_id}/prices"
    refused = post(dashboard, path, fields)
    assert refused.status_code == 422
    assert "IN_ARREARS" in refused.text
    assert 'id="billing_type-error"' in refused.text
    assert 'value="0.002"' in refused.text  # the form keeps what was typed
    assert api_prices(api, product_id) == []

    answer = post(dashboard, path, {**fields, "billing_type": "IN_ARREARS"})
    assert answer.status_code == 303, answer.text
    [price] = api_prices(api, product_id)
    assert price["structure"] == {
        "pricingType": "LINEAR",
        "pricePerUnit": "0.002",
        "usageMetricId": metric_id,
        "isPricePercentage": False,
    }


def test_a_price_on_another_accounts_metric_is_refused_by_the_service(
    dashboard: TestClient, api: ApiClient, database: Database
) -> None:
    product_id = create_product(dashboard)
    other = make_account(database, "Another merchant")
    other_metric = usage_metric(ApiClient(api.client, (other.api_key, other.api_secret)), "X")
    answer = post(
        dashboard,
        f"{CATALOG}/products/{product_id}/prices",
        {
            "pricing_type": "PACKAGE",
            "name": "Blocks",
            "currency": "USD",
            "billing_frequency": "MONTHLY",
            "billing_type": "IN_ARREARS",
            "usage_metric_id": other_metric,
            "package_size": "100",
            "price_per_package": "5",
        },
    )
    assert answer.status_code == 422
    assert "Usage metric" in answer.text and "not found" in answer.text
    assert api_prices(api, product_id) == []


def graduated_fields(metric_id: str, rows: dict[int, tuple[str, str, str]]) -> dict[str, str]:
    fields = {
        "pricing_type": "GRADUATED",
        "name": "Graduated calls",
        "currency": "USD",
        "billing_frequency": "MONTHLY",
        "billing_type": "IN_ARREARS",
        "usage_metric_id": metric_id,
        "usage_calculation_mode": "BILLING_PERIOD",
        "tier_rows": "6",
    }
    for row, (upper, price, fee) in rows.items():
        fields |= {f"tier-{row}-upper_bound": upper, f"tier-{row}-price": price}
        fields[f"tier-{row}-fee"] = fee
    return fields


def test_a_graduated_price_from_the_tier_table(dashboard: TestClient, api: ApiClient) -> None:
    product_id = create_product(dashboard)
    metric_id = usage_metric(api, "Graduated calls")
    form = dashboard.get(f"{CATALOG}/products/{product_id}/prices/new?type=GRADUATED")
    assert form.text.count('name="tier-') == 6 * 4  # six empty rows of four cells
    # Rows 0 and 2 filled, row 1 left empty: empty rows are skipped.
    fields = graduated_fields(metric_id, {0: ("1000", "0.10", ""), 2: ("", "0.05", "20")})
    answer = post(dashboard, f"{CATALOG}/products/{product_id}/prices", fields)
    assert answer.status_code == 303, answer.text
    [price] = api_prices(api, product_id)
    assert price["structure"]["tiers"] == [
        {"upperBound": "1000", "price": "0.10", "isPricePercentage": False},
        {"price": "0.05", "fee": "20", "isPricePercentage": False},
    ]
    shown = dashboard.get(f"{CATALOG}/products/{product_id}")
    assert "2 tiers" in shown.text and "and above" in shown.text


def test_a_tier_error_is_shown_on_its_row(dashboard: TestClient, api: ApiClient) -> None:
    product_id = create_product(dashboard)
    metric_id = usage_metric(api, "Bad tiers")
    # Row 3's upper bound is below row 1's.
    fields = graduated_fields(
        metric_id, {1: ("1000", "0.10", ""), 3: ("500", "0.08", ""), 4: ("", "0.05", "")}
    )
    answer = post(dashboard, f"{CATALOG}/products/{product_id}/prices", fields)
    assert answer.status_code == 422
    assert 'id="tier-3-upper_bound-error"' in answer.text
    assert "upper bounds must rise strictly" in answer.text
    assert api_prices(api, product_id) == []


def test_add_tier_rows_shows_the_form_again_with_more_rows_and_saves_nothing(
    dashboard: TestClient, api: ApiClient
) -> None:
    product_id = create_product(dashboard)
    metric_id = usage_metric(api, "Volume calls")
    fields = {
        "pricing_type": "VOLUME",
        "name": "Volume",
        "currency": "USD",
        "tier_rows": "6",
        "usage_metric_id": metric_id,
        "tier-0-upper_bound": "10",
        "tier-0-price": "1",
        "add_rows": "1",
    }
    answer = post(dashboard, f"{CATALOG}/products/{product_id}/prices", fields)
    assert answer.status_code == 200
    assert 'name="tier_rows" value="9"' in answer.text
    assert answer.text.count('name="tier-') == 9 * 6
    assert 'value="10"' in answer.text
    assert api_prices(api, product_id) == []


def test_a_seat_based_price(dashboard: TestClient, api: ApiClient) -> None:
    product_id = create_product(dashboard)
    seat_metric = api.post("/api/seat-metrics", json={"seatType": "editor", "label": "Editors"})
    seat_metric_id = seat_metric.json()["id"] if seat_metric.status_code == 201 else None
    if seat_metric_id is None:  # the run shares its database: the type may exist already
        items = api.get("/api/seat-metrics?limit=100").json()["items"]
        seat_metric_id = next(m["id"] for m in items if m["seatType"] == "editor")
    answer = post(
        dashboard,
        f"{CATALOG}/products/{product_id}/prices",
        {
            "pricing_type": "SEAT_BASED",
            "name": "Seats",
            "currency": "USD",
            "billing_frequency": "MONTHLY",
            "billing_type": "IN_ADVANCE",
            "seat_metric_id": seat_metric_id,
            "price_per_seat": "12",
            "proration_strategy": "PRORATE_ALL_CHANGES",
            "contracted_minimum_seats": "5",
            "overages_billing_frequency": "NONE",
            "tier_rows": "6",
        },
    )
    assert answer.status_code == 303, answer.text
    [price] = api_prices(api, product_id)
    structure = price["structure"]
    assert (structure["pricePerSeat"], structure["contractedMinimumSeats"]) == ("12", 5)
    assert structure["tiers"] == []


# --- usage and seat metrics ------------------------------------------------------------------


def test_usage_metrics(dashboard: TestClient, api: ApiClient) -> None:
    assert dashboard.get(f"{CATALOG}/usage-metrics/new").status_code == 200
    fields = {
        "name": "GB stored",
        "event_type": "storage",
        "aggregation_type": "SUM",
        "aggregation_property": "",
        "unit": "GB",
    }
    refused = post(dashboard, f"{CATALOG}/usage-metrics", fields)
    assert refused.status_code == 422 and "aggregationProperty" in refused.text
    assert api.get("/api/usage-metrics?name=GB stored").json()["items"] == []

    answer = post(dashboard, f"{CATALOG}/usage-metrics", {**fields, "aggregation_property": "gb"})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{CATALOG}?done=usage-metric-created"
    [metric] = api.get("/api/usage-metrics?name=GB stored").json()["items"]
    assert (metric["aggregationType"], metric["aggregationProperty"]) == ("SUM", "gb")

    duplicate = post(dashboard, f"{CATALOG}/usage-metrics", {**fields, "aggregation_property": "x"})
    assert duplicate.status_code == 409 and "already exists" in duplicate.text


def test_seat_metrics(dashboard: TestClient, api: ApiClient, merchant: Merchant) -> None:
    assert dashboard.get(f"{CATALOG}/seat-metrics/new").status_code == 200
    refused = post(dashboard, f"{CATALOG}/seat-metrics", {"seat_type": "Not Snake", "label": "X"})
    assert refused.status_code == 422 and 'id="seat_type-error"' in refused.text
    seat_type = "viewer_" + merchant.user_id[-8:].lower().replace("-", "")
    answer = post(dashboard, f"{CATALOG}/seat-metrics", {"seat_type": seat_type, "label": "V"})
    assert answer.status_code == 303
    seat_types = [m["seatType"] for m in api.get("/api/seat-metrics?limit=100").json()["items"]]
    assert seat_type in seat_types
    assert seat_type in dashboard.get(CATALOG).text


# --- tax rates -------------------------------------------------------------------------------

TAX = {
    "name": "UK VAT",
    "invoice_name": "VAT",
    "invoice_short_name": "VAT",
    "amount": "0.2",
    "country": "gb",
    "is_published": "on",
}


def create_tax_rate(dashboard: TestClient) -> str:
    answer = post(dashboard, f"{CATALOG}/tax-rates", TAX)
    assert answer.status_code == 303, answer.text
    found = re.fullmatch(
        rf"{CATALOG}/tax-rates/([^?]+)\?done=tax-rate-created", answer.headers["location"]
    )
    assert found
    return found.group(1)


def test_tax_rates_and_their_versions(dashboard: TestClient, api: ApiClient) -> None:
    assert dashboard.get(f"{CATALOG}/tax-rates/new").status_code == 200
    tax_rate_id = create_tax_rate(dashboard)
    rate = api.get(f"/api/tax-rates/{tax_rate_id}").json()
    assert (rate["amount"], rate["country"], rate["version"]) == ("0.2", "GB", 0)

    path = f"{CATALOG}/tax-rates/{tax_rate_id}"
    answer = post(dashboard, path, {**TAX, "amount": "0.175"})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{path}?done=tax-rate-updated"
    versions = api.get(f"/api/tax-rates/{tax_rate_id}/versions").json()["items"]
    assert [(v["version"], v["amount"]) for v in versions] == [(0, "0.2"), (1, "0.175")]
    page = dashboard.get(answer.headers["location"])
    assert page.status_code == 200 and "<td>17.5%</td>" in page.text and "<td>20%</td>" in page.text
    assert 'data-version="1"' in page.text and 'data-version="0"' in page.text


def test_an_invalid_tax_rate_changes_nothing(dashboard: TestClient, api: ApiClient) -> None:
    tax_rate_id = create_tax_rate(dashboard)
    refused = post(dashboard, f"{CATALOG}/tax-rates/{tax_rate_id}", {**TAX, "amount": "1.5"})
    assert refused.status_code == 422 and 'id="amount-error"' in refused.text
    assert api.get(f"/api/tax-rates/{tax_rate_id}").json()["version"] == 0
    before = api.get("/api/tax-rates?limit=100").json()["pagination"]["totalResultSize"]
    refused = post(dashboard, f"{CATALOG}/tax-rates", {**TAX, "country": "ZZ"})
    assert refused.status_code == 422 and 'id="country-error"' in refused.text
    after = api.get("/api/tax-rates?limit=100").json()["pagination"]["totalResultSize"]
    assert after == before


def test_another_accounts_tax_rate_is_not_found(
    dashboard: TestClient, api: ApiClient, database: Database, account: Credentials
) -> None:
    other = make_account(database, "Another merchant")
    other_api = ApiClient(api.client, (other.api_key, other.api_secret))
    body = {
        "isPublished": True,
        "name": "Theirs",
        "invoiceName": "T",
        "invoiceShortName": "T",
        "amount": "0.1",
        "country": "DE",
    }
    tax_rate_id = other_api.post("/api/tax-rates", json=body).json()["id"]
    assert dashboard.get(f"{CATALOG}/tax-rates/{tax_rate_id}").status_code == 404
    answer = post(dashboard, f"{CATALOG}/tax-rates/{tax_rate_id}", TAX)
    assert answer.status_code == 404
    assert other_api.get(f"/api/tax-rates/{tax_rate_id}").json()["version"] == 0
    forged = dashboard.post(f"{CATALOG}/tax-rates/{tax_rate_id}", data=TAX)
    assert forged.status_code == 403
