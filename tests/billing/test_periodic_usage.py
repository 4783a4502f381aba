"""GRADUATED prices with usageCalculationMode PERIODIC, end to end: the tiers count usage
from the start of the price's usageCalculationPeriod and start at 0 again after it."""

from decimal import Decimal

from tests.billing.helpers import Merchant, amounts
from tests.billing.test_pricing_types import TIERS, _calls
from tests.catalog.price_bodies import graduated, make_product, price_body
from tests.support.api_client import ApiClient

TWO_MONTHS = {"frequency": "MONTHLY", "interval": 2}


def _periodic_price(merchant: Merchant, metric: str, period: dict[str, object]) -> str:
    return merchant.price(
        graduated(metric, TIERS, usageCalculationMode="PERIODIC"),
        name="Calls",
        usageCalculationPeriod=period,
    )


def test_monthly_invoices_count_tiers_over_two_month_periods(api: ApiClient) -> None:
    """January's 125 calls reach the second tier: 100 x 1.00 + 20 + 25 x 0.75 + 50 = 188.75.
    February is in the same two-month period: its 100 calls are all at 0.75 (75.00), with no
    fee again. March starts a new period at 0: its 125 calls pay 188.75 again."""
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    price = _periodic_price(merchant, metric, TWO_MONTHS)
    stored = api.get(f"/api/prices/{price}").json()
    assert stored["usageCalculationPeriod"] == TWO_MONTHS
    assert stored["structure"]["usageCalculationMode"] == "PERIODIC"
    customer = merchant.customer()
    _calls(api, customer, 125, "2024-01-20")
    _calls(api, customer, 100, "2024-02-20")
    _calls(api, customer, 125, "2024-03-05")
    schedule = merchant.schedule(customer, [price], "2024-01-01", taxed=False)
    merchant.bill("2024-04-01")
    billed = [
        amounts(merchant.invoice_for(schedule["id"], start))["Calls"]
        for start in ("2024-01-01", "2024-02-01", "2024-03-01")
    ]
    assert billed == [Decimal("188.75"), Decimal("75.00"), Decimal("188.75")]
    february = merchant.invoice_for(schedule["id"], "2024-02-01")
    assert february["lineItems"][0]["quantity"] == "100"  # its own calls, not the running total


def test_a_quarterly_price_on_monthly_periods_pays_each_month_from_zero(api: ApiClient) -> None:
    """150 calls in each month of a quarter, tiers counted per month: 3 x (100 x 1.00 + 20 +
    50 x 0.75 + 50) = 622.50, where BILLING_PERIOD would count 450 calls once (457.50)."""
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    customer = merchant.customer()
    for day in ("2024-01-10", "2024-02-10", "2024-03-10"):
        _calls(api, customer, 150, day)
    body = price_body(
        merchant.product_id,
        graduated(metric, TIERS, usageCalculationMode="PERIODIC"),
        currency="USD",
        name="Calls",
        billingFrequency="QUARTERLY",
        usageCalculationPeriod={"frequency": "MONTHLY", "interval": 1},
    )
    quarterly = api.post("/api/prices", json=body).json()["id"]
    schedule = merchant.schedule(customer, [quarterly], "2024-01-01", taxed=False)
    merchant.bill("2024-04-01")
    quarter = merchant.invoice_for(schedule["id"], "2024-01-01")
    assert amounts(quarter) == {"Calls": Decimal("622.50")}
    assert quarter["lineItems"][0]["quantity"] == "450"


def test_periodic_needs_its_period_and_names_it(api: ApiClient) -> None:
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    body = price_body(
        merchant.product_id, graduated(metric, TIERS, usageCalculationMode="PERIODIC")
    )
    for period in (None, {"frequency": "DAILY", "interval": 1}, {"frequency": "MONTHLY"}):
        sent = body if period is None else {**body, "usageCalculationPeriod": period}
        response = api.post("/api/prices", json=sent)
        assert response.status_code == 400, response.text
        named = [d["field"] for d in response.json()["error"]["details"]]
        assert named and all(f.startswith("usageCalculationPeriod") for f in named), named
    assert api.get("/api/prices").json()["pagination"]["totalResultSize"] == 0


def test_another_accounts_metric_is_not_found(api: ApiClient, other_api: ApiClient) -> None:
    theirs = Merchant(other_api).usage_metric("Calls", "api_call", aggregationType="COUNT")
    body = price_body(
        make_product(api),
        graduated(theirs, TIERS, usageCalculationMode="PERIODIC"),
        usageCalculationPeriod=TWO_MONTHS,
    )
    response = api.post("/api/prices", json=body)
    assert response.status_code == 404, response.text
    assert "structure.usageMetricId" in response.text
