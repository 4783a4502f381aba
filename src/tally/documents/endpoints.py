"""/api/invoices/{id}/download and /api/credit-notes/{id}/download: documents as PDF."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from tally.api.auth import CurrentAccount
from tally.api.deps import get_database
from tally.api.downloads import download
from tally.api.routing import api_router
from tally.db import Database
from tally.documents import render
from tally.einvoice.service import DocumentKind, factur_x_xml
from tally.settings import Settings

router = api_router(tags=["Documents"])

PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The document as a PDF, named after its number (or id, before it has one).",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}

Builder = Callable[..., render.Document]


def _pdf(
    request: Request,
    db: Database,
    account_id: str,
    build: Builder,
    document_id: str,
    kind: DocumentKind,
) -> Response:
    settings: Settings = request.app.state.settings
    # A short writing transaction of its own: the document may make the customer's portal
    # secret (its link), and on SQLite the write lock is held only while the rows are read,
    # not while WeasyPrint lays out pages.
    with db.transaction() as session:
        document = build(session, account_id, document_id, settings=settings)
        xml = factur_x_xml(session, account_id, kind, document_id)  # Factur-X when it can
    page = render.document_page(document)
    pdf = render.html_to_pdf(page, files_dir=settings.data_dir, factur_x=xml)
    return download(pdf, "application/pdf", document.filename)


Db = Annotated[Database, Depends(get_database)]


@router.get(
    "/invoices/{id}/download",
    summary="Download invoice PDF",
    response_class=Response,
    responses=PDF_RESPONSE,
)
def download_invoice(id: str, account: CurrentAccount, request: Request, db: Db) -> Response:
    return _pdf(request, db, account.account_id, render.invoice_document, id, "invoice")


@router.get(
    "/credit-notes/{id}/download",
    summary="Download credit note PDF",
    response_class=Response,
    responses=PDF_RESPONSE,
)
def download_credit_note(id: str, account: CurrentAccount, request: Request, db: Db) -> Response:
    return _pdf(request, db, account.account_id, render.credit_note_document, id, "credit_note")
