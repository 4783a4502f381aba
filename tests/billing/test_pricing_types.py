"""Every pricing type end to end: events in over HTTP, a billing run, the invoice's lines out.

The figures are Sequence's worked examples (reference section 5), with the corrected
percentage rates it names.
"""

from decimal import Decimal
from typing import Any

from tests.billing.helpers import Merchant, amounts, totals
from tests.catalog.price_bodies import graduated, linear, package, seat_based
from tests.metering.helpers import event, send
from tests.support.api_client import ApiClient

TIERS = [
    {"upperBound": "100", "price": "1.00", "fee": "20.00"},
    {"price": "0.75", "fee": "50.00"},
]


def _january(merchant: Merchant, price: str, customer: str) -> dict[str, Any]:
    """Bill a monthly schedule from 1 January as of 1 February: January's invoice."""
    schedule = merchant.schedule(customer, [price], "2024-01-01", taxed=False)
    merchant.bill("2024-02-01")
    return merchant.invoice_for(schedule["id"], "2024-01-01")


def _calls(api: ApiClient, customer: str, count: int, day: str = "2024-01-15") -> None:
    for start in range(0, count, 500):
        batch = [
            event(customer, f"{day}T10:00:00Z", "api_call") for _ in range(min(500, count - start))
        ]
        send(api, *batch)


def _payments(api: ApiClient, customer: str, *values: str) -> None:
    send(api, *(event(customer, "2024-01-10T09:00:00Z", "payment", amount=v) for v in values))


def test_linear(api: ApiClient) -> None:
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    price = merchant.price(linear(metric, pricePerUnit="0.10"), name="API calls")
    customer = merchant.customer()
    _calls(api, customer, 550)
    january = _january(merchant, price, customer)
    assert amounts(january) == {"API calls": Decimal("55.00")}
    [line] = january["lineItems"]
    assert (line["quantity"], Decimal(line["rate"])) == ("550", Decimal("0.10"))


def test_linear_percentage(api: ApiClient) -> None:
    """0.5 % of $1,000 of payments: $5.00."""
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric(
        "Payments", "payment", aggregationType="SUM", aggregationProperty="amount"
    )
    price = merchant.price(
        linear(metric, pricePerUnit="0.005", isPricePercentage=True), name="Payment fees"
    )
    customer = merchant.customer()
    _payments(api, customer, *["20"] * 50)
    january = _january(merchant, price, customer)
    assert amounts(january) == {"Payment fees": Decimal("5.00")}
    assert january["lineItems"][0]["rateDisplay"] == "PERCENTAGE"


def test_volume_with_per_event_minimum_and_maximum(api: ApiClient) -> None:
    """2 % a payment, at least $1 and at most $10 each: $25 -> 1.00, $100 -> 2.00,
    $500 -> 10.00; $13.00 in all."""
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric(
        "Payments", "payment", aggregationType="SUM", aggregationProperty="amount"
    )
    tier = {"price": "0.02", "isPricePercentage": True, "minPrice": "1.00", "maxPrice": "10.00"}
    price = merchant.price(
        {"pricingType": "VOLUME", "usageMetricId": metric, "tiers": [tier]}, name="Fees"
    )
    customer = merchant.customer()
    _payments(api, customer, "25", "100", "500")
    assert amounts(_january(merchant, price, customer)) == {"Fees": Decimal("13.00")}


def test_volume(api: ApiClient) -> None:
    """125 units all at the second tier's rate, plus its flat fee: $143.75."""
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    price = merchant.price(
        {"pricingType": "VOLUME", "usageMetricId": metric, "tiers": TIERS}, name="Calls"
    )
    customer = merchant.customer()
    _calls(api, customer, 125)
    assert amounts(_january(merchant, price, customer)) == {"Calls": Decimal("143.75")}


def test_graduated(api: ApiClient) -> None:
    """100 x 1 + 20, then 25 x 0.75 + 50: $188.75."""
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    price = merchant.price(graduated(metric, TIERS), name="Calls")
    customer = merchant.customer()
    _calls(api, customer, 125)
    assert amounts(_january(merchant, price, customer)) == {"Calls": Decimal("188.75")}


def test_graduated_percentage(api: ApiClient) -> None:
    """$15,000 through 1 % to $10,000 (+ $500) and 0.5 % above (+ $250): $875."""
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric(
        "Volume", "payment", aggregationType="SUM", aggregationProperty="amount"
    )
    tiers = [
        {"upperBound": "10000", "price": "0.01", "fee": "500", "isPricePercentage": True},
        {"price": "0.005", "fee": "250", "isPricePercentage": True},
    ]
    price = merchant.price(graduated(metric, tiers), name="Processing")
    customer = merchant.customer()
    _payments(api, customer, "7500", "7500")
    assert amounts(_january(merchant, price, customer)) == {"Processing": Decimal("875.00")}


def test_graduated_cumulative_carries_tiers_across_periods(api: ApiClient) -> None:
    """January's 125 units reach the second tier; February's 100 are all priced there,
    without its flat fee again: 100 x 0.75 = $75.00."""
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    price = merchant.price(
        graduated(metric, TIERS, usageCalculationMode="CUMULATIVE"), name="Calls"
    )
    customer = merchant.customer()
    _calls(api, customer, 125, "2024-01-20")
    _calls(api, customer, 100, "2024-02-20")
    schedule = merchant.schedule(customer, [price], "2024-01-01", taxed=False)
    merchant.bill("2024-03-01")
    january = merchant.invoice_for(schedule["id"], "2024-01-01")
    february = merchant.invoice_for(schedule["id"], "2024-02-01")
    assert amounts(january) == {"Calls": Decimal("188.75")}
    assert amounts(february) == {"Calls": Decimal("75.00")}


def test_package_rounds_up(api: ApiClient) -> None:
    """600 units in packages of 250 at $10: three packages, $30."""
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    price = merchant.price(package(metric), name="Call packs")
    customer = merchant.customer()
    _calls(api, customer, 600)
    january = _january(merchant, price, customer)
    assert amounts(january) == {"Call packs": Decimal("30.00")}
    assert january["lineItems"][0]["quantity"] == "3"


def test_fixed_in_advance_is_invoiced_when_its_period_starts(api: ApiClient) -> None:
    merchant = Merchant(api)
    price = merchant.price(
        {"pricingType": "FIXED", "price": "2500.00"}, name="Platform", billingType="IN_ADVANCE"
    )
    schedule = merchant.schedule(merchant.customer(), [price], "2024-01-01", "2024-06-30")
    merchant.bill("2024-01-01")
    january, february = merchant.invoices(schedule["id"])
    assert january["status"] == "DRAFT"  # due today, for the month ahead
    assert february["status"] == "IN_PROGRESS"  # what 1 February will invoice
    assert january["billingPeriod"] == {"start": "2024-01-01", "endInclusive": "2024-01-31"}
    assert totals(january) == (Decimal("2500.00"), Decimal("500.00"), Decimal("3000.00"))


def test_one_time_is_charged_once_on_the_first_invoice(api: ApiClient) -> None:
    merchant = Merchant(api)
    setup = merchant.price(
        {"pricingType": "ONE_TIME", "price": "150.00"},
        name="Onboarding",
        billingFrequency="ONE_TIME",
        billingType="IN_ADVANCE",
    )
    fee = merchant.price({"pricingType": "FIXED", "price": "100.00"}, name="Platform")
    schedule = merchant.schedule(merchant.customer(), [setup, fee], "2024-01-01", "2024-12-31")
    merchant.bill("2024-03-01")
    invoices = merchant.invoices(schedule["id"])
    titles = [sorted(amounts(invoice)) for invoice in invoices]
    assert titles[0] == ["Onboarding"]  # 1 January: the one-time price, in advance
    assert all("Onboarding" not in t for t in titles[1:])
    assert sum(list(amounts(i).values()).count(Decimal("150.00")) for i in invoices) == 1


def test_seats_use_maximum_and_prorate_all_changes(api: ApiClient) -> None:
    """10 seats, 20 from 11 January, 5 from 21 January (31 days): the maximum bills 20 for
    the month, seat-days bill 10 x 10 + 20 x 10 + 5 x 11 = 355 seat-days of 15/31."""
    merchant = Merchant(api)
    seat_metric = merchant.seat_metric("editor")
    maximum = merchant.price(
        seat_based(seat_metric, prorationStrategy="USE_MAXIMUM"), name="Seats (max)"
    )
    all_changes = merchant.price(
        seat_based(seat_metric, prorationStrategy="PRORATE_ALL_CHANGES"), name="Seats (days)"
    )
    customer = merchant.customer()
    for at, total in (("2024-01-01", 10), ("2024-01-11", 20), ("2024-01-21", 5)):
        merchant.seats(customer, "editor", f"{at}T00:00:00Z", total)
    january = _january_of(merchant, customer, [maximum, all_changes])
    assert amounts(january) == {
        "Seats (max)": Decimal("300.00"),
        "Seats (days)": (Decimal(355) * 15 / 31).quantize(Decimal("0.01")),
    }


def _january_of(merchant: Merchant, customer: str, prices: list[str]) -> dict[str, Any]:
    schedule = merchant.schedule(customer, prices, "2024-01-01", taxed=False)
    merchant.bill("2024-02-01")
    return merchant.invoice_for(schedule["id"], "2024-01-01")


def test_seat_overages_bill_monthly_beside_a_yearly_commitment(api: ApiClient) -> None:
    """100 seats committed a year in advance at £120 each; seats above 100 bill monthly in
    arrears at £10 (120 / 12): 110 in January, 120 from February."""
    merchant = Merchant(api)
    price = merchant.price(
        seat_based(
            merchant.seat_metric("editor"),
            pricePerSeat="120.00",
            contractedMinimumSeats=100,
            overagesBillingFrequency="MONTHLY",
        ),
        name="Seats",
        billingFrequency="YEARLY",
        billingType="IN_ADVANCE",
    )
    customer = merchant.customer()
    merchant.seats(customer, "editor", "2024-01-01T00:00:00Z", 110)
    merchant.seats(customer, "editor", "2024-02-01T00:00:00Z", 120)
    schedule = merchant.schedule(customer, [price], "2024-01-01", "2024-12-31", taxed=False)

    merchant.bill("2024-03-01")

    by_date = {i["invoiceDate"]: amounts(i) for i in merchant.invoices(schedule["id"])}
    assert by_date["2024-01-01"] == {"Seats": Decimal("12000.00")}
    assert by_date["2024-02-01"] == {"Seats: seats over 100": Decimal("100.00")}
    assert by_date["2024-03-01"] == {"Seats: seats over 100": Decimal("200.00")}
