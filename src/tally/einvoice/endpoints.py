"""GET /api/invoices/{id}/e-invoice and /api/credit-notes/{id}/e-invoice (Tally extensions):
the document as an EN 16931 e-invoice, `?syntax=ubl` (UBL 2.1, Peppol BIS Billing 3.0) or
`?syntax=cii` (UN/CEFACT CII, the XML inside Factur-X)."""

from typing import Annotated, Any

from fastapi import Depends, Query, Response

from tally.api.auth import CurrentAccount
from tally.api.deps import get_database
from tally.api.downloads import download
from tally.api.errors import ERROR_RESPONSES
from tally.api.routing import api_router
from tally.db import Database
from tally.einvoice.service import DocumentKind, Syntax, e_invoice_file
from tally.exceptions import InvalidRequest

router = api_router(tags=["E-invoices"])

XML_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The e-invoice, named after the document's number "
        "(`INV-0001.ubl.xml`, `INV-0001.cii.xml`).",
        "content": {"application/xml": {"schema": {"type": "string", "format": "binary"}}},
    },
    400: {
        **ERROR_RESPONSES[400],
        "description": "A wrong or unknown query parameter (`ValidationError`). "
        "`NotIssued`: a draft (finalize it first: an e-invoice needs its number) "
        "or a voided document. `IncompleteEInvoice`: the document lacks what EN 16931 needs "
        "(the merchant's address, a tax registration ...), each named in `details`.",
    },
}
SYNTAX_DESCRIPTION = "`ubl`: UBL 2.1 (Peppol BIS Billing 3.0); `cii`: UN/CEFACT CII (Factur-X)."

Db = Annotated[Database, Depends(get_database)]
SyntaxParam = Annotated[str, Query(description=SYNTAX_DESCRIPTION)]


def _syntax(value: str) -> Syntax:
    try:
        return Syntax(value)
    except ValueError:
        raise InvalidRequest.field(
            "syntax", f"{value!r} is not a syntax: use one of 'ubl', 'cii'"
        ) from None


def _answer(
    db: Database, account_id: str, kind: DocumentKind, document_id: str, syntax: str
) -> Response:
    chosen = _syntax(syntax)
    with db.session(write=False) as session:  # reads only
        xml = e_invoice_file(session, account_id, kind, document_id, chosen)
    return download(xml.content, "application/xml", xml.filename)


@router.get(
    "/invoices/{id}/e-invoice",
    summary="Download the invoice as an EN 16931 e-invoice",
    response_class=Response,
    responses=XML_RESPONSES,
)
def invoice_e_invoice(id: str, syntax: SyntaxParam, account: CurrentAccount, db: Db) -> Response:
    return _answer(db, account.account_id, "invoice", id, syntax)


@router.get(
    "/credit-notes/{id}/e-invoice",
    summary="Download the credit note as an EN 16931 e-invoice",
    response_class=Response,
    responses=XML_RESPONSES,
)
def credit_note_e_invoice(
    id: str, syntax: SyntaxParam, account: CurrentAccount, db: Db
) -> Response:
    return _answer(db, account.account_id, "credit_note", id, syntax)
