"""What a customer reads is in its language, else its account's: the invoice PDF the API
downloads, the email and the PDF it attaches, and the portal's pages; numbers, money and
dates in the locale of that language in the customer's billing country."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from email import policy
from email.message import EmailMessage as MimeMessage
from email.parser import BytesParser
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pypdf import PdfReader

from tally.accounts.service import Credentials
from tally.core.clock import utcnow
from tally.db import Database
from tally.models import Account, Invoice, InvoiceStatus
from tally.notifications.outbox import send_due
from tally.payments.dunning import content as dunning_content
from tally.settings import Settings
from tests.documents.helpers import insert_credit_note, pdf_text
from tests.factories import address, new_customer
from tests.invoices.helpers import GroupSpec, LineSpec, insert_invoice
from tests.notifications.email_support import parts, queue_invoice_email
from tests.portal.helpers import link_path, portal_client
from tests.support.api_client import ApiClient

D = Decimal
PUBLIC_URL = "https://billing.example.com"


def spaced(text: str) -> str:
    """No-break and narrow no-break spaces (Babel's, in French and German) as plain ones."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def customer_in(
    api: ApiClient, country: str, language: str | None, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"address": address(country=country), **fields}
    if language is not None:
        body["language"] = language
    return new_customer(api, f"Kunde {country} {language}", **body)


def euro_invoice(app: FastAPI, account_id: str, customer: dict[str, Any], **columns: Any) -> str:
    """A SENT EUR invoice: one line of 1,234.50 at 19 % (tax 234.56), issued 1 June 2024,
    due 1 July 2024 (30 days)."""
    values: dict[str, Any] = {
        "status": InvoiceStatus.SENT,
        "currency": "EUR",
        "invoice_number": "RE-0001",
        "issue_date": date(2024, 6, 1),
        "sent_at": utcnow(),
        "net_total": D("1234.50"),
        "total_tax": D("234.56"),
        "gross_total": D("1469.06"),
        "balance": D("1469.06"),
        **columns,
    }
    return insert_invoice(
        app.state.db,
        account_id,
        customer,
        groups=[GroupSpec(0, "Plattform", D("1234.50"), D("234.56"), D("1469.06"))],
        lines=[
            LineSpec(
                0,
                0,
                "Grundgebühr",
                D(1),
                D("1234.50"),
                D("0.19"),
                D("1234.50"),
                D("234.56"),
                D("1469.06"),
                service_period=(date(2024, 5, 1), date(2024, 5, 31)),
            ),
        ],
        **values,
    )


def downloaded(api: ApiClient, invoice_id: str) -> str:
    response = api.get(f"/api/invoices/{invoice_id}/download")
    assert response.status_code == 200, response.text
    return spaced(pdf_text(response.content))


# --- the PDF ---------------------------------------------------------------------------------


def test_a_german_customers_invoice_pdf_reads_german_with_german_numbers_and_dates(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    customer = customer_in(api, "DE", "de", taxStatus="REVERSE_CHARGED")
    text = downloaded(api, euro_invoice(app, account.account_id, customer))
    for expected in (
        "Rechnung", "RE-0001", "RECHNUNGSEMPFÄNGER", "Ausstellungsdatum 01.06.2024",
        "Fälligkeitsdatum 01.07.2024", "Abrechnungszeitraum 01.05.2024 \u2013 31.05.2024",
        "Währung EUR", "1 1.234,50 € 19 % 1.234,50 €", "Nettobetrag 1.234,50 €",
        "Steuer 234,56 €", "Gesamtbetrag 1.469,06 €",
        "Zahlungsziel: 30 Tage, fällig bis 01.07.2024.",
        "Steuerschuldnerschaft des Leistungsempfängers", "Deutschland", "Seite 1 von 1",
    ):  # fmt: skip
        assert expected in text, expected
    for english in ("Invoice", "Issue date", "Payment terms", "Reverse charge", "Page 1 of 1"):
        assert english not in text, english


def test_a_french_customers_invoice_pdf_reads_french(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    customer = customer_in(api, "FR", "fr", taxStatus="TAX_EXEMPT")
    text = downloaded(api, euro_invoice(app, account.account_id, customer))
    for expected in (
        "Facture", "FACTURÉ À", "Date d\u2019émission 1 juin 2024", "1 234,50 €", "19 %",
        "Total TTC 1 469,06 €", "Conditions de paiement : 30 jours, à régler au plus tard le",
        "Exonération de TVA", "France", "Page 1 sur 1",
    ):  # fmt: skip
        assert expected in text, expected
    assert "Invoice" not in text


def test_a_customer_without_a_language_reads_its_accounts_and_its_country_sets_formats(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    answer = api.put(f"/api/sequence-accounts/{account.account_id}", json={"language": "nl"})
    assert answer.status_code == 200, answer.text
    belgian = customer_in(api, "BE", None)
    assert belgian.get("language") is None  # null: left out, as other empty fields
    text = downloaded(api, euro_invoice(app, account.account_id, belgian))
    assert "Factuur" in text and "Betalingstermijn: 30 dagen" in text
    assert "€ 1.234,50" in text  # nl_BE writes the symbol first
    assert "België" in text

    # Its own language, once it has one, wins over the account's.
    response = api.put(
        f"/api/customers/{belgian['id']}",
        json={"legalName": belgian["legalName"], "address": belgian["address"], "language": "fr"},
    )
    assert response.status_code == 200, response.text
    text = downloaded(api, euro_invoice(app, account.account_id, belgian, invoice_number="RE-2"))
    assert "Facture" in text and "1 234,50 €" in text and "Belgique" in text


def test_a_credit_note_reads_the_customers_language_too(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    customer = customer_in(api, "ES", "es")
    invoice_id = euro_invoice(app, account.account_id, customer)
    note_id = insert_credit_note(
        app.state.db, account.account_id, customer, invoice_id,
        status=InvoiceStatus.FINAL, credit_note_number="CN-0001", issue_date=date(2024, 6, 10),
    )  # fmt: skip
    response = api.get(f"/api/credit-notes/{note_id}/download")
    assert response.status_code == 200, response.text
    text = spaced(pdf_text(response.content))
    for expected in ("Factura rectificativa", "ABONAR A", "Rectifica la factura RE-0001",
                     "Total abonado", "Página 1 de 1"):  # fmt: skip
        assert expected in text, expected


# --- emails ----------------------------------------------------------------------------------


@pytest.fixture
def folder_settings(database: Database, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database.url,
        billing_scheduler=False,
        public_url=PUBLIC_URL,
    )


def test_the_email_to_a_dutch_customer_and_its_pdf_are_in_dutch(
    app: FastAPI,
    database: Database,
    api: ApiClient,
    account: Credentials,
    folder_settings: Settings,
) -> None:
    customer = customer_in(api, "NL", "nl")
    invoice_id = euro_invoice(app, account.account_id, customer, invoice_number="INV00042")
    message_id = queue_invoice_email(database, account.account_id, invoice_id, PUBLIC_URL)

    report = send_due(database, folder_settings, account_id=account.account_id)

    assert report.delivered == [message_id]
    [path] = sorted((folder_settings.data_dir / "outbox").glob("*.eml"))
    with path.open("rb") as file:
        message = BytesParser(policy=policy.default).parse(file)
    assert isinstance(message, MimeMessage)
    assert message["Subject"] == "Factuur INV00042 van Test merchant"
    text, html, [(filename, _, pdf)] = parts(message)
    assert text.startswith(f"Beste {customer['legalName']},")
    assert "Bijgevoegd vindt u factuur INV00042 van Test merchant voor € 1.469,06, te " in spaced(
        text
    )
    assert "uiterlijk 1 juli 2024." in text
    assert "in uw factuurportaal" in text and "Met vriendelijke groet," in text
    assert '<html lang="nl">' in html and "Bekijken in uw factuurportaal" in html
    assert filename == "Invoice-INV00042.pdf"
    attached = spaced(PdfReader(BytesIO(pdf)).pages[0].extract_text())
    assert "Factuur" in attached and "Betalingstermijn" in attached


def test_dunning_emails_speak_the_customers_language(
    app: FastAPI, database: Database, api: ApiClient, account: Credentials
) -> None:
    customer = customer_in(api, "DE", "de")
    invoice_id = euro_invoice(app, account.account_id, customer)
    with database.session() as session:
        said = dunning_content(
            session.get_one(Account, account.account_id),
            session.get_one(Invoice, invoice_id),
            "https://pay.example.com",
            "first",
            retry_on=date(2024, 7, 8),
            reason="Your card was declined.",
            locale="de_DE",
        )
    assert said.subject == "Zahlung für Rechnung RE-0001 von Test merchant fehlgeschlagen"
    assert spaced(said.text).count("1.469,06 €") == 1
    assert "(Your card was declined)" in said.text  # the provider's words, as they come
    assert "Wir versuchen es am 8. Juli 2024 erneut." in said.text
    assert '<html lang="de">' in said.html and "Jetzt bezahlen" in said.html


# --- the portal ------------------------------------------------------------------------------


@pytest.fixture
def browser(app: FastAPI) -> TestClient:
    return portal_client(app)


def test_the_portal_of_a_spanish_customer_is_in_spanish(
    app: FastAPI, api: ApiClient, account: Credentials, browser: TestClient
) -> None:
    customer = customer_in(api, "ES", "es")
    invoice_id = euro_invoice(app, account.account_id, customer)
    base = link_path(customer)

    overview = browser.get(base)
    assert overview.status_code == 200, overview.text
    for expected in ('<html lang="es-ES">', "Resumen", "Facturas recientes", "Suscripciones",
                     "Ir al contenido", "Facturación de Test merchant.", "1 jun 2024"):  # fmt: skip
        assert expected in overview.text, expected

    invoices = browser.get(base + "/invoices")
    assert invoices.status_code == 200
    body = spaced(invoices.text)
    for expected in ("Facturas", "1 factura", "Pendiente", "1.469,06 €", "Buscar facturas"):
        assert expected in body, expected

    page = browser.get(f"{base}/invoices/{invoice_id}")
    assert page.status_code == 200
    for expected in ("Descargar PDF", "Todas las facturas", 'lang="es-ES"', "Factura",
                     "Fecha de emisión", "Condiciones de pago: 30 días"):  # fmt: skip
        assert expected in spaced(page.text), expected

    usage = browser.get(base + "/usage")
    assert usage.status_code == 200
    assert "Consumo a lo largo del tiempo" in usage.text

    pdf = browser.get(f"{base}/invoices/{invoice_id}/pdf")
    assert pdf.status_code == 200
    assert "Factura" in pdf_text(pdf.content)
    for english in ("Overview", "Recent invoices", "Skip to content"):
        assert english not in overview.text, english
