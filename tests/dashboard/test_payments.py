"""Payments from the dashboard: an invoice's payments, recording one by hand and refunding
one through the API's own services (a refusal shows its message and changes nothing), a
customer's balance and saved payment methods (none while Stripe is not connected), and the
Receivables page with the aging report."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import stripe
from fastapi.testclient import TestClient

from tally.db import Database
from tally.models import PaymentProviderName, ProviderCustomer
from tests.dashboard.helpers import Merchant, page_token
from tests.payments.helpers import invoice, new_customer, owed_invoice, pay
from tests.support.api_client import ApiClient
from tests.support.localstripe import LocalStripe

KEYS = {"secretKey": "sk_test_dashboard_0123456789", "webhookSecret": "whsec_dashboard_abc"}


def post(dashboard: TestClient, path: str, **data: str) -> Any:
    token = page_token(dashboard, "/dashboard/invoices")
    return dashboard.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def test_record_a_payment_then_refund_it_from_the_invoice_page(
    dashboard: TestClient, api: ApiClient, database: Database, merchant: Merchant
) -> None:
    invoice_id = owed_invoice(api, database, merchant.account.account_id, gross="120.00")
    page = dashboard.get(f"/dashboard/invoices/{invoice_id}")
    assert page.status_code == 200
    assert 'id="payments"' in page.text and "No payments yet." in page.text
    assert 'id="record-payment"' in page.text and "£120.00" in page.text

    done = post(
        dashboard,
        f"/dashboard/invoices/{invoice_id}/payments",
        amount="100.00",
        paidOn="2024-06-15",
        reference="BACS 77",
        method="CASH",
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/dashboard/invoices/{invoice_id}?done=payment-recorded"
    [payment] = api.get(f"/api/invoices/{invoice_id}/payments").json()["items"]
    assert (payment["amount"], payment["method"], payment["reference"]) == (
        "100.00",
        "CASH",
        "BACS 77",
    )
    assert payment["paidOn"] == "2024-06-15"
    shown = dashboard.get(done.headers["location"])
    assert "Payment recorded." in shown.text and f'id="payment-{payment["id"]}"' in shown.text
    assert "BACS 77" in shown.text and '<strong id="amount-due">£20.00</strong>' in shown.text
    assert "PAYMENT_RECEIVED" in shown.text or "Payment received" in shown.text

    too_much = post(dashboard, f"/dashboard/invoices/{invoice_id}/payments", amount="20.01")
    assert too_much.status_code == 409 and "more than" in too_much.text
    bad = post(dashboard, f"/dashboard/invoices/{invoice_id}/payments", amount="lots")
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    assert "Amount: enter a number, e.g. 12.50." in bad.text and "Input should be" not in bad.text
    assert invoice(api, invoice_id)["balance"] == "20.00"

    refunded = post(
        dashboard,
        f"/dashboard/invoices/{invoice_id}/payments/{payment['id']}/refund",
        amount="40.00",
        reason="Late delivery",
    )
    assert refunded.status_code == 303, refunded.text
    assert api.get(f"/api/payments/{payment['id']}").json()["refundedAmount"] == "40.00"
    after = dashboard.get(refunded.headers["location"])
    assert "Refund recorded" in after.text and "£40.00" in after.text
    notes = api.get("/api/credit-notes", params={"customerId": invoice(api, invoice_id)[
        "customerId"]}).json()["items"]  # fmt: skip
    assert [(n["grossTotal"], n["memo"]) for n in notes] == [("40.00", "Late delivery")]
    over = post(
        dashboard,
        f"/dashboard/invoices/{invoice_id}/payments/{payment['id']}/refund",
        amount="60.01",
    )
    assert over.status_code == 409 and "more than" in over.text


def test_another_accounts_invoice_or_payment_is_not_found(
    dashboard: TestClient,
    api: ApiClient,
    other_api: ApiClient,
    database: Database,
    merchant: Merchant,
) -> None:
    other_account = other_api.get("/api/sequence-accounts").json()["items"][0]["id"]
    foreign = owed_invoice(other_api, database, other_account, new_customer(other_api))
    foreign_payment = pay(other_api, foreign, "10.00")
    mine = owed_invoice(api, database, merchant.account.account_id)
    assert (
        post(dashboard, f"/dashboard/invoices/{foreign}/payments", amount="1.00").status_code == 404
    )
    refund_foreign = f"/dashboard/invoices/{foreign}/payments/{foreign_payment['id']}/refund"
    assert post(dashboard, refund_foreign, amount="1.00").status_code == 404
    # Another invoice's payment, named under this account's invoice: not found either.
    mine_payment = pay(api, mine, "5.00")
    other_mine = owed_invoice(api, database, merchant.account.account_id, number="INV-T2")
    aimed = f"/dashboard/invoices/{other_mine}/payments/{mine_payment['id']}/refund"
    assert post(dashboard, aimed, amount="1.00").status_code == 404
    assert (
        other_api.get(f"/api/payments/{foreign_payment['id']}").json()["refundedAmount"] == "0.00"
    )
    assert api.get(f"/api/payments/{mine_payment['id']}").json()["refundedAmount"] == "0.00"
    no_token = dashboard.post(f"/dashboard/invoices/{mine}/payments", data={"amount": "1.00"})
    assert no_token.status_code == 403
    assert invoice(api, mine)["balance"] == "265.00"


def test_the_customer_page_shows_its_balance_and_saved_methods(
    dashboard: TestClient,
    api: ApiClient,
    database: Database,
    merchant: Merchant,
    localstripe: LocalStripe,
) -> None:
    customer = new_customer(api)
    invoice_id = owed_invoice(
        api, database, merchant.account.account_id, customer, gross="80.00", due=date(2020, 1, 1)
    )
    pay(api, invoice_id, "30.00")
    page = dashboard.get(f"/dashboard/customers/{customer['id']}")
    assert page.status_code == 200
    assert 'id="customer-payments"' in page.text
    assert '<tr data-currency="GBP"><td>GBP</td><td>£50.00</td><td>£50.00</td>' in page.text
    assert "Stripe is not connected" in page.text

    api.put("/api/payment-providers/stripe", json=KEYS).raise_for_status()
    assert (
        "No saved payment methods." in dashboard.get(f"/dashboard/customers/{customer['id']}").text
    )
    client = stripe.StripeClient(KEYS["secretKey"], base_addresses={"api": localstripe.url})
    at_stripe = client.v1.customers.create(params={"name": customer["legalName"]})
    card = {"number": "4242424242424242", "exp_month": 7, "exp_year": 2041, "cvc": "123"}
    method = client.v1.payment_methods.create(params={"type": "card", "card": card})
    client.v1.payment_methods.attach(method.id, params={"customer": at_stripe.id})
    with database.transaction() as session:
        session.add(
            ProviderCustomer(
                account_id=merchant.account.account_id,
                provider=PaymentProviderName.STRIPE,
                customer_id=customer["id"],
                provider_customer_id=at_stripe.id,
                default_payment_method_id=method.id,
            )
        )
    shown = dashboard.get(f"/dashboard/customers/{customer['id']}").text
    assert "Visa ending 4242" in shown and "expires 07/2041" in shown


def test_the_receivables_page_shows_the_aging_report(
    dashboard: TestClient, api: ApiClient, database: Database, merchant: Merchant
) -> None:
    assert "Nothing is owed." in dashboard.get("/dashboard/receivables").text
    acme = new_customer(api, "Acme Rockets")
    as_of = date(2024, 12, 31)
    owed_invoice(api, database, merchant.account.account_id, acme, gross="10.00",
                 due=as_of - timedelta(days=45), number="R-1")  # fmt: skip
    owed_invoice(api, database, merchant.account.account_id, acme, gross="5.00",
                 due=as_of + timedelta(days=3), number="R-2")  # fmt: skip
    page = dashboard.get("/dashboard/receivables", params={"asOf": as_of.isoformat()})
    assert page.status_code == 200
    assert 'aria-current="page">Receivables<' in page.text
    row = page.text.split(f'data-customer="{acme["id"]}"')[1].split("</tr>")[0]
    cells = [cell.split("</td>")[0] for cell in row.split("<td>")[2:]]
    assert cells == ["£5.00", "£0.00", "£10.00", "£0.00", "£0.00", "£15.00"]
    report = api.get("/api/receivables/aging", params={"asOf": as_of.isoformat()}).json()
    assert report["currencies"][0]["totals"]["days31To60"] == "10.00"
    refused = dashboard.get("/dashboard/receivables", params={"asOf": "someday"})
    assert refused.status_code == 422 and "not a date" in refused.text
