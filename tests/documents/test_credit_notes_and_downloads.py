"""Credit note documents, and both documents downloaded through the API."""

import io
from datetime import date

from fastapi import FastAPI
from pypdf import PdfReader
from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.documents import render
from tally.models import Customer, InvoiceStatus
from tests.documents.helpers import insert_credit_note, pdf_text
from tests.factories import new_customer
from tests.invoices.helpers import insert_invoice
from tests.support.api_client import ApiClient


def test_a_credit_note_pdf_shows_its_number_the_invoice_it_credits_lines_and_totals(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    customer = new_customer(api, "Example Ltd")
    invoice_id = insert_invoice(
        app.state.db,
        account.account_id,
        customer,
        status=InvoiceStatus.SENT,
        invoice_number="INV-0007",
        issue_date=date(2024, 6, 1),
    )
    note_id = insert_credit_note(
        app.state.db,
        account.account_id,
        customer,
        invoice_id,
        status=InvoiceStatus.FINAL,
        credit_note_number="CN-0001",
        issue_date=date(2024, 6, 10),
    )

    with app.state.db.transaction() as session:
        pdf = render.credit_note_pdf(
            session, account.account_id, note_id, settings=app.state.settings
        )
        secret = session.scalar(select(Customer.portal_secret).where(Customer.id == customer["id"]))

    text = pdf_text(pdf)
    for expected in (
        "Credit note", "CN-0001", "CREDIT TO", "Example Ltd", "Issue date 10 Jun 2024",
        "Credits invoice INV-0007", "Billing period 1 May 2024 \u2013 31 May 2024",
        "Service outage refund", "1 £50.00 20% £50.00", "Goodwill credit",
        "Platform £60.00", "Tax 20% £60.00 £12.00", "Net total £60.00", "Tax £12.00",
        "Total credit £72.00", "Credit note CN-0001", "Page 1 of 1",
    ):  # fmt: skip
        assert expected in text, expected
    assert "Payment terms" not in text
    link = f"{app.state.settings.public_url}/portal/c/{secret}/invoices/{invoice_id}"
    assert link in "".join(text.split())


def test_invoices_and_credit_notes_download_as_pdf_named_after_their_number(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    customer = new_customer(api)
    numbered = insert_invoice(
        app.state.db,
        account.account_id,
        customer,
        status=InvoiceStatus.SENT,
        invoice_number="INV-0042",
        issue_date=date(2024, 6, 1),
    )
    draft = insert_invoice(app.state.db, account.account_id, customer)
    note = insert_credit_note(app.state.db, account.account_id, customer, numbered)

    for url, filename, shows in (
        (f"/api/invoices/{numbered}/download", "INV-0042.pdf", "INV-0042"),
        (f"/api/invoices/{draft}/download", f"{draft}.pdf", "Draft"),
        (f"/api/credit-notes/{note}/download", f"{note}.pdf", "Credit note"),
    ):
        response = api.get(url)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'
        assert response.headers["cache-control"] == "private, no-store"
        assert len(PdfReader(io.BytesIO(response.content)).pages) == 1
        assert shows in pdf_text(response.content)


def test_another_accounts_or_an_unknown_document_is_not_found(
    app: FastAPI, api: ApiClient, other_api: ApiClient, account: Credentials
) -> None:
    customer = new_customer(api)
    invoice_id = insert_invoice(app.state.db, account.account_id, customer)
    note_id = insert_credit_note(app.state.db, account.account_id, customer, invoice_id)
    secret_of = select(Customer.portal_secret).where(Customer.id == customer["id"])
    with app.state.db.session() as session:
        secret = session.scalar(secret_of)

    for url in (
        f"/api/invoices/{invoice_id}/download",
        f"/api/credit-notes/{note_id}/download",
        "/api/invoices/nope/download",
        "/api/credit-notes/nope/download",
    ):
        response = other_api.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["type"] == "NotFound"
    # A stranger's attempt did not touch the customer's portal secret either.
    with app.state.db.session() as session:
        assert session.scalar(secret_of) == secret
    assert api.get(f"/api/invoices/{invoice_id}/download").status_code == 200
