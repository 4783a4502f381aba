"""The rows an e-invoice is made of, read in a fixed number of queries whatever the lines:
the document with its lines (two), the account (one), both parties' tax registrations (one),
and for a credit note the invoice it credits and the customer's tax status (one each)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tally.exceptions import NotFound
from tally.models import Account, CreditNote, Customer, Invoice, TaxRegistration
from tally.models.scoped import get_account, scoped
from tally.tax.queries import printed_registrations


@dataclass(frozen=True)
class Credited:
    """What a credit note needs of the invoice it credits."""

    number: str | None
    issue_date: date | None
    tax_status: str


@dataclass(frozen=True)
class Rows:
    document: Invoice | CreditNote
    account: Account
    seller_registrations: list[TaxRegistration]
    buyer_registrations: list[TaxRegistration]
    tax_status: str  # the customer's, as billed (an invoice's snapshot)
    credited: Credited | None = None


def invoice_rows(session: Session, account_id: str, invoice_id: str) -> Rows:
    invoice = session.scalar(
        scoped(Invoice, account_id)
        .where(Invoice.id == invoice_id)
        .options(selectinload(Invoice.line_items))
    )
    if invoice is None:
        raise NotFound.resource("Invoice", invoice_id)
    seller, buyer = printed_registrations(session, account_id, invoice.customer_id)
    return Rows(
        document=invoice,
        account=get_account(session, account_id),
        seller_registrations=seller,
        buyer_registrations=buyer,
        tax_status=invoice.customer_tax_status,
    )


def credit_note_rows(session: Session, account_id: str, credit_note_id: str) -> Rows:
    note = session.scalar(
        scoped(CreditNote, account_id)
        .where(CreditNote.id == credit_note_id)
        .options(selectinload(CreditNote.line_items))
    )
    if note is None:
        raise NotFound.resource("CreditNote", credit_note_id)
    seller, buyer = printed_registrations(session, account_id, note.customer_id)
    credited = None
    if note.invoice_id is not None:
        row = session.execute(
            select(Invoice.invoice_number, Invoice.issue_date, Invoice.customer_tax_status).where(
                Invoice.account_id == account_id, Invoice.id == note.invoice_id
            )
        ).one_or_none()
        if row is not None:
            credited = Credited(row.invoice_number, row.issue_date, row.customer_tax_status)
    if credited is not None:
        tax_status = credited.tax_status
    else:  # a standalone credit note: the customer's status now
        status = session.scalar(
            select(Customer.tax_status).where(
                Customer.account_id == account_id, Customer.id == note.customer_id
            )
        )
        tax_status = str(status.value) if status is not None else "TAXED"
    return Rows(
        document=note,
        account=get_account(session, account_id),
        seller_registrations=seller,
        buyer_registrations=buyer,
        tax_status=tax_status,
        credited=credited,
    )
