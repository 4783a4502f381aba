"""What a billing schedule needs (a customer, prices, tax rates) and its request bodies."""

from datetime import date, timedelta
from typing import Any

import httpx

from tests.factories import new_customer_id, product_body, tax_rate_body
from tests.support.api_client import ApiClient


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return dict(response.json())


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return dict(response.json())


def new_product(api: ApiClient) -> str:
    return str(created(api.post("/api/products", json=product_body()))["id"])


def new_price(
    api: ApiClient,
    product_id: str | None = None,
    *,
    currency: str = "GBP",
    frequency: str = "MONTHLY",
    billing_type: str = "IN_ARREARS",
    name: str = "Platform fee",
) -> str:
    """A FIXED price (ONE_TIME when `frequency` is)."""
    pricing = "ONE_TIME" if frequency == "ONE_TIME" else "FIXED"
    body = {
        "productId": product_id or new_product(api),
        "name": name,
        "currency": currency,
        "billingFrequency": frequency,
        "billingType": billing_type,
        "structure": {"pricingType": pricing, "price": "100.00"},
    }
    return str(created(api.post("/api/prices", json=body))["id"])


def new_tax_rate(api: ApiClient) -> str:
    return str(created(api.post("/api/tax-rates", json=tax_rate_body()))["id"])


def phase(
    price_ids: list[str], start: str = "2024-01-01", end: str | None = "2024-12-31", **extra: Any
) -> dict[str, Any]:
    return {"priceIds": price_ids, "startDate": start, "endDate": end, **extra}


def schedule_body(
    customer_id: str,
    price_ids: list[str],
    start: str = "2024-01-01",
    end: str | None = "2024-12-31",
    **overrides: Any,
) -> dict[str, Any]:
    """One phase over the whole schedule, not a draft, no tax rates."""
    return {
        "customerId": customer_id,
        "startDate": start,
        "endDate": end,
        "phases": [phase(price_ids, start, end)],
        "taxRates": [],
        "autoIssueInvoices": False,
        "isDraft": False,
        "rollUpBilling": False,
        **overrides,
    }


def update_body(schedule: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The PUT body restating a schedule as it is (Sequence's UpdateBillingScheduleRequest)."""
    return {
        "startDate": schedule["startDate"],
        "endDate": schedule.get("endDate"),
        "recurrenceDayOfMonth": schedule["recurrenceDayOfMonth"],
        "taxRates": schedule["taxRates"],
        "autoIssueInvoices": schedule["autoIssueInvoices"],
        "rollUpBilling": schedule["rollUpBilling"],
        "phases": [
            {
                "priceIds": p["priceIds"],
                "startDate": p["startDate"],
                "endDate": p.get("endDate"),
                "discounts": [{k: v for k, v in d.items() if k != "id"} for d in p["discounts"]],
                "minimums": [
                    {"amount": m["amount"], "restrictToPrices": m["restrictToPrices"]}
                    for m in p["minimums"]
                ],
            }
            for p in schedule["phases"]
        ],
        **overrides,
    }


class Setup:
    """A customer and a monthly GBP price of the test's account, to schedule."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api
        self.customer_id = new_customer_id(api)
        self.product_id = new_product(api)
        self.price_id = new_price(api, self.product_id)

    def price(self, **options: Any) -> str:
        return new_price(self.api, self.product_id, **options)

    def body(self, price_ids: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
        prices = [self.price_id] if price_ids is None else price_ids
        return schedule_body(self.customer_id, prices, **overrides)

    def create(self, price_ids: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
        return created(
            self.api.post("/api/billing-schedules", json=self.body(price_ids, **overrides))
        )


def iso(day: date, days: int = 0) -> str:
    return (day + timedelta(days=days)).isoformat()
