"""A schedule naming list prices bills exactly what it bills naming the same prices."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.billing.helpers import Merchant, totals
from tests.catalog.price_bodies import fixed, graduated
from tests.metering.helpers import event, send
from tests.schedules.helpers import created, phase
from tests.support.api_client import ApiClient

TIERS = [
    {"upperBound": "100", "price": "1.00", "fee": "20.00"},
    {"price": "0.75", "fee": "50.00"},
]


def _list_price(merchant: Merchant, structure: dict[str, Any], **fields: Any) -> str:
    body = {
        "productId": merchant.product_id,
        "name": "Platform fee",
        "currency": merchant.currency,
        "structure": structure,
        "billingFrequency": "MONTHLY",
        "billingType": "IN_ARREARS",
        "integrationIds": [],
        "customMetricParameters": [],
        **fields,
    }
    return str(created(merchant.api.post("/api/list-prices", json=body))["id"])


def _lines(invoice: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    return [
        (line["title"], line["quantity"], line["rate"], line["netTotal"], line["totalTax"])
        for line in invoice["lineItems"]
    ]


def _bill_both(
    merchant: Merchant,
    customers: tuple[str, str],
    structure: dict[str, Any],
    start: str,
    **fields: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first invoice of a schedule naming a price, and of one naming a list price of the
    same terms (billing day the 1st, so a start later in January is prorated), billed on
    1 February."""
    price = merchant.price(structure, **fields)
    list_price = _list_price(merchant, structure, **fields)
    by_price = merchant.schedule(customers[0], [price], start, recurrenceDayOfMonth=1)
    by_list = merchant.schedule(
        customers[1],
        [],
        start,
        phases=[phase([], start, None, listPriceIds=[list_price])],
        taxRates=[{"priceId": list_price, "taxRateId": merchant.tax_rate_id}],
        recurrenceDayOfMonth=1,
    )
    merchant.bill("2024-02-01")
    return (
        merchant.invoice_for(by_price["id"], start),
        merchant.invoice_for(by_list["id"], start),
    )


def test_usage_billed_through_a_list_price_matches_the_price(api: ApiClient) -> None:
    merchant = Merchant(api)
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    customers = (merchant.customer("Priced Ltd"), merchant.customer("Listed Ltd"))
    for customer in customers:
        send(api, *(event(customer, "2024-01-15T10:00:00Z", "api_call") for _ in range(125)))
    by_price, by_list = _bill_both(
        merchant, customers, graduated(metric, tiers=TIERS), "2024-01-01", name="Calls"
    )
    assert _lines(by_list) == _lines(by_price)
    assert totals(by_list) == totals(by_price)
    assert totals(by_price)[0] == Decimal("188.75")  # Sequence's graduated example


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2),
    start_day=st.integers(min_value=1, max_value=31),
)
def test_a_fixed_list_price_bills_the_same_prorated_amount(
    api: ApiClient, amount: Decimal, start_day: int
) -> None:
    merchant = Merchant(api)
    customers = (merchant.customer("Priced Ltd"), merchant.customer("Listed Ltd"))
    start = date(2024, 1, start_day).isoformat()
    by_price, by_list = _bill_both(merchant, customers, fixed(str(amount)), start)
    assert _lines(by_list) == _lines(by_price)
    assert totals(by_list) == totals(by_price)
    assert totals(by_list)[0] == (amount * (32 - start_day) / 31).quantize(
        Decimal("0.01"), ROUND_HALF_UP
    )
