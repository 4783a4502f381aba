"""Editing the catalog from the dashboard: a product (PUT's fields, archive) and a price (the
create form prefilled). Saved through the API's models and services, so the API reads back the
edit; a price's name and status change in place, other pricing replaces the price (refused
while a schedule bills it). Invalid or refused edits answer 4xx and change nothing, another
account's ids are 404 pages, a form without CSRF is refused."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.dashboard.helpers import page_token
from tests.factories import new_customer_id
from tests.schedules.helpers import created, schedule_body
from tests.support.api_client import ApiClient

CATALOG = "/dashboard/catalog"


def post(dashboard: TestClient, path: str, data: dict[str, str]) -> Any:
    return dashboard.post(path, data={"csrf_token": page_token(dashboard, CATALOG), **data})


def new_product(api: ApiClient, **fields: Any) -> str:
    body = {"name": "Analytics", "label": "Core", "taxCategoryId": "cat-1", **fields}
    return str(created(api.post("/api/products", json=body))["id"])


def usage_metric(api: ApiClient) -> str:
    body = {"name": "API calls", "eventType": "api_call", "aggregationType": "COUNT"}
    return str(created(api.post("/api/usage-metrics", json=body))["id"])


def graduated_price(api: ApiClient, product_id: str, metric_id: str, **fields: Any) -> str:
    body = {
        "productId": product_id,
        "name": "API calls",
        "currency": "GBP",
        "billingFrequency": "MONTHLY",
        "billingType": "IN_ARREARS",
        "structure": {
            "pricingType": "GRADUATED",
            "usageMetricId": metric_id,
            "tiers": [
                {"upperBound": "1000", "price": "0.10"},
                {"price": "0.05", "fee": "5"},
            ],
        },
        **fields,
    }
    return str(created(api.post("/api/prices", json=body))["id"])


def fixed_price(api: ApiClient, product_id: str) -> str:
    body = {
        "productId": product_id,
        "name": "Platform fee",
        "currency": "GBP",
        "billingFrequency": "MONTHLY",
        "billingType": "IN_ADVANCE",
        "structure": {"pricingType": "FIXED", "price": "100.00"},
    }
    return str(created(api.post("/api/prices", json=body))["id"])


def prices_of(api: ApiClient, product_id: str) -> list[dict[str, Any]]:
    answer = api.get(f"/api/prices?productId={product_id}&limit=100")
    assert answer.status_code == 200
    return list(answer.json()["items"])


def graduated_fields(metric_id: str, **changes: str) -> dict[str, str]:
    """The price form as `graduated_price` prefills it, with `changes`."""
    return {
        "pricing_type": "GRADUATED",
        "tier_rows": "6",
        "name": "API calls",
        "status": "ACTIVE",
        "currency": "GBP",
        "billing_frequency": "MONTHLY",
        "billing_type": "IN_ARREARS",
        "usage_metric_id": metric_id,
        "usage_calculation_mode": "BILLING_PERIOD",
        "tier-0-upper_bound": "1000",
        "tier-0-price": "0.10",
        "tier-1-price": "0.05",
        "tier-1-fee": "5",
        **changes,
    }


def tier_cell(name: str, value: str) -> str:
    """A tier table's input as the form prints it, with its value."""
    return f'name="{name}" id="{name}" size="8" inputmode="decimal" value="{value}"'


# --- products --------------------------------------------------------------------------------


def test_editing_a_product_replaces_its_fields_as_the_api_does(
    dashboard: TestClient, api: ApiClient
) -> None:
    product_id = new_product(api)
    form = dashboard.get(f"{CATALOG}/products/{product_id}/edit")
    assert form.status_code == 200
    assert "Edit product" in form.text
    assert 'value="Analytics"' in form.text and 'value="cat-1"' in form.text
    assert (
        f'href="{CATALOG}/products/{product_id}/edit"'
        in dashboard.get(f"{CATALOG}/products/{product_id}").text
    )

    answer = post(
        dashboard,
        f"{CATALOG}/products/{product_id}/edit",
        {"name": "Analytics Pro", "label": "", "tax_category_id": "cat-2"},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{CATALOG}/products/{product_id}?done=product-updated"
    product = api.get(f"/api/products/{product_id}").json()
    assert (product["name"], product.get("label"), product["taxCategoryId"]) == (
        "Analytics Pro",
        None,  # PUT replaces: a label left empty is cleared
        "cat-2",
    )
    shown = dashboard.get(answer.headers["location"])
    assert "Product saved." in shown.text and "Analytics Pro" in shown.text


def test_an_invalid_product_edit_is_refused_and_nothing_changes(
    dashboard: TestClient, api: ApiClient
) -> None:
    product_id = new_product(api)
    before = api.get(f"/api/products/{product_id}").json()
    answer = post(
        dashboard,
        f"{CATALOG}/products/{product_id}/edit",
        {"name": " ", "label": "x" * 501, "tax_category_id": ""},
    )
    assert answer.status_code == 422
    assert 'id="name-error"' in answer.text and 'id="label-error"' in answer.text
    assert "at most 500 characters" in answer.text
    assert api.get(f"/api/products/{product_id}").json() == before


def test_archiving_a_product_after_confirming(dashboard: TestClient, api: ApiClient) -> None:
    product_id = new_product(api)
    confirm = dashboard.get(f"{CATALOG}/products/{product_id}/archive")
    assert confirm.status_code == 200
    assert "takes no new prices" in confirm.text and "cannot be undone" in confirm.text
    answer = post(dashboard, f"{CATALOG}/products/{product_id}/archive", {})
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("?done=product-archived")
    assert api.get(f"/api/products/{product_id}").json()["archivedAt"]
    shown = dashboard.get(answer.headers["location"])
    assert "Product archived" in shown.text and "Add a price" not in shown.text
    # The API's own rule, through the dashboard's create form: no new prices.
    refused = post(
        dashboard,
        f"{CATALOG}/products/{product_id}/prices",
        {
            "pricing_type": "FIXED",
            "name": "Late",
            "currency": "GBP",
            "billing_frequency": "MONTHLY",
            "billing_type": "IN_ADVANCE",
            "price": "1",
        },
    )
    assert refused.status_code == 409 and "archived" in refused.text
    assert prices_of(api, product_id) == []


# --- prices ----------------------------------------------------------------------------------


def test_the_price_form_comes_prefilled_with_its_tiers(
    dashboard: TestClient, api: ApiClient
) -> None:
    product_id = new_product(api)
    price_id = graduated_price(api, product_id, usage_metric(api))
    product_page = dashboard.get(f"{CATALOG}/products/{product_id}")
    assert f'href="{CATALOG}/prices/{price_id}/edit"' in product_page.text

    form = dashboard.get(f"{CATALOG}/prices/{price_id}/edit")
    assert form.status_code == 200
    assert "Edit price: API calls" in form.text
    assert f'action="{CATALOG}/prices/{price_id}/edit"' in form.text
    assert tier_cell("tier-0-upper_bound", "1000") in form.text
    assert tier_cell("tier-0-price", "0.10") in form.text
    assert tier_cell("tier-1-fee", "5") in form.text
    assert tier_cell("tier-2-price", "") in form.text  # a row for one more tier
    assert '<option value="ACTIVE" selected>' in form.text


def test_renaming_a_price_keeps_it_and_its_pricing(dashboard: TestClient, api: ApiClient) -> None:
    product_id = new_product(api)
    metric_id = usage_metric(api)
    price_id = graduated_price(api, product_id, metric_id)
    before = api.get(f"/api/prices/{price_id}").json()
    # "0.1" is the stored "0.10": the same pricing, so PUT's semantics (name and status).
    fields = graduated_fields(
        metric_id, name="API requests", status="DRAFT", **{"tier-0-price": "0.1"}
    )
    answer = post(dashboard, f"{CATALOG}/prices/{price_id}/edit", fields)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{CATALOG}/products/{product_id}?done=price-updated"
    after = api.get(f"/api/prices/{price_id}").json()
    assert (after["name"], after["status"]) == ("API requests", "DRAFT")
    assert after["structure"] == before["structure"]
    assert "Price saved." in dashboard.get(answer.headers["location"]).text


def test_changing_a_prices_tiers_replaces_it(dashboard: TestClient, api: ApiClient) -> None:
    product_id = new_product(api)
    metric_id = usage_metric(api)
    integration = [{"service": "Xero", "id": "xero-42"}]
    price_id = graduated_price(api, product_id, metric_id, integrationIds=integration)
    fields = graduated_fields(
        metric_id,
        **{
            "tier-0-upper_bound": "500",
            "tier-1-upper_bound": "5000",
            "tier-1-fee": "",
            "tier-2-price": "0.01",
        },
    )
    answer = post(dashboard, f"{CATALOG}/prices/{price_id}/edit", fields)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{CATALOG}/products/{product_id}?done=price-replaced"
    assert api.get(f"/api/prices/{price_id}").status_code == 404
    [price] = prices_of(api, product_id)
    assert price["name"] == "API calls" and price["id"] != price_id
    assert price["structure"]["tiers"] == [
        {"upperBound": "500", "price": "0.10", "isPricePercentage": False},
        {"upperBound": "5000", "price": "0.05", "isPricePercentage": False},
        {"price": "0.01", "isPricePercentage": False},
    ]
    # What the form does not show is carried over to the new price.
    assert [(i["service"], i["id"]) for i in price["integrationIds"]] == [("Xero", "xero-42")]
    shown = dashboard.get(answer.headers["location"])
    assert "Price replaced" in shown.text and "3 tiers" in shown.text


def test_another_pricing_type_replaces_the_price(dashboard: TestClient, api: ApiClient) -> None:
    product_id = new_product(api)
    price_id = fixed_price(api, product_id)
    form = dashboard.get(f"{CATALOG}/prices/{price_id}/edit?type=ONE_TIME")
    assert form.status_code == 200
    assert (
        'value="Platform fee"' in form.text and 'name="pricing_type" value="ONE_TIME"' in form.text
    )
    fields = {
        "pricing_type": "ONE_TIME",
        "name": "Setup fee",
        "status": "ACTIVE",
        "currency": "GBP",
        "billing_frequency": "ONE_TIME",
        "billing_type": "IN_ADVANCE",
        "price": "250",
    }
    answer = post(dashboard, f"{CATALOG}/prices/{price_id}/edit", fields)
    assert answer.status_code == 303, answer.text
    [price] = prices_of(api, product_id)
    assert price["structure"] == {"pricingType": "ONE_TIME", "price": "250"}
    assert (price["name"], price["billingFrequency"]) == ("Setup fee", "ONE_TIME")


def test_an_invalid_tier_table_is_refused_and_nothing_changes(
    dashboard: TestClient, api: ApiClient
) -> None:
    product_id = new_product(api)
    metric_id = usage_metric(api)
    price_id = graduated_price(api, product_id, metric_id)
    before = api.get(f"/api/prices/{price_id}").json()
    # Upper bounds must rise: 2000 then 1500 is refused by the API's model, at that cell.
    fields = graduated_fields(
        metric_id,
        **{"tier-0-upper_bound": "2000", "tier-1-upper_bound": "1500", "tier-2-price": "0.01"},
    )
    answer = post(dashboard, f"{CATALOG}/prices/{price_id}/edit", fields)
    assert answer.status_code == 422
    assert 'id="tier-1-upper_bound-error"' in answer.text
    assert "upper bounds must rise strictly" in answer.text
    assert 'value="1500"' in answer.text  # the form keeps what was typed
    assert prices_of(api, product_id) == [before]


def test_a_price_a_schedule_bills_keeps_its_pricing(dashboard: TestClient, api: ApiClient) -> None:
    product_id = new_product(api)
    metric_id = usage_metric(api)
    price_id = graduated_price(api, product_id, metric_id)
    customer_id = new_customer_id(api)
    created(api.post("/api/billing-schedules", json=schedule_body(customer_id, [price_id])))
    before = api.get(f"/api/prices/{price_id}").json()

    refused = post(
        dashboard,
        f"{CATALOG}/prices/{price_id}/edit",
        graduated_fields(metric_id, **{"tier-0-upper_bound": "750"}),
    )
    assert refused.status_code == 409
    assert "is billed by a billing schedule phase" in refused.text  # the API's refusal
    assert prices_of(api, product_id) == [before]

    renamed = post(
        dashboard, f"{CATALOG}/prices/{price_id}/edit", graduated_fields(metric_id, name="Calls")
    )
    assert renamed.status_code == 303
    assert api.get(f"/api/prices/{price_id}").json()["name"] == "Calls"


def test_add_tier_rows_saves_nothing(dashboard: TestClient, api: ApiClient) -> None:
    product_id = new_product(api)
    metric_id = usage_metric(api)
    price_id = graduated_price(api, product_id, metric_id)
    before = api.get(f"/api/prices/{price_id}").json()
    fields = graduated_fields(metric_id, name="Renamed", add_rows="1")
    answer = post(dashboard, f"{CATALOG}/prices/{price_id}/edit", fields)
    assert answer.status_code == 200
    assert 'name="tier-8-price"' in answer.text and 'value="Renamed"' in answer.text
    assert api.get(f"/api/prices/{price_id}").json() == before


# --- isolation and CSRF ----------------------------------------------------------------------


def test_another_accounts_product_and_price_are_not_found(
    dashboard: TestClient, api: ApiClient, other_api: ApiClient
) -> None:
    product_id = new_product(other_api)
    price_id = fixed_price(other_api, product_id)
    product_before = other_api.get(f"/api/products/{product_id}").json()
    price_before = other_api.get(f"/api/prices/{price_id}").json()
    for path in (
        f"/products/{product_id}/edit",
        f"/products/{product_id}/archive",
        f"/prices/{price_id}/edit",
    ):
        assert dashboard.get(CATALOG + path).status_code == 404
    fields = {"name": "Mine now", "pricing_type": "FIXED", "currency": "GBP", "price": "1"}
    for path in (
        f"/products/{product_id}/edit",
        f"/products/{product_id}/archive",
        f"/prices/{price_id}/edit",
    ):
        answer = post(dashboard, CATALOG + path, fields)
        assert answer.status_code == 404
        assert "belongs to another account" in answer.text
    assert other_api.get(f"/api/products/{product_id}").json() == product_before
    assert other_api.get(f"/api/prices/{price_id}").json() == price_before


@pytest.mark.parametrize("action", ["/edit", "/archive"])
def test_a_product_form_without_the_csrf_token_changes_nothing(
    dashboard: TestClient, api: ApiClient, action: str
) -> None:
    product_id = new_product(api)
    before = api.get(f"/api/products/{product_id}").json()
    answer = dashboard.post(f"{CATALOG}/products/{product_id}{action}", data={"name": "Forged"})
    assert answer.status_code == 403
    assert api.get(f"/api/products/{product_id}").json() == before


def test_a_price_edit_without_the_csrf_token_changes_nothing(
    dashboard: TestClient, api: ApiClient
) -> None:
    product_id = new_product(api)
    metric_id = usage_metric(api)
    price_id = graduated_price(api, product_id, metric_id)
    before = api.get(f"/api/prices/{price_id}").json()
    fields = graduated_fields(metric_id, name="Forged", **{"tier-0-upper_bound": "10"})
    answer = dashboard.post(f"{CATALOG}/prices/{price_id}/edit", data=fields)
    assert answer.status_code == 403
    assert prices_of(api, product_id) == [before]
