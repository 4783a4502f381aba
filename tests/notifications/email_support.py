"""What the email tests share: a real SMTP server in this process (aiosmtpd) that keeps what
arrives, sent invoices with their email queued, and a look at the outbox rows."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage as MimeMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tally.db import Database
from tally.models import Account, EmailMessage, Invoice, InvoiceStatus
from tally.notifications.email import queue_document
from tests.factories import new_customer
from tests.invoices.helpers import insert_invoice
from tests.support.api_client import ApiClient


@dataclass
class Arrival:
    mail_from: str
    recipients: list[str]
    message: MimeMessage


@dataclass
class Inbox:
    """An aiosmtpd handler: refuses the first `refuse` messages with `refusal`, keeps the
    rest. `delay` slows every accepted message down (seconds)."""

    refuse: int = 0
    refusal: str = "451 4.3.0 Mailbox busy, try again later"
    delay: float = 0.0
    arrivals: list[Arrival] = field(default_factory=list)
    refused: int = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refused < self.refuse:
            self.refused += 1
            return self.refusal
        if self.delay:
            await asyncio.sleep(self.delay)
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, MimeMessage)
        self.arrivals.append(Arrival(str(envelope.mail_from), list(envelope.rcpt_tos), parsed))
        return "250 2.0.0 OK: queued"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_server(inbox: Inbox, **options: Any) -> Iterator[int]:
    """The SMTP server on a free local port, for the duration; yields the port."""
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


def accept_login(username: str, password: str) -> Any:
    """An aiosmtpd authenticator that accepts one username and password."""

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            username.encode(),
            password.encode(),
        )
        # handled=False: the server answers 535 itself.
        return AuthResult(success=ok, handled=False)

    return authenticate


def sent_invoice(
    database: Database, api: ApiClient, account_id: str, **columns: Any
) -> tuple[str, dict[str, Any]]:
    """A SENT invoice INV00042 of a new customer (two contacts, so two emails), due on
    1 July 2024; `columns` override. Returns the invoice id and the customer."""
    customer = new_customer(
        api,
        "Acme Widgets Ltd",
        contacts=[
            {"name": "Jane Payer", "email": "jane@example.com", "billingPreference": "PRIMARY"},
            {"name": "Accounts", "email": "ap@example.com", "billingPreference": "STANDARD"},
        ],
    )
    values: dict[str, Any] = {
        "status": InvoiceStatus.SENT,
        "invoice_number": "INV00042",
        "issue_date": date(2024, 6, 1),
        "due_date": date(2024, 7, 1),
        "sent_at": datetime.fromisoformat("2024-06-01T09:00:00+00:00"),
        "balance": 270,
        **columns,
    }
    return insert_invoice(database, account_id, customer, **values), customer


def queue_invoice_email(database: Database, account_id: str, invoice_id: str, base_url: str) -> str:
    """Queue the invoice's email to its customer's emails, as sending it does; its id."""
    with database.transaction() as session:
        account = session.get_one(Account, account_id)
        invoice = session.get_one(Invoice, invoice_id)
        message = queue_document(
            session, account, invoice, invoice.customer_emails, base_url=base_url
        )
        return message.id


def outbox_row(database: Database, message_id: str) -> EmailMessage:
    with database.session() as session:
        return session.get_one(EmailMessage, message_id)


def parts(message: MimeMessage) -> tuple[str, str, list[tuple[str, str, bytes]]]:
    """The text body, the HTML body and the attachments (filename, type, bytes)."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    attachments = []
    for part in message.iter_attachments():
        assert isinstance(part, MimeMessage)
        content = part.get_content()
        assert isinstance(content, bytes)
        attachments.append((part.get_filename() or "", part.get_content_type(), content))
    return str(text.get_content()), str(html.get_content()), attachments
