"""/api/billing-schedules: create, read, update; seeds 002 and 003; another account's ids."""

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.factories import new_customer_id
from tests.schedules.helpers import (
    Setup,
    created,
    new_price,
    new_tax_rate,
    ok,
    phase,
    schedule_body,
    update_body,
)
from tests.support.api_client import ApiClient
from tests.test_seeds import JSON_HEADERS, SEED_002_CUSTOMER, SEED_002_PRODUCT, SEED_002_TAX_RATE

# The seed's billing schedule request, as written but for the ids of the earlier steps.
SEED_002_SCHEDULE = """{
            "type": "PHASES",
            "customerId": "d512f4cb-ff5c-405b-888e-ef96e2e99077",
            "startDate": "2024-01-01",
            "endDate": "2024-12-31",
            "recurrenceDayOfMonth": 1,
            "phases": [
              {
                "priceIds": ["018f39d9-b6ec-760f-87c0-032b73c86b1b"],
                "startDate": "2024-01-01",
                "endDate": "2024-12-31"
              }
            ],
            "taxRates": [
              {
                "priceId": "018f39d9-b6ec-760f-87c0-032b73c86b1b",
                "taxRateId": "4e49a233-c195-4453-8da3-f2964cd6e528"
              }
            ],
            "isDraft": false,
            "rollUpBilling": true
        }"""
SEED_CUSTOMER_ID = "d512f4cb-ff5c-405b-888e-ef96e2e99077"
SEED_PRICE_ID = "018f39d9-b6ec-760f-87c0-032b73c86b1b"
SEED_TAX_RATE_ID = "4e49a233-c195-4453-8da3-f2964cd6e528"


def send(api: ApiClient, method: str, url: str, body: str) -> dict[str, Any]:
    response = api.request(method, url, content=body.encode(), headers=JSON_HEADERS)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def test_seed_002_billing_schedule(api: ApiClient) -> None:
    product = send(api, "POST", "/api/products", SEED_002_PRODUCT)
    seat_metric = created(
        api.post("/api/seat-metrics", json={"seatType": "editor", "label": "Editor Seat"})
    )
    # The seed's price request, with the comma it lacks after "SEAT_BASED".
    price = created(
        api.post(
            "/api/prices",
            json={
                "name": "Editor seat for ",
                "productId": product["id"],
                "currency": "GBP",
                "billingFrequency": "MONTHLY",
                "billingType": "IN_ARREARS",
                "structure": {
                    "pricingType": "SEAT_BASED",
                    "seatMetricId": seat_metric["id"],
                    "pricePerSeat": "15.0",
                    "prorationStrategy": "PRORATE_INCREMENTS",
                    "contractedMinimumSeats": 0,
                },
                "externalIds": [],
            },
        )
    )
    customer = send(api, "POST", "/api/customers", SEED_002_CUSTOMER)
    tax_rate = send(api, "POST", "/api/tax-rates", SEED_002_TAX_RATE)
    body = (
        SEED_002_SCHEDULE.replace(SEED_CUSTOMER_ID, customer["id"])
        .replace(SEED_PRICE_ID, price["id"])
        .replace(SEED_TAX_RATE_ID, tax_rate["id"])
    )

    schedule = send(api, "POST", "/api/billing-schedules", body)

    # Sequence's response, field by field (ids and timestamps are ours).
    assert schedule["customerId"] == customer["id"]
    assert schedule["status"] == "ACTIVE"  # started in the past
    assert (schedule["startDate"], schedule["endDate"]) == ("2024-01-01", "2024-12-31")
    assert schedule["taxRates"] == [{"priceId": price["id"], "taxRateId": tax_rate["id"]}]
    assert schedule["recurrenceDayOfMonth"] == 1
    assert schedule["autoIssueInvoices"] is False
    assert schedule["rollUpBilling"] is True
    assert schedule["prices"] == [price]
    assert schedule["createdAt"] == schedule["updatedAt"]
    [only] = schedule["phases"]
    assert only["billingScheduleId"] == schedule["id"]
    assert only["priceIds"] == [price["id"]]
    assert (only["startDate"], only["endDate"]) == ("2024-01-01", "2024-12-31")
    assert (only["discounts"], only["minimums"], only["creditGrants"]) == ([], [], [])
    assert only["recurrencePreference"] == "CONTINUE_FROM_PREVIOUS_PHASE"
    assert only["phasePriceMetadata"] == []
    # Monthly in arrears from January 1st: the January invoice, on February 1st (as the
    # seed's invoice shows: period 2024-01-01..2024-01-31, created 2024-02-01).
    assert schedule["firstBillingDate"] == "2024-02-01"
    assert schedule["integrationIds"] == []
    assert schedule["attachmentAssets"] == []
    assert schedule["customFields"] == {}
    assert "archivedAt" not in schedule
    assert "type" not in schedule
    assert ok(api.get(f"/api/billing-schedules/{schedule['id']}")) == schedule


def test_seed_003_roll_up_billing_on_a_parents_schedule(api: ApiClient) -> None:
    parent = new_customer_id(api, "Parent Group")
    child = new_customer_id(api, "Child Ltd", parentId=parent)
    price_id = new_price(api)
    schedule = created(
        api.post(
            "/api/billing-schedules",
            json=schedule_body(parent, [price_id], rollUpBilling=True),
        )
    )
    assert (schedule["customerId"], schedule["rollUpBilling"]) == (parent, True)
    listed = ok(api.get("/api/billing-schedules", params={"customerId": parent}))
    assert [s["rollUpBilling"] for s in listed["items"]] == [True]
    assert ok(api.get("/api/billing-schedules", params={"customerId": child}))["items"] == []


def test_every_field_is_stored_and_answered(api: ApiClient) -> None:
    setup = Setup(api)
    seats = setup.price(name="Seats")
    later = setup.price(name="Support")
    tax_rate = new_tax_rate(api)
    body = setup.body(
        [setup.price_id, seats],
        end=None,
        recurrenceDayOfMonth=15,
        autoIssueInvoices=True,
        purchaseOrderNumber="PO123",
        reference="Example reference",
        label="Example label",
        paymentProvider="STRIPE",
        autoCharge=True,
        defaultDueDateDays=14,
        memo="Example Billing Schedule",
        customFields={"key": "value"},
        attachmentAssetIds=[],
        taxRates=[
            {"priceId": later, "taxRateId": tax_rate},
            {"priceId": setup.price_id, "taxRateId": tax_rate},
        ],
        phases=[
            phase(
                [setup.price_id, seats],
                "2024-01-01",
                "2024-06-30",
                name="Trial Period",
                externalContractRef="  ACME-2022-MSA  ",
                discounts=[
                    {
                        "restrictToPrices": [seats],
                        "type": "PERCENTAGE",
                        "amount": 8,
                        "message": "8% Discount",
                        "separateLineItem": True,
                        "seatDiscountType": "ALL_SEATS",
                    }
                ],
                minimums=[{"restrictToPrices": [setup.price_id], "amount": 100}],
                creditGrants=[],
                listPriceIds=[],
                phasePriceMetadata=[{"priceId": seats, "arrCalculation": "EXCLUDE"}],
            ),
            phase(
                [later, setup.price_id],
                "2024-07-01",
                None,
                recurrencePreference="RESET",
                discounts=[
                    {
                        "type": "NOMINAL",
                        "amount": 12.5,
                        "message": "Loyalty",
                        "separateLineItem": False,
                    }
                ],
            ),
        ],
    )
    schedule = created(api.post("/api/billing-schedules", json=body))

    assert "endDate" not in schedule  # open-ended
    for field in (
        "recurrenceDayOfMonth",
        "autoIssueInvoices",
        "purchaseOrderNumber",
        "reference",
        "label",
        "paymentProvider",
        "autoCharge",
        "defaultDueDateDays",
        "memo",
        "customFields",
    ):
        assert schedule[field] == body[field], field
    # Every price once, in the order the phases first name them; tax rates in that order too.
    assert [p["id"] for p in schedule["prices"]] == [setup.price_id, seats, later]
    assert schedule["taxRates"] == [
        {"priceId": setup.price_id, "taxRateId": tax_rate},
        {"priceId": later, "taxRateId": tax_rate},
    ]
    first, second = schedule["phases"]
    assert (first["name"], first["externalContractRef"]) == ("Trial Period", "ACME-2022-MSA")
    assert first["priceIds"] == [setup.price_id, seats]
    [discount] = first["discounts"]
    assert discount["id"]
    assert {k: v for k, v in discount.items() if k != "id"} == body["phases"][0]["discounts"][0]
    [minimum] = first["minimums"]
    assert (
        minimum["sequenceAccountId"] == api.get("/api/sequence-accounts").json()["items"][0]["id"]
    )
    assert (minimum["billingScheduleId"], minimum["phaseId"]) == (schedule["id"], first["id"])
    assert (minimum["amount"], minimum["restrictToPrices"]) == (100, [setup.price_id])
    assert first["phasePriceMetadata"] == [{"priceId": seats, "arrCalculation": "EXCLUDE"}]
    assert first["recurrencePreference"] == "CONTINUE_FROM_PREVIOUS_PHASE"
    assert second["priceIds"] == [later, setup.price_id]
    assert "endDate" not in second
    assert second["recurrencePreference"] == "RESET"
    assert second["discounts"][0]["amount"] == 12.5
    assert second["discounts"][0]["restrictToPrices"] == []
    assert "seatDiscountType" not in second["discounts"][0]
    assert ok(api.get(f"/api/billing-schedules/{schedule['id']}")) == schedule


def test_recurrence_day_defaults_to_the_start_day(api: ApiClient) -> None:
    setup = Setup(api)
    schedule = setup.create(start="2024-03-17", end=None)
    assert schedule["recurrenceDayOfMonth"] == 17
    assert (
        setup.create(start="2024-03-17", end=None, recurrenceDayOfMonth=None)[
            "recurrenceDayOfMonth"
        ]
        == 17
    )


@pytest.mark.parametrize(
    "amount",
    [
        "0.1",
        "99.999999999999",
        "1e2",
        "7",
        "12345678901234567.5",
        "123456789012345678.123456789012",
    ],
)
def test_amounts_are_exact_json_numbers(api: ApiClient, amount: str) -> None:
    """Parsed without a float in between, stored as decimals, answered as the same number."""
    setup = Setup(api)
    body = setup.body()
    body["phases"][0]["discounts"] = [
        {"type": "NOMINAL", "amount": "AMOUNT", "message": "Off", "separateLineItem": True}
    ]
    body["phases"][0]["minimums"] = [{"amount": "AMOUNT"}]
    raw = json.dumps(body).replace('"AMOUNT"', amount)
    response = api.post("/api/billing-schedules", content=raw, headers=JSON_HEADERS)
    assert response.status_code == 201, response.text
    expected = format(Decimal(amount), "f")
    for text in (response.text, api.get(f"/api/billing-schedules/{response.json()['id']}").text):
        assert text.count(f'"amount":{expected}') == 2, text


def test_first_billing_date(api: ApiClient) -> None:
    setup = Setup(api)
    advance = setup.price(billing_type="IN_ADVANCE")
    quarterly = setup.price(frequency="QUARTERLY")
    once = setup.price(frequency="ONE_TIME")

    def first(price_ids: list[str], **overrides: Any) -> str | None:
        return setup.create(price_ids, **overrides).get("firstBillingDate")

    # In arrears: the day after the first period, which the billing day aligns.
    assert first([setup.price_id], start="2024-01-15", end=None) == "2024-02-15"
    assert first([setup.price_id], start="2024-01-15", end=None, recurrenceDayOfMonth=1) == (
        "2024-02-01"
    )
    assert first([quarterly], start="2024-01-01", end=None) == "2024-04-01"
    # ... or the day after the schedule ends, when that comes first.
    assert first([quarterly], start="2024-01-01", end="2024-01-20") == "2024-01-21"
    # In advance and one-time prices: on the first day.
    assert first([setup.price_id, advance], start="2024-01-15", end=None) == "2024-01-15"
    assert first([once], start="2024-01-15", end=None) == "2024-01-15"
    # A first phase without prices: the next phase's prices decide.
    later = setup.create(
        start="2024-01-01",
        end=None,
        phases=[phase([], "2024-01-01", "2024-02-14"), phase([advance], "2024-02-15", None)],
    )
    assert later["firstBillingDate"] == "2024-02-15"
    assert first([], start="2024-01-01", end=None) is None
    # Periods stay anchored at the schedule's start, however far the priced phase is.
    far = setup.create(
        start="1970-01-01",
        end=None,
        phases=[phase([], "1970-01-01", "2998-12-31"), phase([quarterly], "2999-01-01", None)],
    )
    assert far["firstBillingDate"] == "2999-04-01"


def test_put_replaces_phases_and_tax_rates(api: ApiClient) -> None:
    setup = Setup(api)
    other = setup.price(name="Other")
    tax_rate = new_tax_rate(api)
    before = setup.create(
        taxRates=[{"priceId": setup.price_id, "taxRateId": tax_rate}],
        label="Kept",
        memo="Old memo",
        phases=[
            phase(
                [setup.price_id],
                "2024-01-01",
                "2024-05-31",
                minimums=[{"amount": 50}],
                discounts=[
                    {"type": "PERCENTAGE", "amount": 5, "message": "5%", "separateLineItem": True}
                ],
            ),
            phase([setup.price_id], "2024-06-01", "2024-12-31"),
        ],
    )
    body = update_body(
        before,
        endDate=None,
        memo="New memo",
        autoIssueInvoices=True,
        taxRates=[{"priceId": other, "taxRateId": tax_rate}],
        phases=[
            phase([other], "2024-01-01", "2024-03-31"),
            phase([other, setup.price_id], "2024-04-01", None, minimums=[{"amount": 75.5}]),
        ],
    )
    after = ok(api.put(f"/api/billing-schedules/{before['id']}", json=body))

    assert after["id"] == before["id"]
    assert "endDate" not in after
    assert (after["memo"], after["label"], after["autoIssueInvoices"]) == ("New memo", "Kept", True)
    assert after["taxRates"] == [{"priceId": other, "taxRateId": tax_rate}]
    assert [p["id"] for p in after["prices"]] == [other, setup.price_id]
    assert [(p["startDate"], p.get("endDate")) for p in after["phases"]] == [
        ("2024-01-01", "2024-03-31"),
        ("2024-04-01", None),
    ]
    assert [p["priceIds"] for p in after["phases"]] == [[other], [other, setup.price_id]]
    assert after["phases"][0]["discounts"] == after["phases"][0]["minimums"] == []
    assert [m["amount"] for m in after["phases"][1]["minimums"]] == [75.5]
    old_ids = {p["id"] for p in before["phases"]}
    assert old_ids.isdisjoint(p["id"] for p in after["phases"])
    assert after["updatedAt"] > before["updatedAt"]
    assert ok(api.get(f"/api/billing-schedules/{before['id']}")) == after


def test_put_keeps_what_it_leaves_out(api: ApiClient) -> None:
    setup = Setup(api)
    tax_rate = new_tax_rate(api)
    before = setup.create(
        taxRates=[{"priceId": setup.price_id, "taxRateId": tax_rate}],
        recurrenceDayOfMonth=5,
        purchaseOrderNumber="PO1",
        defaultDueDateDays=10,
        memo="Memo",
        customFields={"a": "b"},
        autoIssueInvoices=True,
        rollUpBilling=True,
    )
    minimal = {
        "startDate": "2024-01-01",
        "endDate": "2024-12-31",
        "phases": [phase([setup.price_id])],
    }
    after = ok(api.put(f"/api/billing-schedules/{before['id']}", json=minimal))
    for field in (
        "taxRates",
        "recurrenceDayOfMonth",
        "purchaseOrderNumber",
        "defaultDueDateDays",
        "memo",
        "customFields",
        "autoIssueInvoices",
        "rollUpBilling",
    ):
        assert after[field] == before[field], field

    # Explicit nulls clear; a null billing day moves to the start date's day.
    cleared = ok(
        api.put(
            f"/api/billing-schedules/{before['id']}",
            json={
                **minimal,
                "startDate": "2024-01-03",
                "phases": [phase([setup.price_id], "2024-01-03")],
                "recurrenceDayOfMonth": None,
                "purchaseOrderNumber": None,
                "defaultDueDateDays": None,
                "memo": None,
                "taxRates": [],
            },
        )
    )
    assert cleared["recurrenceDayOfMonth"] == 3
    assert cleared["taxRates"] == []
    for field in ("purchaseOrderNumber", "defaultDueDateDays", "memo"):
        assert field not in cleared, field


def test_put_restating_a_tax_rate_of_a_kept_price(api: ApiClient) -> None:
    """A tax rate row replaced by one for the same price (same key) in one request."""
    setup = Setup(api)
    first_rate, second_rate = new_tax_rate(api), new_tax_rate(api)
    before = setup.create(taxRates=[{"priceId": setup.price_id, "taxRateId": first_rate}])
    body = update_body(before, taxRates=[{"priceId": setup.price_id, "taxRateId": second_rate}])
    after = ok(api.put(f"/api/billing-schedules/{before['id']}", json=body))
    assert after["taxRates"] == [{"priceId": setup.price_id, "taxRateId": second_rate}]
    again = ok(api.put(f"/api/billing-schedules/{before['id']}", json=body))
    assert again["taxRates"] == after["taxRates"]


def test_prices_are_answered_as_the_prices_api_answers_them(api: ApiClient) -> None:
    setup = Setup(api)
    schedule = setup.create()
    price = ok(api.get(f"/api/prices/{setup.price_id}"))
    assert ok(api.get(f"/api/billing-schedules/{schedule['id']}"))["prices"] == [price]


def test_another_accounts_schedules_and_references_are_invisible(
    api: ApiClient, other_api: ApiClient
) -> None:
    setup = Setup(api)
    tax_rate = new_tax_rate(api)
    mine = setup.create(taxRates=[{"priceId": setup.price_id, "taxRateId": tax_rate}])
    url = f"/api/billing-schedules/{mine['id']}"

    assert other_api.get(url).status_code == 404
    assert other_api.put(url, json=update_body(mine)).status_code == 404
    assert other_api.put(f"{url}/activate").status_code == 404
    assert other_api.post(f"{url}/archive").status_code == 404
    assert ok(other_api.get("/api/billing-schedules"))["items"] == []
    assert (
        ok(other_api.get("/api/billing-schedules", params={"customerId": setup.customer_id}))[
            "items"
        ]
        == []
    )

    # Their own schedule naming my customer, price or tax rate: 404, nothing written.
    theirs = Setup(other_api)
    their_rate = new_tax_rate(other_api)
    for body in (
        schedule_body(setup.customer_id, [theirs.price_id]),
        theirs.body([setup.price_id]),
        theirs.body(taxRates=[{"priceId": theirs.price_id, "taxRateId": tax_rate}]),
    ):
        response = other_api.post("/api/billing-schedules", json=body)
        assert response.status_code == 404, body
        assert response.json()["error"]["type"] == "NotFound"
    assert ok(other_api.get("/api/billing-schedules"))["pagination"]["totalResultSize"] == 0
    assert theirs.create(taxRates=[{"priceId": theirs.price_id, "taxRateId": their_rate}])
    assert ok(api.get(url)) == mine
