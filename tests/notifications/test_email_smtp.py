"""Emails through a real SMTP server (aiosmtpd, in this process): what arrives, retries with
backoff when the server refuses, giving up, logging in, STARTTLS, and two senders sharing
the outbox without sending anything twice."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.core.clock import utcnow
from tally.db import Database, new_id
from tally.invoices.reminders import queue_reminders
from tally.models import Customer, DeliveryStatus, EmailMessage
from tally.notifications.outbox import SendReport, send_due
from tally.settings import Settings
from tests.factories import new_customer
from tests.invoices.helpers import insert_invoice
from tests.notifications.email_support import (
    Inbox,
    accept_login,
    outbox_row,
    parts,
    queue_invoice_email,
    sent_invoice,
    smtp_server,
)
from tests.support.api_client import ApiClient

PUBLIC_URL = "https://billing.example.com"


def smtp_settings(database: Database, data_dir: Path, port: int, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": database.url,
        "billing_scheduler": False,
        "public_url": PUBLIC_URL,
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_starttls": False,
        "smtp_from": "invoices@billing.example.com",
        "delivery_max_attempts": 3,
        "delivery_backoff_seconds": 60,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


def test_an_invoice_email_arrives_with_its_pdf_and_portal_link(
    database: Database, api: ApiClient, account: Credentials, tmp_path: Path
) -> None:
    invoice_id, customer = sent_invoice(database, api, account.account_id)
    message_id = queue_invoice_email(database, account.account_id, invoice_id, PUBLIC_URL)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        settings = smtp_settings(database, tmp_path, port)
        report = send_due(database, settings, account_id=account.account_id)

    assert report.delivered == [message_id]
    [arrival] = inbox.arrivals
    assert arrival.mail_from == "invoices@billing.example.com"
    assert sorted(arrival.recipients) == ["ap@example.com", "jane@example.com"]
    message = arrival.message
    assert message["From"] == "Test merchant <invoices@billing.example.com>"
    assert message["To"] == "jane@example.com, ap@example.com"
    assert message["Subject"] == "Invoice INV00042 from Test merchant"
    assert message["Message-ID"] == f"<{message_id}@billing.example.com>"

    text, html, attachments = parts(message)
    with database.session() as session:
        secret = session.scalar(select(Customer.portal_secret).where(Customer.id == customer["id"]))
    assert secret
    link = f"{PUBLIC_URL}/portal/c/{secret}/invoices/{invoice_id}"
    assert link in text
    assert f'href="{link}"' in html
    assert "Hello Acme Widgets Ltd," in text
    assert "invoice INV00042 from Test merchant for £270.00, due on 1 July 2024." in text
    assert "£270.00" in html

    [(filename, content_type, pdf)] = attachments
    assert (filename, content_type) == ("Invoice-INV00042.pdf", "application/pdf")
    pdf_text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    assert "INV00042" in pdf_text

    row = outbox_row(database, message_id)
    assert row.status is DeliveryStatus.DELIVERED
    assert row.attempts == 1
    assert row.sent_at is not None
    assert row.next_attempt_at is None
    assert row.last_error is None
    # Delivered is delivered: another pass sends nothing.
    assert send_due(database, settings, account_id=account.account_id) == SendReport()


def test_finalize_and_send_through_the_api_emails_the_customer_then_reminds_them(
    database: Database, api: ApiClient, account: Credentials, tmp_path: Path
) -> None:
    """The whole way: a draft finalized and sent through the API, its email delivered by the
    sender; a week before the due date, the reminder."""
    customer = new_customer(api, "Acme Widgets Ltd")
    invoice_id = insert_invoice(database, account.account_id, customer)
    response = api.post(f"/api/invoices/{invoice_id}/finalize-and-send")
    assert response.status_code == 200, response.text
    invoice = response.json()
    number, due = invoice["invoiceNumber"], date.fromisoformat(invoice["dueDate"])

    inbox = Inbox()
    with smtp_server(inbox) as port:
        settings = smtp_settings(database, tmp_path, port)
        assert len(send_due(database, settings, account_id=account.account_id).delivered) == 1
        queued = queue_reminders(
            database, due - timedelta(days=7), account_id=account.account_id
        ).queued
        assert queued == [(invoice_id, "upcoming")]
        assert len(send_due(database, settings, account_id=account.account_id).delivered) == 1

    sent, reminder = (arrival.message for arrival in inbox.arrivals)
    assert [arrival.recipients for arrival in inbox.arrivals] == [["jane@example.com"]] * 2
    assert sent["Subject"] == f"Invoice {number} from Test merchant"
    assert reminder["Subject"].startswith(f"Reminder: invoice {number} from Test merchant")
    for message in (sent, reminder):
        text, _, [(filename, _, pdf)] = parts(message)
        assert f"/invoices/{invoice_id}" in text
        assert filename == f"Invoice-{number}.pdf"
        assert number in PdfReader(BytesIO(pdf)).pages[0].extract_text()


def test_refusals_are_retried_with_exponential_backoff(
    database: Database, api: ApiClient, account: Credentials, tmp_path: Path
) -> None:
    invoice_id, _ = sent_invoice(database, api, account.account_id)
    message_id = queue_invoice_email(database, account.account_id, invoice_id, PUBLIC_URL)
    inbox = Inbox(refuse=2)
    start = utcnow()
    with smtp_server(inbox) as port:
        settings = smtp_settings(database, tmp_path, port)

        def send(after: float) -> SendReport:
            at = start + timedelta(seconds=after)
            return send_due(database, settings, at, account_id=account.account_id)

        assert send(0).retrying == [message_id]
        row = outbox_row(database, message_id)
        assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 1)
        assert row.next_attempt_at == start + timedelta(seconds=60)  # 60 x 2^0
        assert row.last_error is not None and "451" in row.last_error

        assert send(59) == SendReport()  # not due yet
        assert send(60).retrying == [message_id]
        row = outbox_row(database, message_id)
        assert row.attempts == 2
        assert row.next_attempt_at == start + timedelta(seconds=60 + 120)  # 60 x 2^1

        assert send(179) == SendReport()
        assert send(180).delivered == [message_id]

    assert inbox.refused == 2
    assert len(inbox.arrivals) == 1
    row = outbox_row(database, message_id)
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.DELIVERED, 3, None)


def test_a_message_fails_after_the_last_attempt(
    database: Database, api: ApiClient, account: Credentials, tmp_path: Path
) -> None:
    invoice_id, _ = sent_invoice(database, api, account.account_id)
    message_id = queue_invoice_email(database, account.account_id, invoice_id, PUBLIC_URL)
    inbox = Inbox(refuse=100)
    start = utcnow()
    with smtp_server(inbox) as port:
        settings = smtp_settings(database, tmp_path, port)
        for after in (0, 60, 180):
            send_due(
                database, settings, start + timedelta(seconds=after), account_id=account.account_id
            )
        later = start + timedelta(days=30)
        assert send_due(database, settings, later, account_id=account.account_id) == SendReport()

    assert inbox.refused == 3
    assert inbox.arrivals == []
    row = outbox_row(database, message_id)
    assert (row.status, row.attempts, row.next_attempt_at) == (DeliveryStatus.FAILED, 3, None)
    assert row.last_error is not None and "451" in row.last_error


def test_a_permanent_refusal_fails_at_once(
    database: Database, api: ApiClient, account: Credentials, tmp_path: Path
) -> None:
    invoice_id, _ = sent_invoice(database, api, account.account_id)
    message_id = queue_invoice_email(database, account.account_id, invoice_id, PUBLIC_URL)
    inbox = Inbox(refuse=1, refusal="554 5.7.1 Message rejected")
    with smtp_server(inbox) as port:
        settings = smtp_settings(database, tmp_path, port)
        report = send_due(database, settings, account_id=account.account_id)

    assert report.failed == [message_id]
    row = outbox_row(database, message_id)
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, 1)
    assert row.last_error is not None and row.last_error.startswith("refused:")
    assert "554" in row.last_error


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_login_with_the_configured_username(
    database: Database, api: ApiClient, account: Credentials, tmp_path: Path
) -> None:
    invoice_id, _ = sent_invoice(database, api, account.account_id)
    message_id = queue_invoice_email(database, account.account_id, invoice_id, PUBLIC_URL)
    inbox = Inbox()
    options = {
        "authenticator": accept_login("tally", "s3cret"),
        "auth_required": True,
        "auth_require_tls": False,  # the test server has no certificate
    }
    start = utcnow()
    with smtp_server(inbox, **options) as port:
        wrong = smtp_settings(
            database, tmp_path, port, smtp_username="tally", smtp_password="wrong"
        )
        # A failed login is the configuration's fault, not the message's: retried.
        assert send_due(database, wrong, start, account_id=account.account_id).retrying == [
            message_id
        ]
        right = smtp_settings(
            database, tmp_path, port, smtp_username="tally", smtp_password="s3cret"
        )
        later = start + timedelta(seconds=60)
        assert send_due(database, right, later, account_id=account.account_id).delivered == [
            message_id
        ]
    assert len(inbox.arrivals) == 1
    row = outbox_row(database, message_id)
    assert row.attempts == 2


def test_starttls_is_required_when_configured(
    database: Database, api: ApiClient, account: Credentials, tmp_path: Path
) -> None:
    """A server that offers no STARTTLS gets nothing in clear text."""
    invoice_id, _ = sent_invoice(database, api, account.account_id)
    message_id = queue_invoice_email(database, account.account_id, invoice_id, PUBLIC_URL)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        settings = smtp_settings(database, tmp_path, port, smtp_starttls=True)
        assert send_due(database, settings, account_id=account.account_id).retrying == [message_id]
    assert inbox.arrivals == []
    row = outbox_row(database, message_id)
    assert row.last_error is not None and "STARTTLS" in row.last_error


@pytest.mark.timeout(120)
def test_two_senders_never_send_a_message_twice(
    database: Database, account: Credentials, tmp_path: Path
) -> None:
    """Two workers at once, each claiming small batches from the same outbox: every message
    arrives exactly once, and both did part of the work."""
    now = utcnow()
    with database.transaction() as session:
        ids = []
        for number in range(40):
            message = EmailMessage(
                id=new_id(),
                account_id=account.account_id,
                kind="NOTIFICATION",
                to_addresses=[f"ops{number}@example.com"],
                subject=f"Notification {number}",
                text_body="Something happened.",
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
            )
            session.add(message)
            ids.append(message.id)
    inbox = Inbox(delay=0.02)
    reports: list[SendReport] = []
    with smtp_server(inbox) as port:
        settings = smtp_settings(database, tmp_path, port)
        ready = threading.Barrier(2)

        def worker() -> None:
            ready.wait()
            reports.append(send_due(database, settings, batch=3, account_id=account.account_id))

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    arrived = [arrival.message["Message-ID"] for arrival in inbox.arrivals]
    assert len(arrived) == 40
    assert len(set(arrived)) == 40
    first, second = (set(report.delivered) for report in reports)
    assert first and second
    assert not first & second
    assert first | second == set(ids)
    with database.session() as session:
        statuses = session.scalars(
            select(EmailMessage.attempts).where(EmailMessage.id.in_(ids))
        ).all()
    assert statuses == [1] * 40
