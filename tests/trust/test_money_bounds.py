"""The largest price the catalog takes times the largest usage ingestion takes bills exactly,
to the cent, and shows everywhere: a price that passes creation can never break billing."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from fractions import Fraction

from fastapi import FastAPI

from tally.engine import pricing
from tests.billing.helpers import Merchant
from tests.catalog.price_bodies import linear
from tests.factories import customer_body
from tests.metering.test_ingestion_bounds import LARGEST, post_batch, raw_event, storage
from tests.portal.helpers import link_path, portal_client
from tests.support.api_client import ApiClient

LARGEST_PRICE = "999999999999999999.999999999999"  # 30 digits, 12 of them decimals


def test_the_largest_price_times_the_largest_quantity_is_exact_in_the_engine() -> None:
    price = pricing.Linear(metric_id="m", price_per_unit=Decimal(LARGEST_PRICE))
    quantity = Decimal(LARGEST) * 1000
    amount = pricing.usage_amount(quantity, price)
    assert Fraction(amount) == Fraction(LARGEST_PRICE) * Fraction(LARGEST) * 1000
    with localcontext() as context:
        context.prec = 28  # Python's default would have rounded it
        assert Fraction(Decimal(LARGEST_PRICE) * quantity) != Fraction(amount)


def test_the_largest_price_bills_the_largest_usage_to_the_cent(
    api: ApiClient, app: FastAPI
) -> None:
    merchant = Merchant(api)
    metric = storage(api)
    customer = api.post("/api/customers", json=customer_body()).json()
    price = merchant.price(linear(metric["id"], pricePerUnit=LARGEST_PRICE), name="Storage")
    assert api.get(f"/api/prices/{price}").status_code == 200
    start = datetime.now(UTC).date().replace(day=1)
    schedule = merchant.schedule(customer["id"], [price], start.isoformat(), None)
    at = max(
        datetime.now(UTC) - timedelta(seconds=1), datetime(start.year, start.month, 1, tzinfo=UTC)
    ).isoformat()
    answer = post_batch(api, [raw_event(f'{{"gb": {LARGEST}}}', customer["id"], at)] * 1000)
    assert answer["accepted"] == 1000

    merchant.bill_now()
    [invoice] = merchant.invoices(schedule["id"])
    exact = Fraction(LARGEST_PRICE) * Fraction(LARGEST) * 1000
    net = Decimal(invoice["netTotal"])
    assert abs(Fraction(net) - exact) <= Fraction(1, 200)  # rounded once, to the cent
    assert Decimal(invoice["grossTotal"]) == net + Decimal(invoice["totalTax"])
    client = portal_client(app)
    for page in ("", "/usage", "/invoices"):
        assert client.get(link_path(customer) + page).status_code == 200, page
    pdf = api.get(f"/api/invoices/{invoice['id']}/download")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
