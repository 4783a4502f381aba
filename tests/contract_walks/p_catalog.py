"""The contract walk's steps for list prices, discounts and billing products (branch
p-catalog): each operation once, with a valid request; the client checks every answer
against Sequence's schema."""

from collections.abc import Callable
from typing import Any

from tests.catalog.price_bodies import fixed, list_price_body
from tests.factories import customer_body, product_body
from tests.schedules.helpers import phase, schedule_body
from tests.support.api_client import ApiClient

Ok = Callable[..., dict[str, Any]]


def walk(ok: Ok, api: ApiClient) -> None:
    product = ok("POST", "/api/products", json=product_body(name="Catalog"))
    list_price = ok("POST", "/api/list-prices", json=list_price_body(product["id"], fixed()))
    url = f"/api/list-prices/{list_price['id']}"
    ok("GET", "/api/list-prices")
    ok("GET", url)
    ok("PUT", url, json=list_price_body(product["id"], fixed("120.00"), name="Catalog fee"))

    customer = ok("POST", "/api/customers", json=customer_body(legalName="Catalog Ltd"))
    discount = {"type": "PERCENTAGE", "amount": 10, "message": "Launch", "separateLineItem": False}
    body = schedule_body(customer["id"], [], isDraft=True)
    body["phases"] = [phase([], listPriceIds=[list_price["id"]], discounts=[discount])]
    schedule = ok("POST", "/api/billing-schedules", json=body)
    ok("POST", f"{url}/archive")
    ok("GET", "/api/billing-products")

    discount_url = f"/api/discounts/{schedule['phases'][0]['discounts'][0]['id']}"
    ok("GET", "/api/discounts")
    ok("GET", discount_url)
    ok(
        "PUT",
        discount_url,
        json={
            "billingScheduleId": schedule["id"],
            "priceIds": schedule["phases"][0]["priceIds"],
            "separateLineItem": True,
            "amount": 12.5,
            "discountCalculationType": "PERCENTAGE",
            "message": "Loyalty",
            "validFrom": "2024-02-01",
            "validTo": "2024-06-30",
        },
    )
    ok("DELETE", discount_url)
