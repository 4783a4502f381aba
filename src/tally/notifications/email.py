"""Emails to customers: queued in the transaction that decides to send them, written to the
`email_messages` outbox; the sender job delivers them (with their PDFs) after commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy.orm import Session

from tally.db import utcnow
from tally.models import Account, CreditNote, DeliveryStatus, EmailMessage, Invoice

Document = Literal["invoice", "credit_note"]


def _invoice_text(account: Account, invoice: Invoice, *, reminder: bool) -> tuple[str, str]:
    number = invoice.invoice_number or "(draft)"
    amount = f"{invoice.gross_total} {invoice.currency}"
    if reminder:
        subject = f"Reminder: invoice {number} from {account.name} is due {invoice.due_date}"
    else:
        subject = f"Invoice {number} from {account.name}"
    body = (
        f"Hello {invoice.customer_legal_company_name},\n\n"
        f"{'This is a reminder that invoice' if reminder else 'Please find attached invoice'} "
        f"{number} for {amount}, due on {invoice.due_date}.\n\n{account.name}\n"
    )
    return subject, body


def _credit_note_text(account: Account, note: CreditNote) -> tuple[str, str]:
    number = note.credit_note_number or "(draft)"
    subject = f"Credit note {number} from {account.name}"
    body = (
        f"Hello {note.customer_legal_company_name},\n\n"
        f"Please find attached credit note {number} for {note.gross_total} {note.currency}."
        f"\n\n{account.name}\n"
    )
    return subject, body


def queue_document(
    session: Session,
    account: Account,
    document: Invoice | CreditNote,
    recipients: Sequence[str],
    *,
    reminder: bool = False,
    dedupe_key: str | None = None,
) -> EmailMessage:
    """Queue the document's email with its PDF attached (rendered when sent)."""
    if isinstance(document, Invoice):
        kind: Document = "invoice"
        subject, body = _invoice_text(account, document, reminder=reminder)
    else:
        kind = "credit_note"
        subject, body = _credit_note_text(account, document)
    message = EmailMessage(
        account_id=account.id,
        kind="REMINDER" if reminder else kind.upper(),
        to_addresses=list(recipients),
        subject=subject,
        text_body=body,
        attachments=[{"document": kind, "id": document.id}],
        dedupe_key=dedupe_key,
        status=DeliveryStatus.PENDING,
        next_attempt_at=utcnow(),
    )
    session.add(message)
    session.flush()
    return message
