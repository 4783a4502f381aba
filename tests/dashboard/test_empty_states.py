"""Every list says what to do next when it is empty, with a link to do it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.dashboard.reading import get
from tests.factories import new_customer_id, product_body
from tests.schedules.helpers import created
from tests.support.api_client import ApiClient

# path -> (what it says, where its link goes)
EMPTY = {
    "/dashboard/customers": ("No customers yet.", "/dashboard/customers/new"),
    "/dashboard/invoices": ("No invoices yet.", "/dashboard/billing-schedules/new"),
    "/dashboard/billing-schedules": (
        "No billing schedules yet.",
        "/dashboard/billing-schedules/new",
    ),
    "/dashboard/catalog": ("No products yet.", "/dashboard/catalog/products/new"),
    "/dashboard/credits": ("No credit grants yet.", "#grant-title"),
    "/dashboard/usage": ("No usage events yet.", "/dashboard/api-keys"),
    "/dashboard/usage/metrics": ("No usage metrics yet", "/dashboard/catalog"),
    "/dashboard/settings/webhooks": (
        "No notification policies yet.",
        "/dashboard/settings/webhooks/new",
    ),
    "/dashboard/receivables": ("Nothing is owed.", "/dashboard/invoices"),
    "/dashboard/alerts": ("No alerts yet.", "/dashboard/alerts/new"),
}


@pytest.mark.parametrize("path", list(EMPTY))
def test_an_empty_list_says_what_to_do_next(dashboard: TestClient, path: str) -> None:
    says, target = EMPTY[path]
    text, links = get(dashboard, path)
    assert says in text
    assert target in [href for href, _ in links]


def test_the_catalogs_other_lists_say_how_to_start_them(dashboard: TestClient) -> None:
    text, links = get(dashboard, "/dashboard/catalog")
    hrefs = [href for href, _ in links]
    for says, target in (
        ("No usage metrics yet.", "/dashboard/catalog/usage-metrics/new"),
        ("No seat metrics yet.", "/dashboard/catalog/seat-metrics/new"),
        ("No tax rates yet.", "/dashboard/catalog/tax-rates/new"),
    ):
        assert says in text and target in hrefs


def test_a_filtered_list_that_matches_nothing_offers_to_clear_the_filters(
    dashboard: TestClient,
) -> None:
    text, links = get(dashboard, "/dashboard/invoices?invoiceStatus=SENT")
    assert "No invoices match these filters." in text and "No invoices yet" not in text
    assert ("/dashboard/invoices", "Clear the filters") in links
    text, links = get(dashboard, "/dashboard/customers?name=nobody")
    assert "No customers match." in text
    assert ("/dashboard/customers", "Clear the search") in links


def test_a_new_customers_and_products_empty_lists(dashboard: TestClient, api: ApiClient) -> None:
    customer = new_customer_id(api, "Fresh Start Ltd")
    text, links = get(dashboard, f"/dashboard/customers/{customer}")
    add = f"/dashboard/billing-schedules/new?customerId={customer}"
    assert "No billing schedules yet." in text and "No invoices yet" in text
    assert (add, "Add a billing schedule") in links
    # The link chooses the customer in the form.
    form = dashboard.get(add)
    assert form.status_code == 200
    assert f'<option value="{customer}" selected>Fresh Start Ltd</option>' in form.text

    text, links = get(dashboard, f"/dashboard/credits/customers/{customer}")
    assert "No credits for this customer yet." in text
    assert (f"/dashboard/credits?customerId={customer}", "Grant credits") in links

    product = created(api.post("/api/products", json=product_body()))["id"]
    text, links = get(dashboard, f"/dashboard/catalog/products/{product}")
    assert "No prices yet. Add a price below" in text
    new_price = f"/dashboard/catalog/products/{product}/prices/new?type=FIXED"
    assert new_price in [href for href, _ in links]
