"""Emails to customers: queued in the transaction that decides to send them, written to the
`email_messages` outbox; the sender job (`notifications.outbox`) delivers them, with their
PDFs rendered at that moment, after commit.

Bodies come in text and HTML, amounts and dates formatted by Babel as the attached
documents show them, and carry a link to the document in the customer's portal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape
from typing import Any, Literal

from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.core.formatting import format_money
from tally.db import bulk_insert, new_id, table_of, utcnow
from tally.documents.links import invoice_path, portal_links, portal_url
from tally.models import Account, CreditNote, DeliveryStatus, EmailMessage, Invoice
from tally.settings import get_settings

Document = Literal["invoice", "credit_note"]
# An invoice's reminder: a week before its due date, or on it.
ReminderKind = Literal["upcoming", "due"]


# As the attached documents read (`documents.render`): British English, amounts in the
# document's own currency ("£1,234.50", "JP¥1,500", "1 July 2024"); accounts have no locale.
LOCALE = "en_GB"


def format_day(day: date) -> str:
    return format_date(day, format="long", locale=LOCALE)


@dataclass(frozen=True)
class Content:
    subject: str
    text: str
    html: str


def _compose(
    account: Account, greeting_name: str, subject: str, paragraphs: list[str], link: str
) -> Content:
    """Text and HTML bodies of the same few sentences and the portal link."""
    text = "\n\n".join(
        [
            f"Hello {greeting_name},",
            *paragraphs,
            f"View it online, and download it as a PDF, in your billing portal:\n{link}",
            f"Thank you,\n{account.name}",
        ]
    )
    html_paragraphs = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    html = (
        "<!DOCTYPE html>\n"
        '<html><body style="font-family: sans-serif; color: #222; line-height: 1.5">'
        f"<p>Hello {escape(greeting_name)},</p>"
        f"{html_paragraphs}"
        f'<p><a href="{escape(link)}" style="display: inline-block; padding: 8px 16px; '
        'background: #222; color: #fff; text-decoration: none; border-radius: 4px">'
        "View in your billing portal</a></p>"
        f"<p>Thank you,<br>{escape(account.name)}</p>"
        "</body></html>\n"
    )
    return Content(subject, text + "\n", html)


def invoice_content(
    account: Account, invoice: Invoice, link: str, *, reminder: ReminderKind | None = None
) -> Content:
    number = invoice.invoice_number or "(draft)"
    amount = format_money(invoice.gross_total, invoice.currency, LOCALE)
    due = format_day(invoice.due_date) if invoice.due_date else None
    due_phrase = f", due on {due}" if due else ""
    if reminder == "due":
        subject = f"Invoice {number} from {account.name} is due today"
        lead = f"A reminder that invoice {number} from {account.name} for {amount} is due today"
        lead += f" ({due})." if due else "."
    elif reminder == "upcoming":
        subject = f"Reminder: invoice {number} from {account.name} is due on {due}"
        lead = f"A reminder that invoice {number} from {account.name} for {amount}{due_phrase}."
    else:
        subject = f"Invoice {number} from {account.name}"
        lead = f"Please find attached invoice {number} from {account.name} for {amount}"
        lead += f"{due_phrase}."
    paragraphs = [lead]
    # A credit note applied meanwhile leaves less to pay than the invoice says.
    if reminder and Decimal(0) < invoice.balance < invoice.gross_total:
        owed = format_money(invoice.balance, invoice.currency, LOCALE)
        paragraphs.append(f"{owed} remains to be paid.")
    if reminder:
        paragraphs.append("The invoice is attached. If you have paid it already, thank you.")
    return _compose(account, invoice.customer_legal_company_name, subject, paragraphs, link)


def credit_note_content(account: Account, note: CreditNote, link: str) -> Content:
    number = note.credit_note_number or "(draft)"
    amount = format_money(note.gross_total, note.currency, LOCALE)
    subject = f"Credit note {number} from {account.name}"
    lead = f"Please find attached credit note {number} from {account.name} for {amount}."
    return _compose(account, note.customer_legal_company_name, subject, [lead], link)


def message_values(
    account: Account,
    kind: str,
    recipients: Sequence[str],
    content: Content,
    attachment: tuple[Document, str],
    dedupe_key: str | None,
) -> dict[str, Any]:
    """An outbox row as a dict, for bulk inserts (the reminders job)."""
    now = utcnow()
    document, document_id = attachment
    return {
        "id": new_id(),
        "account_id": account.id,
        "created_at": now,
        "updated_at": now,
        "kind": kind,
        "to_addresses": list(recipients),
        "cc_addresses": [],
        "subject": content.subject,
        "text_body": content.text,
        "html_body": content.html,
        "attachments": [{"document": document, "id": document_id}],
        "dedupe_key": dedupe_key,
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
    }


def queue_document(
    session: Session,
    account: Account,
    document: Invoice | CreditNote,
    recipients: Sequence[str],
    *,
    reminder: bool = False,
    dedupe_key: str | None = None,
    base_url: str | None = None,
) -> EmailMessage:
    """Queue the document's email with its PDF attached (rendered when sent). With a
    `dedupe_key` already queued for the account, returns that message and queues nothing.
    `base_url` defaults to `TALLY_PUBLIC_URL`."""
    if dedupe_key is not None:
        existing = session.scalar(
            select(EmailMessage).where(
                EmailMessage.account_id == account.id, EmailMessage.dedupe_key == dedupe_key
            )
        )
        if existing is not None:
            return existing
    base = base_url or get_settings().public_url
    kind: Document
    if isinstance(document, Invoice):
        kind = "invoice"
        link = portal_url(session, document.customer_id, base, invoice_path(document.id))
        content = invoice_content(
            account, document, link, reminder="upcoming" if reminder else None
        )
    else:
        kind = "credit_note"
        # The portal shows credit notes with the invoice they credit.
        path = invoice_path(document.invoice_id) if document.invoice_id else ""
        link = portal_url(session, document.customer_id, base, path)
        content = credit_note_content(account, document, link)
    message = EmailMessage(
        **message_values(
            account,
            "REMINDER" if reminder else kind.upper(),
            recipients,
            content,
            (kind, document.id),
            dedupe_key,
        )
    )
    session.add(message)
    session.flush()
    return message


def queue_invoices(
    session: Session, account: Account, invoices: Sequence[Invoice], *, base_url: str | None = None
) -> None:
    """The emails of many invoices at once (billing's auto-issue), each to its customer
    emails: one statement for the portal links, one insert."""
    base = base_url or get_settings().public_url
    links = portal_links(session, {invoice.customer_id for invoice in invoices}, base)
    rows = [
        message_values(
            account,
            "INVOICE",
            invoice.customer_emails,
            invoice_content(
                account, invoice, links[invoice.customer_id] + invoice_path(invoice.id)
            ),
            ("invoice", invoice.id),
            None,
        )
        for invoice in invoices
    ]
    bulk_insert(session, table_of(EmailMessage), rows)
