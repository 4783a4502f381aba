"""The dashboard's home: drafts to review, invoices awaiting payment and overdue ones, counted
and totalled per currency by the invoice list's own filters, each linking to that list. Another
account's invoices never count."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tally.db import Database
from tally.models import InvoiceStatus, PaymentStatus
from tests.conftest import make_account
from tests.dashboard.helpers import Merchant, add_user, signed_in
from tests.factories import new_customer
from tests.invoices.helpers import insert_invoice
from tests.support.api_client import ApiClient


def card(page: str, key: str) -> str:
    found = re.search(rf'<a class="card card-link" id="overview-{key}" href="([^"]+)">(.*?)</a>',
                      page, re.S)  # fmt: skip
    assert found, key
    return found.group(1).replace("&amp;", "&") + " " + " ".join(found.group(2).split())


def test_home_counts_what_needs_attention(
    dashboard: TestClient,
    api: ApiClient,
    other_api: ApiClient,
    database: Database,
    merchant: Merchant,
) -> None:
    account_id = merchant.account.account_id
    customer = new_customer(api, "Acme Rockets Ltd")
    for currency in ("GBP", "GBP", "EUR"):
        insert_invoice(database, account_id, customer, currency=currency)
    sent = {"status": InvoiceStatus.SENT, "invoice_number": None}
    insert_invoice(database, account_id, customer, **sent, due_date=date(2999, 1, 1))
    insert_invoice(database, account_id, customer, **sent, gross_total=Decimal("100.10"))
    insert_invoice(
        database, account_id, customer, **sent, payment_status=PaymentStatus.PAID
    )  # paid: needs nothing
    theirs = new_customer(other_api, "Other Ltd")
    other_account = other_api.get("/api/sequence-accounts").json()["items"][0]["id"]
    insert_invoice(database, other_account, theirs, gross_total=Decimal("999"))

    page = dashboard.get("/dashboard")
    assert page.status_code == 200
    drafts = card(page.text, "drafts-to-review")
    assert drafts.startswith("/dashboard/invoices?invoiceStatus=DRAFT ")
    assert "999" not in page.text
    assert ">3 invoices<" in drafts and "£540.00" in drafts and "€270.00" in drafts
    awaiting = card(page.text, "awaiting-payment")
    assert ">2 invoices<" in awaiting and "£370.10" in awaiting
    overdue = card(page.text, "overdue")  # due 1 July 2024 (the helper's), not the year 2999
    assert overdue.startswith("/dashboard/invoices?overdue=true ")
    assert ">1 invoice<" in overdue and "£100.10" in overdue

    listed = dashboard.get(overdue.split(" ")[0])  # the card's link is the list so filtered
    assert listed.status_code == 200 and "£100.10" in listed.text and "£270.00" not in listed.text


def test_home_says_when_invoices_cannot_be_issued(
    app: FastAPI, database: Database, dashboard: TestClient, merchant: Merchant
) -> None:
    assert 'id="seller-missing"' not in dashboard.get("/dashboard").text  # it has an address
    nowhere = add_user(database, make_account(database, "Nowhere Ltd", address=None))
    with signed_in(app, nowhere) as client:
        page = client.get("/dashboard").text
    assert 'id="seller-missing"' in page
    assert "address.line1, address.town, address.postcode, address.country" in page
    assert 'href="/dashboard/settings"' in page
