"""E-invoices of invoices and credit notes, in either syntax, and the CII XML a document's
PDF embeds as Factur-X."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from sqlalchemy.orm import Session

from tally.einvoice.cii import cii_xml
from tally.einvoice.mapping import e_invoice
from tally.einvoice.model import EInvoice
from tally.einvoice.queries import Rows, credit_note_rows, invoice_rows
from tally.einvoice.ubl import ubl_xml
from tally.exceptions import IncompleteEInvoice, NotIssued


class Syntax(StrEnum):
    UBL = "ubl"
    CII = "cii"


DocumentKind = Literal["invoice", "credit_note"]

_READERS: dict[DocumentKind, Callable[[Session, str, str], Rows]] = {
    "invoice": invoice_rows,
    "credit_note": credit_note_rows,
}
_WRITERS: dict[Syntax, Callable[[EInvoice], bytes]] = {Syntax.UBL: ubl_xml, Syntax.CII: cii_xml}
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class XmlFile:
    content: bytes
    filename: str  # "INV-0001.ubl.xml"


def model(session: Session, account_id: str, kind: DocumentKind, document_id: str) -> EInvoice:
    """The document as EN 16931 sees it: NotFound outside the account, `NotIssued` for a
    draft or a voided one, `IncompleteEInvoice` naming what the standard needs and it lacks."""
    return e_invoice(_READERS[kind](session, account_id, document_id))


def e_invoice_file(
    session: Session, account_id: str, kind: DocumentKind, document_id: str, syntax: Syntax
) -> XmlFile:
    invoice = model(session, account_id, kind, document_id)
    stem = _UNSAFE_FILENAME.sub("-", invoice.number).strip("-.") or document_id
    return XmlFile(_WRITERS[syntax](invoice), f"{stem}.{syntax.value}.xml")


def factur_x_xml(
    session: Session, account_id: str, kind: DocumentKind, document_id: str
) -> bytes | None:
    """The CII XML a document's PDF embeds (Factur-X), or None when the document cannot be
    an e-invoice (a draft, a voided one, one missing what the standard needs): its PDF is
    then a plain PDF, as before."""
    try:
        return cii_xml(model(session, account_id, kind, document_id))
    except (NotIssued, IncompleteEInvoice):
        return None
