"""Applying credit notes to invoices: one ledger transaction lowers the credit note's balance
and the invoice's by the same amount, and advances both balance versions.

The client names the versions it read (optimistic concurrency, as Sequence's API does): a
stale one is refused with both current balances, and nothing changes. Both rows are locked
for the check and the change, the invoice first and then the credit note, the order every
credit note change takes (`service.lock_note`), so concurrent applications queue instead of
deadlocking, and the two balances only ever move together.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from tally.billed.locks import lock_document
from tally.core.clock import utcnow
from tally.credit_notes import audit
from tally.credit_notes.schemas import ISSUED_STATUSES, ApplicationCreate
from tally.engine.money import minor_unit
from tally.exceptions import (
    BalanceExceeded,
    InvalidRequest,
    InvalidStateTransition,
    ReferenceMismatch,
    StaleVersion,
)
from tally.models import CreditNote, CreditNoteApplication, Invoice, PaymentStatus
from tally.notifications.events import CREDIT_NOTE, INVOICE, NotificationType, emit


@dataclass(frozen=True)
class Balance:
    value: Decimal
    currency: str
    version: int


def balance_of(document: Invoice | CreditNote) -> Balance:
    return Balance(document.balance, document.currency, document.balance_version)


class VersionConflict(StaleVersion):
    """A balance version the client sent is not the current one; carries both balances."""

    def __init__(self, message: str, invoice: Balance, credit_note: Balance) -> None:
        super().__init__(message)
        self.invoice = invoice
        self.credit_note = credit_note


@dataclass(frozen=True)
class Applied:
    application: CreditNoteApplication
    invoice: Balance
    credit_note: Balance


def _label(document: Invoice | CreditNote) -> str:
    number = (
        document.invoice_number if isinstance(document, Invoice) else document.credit_note_number
    )
    return number or document.id


def apply(session: Session, account_id: str, body: ApplicationCreate) -> Applied:
    """Apply `body.amount` of the credit note to the invoice, or refuse and change nothing:
    400 (a named `Conflict`) when the currencies differ, either is not FINAL or SENT, the
    customers differ, the invoice is paid already, or the amount exceeds either balance; 409
    (`VersionConflict`, as Sequence documents) when a balance version is stale."""
    amount = body.amount
    if amount <= 0 or amount != amount.quantize(minor_unit(body.currency.value)):
        raise InvalidRequest.field(
            "amount",
            f"must be a positive amount of {body.currency.value} in its minor unit "
            f"({minor_unit(body.currency.value)})",
        )
    invoice = lock_document(session, Invoice, account_id, body.invoice_id, field="invoiceId")
    note = lock_document(session, CreditNote, account_id, body.credit_note_id, field="creditNoteId")
    if not body.currency.value == note.currency == invoice.currency:
        raise ReferenceMismatch(
            f"currency {body.currency.value}: credit note {_label(note)} is in {note.currency} "
            f"and invoice {_label(invoice)} in {invoice.currency}; all three must match."
        )
    if note.status not in ISSUED_STATUSES:
        raise InvalidStateTransition(
            f"Credit note {_label(note)} is {note.status.value}: only a FINAL or SENT credit "
            "note is applied to invoices."
        )
    if invoice.status not in ISSUED_STATUSES:
        raise InvalidStateTransition(
            f"Invoice {_label(invoice)} is {invoice.status.value}: credit notes are applied to "
            "FINAL or SENT invoices."
        )
    if note.customer_id != invoice.customer_id:
        raise ReferenceMismatch(
            f"Credit note {_label(note)} is the credit of customer {note.customer_id}, and "
            f"invoice {_label(invoice)} bills customer {invoice.customer_id}."
        )
    if (
        body.credit_note_balance_version != note.balance_version
        or body.invoice_balance_version != invoice.balance_version
    ):
        raise VersionConflict(
            "Balance version mismatch. Re-read current versions and retry: credit note "
            f"{_label(note)} is at version {note.balance_version} (sent "
            f"{body.credit_note_balance_version}), invoice {_label(invoice)} at version "
            f"{invoice.balance_version} (sent {body.invoice_balance_version}).",
            invoice=balance_of(invoice),
            credit_note=balance_of(note),
        )
    if invoice.payment_status is PaymentStatus.PAID:
        raise BalanceExceeded(
            f"Invoice {_label(invoice)} is PAID: nothing is owed to apply credit to."
        )
    for document, what in ((note, "credit note"), (invoice, "invoice")):
        if amount > document.balance:
            raise BalanceExceeded(
                f"amount {amount} is more than the balance of {what} {_label(document)} "
                f"({document.balance} {document.currency})."
            )
    before = audit.application_state(invoice, note)
    note.balance -= amount
    note.balance_version += 1
    invoice.balance -= amount
    invoice.balance_version += 1
    if invoice.balance == 0:
        # Nothing is owed any more: the credit settled the invoice.
        invoice.payment_status = PaymentStatus.PAID
    application = CreditNoteApplication(
        account_id=account_id,
        credit_note_id=note.id,
        invoice_id=invoice.id,
        amount=amount,
        currency=note.currency,
        applied_at=utcnow(),
    )
    session.add(application)
    session.flush()
    audit.applied(session, invoice, note, amount, before)
    emit(session, account_id, NotificationType.CREDIT_NOTE_UPDATED, CREDIT_NOTE, [note.id])
    emit(session, account_id, NotificationType.INVOICE_UPDATED, INVOICE, [invoice.id])
    return Applied(application, balance_of(invoice), balance_of(note))
