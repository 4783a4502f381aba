"""GET /billing-products: products with prices, each with them and how revenue is recognised."""

from typing import Any

from tests.catalog.price_bodies import fixed, linear, one_time, price_body
from tests.factories import product_body
from tests.metering.helpers import create_metric
from tests.schedules.helpers import created, ok
from tests.support.api_client import ApiClient


def _product(api: ApiClient, name: str, **fields: Any) -> str:
    return str(created(api.post("/api/products", json=product_body(name=name, **fields)))["id"])


def _price(api: ApiClient, product_id: str, structure: dict[str, Any], **fields: Any) -> str:
    return str(
        created(api.post("/api/prices", json=price_body(product_id, structure, **fields)))["id"]
    )


def _listed(api: ApiClient, **params: Any) -> dict[str, dict[str, Any]]:
    page = ok(api.get("/api/billing-products", params=params))
    return {item["name"]: item for item in page["items"]}


def test_products_with_prices_are_listed_with_them(api: ApiClient) -> None:
    metric = create_metric(api, name="Calls", eventType="call", aggregationType="COUNT")["id"]
    platform = _product(api, "Platform", taxCategoryId="saas")
    calls = _product(api, "API calls")
    setup = _product(api, "Setup")
    _product(api, "Unpriced")
    gone = _product(api, "Retired")
    platform_fee = _price(api, platform, fixed())
    _price(api, calls, fixed(), name="Access")
    _price(api, calls, linear(metric), name="Calls")
    _price(api, setup, one_time(), billingFrequency="ONE_TIME", billingType="IN_ADVANCE")
    retired = _price(api, gone, fixed())
    ok(api.delete(f"/api/prices/{retired}"))

    listed = _listed(api)
    assert set(listed) == {"Platform", "API calls", "Setup"}
    assert [p["id"] for p in listed["Platform"]["prices"]] == [platform_fee]
    assert [p["name"] for p in listed["API calls"]["prices"]] == ["Access", "Calls"]
    methods = {name: item["recognitionMethod"] for name, item in listed.items()}
    assert methods == {"Platform": "STRAIGHT_LINE", "API calls": "USAGE", "Setup": "POINT_IN_TIME"}
    assert listed["Platform"]["label"]  # required by Sequence: the name when none was given

    assert set(_listed(api, name="api")) == {"API calls"}
    assert set(_listed(api, taxCategoryId="saas,other")) == {"Platform"}
    assert set(_listed(api, recognitionMethod="USAGE,POINT_IN_TIME")) == {"API calls", "Setup"}
    assert set(_listed(api, recognitionMethod="MILESTONE")) == set()
    page = ok(api.get("/api/billing-products", params={"limit": 2}))
    assert len(page["items"]) == 2 and page["pagination"]["totalResultSize"] == 3


def test_bad_filters_are_refused(api: ApiClient) -> None:
    response = api.get("/api/billing-products", params={"recognitionMethod": "LINEAR"})
    assert response.status_code == 400
    assert "recognitionMethod" in response.text
    response = api.get("/api/billing-products", params={"productId": "x"})
    assert response.status_code == 400
    assert "productId" in response.text


def test_another_accounts_products_are_not_listed(api: ApiClient, other_api: ApiClient) -> None:
    _price(other_api, _product(other_api, "Theirs"), fixed())
    _price(api, _product(api, "Mine"), fixed())
    assert set(_listed(api)) == {"Mine"}
    assert set(_listed(other_api)) == {"Theirs"}


def test_a_product_shows_its_tax_categorys_name(api: ApiClient, other_api: ApiClient) -> None:
    category = created(api.post("/api/tax-categories", json={"name": "SaaS"}))["id"]
    theirs = created(other_api.post("/api/tax-categories", json={"name": "Theirs"}))["id"]
    _price(api, _product(api, "Platform", taxCategoryId=category), fixed())
    _price(api, _product(api, "Borrowed", taxCategoryId=theirs), fixed())
    _price(api, _product(api, "Untaxed"), fixed())
    listed = _listed(api)
    assert listed["Platform"]["taxCategoryName"] == "SaaS"
    # Another account's category is nobody's name here; no category, no name.
    assert "taxCategoryName" not in listed["Borrowed"]
    assert "taxCategoryName" not in listed["Untaxed"]
