"""Emails to customers: queued in the transaction that decides to send them, written to the
`email_messages` outbox; the sender job (`notifications.outbox`) delivers them after commit.

Bodies come in text and HTML, amounts and dates formatted by Babel as the attached
documents show them, and carry a link to the document in the customer's portal.

A document's email (invoice, credit note, reminder) is composed again by the sender at each
attempt (`compose_message`), from the account, the customer's portal link and the document
as they are then, and its PDF rendered then too: a name corrected after the email was queued
is what it carries. What cannot make a valid message (a header with a line break, stored
before names refused them; a document gone; no valid address) raises `Unsendable` with the
reason in Tally's words, and the message fails at once. Messages of EMAIL notification
policies say only an event's type and resource id, nothing that can go stale: their text is
kept as queued, and checked the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape
from typing import Any, Literal

from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.core.clock import utcnow
from tally.core.formatting import format_money
from tally.db import bulk_insert, new_id, table_of
from tally.documents.links import (
    PAY_FRAGMENT,
    invoice_path,
    owes,
    paying_accounts,
    portal_links,
    portal_url,
)
from tally.models import Account, CreditNote, DeliveryStatus, EmailMessage, Invoice
from tally.notifications.mailer import Unsendable
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
    account: Account,
    greeting_name: str,
    subject: str,
    paragraphs: list[str],
    link: str,
    pay_link: str | None = None,
) -> Content:
    """Text and HTML bodies of the same few sentences, the portal link and, for an invoice
    the customer can pay by card, its payment link."""
    text = "\n\n".join(
        [
            f"Hello {greeting_name},",
            *paragraphs,
            *([f"Pay it online by card:\n{pay_link}"] if pay_link else []),
            f"View it online, and download it as a PDF, in your billing portal:\n{link}",
            f"Thank you,\n{account.name}",
        ]
    )
    pay_button = (
        f'<p><a href="{escape(pay_link)}" style="display: inline-block; padding: 8px 16px; '
        'background: #1a7f37; color: #fff; text-decoration: none; border-radius: 4px">'
        "Pay now</a></p>"
        if pay_link
        else ""
    )
    html_paragraphs = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    html = (
        "<!DOCTYPE html>\n"
        '<html><body style="font-family: sans-serif; color: #222; line-height: 1.5">'
        f"<p>Hello {escape(greeting_name)},</p>"
        f"{html_paragraphs}"
        f"{pay_button}"
        f'<p><a href="{escape(link)}" style="display: inline-block; padding: 8px 16px; '
        'background: #222; color: #fff; text-decoration: none; border-radius: 4px">'
        "View in your billing portal</a></p>"
        f"<p>Thank you,<br>{escape(account.name)}</p>"
        "</body></html>\n"
    )
    return Content(subject, text + "\n", html)


def invoice_content(
    account: Account,
    invoice: Invoice,
    link: str,
    *,
    reminder: ReminderKind | None = None,
    pays_online: bool = False,
) -> Content:
    """`pays_online`: the account takes card payments and shows the payment link
    (`documents.links.paying_accounts`); the link is given while the invoice is owed."""
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
    # The link is the invoice's page (`links.invoice_path`); its Pay form is the `#pay` part.
    pay_link = link + PAY_FRAGMENT if pays_online and owes(invoice) else None
    return _compose(
        account, invoice.customer_legal_company_name, subject, paragraphs, link, pay_link
    )


def credit_note_content(account: Account, note: CreditNote, link: str) -> Content:
    number = note.credit_note_number or "(draft)"
    amount = format_money(note.gross_total, note.currency, LOCALE)
    subject = f"Credit note {number} from {account.name}"
    lead = f"Please find attached credit note {number} from {account.name} for {amount}."
    return _compose(account, note.customer_legal_company_name, subject, [lead], link)


# What ends a header line (CR, LF, VT, FF, NEL, Unicode's separators), then other controls.
_LINE_BREAK = re.compile(r"[\n\r\x0b\x0c\x85\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# One plain address (no display name, no list): what an address header may carry as given.
_ADDRESS = re.compile(r"[^\s@<>()\[\]\\,;:\"]+@[^\s@<>()\[\]\\,;:\"]+")


def _header_problem(value: str) -> str | None:
    if _LINE_BREAK.search(value):
        return "contains a line break"
    if _CONTROL.search(value):
        return "contains a control character"
    return None


def _check_header(value: str, what: str) -> None:
    if problem := _header_problem(value):
        raise Unsendable(f"{what} {problem}")


def _shown(value: str) -> str:
    """An address as a log may show it: escaped, and short."""
    escaped = value.encode("unicode_escape").decode("ascii")
    return "'" + (escaped if len(escaped) <= 80 else escaped[:77] + "...") + "'"


def _addresses(values: Sequence[object]) -> tuple[list[str], list[str]]:
    """The valid addresses, and each other one with why it is left out."""
    valid, dropped = [], []
    for value in values:
        address = str(value)
        problem = _header_problem(address) or (
            None if _ADDRESS.fullmatch(address) else "is not an email address"
        )
        if problem:
            dropped.append(f"{_shown(address)} {problem}")
        else:
            valid.append(address)
    return valid, dropped


def reminder_kind(dedupe_key: str | None) -> ReminderKind:
    """Which reminder a REMINDER message is: the end of its key (`invoice:<id>:reminder:<kind>`,
    `invoices.reminders.reminder_key`); "upcoming" without one, as `queue_document` has it."""
    return "due" if (dedupe_key or "").endswith(":reminder:due") else "upcoming"


@dataclass(frozen=True)
class Composed:
    """A message as it goes now: who from, to whom, what it says."""

    sender_name: str
    to: list[str]
    cc: list[str]
    content: Content
    dropped: list[str]  # addresses left out, each with why ("'x' is not an email address")


def compose_message(
    account: Account,
    kind: str,
    document: Invoice | CreditNote | None,
    link: str | None,
    *,
    stored: Content,
    to: Sequence[object],
    cc: Sequence[object],
    dedupe_key: str | None = None,
    pays_online: bool = False,
) -> Composed:
    """The message from current data: a document's email from `document` and `link` (its
    page in the customer's portal), any other (`document` None) from its `stored` text; to
    the valid addresses of `to` and `cc`. Unsendable when no valid message can come of it."""
    _check_header(account.name, "the company name")  # the From name, and most subjects
    if isinstance(document, Invoice):
        _check_header(document.invoice_number or "", "the invoice number")
        assert link is not None
        reminder = reminder_kind(dedupe_key) if kind == "REMINDER" else None
        content = invoice_content(
            account, document, link, reminder=reminder, pays_online=pays_online
        )
    elif isinstance(document, CreditNote):
        _check_header(document.credit_note_number or "", "the credit note number")
        assert link is not None
        content = credit_note_content(account, document, link)
    else:
        _check_header(stored.subject, "the subject")
        content = stored
    valid_to, dropped = _addresses(to)
    valid_cc, dropped_cc = _addresses(cc)
    if not valid_to:
        # Copies alone (the merchant's alert addresses) are no email to the customer.
        raise Unsendable(
            f"no valid recipient address left ({dropped[0]})" if dropped else "no recipient address"
        )
    return Composed(account.name, valid_to, valid_cc, content, dropped + dropped_cc)


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
            account,
            document,
            link,
            reminder="upcoming" if reminder else None,
            pays_online=bool(paying_accounts(session, [account.id])),
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
    pays_online = bool(paying_accounts(session, [account.id]))
    rows = [
        message_values(
            account,
            "INVOICE",
            invoice.customer_emails,
            invoice_content(
                account,
                invoice,
                links[invoice.customer_id] + invoice_path(invoice.id),
                pays_online=pays_online,
            ),
            ("invoice", invoice.id),
            None,
        )
        for invoice in invoices
    ]
    bulk_insert(session, table_of(EmailMessage), rows)
