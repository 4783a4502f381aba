"""Payment reminders: a week before the due date and on it, for sent invoices not paid,
queued once each, in the account's time zone, announced as INVOICE_REMINDER_SENT."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from tally.accounts.service import Credentials
from tally.db import Database
from tally.documents.links import invoice_path, portal_url
from tally.invoices.reminders import ReminderReport, queue_reminders
from tally.models import (
    Account,
    EmailMessage,
    Invoice,
    InvoiceStatus,
    NotificationChannel,
    NotificationEvent,
    NotificationPolicy,
    PaymentStatus,
)
from tally.notifications.outbox import send_due
from tally.settings import Settings
from tests.factories import new_customer
from tests.invoices.helpers import counting_statements, insert_invoice
from tests.support.api_client import ApiClient

PUBLIC_URL = "https://billing.example.com"
DUE = date(2024, 7, 1)
WEEK_BEFORE = DUE - timedelta(days=7)


def sent_invoice(
    database: Database,
    api: ApiClient,
    account_id: str,
    name: str = "Acme Widgets Ltd",
    **columns: Any,
) -> str:
    customer = new_customer(api, name)
    values: dict[str, Any] = {
        "status": InvoiceStatus.SENT,
        "invoice_number": f"INV{len(name):05d}",
        "issue_date": date(2024, 6, 1),
        "due_date": DUE,
        "sent_at": datetime.fromisoformat("2024-06-01T09:00:00+00:00"),
        **columns,
    }
    return insert_invoice(database, account_id, customer, **values)


def remind(
    database: Database, account_id: str, today: date | None = None, **kwargs: Any
) -> ReminderReport:
    return queue_reminders(database, today, account_id=account_id, base_url=PUBLIC_URL, **kwargs)


def reminders(database: Database, account_id: str) -> list[EmailMessage]:
    with database.session() as session:
        return list(
            session.scalars(
                select(EmailMessage)
                .where(EmailMessage.account_id == account_id, EmailMessage.kind == "REMINDER")
                .order_by(EmailMessage.id)
            )
        )


def update_account(database: Database, account_id: str, **values: Any) -> None:
    with database.transaction() as session:
        session.execute(update(Account).where(Account.id == account_id).values(**values))


def test_reminders_a_week_before_and_on_the_due_date_once_each(
    database: Database, api: ApiClient, account: Credentials
) -> None:
    invoice_id = sent_invoice(database, api, account.account_id)
    update_account(database, account.account_id, alert_email_addresses=["finance@merchant.example"])

    assert remind(database, account.account_id, WEEK_BEFORE - timedelta(days=1)).queued == []
    assert remind(database, account.account_id, WEEK_BEFORE).queued == [(invoice_id, "upcoming")]
    assert remind(database, account.account_id, WEEK_BEFORE).queued == []  # once
    for day in range(1, 7):
        assert remind(database, account.account_id, WEEK_BEFORE + timedelta(days=day)).queued == []
    assert remind(database, account.account_id, DUE).queued == [(invoice_id, "due")]
    assert remind(database, account.account_id, DUE).queued == []
    assert remind(database, account.account_id, DUE + timedelta(days=1)).queued == []

    upcoming, due = reminders(database, account.account_id)
    assert upcoming.dedupe_key == f"invoice:{invoice_id}:reminder:upcoming"
    assert due.dedupe_key == f"invoice:{invoice_id}:reminder:due"
    for message in (upcoming, due):
        assert message.to_addresses == ["jane@example.com"]
        assert message.cc_addresses == ["finance@merchant.example"]  # the merchant in copy
        assert message.attachments == [{"document": "invoice", "id": invoice_id}]
    assert upcoming.subject == "Reminder: invoice INV00016 from Test merchant is due on 1 July 2024"
    assert due.subject == "Invoice INV00016 from Test merchant is due today"
    assert "for £270.00, due on 1 July 2024." in upcoming.text_body
    assert "for £270.00 is due today (1 July 2024)." in due.text_body

    with database.transaction() as session:
        invoice = session.get_one(Invoice, invoice_id)
        link = portal_url(session, invoice.customer_id, PUBLIC_URL, invoice_path(invoice_id))
    assert link in upcoming.text_body
    assert f'href="{link}"' in (upcoming.html_body or "")


@pytest.mark.parametrize(
    "columns",
    [
        {"payment_status": PaymentStatus.PAID},
        {"payment_status": PaymentStatus.UNCOLLECTIBLE},
        {"status": InvoiceStatus.VOIDED},
        {"status": InvoiceStatus.FINAL},
        {"status": InvoiceStatus.DRAFT, "invoice_number": None},
        {"customer_emails": []},
    ],
    ids=["paid", "uncollectible", "voided", "final-not-sent", "draft", "no-emails"],
)
def test_no_reminder_for_invoices_not_awaiting_payment(
    database: Database, api: ApiClient, account: Credentials, columns: dict[str, Any]
) -> None:
    sent_invoice(database, api, account.account_id, **columns)
    assert remind(database, account.account_id, WEEK_BEFORE).queued == []
    assert remind(database, account.account_id, DUE).queued == []
    assert reminders(database, account.account_id) == []


def test_partly_paid_invoices_are_reminded_of_what_remains(
    database: Database, api: ApiClient, account: Credentials
) -> None:
    invoice_id = sent_invoice(
        database,
        api,
        account.account_id,
        payment_status=PaymentStatus.PARTIALLY_PAID,
        balance=Decimal("70.00"),
    )
    assert remind(database, account.account_id, DUE).queued == [(invoice_id, "due")]
    [message] = reminders(database, account.account_id)
    assert "£70.00 remains to be paid." in message.text_body


def test_paid_or_voided_meanwhile_gets_no_more_reminders(
    database: Database, api: ApiClient, account: Credentials
) -> None:
    paid = sent_invoice(database, api, account.account_id, "Paid Ltd")
    voided = sent_invoice(database, api, account.account_id, "Voided Ltd")
    assert len(remind(database, account.account_id, WEEK_BEFORE).queued) == 2
    with database.transaction() as session:
        session.execute(
            update(Invoice).where(Invoice.id == paid).values(payment_status=PaymentStatus.PAID)
        )
        session.execute(
            update(Invoice).where(Invoice.id == voided).values(status=InvoiceStatus.VOIDED)
        )
    assert remind(database, account.account_id, DUE).queued == []


def test_an_invoice_sent_on_the_day_is_not_reminded_that_day(
    database: Database, api: ApiClient, account: Credentials
) -> None:
    """Seven-day terms: the invoice's own email has just gone; the due-day reminder still comes."""
    sent_on_the_day = datetime.fromisoformat("2024-06-24T10:00:00+00:00")
    invoice_id = sent_invoice(database, api, account.account_id, sent_at=sent_on_the_day)
    assert remind(database, account.account_id, WEEK_BEFORE).queued == []
    assert remind(database, account.account_id, DUE).queued == [(invoice_id, "due")]


def test_accounts_without_customer_notifications_send_none(
    database: Database, api: ApiClient, account: Credentials
) -> None:
    sent_invoice(database, api, account.account_id)
    update_account(database, account.account_id, send_customer_notifications=False)
    assert remind(database, account.account_id, WEEK_BEFORE).queued == []


@pytest.mark.parametrize(
    ("timezone", "reminded"),
    [("Pacific/Auckland", True), ("UTC", False), ("America/Los_Angeles", False)],
)
def test_the_day_is_the_account_s_local_day(
    database: Database, api: ApiClient, account: Credentials, timezone: str, reminded: bool
) -> None:
    """At 13:00 UTC on 23 June it is already 24 June (a week before the due date) in
    Auckland, still 23 June in London and Los Angeles."""
    update_account(database, account.account_id, timezone=timezone)
    invoice_id = sent_invoice(database, api, account.account_id)
    now = datetime.fromisoformat("2024-06-23T13:00:00+00:00")
    report = remind(database, account.account_id, now=now)
    assert report.queued == ([(invoice_id, "upcoming")] if reminded else [])


def test_reminders_are_announced_once(
    database: Database, api: ApiClient, account: Credentials
) -> None:
    """INVOICE_REMINDER_SENT for each reminder queued, never again for a repeated pass; an
    EMAIL policy's notification goes out through the same outbox."""
    with database.transaction() as session:
        session.add(
            NotificationPolicy(
                account_id=account.account_id,
                name="Reminders to finance",
                channel=NotificationChannel.EMAIL,
                notification_types=["INVOICE_REMINDER_SENT"],
                recipients=["finance@merchant.example"],
            )
        )
    invoice_id = sent_invoice(database, api, account.account_id)
    remind(database, account.account_id, WEEK_BEFORE)
    remind(database, account.account_id, WEEK_BEFORE)
    with database.session() as session:
        events = session.scalars(
            select(NotificationEvent).where(NotificationEvent.account_id == account.account_id)
        ).all()
        kinds = session.scalars(
            select(EmailMessage.kind)
            .where(EmailMessage.account_id == account.account_id)
            .order_by(EmailMessage.kind)
        ).all()
    assert [(e.notification_type, e.resource_id) for e in events] == [
        ("INVOICE_REMINDER_SENT", invoice_id)
    ]
    assert kinds == ["NOTIFICATION", "REMINDER"]


def test_a_reminder_is_delivered_with_the_invoice_attached(
    database: Database, api: ApiClient, account: Credentials, tmp_path: Path
) -> None:
    invoice_id = sent_invoice(database, api, account.account_id)
    remind(database, account.account_id, DUE)
    settings = Settings(data_dir=tmp_path, database_url=database.url, public_url=PUBLIC_URL)
    report = send_due(database, settings, account_id=account.account_id)
    assert len(report.delivered) == 1
    [eml] = (tmp_path / "outbox").glob("*.eml")
    content = eml.read_bytes()
    assert b"Subject: Invoice INV00016 from Test merchant is due today" in content
    assert b'filename="Invoice-INV00016.pdf"' in content
    assert invoice_id.encode() in content


def test_no_query_per_invoice(database: Database, api: ApiClient, account: Credentials) -> None:
    def statements_for(invoices: int, today: date) -> int:
        for number in range(invoices):
            sent_invoice(
                database, api, account.account_id, f"Customer {today} {number}", due_date=today
            )
        with counting_statements(database) as statements:
            report = remind(database, account.account_id, today)
        assert len(report.queued) == invoices
        return len(statements)

    assert statements_for(1, date(2024, 8, 1)) == statements_for(6, date(2024, 8, 2))


def test_concurrent_passes_queue_each_reminder_once(
    database: Database, api: ApiClient, account: Credentials
) -> None:
    for number in range(5):
        sent_invoice(database, api, account.account_id, f"Customer {number}")
    reports: list[ReminderReport] = []
    ready = threading.Barrier(2)

    def worker() -> None:
        ready.wait()
        reports.append(remind(database, account.account_id, DUE))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(report.queued) for report in reports) == [0, 5]
    assert len(reminders(database, account.account_id)) == 5
