"""What a finance person reads on the dashboard: rates as percentages people write ("20%",
"17.5%", never "2E+1 %"), money rounded half up to the minor unit as invoice lines are
(£0.125 reads £0.13, where Babel alone shows £0.12)."""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi.testclient import TestClient

from tally.db import Database
from tally.models import InvoiceStatus
from tests.catalog.price_bodies import linear
from tests.dashboard.helpers import Merchant
from tests.factories import new_customer, tax_rate_body
from tests.invoices.helpers import GroupSpec, LineSpec, insert_invoice
from tests.metering.helpers import create_metric
from tests.schedules.helpers import created, new_product
from tests.support.api_client import ApiClient

D = Decimal
TWELVE_PENCE = re.compile(r"£0\.12(?!\d)")  # not the £0.125 of a unit price


def page(dashboard: TestClient, path: str) -> str:
    answer = dashboard.get(path)
    assert answer.status_code == 200, answer.text
    return answer.text


def test_tax_rates_read_as_percentages_on_the_catalog_and_the_schedule_form(
    dashboard: TestClient, api: ApiClient
) -> None:
    tax_rate = created(api.post("/api/tax-rates", json=tax_rate_body(amount="0.2")))
    other = created(api.post("/api/tax-rates", json=tax_rate_body(name="Reduced", amount="0.175")))

    catalog = page(dashboard, "/dashboard/catalog")
    versions = page(dashboard, f"/dashboard/catalog/tax-rates/{tax_rate['id']}")
    form = page(dashboard, "/dashboard/billing-schedules/new")
    for html in (catalog, versions, form):
        assert "2E+1" not in html and "20.0" not in html
    assert "<td>20%</td>" in catalog and "<td>17.5%</td>" in catalog
    assert "<td>20%</td>" in versions
    assert f'value="{tax_rate["id"]}">UK Sales Tax (20%)<' in form
    assert f'value="{other["id"]}">Reduced (17.5%)<' in form


def test_a_percentage_price_reads_as_a_percentage(dashboard: TestClient, api: ApiClient) -> None:
    metric = create_metric(
        api, name="Payments volume", aggregationType="SUM", aggregationProperty="amount"
    )
    body = {
        "productId": new_product(api),
        "name": "Payment fee",
        "currency": "GBP",
        "billingFrequency": "MONTHLY",
        "billingType": "IN_ARREARS",
        "structure": linear(metric["id"], pricePerUnit="0.025", isPricePercentage=True),
    }
    created(api.post("/api/prices", json=body))
    assert "Payment fee</a>: 2.5% of usage" in page(dashboard, "/dashboard/catalog")


def test_half_a_penny_rounds_up_on_every_dashboard_page(
    dashboard: TestClient, api: ApiClient, database: Database, merchant: Merchant
) -> None:
    customer = new_customer(api, "Half Penny Ltd")
    invoice_id = insert_invoice(
        database,
        merchant.account.account_id,
        customer,
        groups=[GroupSpec(0, "Platform", D("0.125"), D("0"), D("0.125"))],
        lines=[
            LineSpec(0, 0, "Tiny fee", D("1"), D("0.125"), D("0"), D("0.125"), D("0"), D("0.125")),
        ],
        status=InvoiceStatus.SENT,
        invoice_number="INV-0125",
        net_total=D("0.125"),
        total_tax=D("0"),
        gross_total=D("0.125"),
    )
    for path in (
        f"/dashboard/customers/{customer['id']}",
        "/dashboard/invoices",
        f"/dashboard/invoices/{invoice_id}",
    ):
        html = page(dashboard, path)
        assert "£0.13" in html, path
        assert not TWELVE_PENCE.search(html), path
    # The home page's cards total it too: SENT, unpaid, past its due date (1 July 2024).
    home = page(dashboard, "/dashboard")
    assert "£0.13" in home and not TWELVE_PENCE.search(home)
