"""An archived customer's portal: its account is closed, but the links of the invoices it still
owes (and has paid) keep working, read-only: the invoice pages and their PDFs, by the
permanent link and the links its emails carry. The other tabs are gone, no new session is
issued, and a session issued before sees the same closed portal until it ends."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import EmailMessage
from tests.credit_notes.helpers import sent_invoice
from tests.factories import new_customer
from tests.invoices.helpers import insert_invoice
from tests.portal.helpers import (
    issue_session,
    link_path,
    portal_client,
    rotate_link,
    signed_in_client,
)
from tests.support.api_client import ApiClient

LINK = re.compile(r"https?://[^\s\"<>]+/portal/c/[^\s\"<>/]+/invoices/[0-9a-f-]+")
CLOSED = "This account is closed"


def _emailed_link(database: Database, account_id: str, invoice_id: str) -> str:
    """The invoice page link in the invoice's email, as the customer received it (its path)."""
    with database.session(write=False) as session:
        bodies = session.scalars(
            select(EmailMessage.text_body).where(
                EmailMessage.account_id == account_id, EmailMessage.kind == "INVOICE"
            )
        ).all()
    [link] = {found for body in bodies for found in LINK.findall(body) if invoice_id in found}
    return urlsplit(link).path


def _sent_and_emailed(
    api: ApiClient, database: Database, account_id: str, customer: dict[str, Any]
) -> tuple[str, str]:
    """An unpaid invoice finalized and sent by email: (its id, its number)."""
    invoice_id = insert_invoice(database, account_id, customer)
    sent = api.post(f"/api/invoices/{invoice_id}/finalize-and-send")
    assert sent.status_code == 200, sent.text
    return invoice_id, sent.json()["invoiceNumber"]


def test_the_emailed_link_of_an_unpaid_invoice_works_after_archiving(
    api: ApiClient, app: FastAPI, database: Database, account: Credentials
) -> None:
    customer = new_customer(api, legalName="Closing Ltd")
    unpaid, unpaid_number = _sent_and_emailed(api, database, account.account_id, customer)
    paid = sent_invoice(database, account.account_id, customer, invoice_number="INV-PAID")
    status = api.put(f"/api/invoices/{paid}/payment-status", json={"paymentStatus": "PAID"})
    assert status.status_code == 200, status.text
    emailed = _emailed_link(database, account.account_id, unpaid)
    portal = portal_client(app)
    assert portal.get(emailed).status_code == 200

    archived = api.post(f"/api/customers/{customer['id']}/archive")
    assert archived.status_code == 200
    assert archived.json()["portalUrl"] == customer["portalUrl"]

    page = portal.get(emailed)
    assert page.status_code == 200
    assert unpaid_number in page.text and CLOSED in page.text
    pdf = portal.get(emailed + "/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    # The permanent link opens the invoices: outstanding and paid, and nothing else.
    home = link_path(customer)
    landing = portal.get(home)
    assert landing.status_code == 303
    assert landing.headers["location"] == f"{home}/invoices"
    listed = portal.get(f"{home}/invoices")
    assert listed.status_code == 200
    assert unpaid_number in listed.text and "INV-PAID" in listed.text and CLOSED in listed.text
    assert f'href="{home}/usage"' not in listed.text
    assert f'href="{home}"' not in listed.text  # no Overview tab
    for tab in ("/usage", "/credits"):
        assert portal.get(home + tab).status_code == 404, tab
    assert portal.get(f"{home}/invoices/{paid}").status_code == 200

    # No new sessions for a closed account, by either route.
    refused = api.post(f"/api/customers/{customer['id']}/portal-sessions")
    assert refused.status_code == 400
    assert refused.json()["error"]["type"] == "CustomerArchived"
    assert "archived" in refused.json()["error"]["message"]
    assert api.get(f"/v1/customers/portal/{customer['id']}").status_code == 400


def test_a_session_issued_before_archiving_shows_the_invoices_only(
    api: ApiClient, app: FastAPI, database: Database, account: Credentials
) -> None:
    customer = new_customer(api, legalName="Closing Ltd")
    _, number = _sent_and_emailed(api, database, account.account_id, customer)
    token = issue_session(api, customer["id"])["token"]
    browser = signed_in_client(app, api, customer["id"])
    assert browser.get("/portal/s").status_code == 200  # the overview, while open
    assert api.post(f"/api/customers/{customer['id']}/archive").status_code == 200

    listed = browser.get("/portal/s/invoices")
    assert listed.status_code == 200
    assert number in listed.text and CLOSED in listed.text
    assert browser.get("/portal/s").headers["location"] == "/portal/s/invoices"
    assert browser.get("/portal/s/usage").status_code == 404

    header = {"X-Session-Token": token}
    client = portal_client(app)
    invoices = client.get("/portal/api/invoices", headers=header)
    assert invoices.status_code == 200
    assert [item["invoiceNumber"] for item in invoices.json()["items"]] == [number]
    assert client.get("/portal/api/profile", headers=header).status_code == 200
    hidden_paths = ("usage", "wallet", "subscriptions", "alerts")
    for hidden in (f"/portal/api/{path}" for path in hidden_paths):
        answer = client.get(hidden, headers=header)
        assert answer.status_code == 404, hidden
        assert "closed" in answer.json()["error"]["message"]


def test_an_archived_customers_link_can_still_be_rotated(api: ApiClient, app: FastAPI) -> None:
    customer = new_customer(api, legalName="Closing Ltd")
    assert api.post(f"/api/customers/{customer['id']}/archive").status_code == 200
    rotated = rotate_link(api, customer["id"])
    assert rotated["portalUrl"] != customer["portalUrl"]
    portal: TestClient = portal_client(app)
    assert portal.get(link_path(customer) + "/invoices").status_code == 404
    assert portal.get(link_path(rotated) + "/invoices").status_code == 200
