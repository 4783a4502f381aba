"""The portal's Credits tab shows the customer's top-ups with their invoices and status, and
its auto-recharge read-only, in the customer's language; it shows for a customer with a
top-up awaiting payment and no grant yet."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import new_customer
from tests.portal.helpers import link_path
from tests.support.api_client import ApiClient


def test_top_ups_and_auto_recharge_show_on_the_credits_tab(
    api: ApiClient, portal: TestClient
) -> None:
    customer = new_customer(api, legalName="Globex Corporation")
    body = {"customerId": customer["id"], "currency": "GBP", "amount": 50, "cost": 40}
    top_up = api.post("/api/credit-top-ups", json=body).json()
    setting = {"belowBalance": 10, "rechargeAmount": 50, "monthlyCap": 200}
    assert api.put(f"/api/customers/{customer['id']}/auto-recharges/GBP", json=setting).is_success
    invoice = api.get(f"/api/invoices/{top_up['invoiceId']}").json()

    page = portal.get(link_path(customer) + "/credits")

    assert page.status_code == 200, page.text[:500]
    assert f'data-top-up="{top_up["id"]}"' in page.text
    assert "Awaiting payment" in page.text and invoice["invoiceNumber"] in page.text
    assert "When your balance falls below £10.00" in page.text
    assert "At most £200.00 a month." in page.text
    assert 'href="' in page.text and "/credits" in portal.get(link_path(customer)).text


def test_the_tab_is_translated(api: ApiClient, portal: TestClient) -> None:
    customer = new_customer(api, language="de")
    setting = {"belowBalance": 10, "rechargeAmount": 50}
    assert api.put(f"/api/customers/{customer['id']}/auto-recharges/GBP", json=setting).is_success
    page = portal.get(link_path(customer) + "/credits")
    assert page.status_code == 200, page.text[:500]
    assert "Automatische Aufladung" in page.text and "Fällt Ihr Guthaben unter" in page.text
