"""Prices on CUSTOM metrics, end to end: `customMetricParameters` bind the metric's
parameters for one price, and invoices bill the expression's value with them."""

from decimal import Decimal
from typing import Any

from tally.exceptions import Conflict
from tests.billing.helpers import Merchant, amounts
from tests.catalog.price_bodies import graduated, linear, make_product, price_body
from tests.metering.helpers import event, send
from tests.metering.test_custom_metrics import STORAGE
from tests.support.api_client import ApiClient


def _storage_metric(api: ApiClient) -> dict[str, Any]:
    response = api.post("/api/usage-metrics", json=STORAGE)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _readings(api: ApiClient, alias: str) -> None:
    """January's daily peaks: 8, 12.5 and 4 GB: 24.5 GB-days."""
    readings = [("01", "8"), ("01", "3"), ("02", "12.5"), ("02", "1"), ("05", "4")]
    send(api, *(event(alias, f"2024-01-{d}T10:00:00Z", "storage", gb=gb) for d, gb in readings))


def test_each_price_bills_the_metric_with_its_own_parameter_values(api: ApiClient) -> None:
    """24.5 GB-days at $2: with the default 10 included, 14.5 x 2 = $29.00; a price that
    includes 20 bills 4.5 x 2 = $9.00; on graduated tiers (first 5 at $1, then $3), the
    default's 14.5 are 5 + 9.5 x 3 = $33.50."""
    merchant = Merchant(api, currency="USD")
    metric = _storage_metric(api)
    parameter = metric["parameters"][0]["id"]
    default = merchant.price(linear(metric["id"], pricePerUnit="2"), name="Storage")
    bound = merchant.price(
        linear(metric["id"], pricePerUnit="2"),
        name="Storage (20 included)",
        customMetricParameters=[{"parameterId": parameter, "value": "20"}],
    )
    tiers = [{"upperBound": "5", "price": "1"}, {"price": "3"}]
    tiered = merchant.price(graduated(metric["id"], tiers), name="Storage tiers")
    assert api.get(f"/api/prices/{bound}").json()["customMetricParameters"] == [
        {"parameterId": parameter, "value": "20"}
    ]
    customer = merchant.customer(customerAliases=["acme-storage"])
    _readings(api, "acme-storage")
    schedule = merchant.schedule(customer, [default, bound, tiered], "2024-01-01", taxed=False)
    merchant.bill("2024-02-01")
    january = merchant.invoice_for(schedule["id"], "2024-01-01")
    assert amounts(january) == {
        "Storage": Decimal("29.00"),
        "Storage (20 included)": Decimal("9.00"),
        "Storage tiers": Decimal("33.50"),
    }
    quantities = {line["title"]: Decimal(line["quantity"]) for line in january["lineItems"]}
    assert quantities["Storage (20 included)"] == Decimal("4.5")


def test_parameters_are_checked_against_the_prices_metric(api: ApiClient) -> None:
    merchant = Merchant(api, currency="USD")
    metric = _storage_metric(api)
    parameter = metric["parameters"][0]["id"]
    other = api.post("/api/usage-metrics", json={**STORAGE, "name": "Other"}).json()
    counted = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    product = merchant.product_id
    cases = [
        (
            linear(counted),
            [{"parameterId": parameter, "value": "1"}],
            "customMetricParameters",
        ),
        (
            linear(metric["id"]),
            [{"parameterId": parameter, "value": "-3"}],
            "customMetricParameters.0.value",
        ),
        (
            linear(metric["id"]),
            [{"parameterId": other["parameters"][0]["id"], "value": "1"}],
            "customMetricParameters.0.parameterId",
        ),
        (
            linear(metric["id"]),
            [{"parameterId": parameter, "value": "1"}, {"parameterId": parameter, "value": "2"}],
            "customMetricParameters.1.parameterId",
        ),
    ]
    for structure, bound, field in cases:
        body = price_body(product, structure, customMetricParameters=bound)
        response = api.post("/api/prices", json=body)
        assert response.status_code == 400, response.text
        assert [d["field"] for d in response.json()["error"]["details"]] == [field]
    assert api.get("/api/prices").json()["pagination"]["totalResultSize"] == 0


def test_another_accounts_parameter_is_not_found(api: ApiClient, other_api: ApiClient) -> None:
    mine = _storage_metric(api)
    theirs = _storage_metric(other_api)
    body = price_body(
        make_product(api),
        linear(mine["id"]),
        customMetricParameters=[{"parameterId": theirs["parameters"][0]["id"], "value": "1"}],
    )
    response = api.post("/api/prices", json=body)
    assert response.status_code == 404, response.text
    assert response.json()["error"]["details"][0]["field"] == (
        "customMetricParameters.0.parameterId"
    )
    assert api.get("/api/prices").json()["pagination"]["totalResultSize"] == 0


def test_a_parameter_a_price_binds_stays(api: ApiClient) -> None:
    merchant = Merchant(api, currency="USD")
    metric = _storage_metric(api)
    parameter = metric["parameters"][0]["id"]
    price = merchant.price(
        linear(metric["id"]), customMetricParameters=[{"parameterId": parameter, "value": "3"}]
    )
    unchanged = api.get(f"/api/usage-metrics/{metric['id']}").json()
    plain = {k: v for k, v in STORAGE.items() if k not in ("expression", "parameters")}
    for body in (
        {**STORAGE, "parameters": [], "expression": "SUM_BY_DAY(MAX(event.gb))"},
        {**plain, "aggregationType": "SUM", "aggregationProperty": "gb"},
    ):
        refused = api.put(f"/api/usage-metrics/{metric['id']}", json=body)
        assert refused.status_code == Conflict.status_code, refused.text
        assert price in refused.json()["error"]["message"]
    assert api.get(f"/api/usage-metrics/{metric['id']}").json() == unchanged
    kept = api.put(f"/api/usage-metrics/{metric['id']}", json={**STORAGE, "unit": "GB"})
    assert kept.status_code == 200, kept.text
    assert kept.json()["parameters"][0]["id"] == parameter
