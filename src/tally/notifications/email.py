"""Emails to customers: queued in the transaction that decides to send them, written to the
`email_messages` outbox; the sender job (`notifications.outbox`) delivers them after commit.

Bodies come in text and HTML, in the customer's language (`documents.languages`: its own,
else its account's), amounts and dates formatted by Babel as the attached documents show
them, and carry a link to the document in the customer's portal.

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
from tally.core.formatting import DEFAULT_LOCALE, format_money
from tally.core.i18n import language_of_locale, translations_for_locale
from tally.db import bulk_insert, new_id, table_of
from tally.documents.languages import customer_locales
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


def format_day(day: date, locale: str = DEFAULT_LOCALE) -> str:
    """ "1 July 2024", "1. Juli 2024": as the customer's locale writes a day in a sentence."""
    return format_date(day, format="long", locale=locale)


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
    locale: str = DEFAULT_LOCALE,
) -> Content:
    """Text and HTML bodies of the same few sentences, the portal link and, for an invoice
    the customer can pay by card, its payment link."""
    _ = translations_for_locale(locale).gettext
    hello = _("Hello %(name)s,")
    thanks = _("Thank you,")
    pay_now, view = _("Pay now"), _("View in your billing portal")
    text = "\n\n".join(
        [
            hello % {"name": greeting_name},
            *paragraphs,
            *([_("Pay it online by card:") + f"\n{pay_link}"] if pay_link else []),
            _("View it online, and download it as a PDF, in your billing portal:") + f"\n{link}",
            f"{thanks}\n{account.name}",
        ]
    )
    pay_button = (
        f'<p><a href="{escape(pay_link)}" style="display: inline-block; padding: 8px 16px; '
        'background: #1a7f37; color: #fff; text-decoration: none; border-radius: 4px">'
        f"{escape(pay_now)}</a></p>"
        if pay_link
        else ""
    )
    html_paragraphs = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    html = (
        "<!DOCTYPE html>\n"
        f'<html lang="{language_of_locale(locale)}">'
        '<body style="font-family: sans-serif; color: #222; line-height: 1.5">'
        f"<p>{escape(hello % {'name': greeting_name})}</p>"
        f"{html_paragraphs}"
        f"{pay_button}"
        f'<p><a href="{escape(link)}" style="display: inline-block; padding: 8px 16px; '
        'background: #222; color: #fff; text-decoration: none; border-radius: 4px">'
        f"{escape(view)}</a></p>"
        f"<p>{escape(thanks)}<br>{escape(account.name)}</p>"
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
    locale: str = DEFAULT_LOCALE,
) -> Content:
    """`pays_online`: the account takes card payments and shows the payment link
    (`documents.links.paying_accounts`); the link is given while the invoice is owed.
    `locale`: the customer's (`documents.languages`)."""
    _ = translations_for_locale(locale).gettext
    values = {
        "number": invoice.invoice_number or _("(draft)"),
        "merchant": account.name,
        "amount": format_money(invoice.gross_total, invoice.currency, locale),
        "date": format_day(invoice.due_date, locale) if invoice.due_date else "",
    }
    due = invoice.due_date is not None
    if reminder == "due":
        subject = _("Invoice %(number)s from %(merchant)s is due today")
        lead = (
            _(
                "A reminder that invoice %(number)s from %(merchant)s for "
                "%(amount)s is due today (%(date)s)."
            )
            if due
            else _(
                "A reminder that invoice %(number)s from %(merchant)s for %(amount)s is due today."
            )
        )
    elif reminder == "upcoming":
        subject = _("Reminder: invoice %(number)s from %(merchant)s is due on %(date)s")
        lead = (
            _(
                "A reminder that invoice %(number)s from %(merchant)s for "
                "%(amount)s, due on %(date)s."
            )
            if due
            else _("A reminder that invoice %(number)s from %(merchant)s for %(amount)s.")
        )
    else:
        subject = _("Invoice %(number)s from %(merchant)s")
        lead = (
            _(
                "Please find attached invoice %(number)s from %(merchant)s "
                "for %(amount)s, due on %(date)s."
            )
            if due
            else _("Please find attached invoice %(number)s from %(merchant)s for %(amount)s.")
        )
    paragraphs = [lead % values]
    # A credit note applied meanwhile leaves less to pay than the invoice says.
    if reminder and Decimal(0) < invoice.balance < invoice.gross_total:
        owed = format_money(invoice.balance, invoice.currency, locale)
        paragraphs.append(_("%(amount)s remains to be paid.") % {"amount": owed})
    if reminder:
        paragraphs.append(_("The invoice is attached. If you have paid it already, thank you."))
    # The link is the invoice's page (`links.invoice_path`); its Pay form is the `#pay` part.
    pay_link = link + PAY_FRAGMENT if pays_online and owes(invoice) else None
    return _compose(
        account,
        invoice.customer_legal_company_name,
        subject % values,
        paragraphs,
        link,
        pay_link,
        locale,
    )


def credit_note_content(
    account: Account, note: CreditNote, link: str, locale: str = DEFAULT_LOCALE
) -> Content:
    _ = translations_for_locale(locale).gettext
    values = {
        "number": note.credit_note_number or _("(draft)"),
        "merchant": account.name,
        "amount": format_money(note.gross_total, note.currency, locale),
    }
    subject = _("Credit note %(number)s from %(merchant)s") % values
    lead = _("Please find attached credit note %(number)s from %(merchant)s for %(amount)s.")
    return _compose(
        account, note.customer_legal_company_name, subject, [lead % values], link, locale=locale
    )


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
    locale: str = DEFAULT_LOCALE,
) -> Composed:
    """The message from current data: a document's email from `document` and `link` (its
    page in the customer's portal), in `locale` (the customer's), any other (`document`
    None) from its `stored` text; to the valid addresses of `to` and `cc`. Unsendable when
    no valid message can come of it."""
    _check_header(account.name, "the company name")  # the From name, and most subjects
    if isinstance(document, Invoice):
        _check_header(document.invoice_number or "", "the invoice number")
        assert link is not None
        reminder = reminder_kind(dedupe_key) if kind == "REMINDER" else None
        content = invoice_content(
            account, document, link, reminder=reminder, pays_online=pays_online, locale=locale
        )
    elif isinstance(document, CreditNote):
        _check_header(document.credit_note_number or "", "the credit note number")
        assert link is not None
        content = credit_note_content(account, document, link, locale)
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
    locale = customer_locales(session, [account.id], [document.customer_id]).get(
        document.customer_id, DEFAULT_LOCALE
    )
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
            locale=locale,
        )
    else:
        kind = "credit_note"
        # The portal shows credit notes with the invoice they credit.
        path = invoice_path(document.invoice_id) if document.invoice_id else ""
        link = portal_url(session, document.customer_id, base, path)
        content = credit_note_content(account, document, link, locale)
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
    customers = {invoice.customer_id for invoice in invoices}
    links = portal_links(session, customers, base)
    locales = customer_locales(session, [account.id], customers)
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
                locale=locales.get(invoice.customer_id, DEFAULT_LOCALE),
            ),
            ("invoice", invoice.id),
            None,
        )
        for invoice in invoices
    ]
    bulk_insert(session, table_of(EmailMessage), rows)
