"""An English, a German and a French invoice as their customers receive them: the PDF the API
downloads, its first page drawn by PDFium. Each reads in its language (title, dates, money)
and carries its e-invoice; with `TALLY_SCREENSHOTS=1` the pages are saved to docs/screenshots/
(invoice-en.png, invoice-de.png, invoice-fr.png), or to `$TALLY_SCREENSHOTS_DIR`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tally.db import Database
from tests.conftest import make_account
from tests.documents.helpers import pdf_text
from tests.einvoice.helpers import issued_invoice, set_up_merchant
from tests.factories import address, new_customer
from tests.support.api_client import ApiClient

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LINES = [
    {"title": "Platform", "quantity": "1", "rate": "1234.50"},
    {"title": "API calls", "quantity": "120000", "rate": "0.0025"},
    {"title": "Onboarding workshop", "quantity": "2", "rate": "450"},
]


@dataclass(frozen=True)
class Buyer:
    language: str
    name: str
    address: dict[str, Any]
    vat: str
    tax_status: str
    words: list[str]  # what its invoice must read: title, label, money, tax wording


# A UK customer charged VAT; German and French businesses reverse-charged (B2B within Europe).
BUYERS = [
    Buyer(
        "en",
        "Northwind Analytics Ltd",
        address(line1="20 Deansgate", line2=None, town="Manchester", postcode="M3 1AA"),
        "GB987654321",
        "TAXED",
        ["Invoice", "Bill to", "£2,434.50", "£2,921.40"],
    ),
    Buyer(
        "de",
        "Brennholz Software GmbH",
        address(
            line1="Friedrichstraße 68", line2=None, town="Berlin", postcode="10117", country="DE"
        ),
        "DE123456789",
        "REVERSE_CHARGED",
        ["Rechnung", "Rechnungsempfänger", "2.434,50 €", "Steuerschuldnerschaft"],
    ),
    Buyer(
        "fr",
        "Boulangerie Numérique SAS",
        address(line1="12 rue de Rivoli", line2=None, town="Paris", postcode="75004", country="FR"),
        "FR12345678901",
        "REVERSE_CHARGED",
        ["Facture", "Facturé à", "2 434,50 €", "Autoliquidation"],
    ),
]


def first_page_png(pdf: bytes) -> bytes:
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[0].render(scale=1.5).to_pil()
    finally:
        document.close()
    out = BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def save(name: str, png: bytes) -> None:
    if os.environ.get("TALLY_SCREENSHOTS") != "1" and not os.environ.get("TALLY_SCREENSHOTS_DIR"):
        return
    target = Path(os.environ.get("TALLY_SCREENSHOTS_DIR") or SCREENSHOTS)
    target.mkdir(parents=True, exist_ok=True)
    (target / name).write_bytes(png)


@pytest.fixture(scope="module")
def merchant(http: TestClient, database: Database) -> ApiClient:
    """A UK merchant with its address and VAT number, billing in three languages."""
    credentials = make_account(database, "Acme Billing Ltd")
    api = ApiClient(http, (credentials.api_key, credentials.api_secret))
    set_up_merchant(api)
    return api


def spaced(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.mark.parametrize("buyer", BUYERS, ids=[buyer.language for buyer in BUYERS])
def test_an_invoice_in_its_customers_language(merchant: ApiClient, buyer: Buyer) -> None:
    country = buyer.address["country"]
    customer = new_customer(
        merchant,
        buyer.name,
        address=buyer.address,
        language=buyer.language,
        taxStatus=buyer.tax_status,
    )
    body = {"taxIdentifier": buyer.vat, "customerId": customer["id"], "country": country}
    assert merchant.post("/api/tax-registrations", json=body).status_code == 201
    tax_rate = "0.2" if buyer.tax_status == "TAXED" else "0"
    lines = [{**line, "taxRate": tax_rate} for line in LINES]
    currency = "GBP" if country == "GB" else "EUR"
    invoice = issued_invoice(merchant, customer["id"], lines, currency=currency)

    answer = merchant.get(f"/api/invoices/{invoice['id']}/download")
    assert answer.status_code == 200, answer.text
    text = spaced(pdf_text(answer.content))
    for word in buyer.words:
        assert word.lower() in text.lower(), (word, text)  # labels are set in capitals
    assert buyer.vat in text  # the buyer's tax identifier is printed

    png = first_page_png(answer.content)
    page = Image.open(BytesIO(png))
    width, height = page.size
    assert abs(height / width - 297 / 210) < 0.01  # an A4 page
    low, high = page.convert("L").getextrema()
    assert high - low > 100  # drawn, not blank
    save(f"invoice-{buyer.language}.png", png)
