"""POST /billing-schedules/validate-taxes (the tax setup a schedule request would apply,
checked without writing) and the schedules' `customFields`: their keys
(GET /billing-schedule-custom-field-keys) and `sortBy=customFields.<key>`."""

from typing import Any

from tests.catalog.price_bodies import fixed, list_price_body
from tests.factories import new_customer_id
from tests.schedules.helpers import Setup, created, new_product, new_tax_rate, phase
from tests.support.api_client import ApiClient

URL = "/api/billing-schedules/validate-taxes"


def total(api: ApiClient) -> int:
    return int(api.get("/api/billing-schedules").json()["pagination"]["totalResultSize"])


def test_a_taxed_customers_schedule_with_a_rate_for_every_price_is_valid(api: ApiClient) -> None:
    setup = Setup(api)
    body = setup.body(taxRates=[{"priceId": setup.price_id, "taxRateId": new_tax_rate(api)}])
    response = api.post(URL, json=body)
    assert response.status_code == 200, response.text
    assert response.content == b""
    assert total(api) == 0  # nothing written


def test_a_taxed_customers_price_without_a_rate_is_named(api: ApiClient) -> None:
    setup = Setup(api)
    support = setup.price(name="Support")
    body = setup.body(
        [setup.price_id, support],
        taxRates=[{"priceId": setup.price_id, "taxRateId": new_tax_rate(api)}],
    )
    response = api.post(URL, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "taxRates"
    assert support in response.json()["error"]["message"]


def test_a_reverse_charged_customer_needs_a_tax_registration(api: ApiClient) -> None:
    customer_id = new_customer_id(api, "Beispiel GmbH", taxStatus="REVERSE_CHARGED")
    setup = Setup(api)
    body = setup.body(customerId=customer_id)
    refused = api.post(URL, json=body)
    assert refused.status_code == 400
    assert "tax registration" in refused.json()["error"]["message"]
    registration = {"customerId": customer_id, "taxIdentifier": "DE123456789", "country": "DE"}
    assert api.post("/api/tax-registrations", json=registration).status_code == 201
    assert api.post(URL, json=body).status_code == 200
    exempt = new_customer_id(api, "Charity", taxStatus="TAX_EXEMPT")
    assert api.post(URL, json=setup.body(customerId=exempt)).status_code == 200


def test_what_create_refuses_validate_refuses(api: ApiClient, other_api: ApiClient) -> None:
    setup = Setup(api)
    theirs = new_customer_id(other_api, "Theirs")
    foreign = api.post(URL, json=setup.body(customerId=theirs))
    assert foreign.status_code == 404 and "customerId" in foreign.text
    their_rate = new_tax_rate(other_api)
    body = setup.body(taxRates=[{"priceId": setup.price_id, "taxRateId": their_rate}])
    foreign_rate = api.post(URL, json=body)
    assert foreign_rate.status_code == 404 and "taxRates.0.taxRateId" in foreign_rate.text
    unknown = api.post(URL, json={**setup.body(), "taxStrategy": "AUTO"})
    assert unknown.status_code == 400 and "taxStrategy" in unknown.text
    bad_dates = api.post(URL, json=setup.body(endDate="2023-01-01"))
    assert bad_dates.status_code == 400
    assert total(api) == 0


def test_list_prices_are_checked_as_create_checks_them_and_nothing_is_written(
    api: ApiClient, other_api: ApiClient
) -> None:
    setup = Setup(api)
    body = list_price_body(new_product(api), fixed("40.00"), name="Support")
    list_price = created(api.post("/api/list-prices", json=body))["id"]
    prices_before = api.get("/api/prices").json()["pagination"]["totalResultSize"]
    rate = new_tax_rate(api)
    phases = [phase([setup.price_id], "2024-01-01", "2024-12-31", listPriceIds=[list_price])]
    untaxed = api.post(
        URL,
        json=setup.body(phases=phases, taxRates=[{"priceId": setup.price_id, "taxRateId": rate}]),
    )
    assert untaxed.status_code == 400
    assert list_price in untaxed.json()["error"]["message"]  # named as the request names it
    both = [{"priceId": p, "taxRateId": rate} for p in (setup.price_id, list_price)]
    assert api.post(URL, json=setup.body(phases=phases, taxRates=both)).status_code == 200
    theirs = created(
        other_api.post(
            "/api/list-prices", json=list_price_body(new_product(other_api), fixed("1.00"))
        )
    )["id"]
    foreign_phases = [phase([setup.price_id], "2024-01-01", "2024-12-31", listPriceIds=[theirs])]
    foreign = api.post(URL, json=setup.body(phases=foreign_phases, taxRates=both[:1]))
    assert foreign.status_code == 404 and "phases.0.listPriceIds.0" in foreign.text
    # No variant was kept, no schedule written.
    assert api.get("/api/prices").json()["pagination"]["totalResultSize"] == prices_before
    assert total(api) == 0


def _with_fields(setup: Setup, **fields: str) -> dict[str, Any]:
    return setup.create(customFields=fields)


def test_custom_field_keys_are_listed_once_each(api: ApiClient, other_api: ApiClient) -> None:
    url = "/api/billing-schedule-custom-field-keys"
    assert api.get(url).json() == {"items": []}
    setup = Setup(api)
    _with_fields(setup, region="EU", crm="hubspot")
    archived = _with_fields(setup, region="US", legacy="yes")
    assert api.post(f"/api/billing-schedules/{archived['id']}/archive").status_code == 200
    Setup(other_api).create(customFields={"secret": "x"})
    keys = api.get(url)
    assert keys.status_code == 200, keys.text
    assert keys.json() == {"items": ["crm", "legacy", "region"]}
    assert api.get(url, params={"limit": "5"}).status_code == 400


def test_schedules_sort_by_a_custom_field(api: ApiClient) -> None:
    setup = Setup(api)
    b = _with_fields(setup, region="b")
    none = setup.create()
    a = _with_fields(setup, region="a")
    params = {"sortBy": "customFields.region", "sortOrder": "ASC"}
    page = api.get("/api/billing-schedules", params=params)
    assert page.status_code == 200, page.text
    assert [item["id"] for item in page.json()["items"]] == [none["id"], a["id"], b["id"]]
    first = api.get("/api/billing-schedules", params={**params, "limit": "2"}).json()
    rest = api.get(
        "/api/billing-schedules",
        params={**params, "limit": "2", "after": first["pagination"]["after"]},
    ).json()
    assert [item["id"] for item in first["items"] + rest["items"]] == [none["id"], a["id"], b["id"]]


def test_a_list_price_is_checked_as_the_variant_it_would_make(api: ApiClient) -> None:
    setup = Setup(api)
    listed = api.post(
        "/api/list-prices", json=list_price_body(setup.product_id, fixed("40.00"), name="Seats")
    ).json()["id"]
    rate = new_tax_rate(api)
    body = setup.body(taxRates=[{"priceId": setup.price_id, "taxRateId": rate}])
    body["phases"][0]["listPriceIds"] = [listed]
    untaxed = api.post(URL, json=body)
    assert untaxed.status_code == 400, untaxed.text
    assert listed in untaxed.json()["error"]["message"]  # named as the request names it
    body["taxRates"].append({"priceId": listed, "taxRateId": rate})
    assert api.post(URL, json=body).status_code == 200
    prices = api.get("/api/prices").json()["pagination"]["totalResultSize"]
    assert prices == 1  # the variant it checked was not kept
    assert total(api) == 0
