"""Emails with no SMTP server configured (the default): written as .eml files to the outbox
folder and logged. Also what the sender does around sending: leases that run out, stale
workers, reminders of invoices settled meanwhile, credit notes, money and dates in bodies."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from email import policy
from email.message import EmailMessage as MimeMessage
from email.parser import BytesParser
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import update

from tally.accounts.service import Credentials
from tally.core.clock import utcnow
from tally.db import Database
from tally.jobs import background_jobs
from tally.models import (
    Account,
    CreditNote,
    DeliveryStatus,
    EmailMessage,
    Invoice,
    InvoiceStatus,
    PaymentStatus,
)
from tally.notifications import outbox
from tally.notifications.email import format_day, format_money, queue_document
from tally.notifications.outbox import SendReport, send_due
from tally.settings import Settings
from tests.notifications.email_support import (
    outbox_row,
    parts,
    queue_invoice_email,
    sent_invoice,
)
from tests.support.api_client import ApiClient

PUBLIC_URL = "https://billing.example.com"


@pytest.fixture
def folder_settings(database: Database, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database.url,
        billing_scheduler=False,
        public_url=PUBLIC_URL,
        delivery_backoff_seconds=60,
    )


def eml_files(settings: Settings) -> list[Path]:
    return sorted((settings.data_dir / "outbox").glob("*.eml"))


def parse(path: Path) -> MimeMessage:
    with path.open("rb") as file:
        message = BytesParser(policy=policy.default).parse(file)
    assert isinstance(message, MimeMessage)
    return message


def test_without_smtp_messages_are_written_to_the_outbox_folder(
    database: Database,
    api: ApiClient,
    account: Credentials,
    folder_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert folder_settings.smtp_host is None
    invoice_id, _ = sent_invoice(database, api, account.account_id)
    message_id = queue_invoice_email(database, account.account_id, invoice_id, PUBLIC_URL)
    with caplog.at_level(logging.INFO, logger="tally.notifications.mailer"):
        report = send_due(database, folder_settings, account_id=account.account_id)

    assert report.delivered == [message_id]
    [path] = eml_files(folder_settings)
    assert path.name.endswith(f"-{message_id}.eml")
    assert not list((folder_settings.data_dir / "outbox").glob("*.part"))
    message = parse(path)
    assert message["From"] == "Test merchant <billing@tally.localhost>"
    assert message["To"] == "jane@example.com, ap@example.com"
    assert message["Subject"] == "Invoice INV00042 from Test merchant"
    text, html, [(filename, content_type, pdf)] = parts(message)
    assert f"{PUBLIC_URL}/portal/c/" in text
    assert f"/invoices/{invoice_id}" in html
    assert (filename, content_type) == ("Invoice-INV00042.pdf", "application/pdf")
    assert "INV00042" in PdfReader(BytesIO(pdf)).pages[0].extract_text()
    assert any(str(path) in record.getMessage() for record in caplog.records)
    assert outbox_row(database, message_id).status is DeliveryStatus.DELIVERED


def test_a_claimed_message_is_sent_again_only_when_its_lease_runs_out(
    database: Database, api: ApiClient, account: Credentials, folder_settings: Settings
) -> None:
    """At least once: a worker that claimed a message and died leaves it to be taken over
    after the lease, and its late outcome cannot overwrite the new worker's."""
    invoice_id, _ = sent_invoice(database, api, account.account_id)
    message_id = queue_invoice_email(database, account.account_id, invoice_id, PUBLIC_URL)
    now = utcnow()
    [claimed] = outbox._claim(database, now, 10, account.account_id, lease_from=now)  # dies
    assert claimed.attempt == 1

    assert send_due(database, folder_settings, now, account_id=account.account_id) == SendReport()
    assert eml_files(folder_settings) == []
    after_lease = now + outbox.LEASE
    report = send_due(database, folder_settings, after_lease, account_id=account.account_id)
    assert report.delivered == [message_id]
    assert len(eml_files(folder_settings)) == 1

    with database.transaction() as session:  # the first worker, back from the dead
        outbox._record(session, claimed, status=DeliveryStatus.FAILED, last_error="late")
    row = outbox_row(database, message_id)
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.DELIVERED, 2, None)


def test_a_message_whose_document_is_gone_fails_at_once(
    database: Database, account: Credentials, folder_settings: Settings
) -> None:
    """Composed when sent, from its document: without one there is nothing to send, now or
    at any later attempt."""
    now = utcnow()
    with database.transaction() as session:
        message = EmailMessage(
            account_id=account.account_id,
            kind="INVOICE",
            to_addresses=["jane@example.com"],
            subject="Invoice",
            text_body="Attached.",
            attachments=[{"document": "invoice", "id": "no-such-invoice"}],
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
        )
        session.add(message)
        session.flush()
        message_id = message.id
    report = send_due(database, folder_settings, now, account_id=account.account_id)
    assert report.failed == [message_id]
    assert eml_files(folder_settings) == []
    row = outbox_row(database, message_id)
    assert (row.status, row.attempts, row.next_attempt_at) == (DeliveryStatus.FAILED, 1, None)
    assert row.last_error == "could not compose: the invoice no longer exists"
    assert (row.subject, row.text_body) == ("Invoice", "Attached.")  # as queued


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"payment_status": PaymentStatus.PAID}, "cancelled: invoice is PAID"),
        ({"status": InvoiceStatus.VOIDED}, "cancelled: invoice is VOIDED"),
    ],
)
def test_a_reminder_of_an_invoice_settled_since_is_not_sent(
    database: Database,
    api: ApiClient,
    account: Credentials,
    folder_settings: Settings,
    change: dict[str, object],
    reason: str,
) -> None:
    invoice_id, _ = sent_invoice(database, api, account.account_id)
    with database.transaction() as session:
        reminder = queue_document(
            session,
            session.get_one(Account, account.account_id),
            session.get_one(Invoice, invoice_id),
            ["jane@example.com"],
            reminder=True,
            base_url=PUBLIC_URL,
        )
        reminder_id = reminder.id
        session.execute(update(Invoice).where(Invoice.id == invoice_id).values(**change))
    report = send_due(database, folder_settings, account_id=account.account_id)
    assert report.cancelled == [reminder_id]
    assert eml_files(folder_settings) == []
    row = outbox_row(database, reminder_id)
    assert (row.status, row.last_error) == (DeliveryStatus.FAILED, reason)


def test_a_dedupe_key_queues_a_message_once(
    database: Database, api: ApiClient, account: Credentials
) -> None:
    invoice_id, _ = sent_invoice(database, api, account.account_id)
    with database.transaction() as session:
        queued = [
            queue_document(
                session,
                session.get_one(Account, account.account_id),
                session.get_one(Invoice, invoice_id),
                ["jane@example.com"],
                dedupe_key=f"invoice:{invoice_id}:sent",
                base_url=PUBLIC_URL,
            ).id
            for _ in range(2)
        ]
    assert queued[0] == queued[1]


def test_a_credit_note_email(
    database: Database, api: ApiClient, account: Credentials, folder_settings: Settings
) -> None:
    invoice_id, customer = sent_invoice(database, api, account.account_id)
    with database.transaction() as session:
        note = CreditNote(
            account_id=account.account_id,
            invoice_id=invoice_id,
            customer_id=customer["id"],
            status=InvoiceStatus.SENT,
            currency="GBP",
            credit_note_number="CN00003",
            issue_date=date(2024, 6, 10),
            net_total=Decimal("-50"),
            total_tax=Decimal("-10"),
            gross_total=Decimal("-60"),
            customer_legal_company_name="Acme Widgets Ltd",
            customer_emails=["jane@example.com"],
            customer_billing_address=customer["address"],
        )
        session.add(note)
        session.flush()
        message = queue_document(
            session,
            session.get_one(Account, account.account_id),
            note,
            note.customer_emails,
            base_url=PUBLIC_URL,
        )
        message_id = message.id
    assert send_due(database, folder_settings, account_id=account.account_id).delivered == [
        message_id
    ]
    [path] = eml_files(folder_settings)
    email = parse(path)
    assert email["Subject"] == "Credit note CN00003 from Test merchant"
    text, _, [(filename, content_type, pdf)] = parts(email)
    assert "credit note CN00003 from Test merchant for -£60.00." in text
    assert f"/invoices/{invoice_id}" in text  # the portal shows it with its invoice
    assert (filename, content_type) == ("Credit-note-CN00003.pdf", "application/pdf")
    assert "CN00003" in PdfReader(BytesIO(pdf)).pages[0].extract_text()


def test_amounts_and_dates_are_formatted_for_people() -> None:
    assert format_money(Decimal("1234.5"), "GBP") == "£1,234.50"
    assert format_money(Decimal("1500"), "JPY") == "JP¥1,500"
    assert format_money(Decimal("-60"), "EUR") == "-€60.00"
    assert format_day(date(2024, 7, 1)) == "1 July 2024"


def test_a_message_without_recipients_fails(
    database: Database, account: Credentials, folder_settings: Settings
) -> None:
    with database.transaction() as session:
        message = EmailMessage(
            account_id=account.account_id,
            kind="NOTIFICATION",
            subject="Nobody",
            text_body="To no one.",
            status=DeliveryStatus.PENDING,
            next_attempt_at=utcnow(),
        )
        session.add(message)
        session.flush()
        message_id = message.id
    assert send_due(database, folder_settings, account_id=account.account_id).failed == [message_id]
    assert outbox_row(database, message_id).last_error == "could not compose: no recipient address"
    assert eml_files(folder_settings) == []


def test_the_background_loop_runs_the_sender_and_the_reminders(folder_settings: Settings) -> None:
    names = [job.name for job in background_jobs(folder_settings)]
    assert {"email", "reminders"} <= set(names)
