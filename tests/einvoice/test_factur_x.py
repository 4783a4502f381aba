"""The invoice PDF is a Factur-X PDF/A-3: its CII XML embedded once as `factur-x.xml`,
the same bytes `?syntax=cii` answers, with the XMP metadata that declares PDF/A-3 and
Factur-X EN 16931. A document that cannot be an e-invoice (a draft) stays a plain PDF."""

import io

import facturx
from fastapi import FastAPI
from lxml import etree
from pypdf import PdfReader

from tally.documents import render
from tests.einvoice.helpers import (
    account_id_of,
    customer_with_vat,
    e_invoice,
    issued_invoice,
    line,
    ok,
)
from tests.support.api_client import ApiClient
from tests.support.en16931 import assert_valid


def download(api: ApiClient, path: str) -> bytes:
    response = api.get(f"{path}/download")
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"%PDF-")
    return response.content


def embedded(pdf: bytes) -> dict[str, list[bytes]]:
    return dict(PdfReader(io.BytesIO(pdf)).attachments)


def assert_factur_x(pdf: bytes, cii: bytes) -> None:
    assert embedded(pdf) == {"factur-x.xml": [cii]}
    xmp = PdfReader(io.BytesIO(pdf)).xmp_metadata
    assert xmp is not None
    xml = xmp.rdf_root.toxml()
    assert "<pdfaid:part>3</pdfaid:part>" in xml or 'pdfaid:part="3"' in xml, xml
    assert "<pdfaid:conformance>B</pdfaid:conformance>" in xml or 'pdfaid:conformance="B"' in xml
    assert "EN 16931" in xml  # fx:ConformanceLevel
    # The factur-x package reads it back and checks it against the Factur-X XSD.
    filename, xml_bytes = facturx.get_facturx_xml_from_pdf(pdf, check_xsd=True)
    assert filename == "factur-x.xml"
    assert xml_bytes == cii
    assert facturx.get_level(etree.fromstring(xml_bytes)) == "en16931"


def test_the_invoice_pdf_carries_its_cii(merchant: ApiClient, app: FastAPI) -> None:
    customer = customer_with_vat(merchant, "Pdf Ltd", "GB300200100")
    invoice = issued_invoice(merchant, customer["id"], [line("Platform", "2", "45.50")])
    path = f"/api/invoices/{invoice['id']}"
    cii = e_invoice(merchant, path, "cii")
    assert_valid(cii, "cii")

    assert_factur_x(download(merchant, path), cii)
    # The email attaches what `render.invoice_pdf` makes: the same Factur-X.
    with app.state.db.transaction() as session:
        emailed = render.invoice_pdf(
            session, account_id_of(merchant), invoice["id"], settings=app.state.settings
        )
    assert_factur_x(emailed, cii)


def test_a_credit_note_pdf_carries_its_cii(merchant: ApiClient) -> None:
    customer = customer_with_vat(merchant, "Pdf Refund Ltd", "GB300200101")
    invoice = issued_invoice(merchant, customer["id"], [line("Platform", "1", "100.00")])
    ok(merchant.post(f"/api/invoices/{invoice['id']}/mark-as-sent"))
    body = {"invoiceId": invoice["id"], "customerId": customer["id"], "currency": "GBP"}
    note = ok(merchant.post("/api/credit-notes", json=body), 201)
    refund = {"title": "Refund", "quantity": "1", "rate": "10.00", "taxRate": "0.2",
              "externalIds": []}  # fmt: skip
    ok(merchant.post(f"/api/credit-notes/{note['id']}/line-items", json=refund), 201)
    ok(merchant.post(f"/api/credit-notes/{note['id']}/finalize"))
    path = f"/api/credit-notes/{note['id']}"

    assert_factur_x(download(merchant, path), e_invoice(merchant, path, "cii"))


def test_a_draft_pdf_stays_a_plain_pdf(merchant: ApiClient) -> None:
    customer = customer_with_vat(merchant, "Pdf Draft Ltd", "GB300200102")
    draft = issued_invoice(
        merchant, customer["id"], [line("Platform", "1", "1.00")], finalize=False
    )

    pdf = download(merchant, f"/api/invoices/{draft['id']}")

    assert embedded(pdf) == {}
