"""List prices: Sequence's five operations, and what a template means for billing schedules."""

from typing import Any

import pytest

from tally.exceptions import Conflict
from tests.catalog.price_bodies import fixed, graduated, linear, list_price_body
from tests.factories import new_customer_id
from tests.metering.helpers import create_metric
from tests.schedules.helpers import created, new_product, ok, schedule_body, update_body
from tests.support.api_client import ApiClient


def new_list_price(
    api: ApiClient, product_id: str | None = None, **overrides: Any
) -> dict[str, Any]:
    body = list_price_body(product_id or new_product(api), fixed("100.00"), **overrides)
    return created(api.post("/api/list-prices", json=body))


def entries_about(api: ApiClient, object_id: str) -> list[dict[str, Any]]:
    """The activity log's items about one object."""
    page = ok(api.get("/api/activity-logs", params={"activityLogObjectId": object_id}))
    return [item for log in page["items"] for item in log["activityLogItems"]]


def test_a_list_price_round_trips_and_is_logged(api: ApiClient) -> None:
    product_id = new_product(api)
    body = list_price_body(
        product_id,
        fixed("99.50"),
        integrationIds=[{"service": "Xero", "id": "123"}],
    )
    # Parameters are a CUSTOM metric's, as on a price: an unknown one is not found.
    unknown = {**body, "customMetricParameters": [{"parameterId": "p-1", "value": "10"}]}
    refused = api.post("/api/list-prices", json=unknown)
    assert refused.status_code == 404
    assert "customMetricParameters.0.parameterId" in refused.text
    made = created(api.post("/api/list-prices", json=body))
    assert made["structure"] == {"pricingType": "FIXED", "price": "99.50"}
    assert made["integrationIds"] == [{"service": "Xero", "id": "123", "isPending": False}]
    assert ok(api.get(f"/api/list-prices/{made['id']}")) == made

    changed = ok(
        api.put(
            f"/api/list-prices/{made['id']}",
            json=list_price_body(product_id, fixed("120.00"), name="Platform", currency="EUR"),
        )
    )
    assert (changed["name"], changed["currency"], changed["structure"]["price"]) == (
        "Platform",
        "EUR",
        "120.00",
    )
    assert changed["integrationIds"] == []  # PUT replaces the template
    archived = ok(api.post(f"/api/list-prices/{made['id']}/archive"))
    assert archived["id"] == made["id"]
    # Archiving twice changes nothing and logs nothing more.
    ok(api.post(f"/api/list-prices/{made['id']}/archive"))

    verbs = [entry["verb"] for entry in entries_about(api, made["id"])]
    assert sorted(verbs) == ["ARCHIVED", "CREATED", "UPDATED"]


def test_graduated_list_prices_keep_their_usage_calculation_period(api: ApiClient) -> None:
    metric = create_metric(api, name="Calls", eventType="call", aggregationType="COUNT")["id"]
    body = list_price_body(
        new_product(api),
        graduated(metric),
        usageCalculationPeriod={"frequency": "QUARTERLY", "interval": 1},
    )
    made = created(api.post("/api/list-prices", json=body))
    assert made["usageCalculationPeriod"] == {"frequency": "QUARTERLY", "interval": 1}
    assert made["structure"]["usageMetricId"] == metric


def test_the_list_filters_and_hides_archived_ones_unless_asked(api: ApiClient) -> None:
    product_id, other_product = new_product(api), new_product(api)
    gbp = new_list_price(api, product_id)
    eur = new_list_price(api, product_id, currency="EUR", billingFrequency="QUARTERLY")
    elsewhere = new_list_price(api, other_product)
    gone = new_list_price(api, product_id)
    ok(api.post(f"/api/list-prices/{gone['id']}/archive"))

    def ids(**params: Any) -> set[str]:
        return {item["id"] for item in ok(api.get("/api/list-prices", params=params))["items"]}

    assert ids() == {gbp["id"], eur["id"], elsewhere["id"]}
    assert ids(includeArchived="true") == {gbp["id"], eur["id"], elsewhere["id"], gone["id"]}
    assert ids(currency="EUR") == {eur["id"]}
    assert ids(productId=product_id) == {gbp["id"], eur["id"]}
    assert ids(billingFrequency="QUARTERLY") == {eur["id"]}
    page = ok(api.get("/api/list-prices", params={"limit": 2}))
    assert len(page["items"]) == 2 and page["pagination"]["totalResultSize"] == 3


@pytest.mark.parametrize("field", ["status", "listPriceId", "externalIds", "sequenceAccountId"])
def test_fields_sequence_does_not_document_are_refused(api: ApiClient, field: str) -> None:
    body = {**list_price_body(new_product(api), fixed()), field: "x"}
    response = api.post("/api/list-prices", json=body)
    assert response.status_code == 400
    assert field in response.text
    assert ok(api.get("/api/list-prices"))["items"] == []


def test_unknown_query_parameters_are_refused(api: ApiClient) -> None:
    response = api.get("/api/list-prices", params={"archived": "true"})
    assert response.status_code == 400
    assert "archived" in response.text


def test_a_template_no_phase_could_bill_is_refused_at_the_price_rules_field(
    api: ApiClient,
) -> None:
    metric = create_metric(api, name="Calls", eventType="call", aggregationType="COUNT")["id"]
    body = list_price_body(new_product(api), linear(metric), billingType="IN_ADVANCE")
    response = api.post("/api/list-prices", json=body)
    assert response.status_code == 400
    assert "billingType" in response.text


def test_another_accounts_list_prices_and_products_are_not_found(
    api: ApiClient, other_api: ApiClient
) -> None:
    theirs = new_list_price(other_api)
    url = f"/api/list-prices/{theirs['id']}"
    body = list_price_body(new_product(api), fixed())
    assert api.get(url).status_code == 404
    assert api.put(url, json=body).status_code == 404
    assert api.post(f"{url}/archive").status_code == 404
    their_product = new_product(other_api)
    response = api.post("/api/list-prices", json=list_price_body(their_product, fixed()))
    assert response.status_code == 404
    assert "productId" in response.text
    assert ok(other_api.get(url))["name"] == "Platform fee"
    assert entries_about(other_api, theirs["id"])[0]["verb"] == "CREATED"


def test_an_archived_products_list_prices_take_no_new_template(api: ApiClient) -> None:
    product_id = new_product(api)
    ok(api.post(f"/api/products/{product_id}/archive"))
    response = api.post("/api/list-prices", json=list_price_body(product_id, fixed()))
    assert response.status_code == Conflict.status_code
    assert "archived" in response.json()["error"]["message"]


# --- billing schedule phases naming list prices ----------------------------------------------


def test_a_phase_bills_a_variant_of_each_list_price(api: ApiClient) -> None:
    list_price = new_list_price(api)
    customer = new_customer_id(api)
    body = schedule_body(customer, [])
    body["phases"][0]["listPriceIds"] = [list_price["id"]]
    schedule = created(api.post("/api/billing-schedules", json=body))
    [variant_id] = schedule["phases"][0]["priceIds"]
    assert variant_id != list_price["id"]
    [variant] = schedule["prices"]
    assert variant["id"] == variant_id
    assert variant["listPriceId"] == list_price["id"]
    assert (variant["structure"], variant["name"]) == (list_price["structure"], "Platform fee")
    # The variant is an ordinary price of the account.
    assert ok(api.get(f"/api/prices/{variant_id}"))["listPriceId"] == list_price["id"]


def test_a_variant_keeps_its_terms_and_its_id(api: ApiClient) -> None:
    """Changing the template changes no variant; restating the schedule keeps the variant."""
    list_price = new_list_price(api)
    body = schedule_body(new_customer_id(api), [])
    body["phases"][0]["listPriceIds"] = [list_price["id"]]
    schedule = created(api.post("/api/billing-schedules", json=body))
    [variant_id] = schedule["phases"][0]["priceIds"]

    product_id = list_price["productId"]
    ok(
        api.put(
            f"/api/list-prices/{list_price['id']}", json=list_price_body(product_id, fixed("1.00"))
        )
    )
    assert ok(api.get(f"/api/prices/{variant_id}"))["structure"]["price"] == "100.00"

    restated = update_body(schedule)
    restated["phases"][0]["priceIds"] = []
    restated["phases"][0]["listPriceIds"] = [list_price["id"]]
    updated = ok(api.put(f"/api/billing-schedules/{schedule['id']}", json=restated))
    assert updated["phases"][0]["priceIds"] == [variant_id]
    assert updated["prices"][0]["structure"]["price"] == "100.00"
    # Restated the way GET answers it (the variant in priceIds), it stays the same too.
    again = ok(api.put(f"/api/billing-schedules/{schedule['id']}", json=update_body(updated)))
    assert again["phases"][0]["priceIds"] == [variant_id]


def test_archived_list_prices_cannot_be_named_by_new_phases(api: ApiClient) -> None:
    list_price = new_list_price(api)
    body = schedule_body(new_customer_id(api), [])
    body["phases"][0]["listPriceIds"] = [list_price["id"]]
    schedule = created(api.post("/api/billing-schedules", json=body))
    ok(api.post(f"/api/list-prices/{list_price['id']}/archive"))

    fresh = schedule_body(new_customer_id(api, "Second Ltd"), [])
    fresh["phases"][0]["listPriceIds"] = [list_price["id"]]
    response = api.post("/api/billing-schedules", json=fresh)
    assert response.status_code == Conflict.status_code
    assert "phases.0.listPriceIds.0" in response.json()["error"]["message"]
    assert "archived" in response.json()["error"]["message"]
    # The schedule that bills its variant already goes on naming it.
    restated = update_body(schedule)
    restated["phases"][0]["priceIds"] = []
    restated["phases"][0]["listPriceIds"] = [list_price["id"]]
    updated = ok(api.put(f"/api/billing-schedules/{schedule['id']}", json=restated))
    assert updated["phases"][0]["priceIds"] == schedule["phases"][0]["priceIds"]


def test_tax_rates_restrictions_and_metadata_may_name_the_list_price(api: ApiClient) -> None:
    list_price = new_list_price(api)
    tax_rate = created(
        api.post(
            "/api/tax-rates",
            json={
                "isPublished": True,
                "name": "VAT",
                "invoiceName": "VAT",
                "invoiceShortName": "VAT",
                "amount": "0.2",
                "country": "GB",
            },
        )
    )
    body = schedule_body(new_customer_id(api), [])
    body["phases"][0].update(
        listPriceIds=[list_price["id"]],
        phaseListPriceMetadata=[{"listPriceId": list_price["id"], "arrCalculation": "EXCLUDE"}],
        discounts=[
            {
                "restrictToPrices": [list_price["id"]],
                "type": "PERCENTAGE",
                "amount": 10,
                "message": "Launch",
                "separateLineItem": False,
            }
        ],
    )
    body["taxRates"] = [{"priceId": list_price["id"], "taxRateId": tax_rate["id"]}]
    schedule = created(api.post("/api/billing-schedules", json=body))
    [variant_id] = schedule["phases"][0]["priceIds"]
    assert schedule["taxRates"] == [{"priceId": variant_id, "taxRateId": tax_rate["id"]}]
    assert schedule["phases"][0]["discounts"][0]["restrictToPrices"] == [variant_id]
    assert schedule["phases"][0]["phasePriceMetadata"] == [
        {"priceId": variant_id, "arrCalculation": "EXCLUDE"}
    ]


def test_list_price_metadata_names_a_list_price_of_the_phase(api: ApiClient) -> None:
    named, other = new_list_price(api), new_list_price(api)
    body = schedule_body(new_customer_id(api), [])
    body["phases"][0].update(
        listPriceIds=[named["id"]],
        phaseListPriceMetadata=[{"listPriceId": other["id"], "arrCalculation": "EXCLUDE"}],
    )
    response = api.post("/api/billing-schedules", json=body)
    assert response.status_code == 400
    assert "phaseListPriceMetadata.0.listPriceId" in response.text
    assert ok(api.get("/api/prices"))["items"] == []  # no variant left behind


def test_another_accounts_list_price_in_a_phase_is_not_found(
    api: ApiClient, other_api: ApiClient
) -> None:
    theirs = new_list_price(other_api)
    body = schedule_body(new_customer_id(api), [])
    body["phases"][0]["listPriceIds"] = [theirs["id"]]
    response = api.post("/api/billing-schedules", json=body)
    assert response.status_code == 404
    assert "phases.0.listPriceIds.0" in response.text
    assert ok(other_api.get("/api/prices"))["items"] == []


def test_a_price_names_a_list_price_of_the_account(api: ApiClient, other_api: ApiClient) -> None:
    product_id = new_product(api)
    mine, theirs = new_list_price(api, product_id), new_list_price(other_api)
    body = {
        "productId": product_id,
        "name": "Platform fee",
        "currency": "GBP",
        "billingFrequency": "MONTHLY",
        "billingType": "IN_ARREARS",
        "structure": fixed(),
    }
    assert created(api.post("/api/prices", json={**body, "listPriceId": mine["id"]}))
    response = api.post("/api/prices", json={**body, "listPriceId": theirs["id"]})
    assert response.status_code == 404
    assert "listPriceId" in response.text


def test_a_list_price_is_checked_as_the_price_it_makes(api: ApiClient) -> None:
    # Parameters bind a CUSTOM metric's: a fixed price has none to bind, and nothing is stored.
    body = list_price_body(
        new_product(api),
        fixed("10.00"),
        customMetricParameters=[{"parameterId": "p-1", "value": "10"}],
    )
    response = api.post("/api/list-prices", json=body)
    assert response.status_code == 404, response.text  # no such parameter in the account
    assert "customMetricParameters.0.parameterId" in response.text
    assert ok(api.get("/api/list-prices"))["items"] == []
