"""ON_DEMAND and PER_EVENT prices, end to end: each day with usage is invoiced the next day,
a day without usage invoices nothing. ON_DEMAND prices a day's usage on the tiers the
phase's running total reaches; PER_EVENT charges (and rounds) every event on its own."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tests.billing.helpers import Merchant, amounts, totals
from tests.billing.test_pricing_types import TIERS, _calls
from tests.catalog.price_bodies import fixed, graduated, linear, make_product, package, price_body
from tests.catalog.price_bodies import volume as volume_structure
from tests.metering.helpers import event, send
from tests.support.api_client import ApiClient


def _on_demand(merchant: Merchant, structure: dict[str, Any], name: str = "Calls") -> str:
    return merchant.price(structure, name=name, billingFrequency="ON_DEMAND")


def _periods(invoices: list[dict[str, Any]]) -> list[tuple[str, dict[str, str]]]:
    return [(i["invoiceDate"], i["billingPeriod"]) for i in invoices]


def test_on_demand_invoices_each_day_with_usage_the_next_day(api: ApiClient) -> None:
    """60 calls on 10 January: 60 x 1.00 + 20 = 80.00 on an invoice dated 11 January. 60 more
    on 12 January take the phase to 120: the tiers price the increment, 40 x 1.00 + 20 x 0.75
    + 50 (the second tier's fee, reached now) = 105.00, invoiced 13 January. 11 January had
    no usage: no invoice."""
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    price = _on_demand(merchant, graduated(metric, TIERS))
    assert api.get(f"/api/prices/{price}").json()["billingFrequency"] == "ON_DEMAND"
    customer = merchant.customer()
    _calls(api, customer, 60, "2024-01-10")
    _calls(api, customer, 60, "2024-01-12")
    schedule = merchant.schedule(customer, [price], "2024-01-01", taxed=False)
    merchant.bill("2024-01-20")
    invoices = merchant.invoices(schedule["id"])
    assert _periods(invoices) == [
        ("2024-01-11", {"start": "2024-01-10", "endInclusive": "2024-01-10"}),
        ("2024-01-13", {"start": "2024-01-12", "endInclusive": "2024-01-12"}),
    ]
    assert [amounts(i) for i in invoices] == [
        {"Calls": Decimal("80.00")},
        {"Calls": Decimal("105.00")},
    ]
    assert [i["status"] for i in invoices] == ["DRAFT", "DRAFT"]
    assert invoices[1]["lineItems"][0]["quantity"] == "60"


def test_todays_usage_is_the_invoice_in_progress(api: ApiClient) -> None:
    """Usage today is on an IN_PROGRESS invoice dated tomorrow, which follows later usage."""
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    price = _on_demand(merchant, linear(metric, pricePerUnit="0.10"))
    customer = merchant.customer()
    schedule = merchant.schedule(customer, [price], "2024-01-01", taxed=False)
    _calls(api, customer, 30, "2024-01-05")
    merchant.bill("2024-01-05")
    [today] = merchant.invoices(schedule["id"])
    assert (today["status"], today["invoiceDate"]) == ("IN_PROGRESS", "2024-01-06")
    assert amounts(today) == {"Calls": Decimal("3.00")}
    _calls(api, customer, 20, "2024-01-05")
    merchant.bill("2024-01-06")
    [day] = merchant.invoices(schedule["id"])
    assert (day["status"], day["id"]) == ("DRAFT", today["id"])
    assert totals(day) == (Decimal("5.00"), Decimal("0.00"), Decimal("5.00"))


def test_on_demand_packages_bill_only_the_packages_a_day_starts(api: ApiClient) -> None:
    """Packages of 250 at $10: 100 calls start one package (10.00); 100 more fit in it
    (0.00, a line that says so); 100 more start the second (10.00)."""
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    price = _on_demand(merchant, package(metric), name="Packs")
    customer = merchant.customer()
    for day in ("2024-03-01", "2024-03-02", "2024-03-03"):
        _calls(api, customer, 100, day)
    schedule = merchant.schedule(customer, [price], "2024-03-01", taxed=False)
    merchant.bill("2024-03-10")
    assert [amounts(i)["Packs"] for i in merchant.invoices(schedule["id"])] == [
        Decimal("10.00"),
        Decimal("0.00"),
        Decimal("10.00"),
    ]


def test_on_demand_volume_prices_new_units_on_the_tier_the_total_reaches(api: ApiClient) -> None:
    """VOLUME tiers 1.00 up to 100 (fee 20), then 0.75 (fee 50): 80 calls pay 80 + 20 =
    100.00; 40 more take the total to 120, in the second tier: 40 x 0.75 + 50 = 80.00."""
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    price = _on_demand(merchant, volume_structure(metric, TIERS))
    customer = merchant.customer()
    _calls(api, customer, 80, "2024-03-01")
    _calls(api, customer, 40, "2024-03-02")
    schedule = merchant.schedule(customer, [price], "2024-03-01", taxed=False)
    merchant.bill("2024-03-10")
    assert [amounts(i)["Calls"] for i in merchant.invoices(schedule["id"])] == [
        Decimal("100.00"),
        Decimal("80.00"),
    ]


def test_per_event_charges_and_rounds_every_event_on_its_own(api: ApiClient) -> None:
    """2.9 % of three payments of $10.10: each is $0.2929, charged as $0.29, so $0.87 for the
    day (where the day's total, $30.30 x 2.9 % = $0.8787, would be $0.88), plus 20 % tax."""
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric(
        "Payments", "payment", aggregationType="SUM", aggregationProperty="amount"
    )
    price = merchant.price(
        linear(metric, pricePerUnit="0.029", isPricePercentage=True),
        name="Payment fees",
        billingFrequency="PER_EVENT",
    )
    customer = merchant.customer()
    send(
        api,
        *(event(customer, f"2024-01-10T0{h}:00:00Z", "payment", amount="10.10") for h in (1, 2, 3)),
    )
    send(api, event(customer, "2024-01-12T09:00:00Z", "payment", amount="5000"))
    schedule = merchant.schedule(customer, [price], "2024-01-01")
    merchant.bill("2024-01-20")
    first, second = merchant.invoices(schedule["id"])
    assert first["invoiceDate"] == "2024-01-11"
    assert totals(first) == (Decimal("0.87"), Decimal("0.17"), Decimal("1.04"))
    [line] = first["lineItems"]
    assert Decimal(line["quantity"]) == Decimal("30.30")
    assert line["description"] == "3 events, each charged on its own"
    assert amounts(second) == {"Payment fees": Decimal("145.00")}


def test_usage_driven_prices_beside_a_monthly_fee(api: ApiClient) -> None:
    """A monthly platform fee keeps its invoice on 1 February; the on-demand usage of
    31 January is invoiced the same day, on that invoice."""
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    usage = _on_demand(merchant, linear(metric, pricePerUnit="0.10"))
    platform = merchant.price(fixed("100.00"), name="Platform")
    customer = merchant.customer()
    _calls(api, customer, 10, "2024-01-15")
    _calls(api, customer, 20, "2024-01-31")
    schedule = merchant.schedule(customer, [usage, platform], "2024-01-01", taxed=False)
    merchant.bill("2024-02-01")
    mid, month_end = merchant.invoices(schedule["id"])[:2]
    assert amounts(mid) == {"Calls": Decimal("1.00")}
    assert month_end["invoiceDate"] == "2024-02-01"
    assert amounts(month_end) == {"Calls": Decimal("2.00"), "Platform": Decimal("100.00")}


# --- what the frequencies refuse --------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "structure", "field", "words"),
    [
        ("ON_DEMAND", lambda m: fixed(), "billingFrequency", "ON_DEMAND bills usage"),
        ("PER_EVENT", lambda m: fixed(), "billingFrequency", "LINEAR"),
        ("PER_EVENT", package, "billingFrequency", "LINEAR"),
        (
            "ON_DEMAND",
            lambda m: graduated(m, TIERS, usageCalculationMode="CUMULATIVE"),
            "structure.usageCalculationMode",
            "running total",
        ),
        ("ON_DEMAND", volume_structure, "billingFrequency", "maxPrice"),
    ],
)
def test_usage_driven_frequencies_refuse_what_they_cannot_bill(
    api: ApiClient,
    frequency: str,
    structure: Callable[[str], dict[str, Any]],
    field: str,
    words: str,
) -> None:
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    body = price_body(
        merchant.product_id,
        structure(metric),
        billingFrequency=frequency,
    )
    response = api.post("/api/prices", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert [d["field"] for d in error["details"]] == [field]
    assert words in error["message"]
    assert api.get("/api/prices").json()["pagination"]["totalResultSize"] == 0


def test_per_event_needs_a_metric_with_a_value_per_event(api: ApiClient) -> None:
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric(
        "Users", "login", aggregationType="UNIQUE", aggregationProperty="user"
    )
    body = price_body(merchant.product_id, linear(metric), billingFrequency="PER_EVENT")
    response = api.post("/api/prices", json=body)
    assert response.status_code == 400, response.text
    assert [d["field"] for d in response.json()["error"]["details"]] == ["structure.usageMetricId"]
    assert response.json()["error"]["type"] == "ValidationError"  # a bad price, no conflict


@pytest.mark.parametrize("frequency", ["ON_DEMAND", "PER_EVENT"])
def test_another_accounts_metric_is_not_found(
    api: ApiClient, other_api: ApiClient, frequency: str
) -> None:
    theirs = Merchant(other_api).usage_metric("Calls", "api_call", aggregationType="COUNT")
    body = price_body(make_product(api), linear(theirs), billingFrequency=frequency)
    response = api.post("/api/prices", json=body)
    assert response.status_code == 404, response.text
    assert "structure.usageMetricId" in response.text


def test_another_accounts_usage_is_not_billed(api: ApiClient, other_api: ApiClient) -> None:
    """The other account's customer uses the same alias text: its usage makes no invoice."""
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    price = _on_demand(merchant, linear(metric))
    customer = merchant.customer(customerAliases=["acme"])
    other = Merchant(other_api, currency="USD")
    other_customer = other.customer(customerAliases=["acme-other"])
    _calls(other_api, other_customer, 5, "2024-01-03")
    _calls(other_api, "acme-other", 5, "2024-01-04")
    _calls(api, customer, 5, "2024-01-05")
    schedule = merchant.schedule(customer, [price], "2024-01-01", taxed=False)
    merchant.bill("2024-01-10")
    assert [i["invoiceDate"] for i in merchant.invoices(schedule["id"])] == ["2024-01-06"]
