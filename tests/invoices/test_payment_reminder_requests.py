"""POST /api/invoices/{id}/send-payment-reminder: a reminder email through the outbox for an
outstanding invoice, once a day (retry-safe), refused for any other invoice."""

from typing import Any

import pytest
from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.db import Database
from tally.exceptions import Conflict
from tally.models import EmailMessage, InvoiceStatus, NotificationEvent, PaymentStatus
from tests.invoices.states import get, ok
from tests.invoices.test_reminders import reminders, sent_invoice, update_account
from tests.support.api_client import ApiClient


def events(database: Database, account_id: str) -> list[tuple[str, str]]:
    with database.session() as session:
        return [
            (event.notification_type, event.resource_id)
            for event in session.scalars(
                select(NotificationEvent)
                .where(NotificationEvent.account_id == account_id)
                .order_by(NotificationEvent.id)
            )
        ]


def listen(api: ApiClient) -> None:
    """A webhook policy, so events are recorded (its URL is never called here)."""
    body = {
        "name": "Reminders",
        "recipients": ["http://127.0.0.1:9/hook"],
        "channel": "WEBHOOK",
        "notificationTypes": ["INVOICE_REMINDER_SENT"],
    }
    assert api.post("/api/notifications/policies", json=body).status_code == 201


def remind(api: ApiClient, invoice_id: str) -> Any:
    return api.post(f"/api/invoices/{invoice_id}/send-payment-reminder")


@pytest.mark.parametrize("payment", [PaymentStatus.UNPAID, PaymentStatus.PARTIALLY_PAID])
def test_an_outstanding_invoice_is_reminded_once_a_day(
    payment: PaymentStatus, database: Database, api: ApiClient, account: Credentials
) -> None:
    update_account(database, account.account_id, alert_email_addresses=["ar@merchant.example"])
    listen(api)
    invoice_id = sent_invoice(database, api, account.account_id, payment_status=payment)
    before = get(api, invoice_id)

    answer = ok(remind(api, invoice_id))
    assert answer["id"] == invoice_id
    assert answer["status"] == "SENT"
    [message] = reminders(database, account.account_id)
    assert message.to_addresses == ["jane@example.com"]
    assert message.cc_addresses == ["ar@merchant.example"]
    assert message.attachments == [{"document": "invoice", "id": invoice_id}]
    assert message.subject.startswith("Reminder: invoice INV00016 from Test merchant")
    assert "£270.00" in message.text_body
    assert events(database, account.account_id) == [("INVOICE_REMINDER_SENT", invoice_id)]

    # A retry (or a second request the same day) sends nothing more and logs nothing more.
    assert ok(remind(api, invoice_id))["id"] == invoice_id
    assert len(reminders(database, account.account_id)) == 1
    assert len(events(database, account.account_id)) == 1
    logs = api.get("/api/activity-logs", params={"activityLogObjectId": invoice_id}).json()
    [entry] = [log["activityLogItems"][0] for log in logs["items"]]
    assert entry["verb"] == "REMINDER_SENT"
    assert "jane@example.com" in entry["summary"]
    # The invoice itself is as it was.
    after = get(api, invoice_id)
    assert {k: v for k, v in after.items() if k != "updatedAt"} == {
        k: v for k, v in before.items() if k != "updatedAt"
    }


@pytest.mark.parametrize(
    "columns",
    [
        {"payment_status": PaymentStatus.PAID},
        {"payment_status": PaymentStatus.UNCOLLECTIBLE},
        {"status": InvoiceStatus.VOIDED},
        {"status": InvoiceStatus.FINAL},
        {"status": InvoiceStatus.DRAFT, "invoice_number": None},
        {"status": InvoiceStatus.IN_PROGRESS, "invoice_number": None},
        {"customer_emails": []},
    ],
    ids=["paid", "uncollectible", "voided", "final", "draft", "in-progress", "no-emails"],
)
def test_other_invoices_are_refused_and_nothing_is_sent(
    columns: dict[str, Any], database: Database, api: ApiClient, account: Credentials
) -> None:
    listen(api)
    invoice_id = sent_invoice(database, api, account.account_id, **columns)
    response = remind(api, invoice_id)
    assert response.status_code == Conflict.status_code, response.text
    assert "cannot send a payment reminder" in response.json()["error"]["message"]
    with database.session() as session:
        queued = select(EmailMessage.id).where(EmailMessage.account_id == account.account_id)
        assert session.scalars(queued).all() == []
    assert events(database, account.account_id) == []


def test_another_accounts_invoice_is_not_found(
    database: Database, api: ApiClient, other_api: ApiClient, account: Credentials
) -> None:
    invoice_id = sent_invoice(database, api, account.account_id)
    assert remind(other_api, invoice_id).status_code == 404
    assert reminders(database, account.account_id) == []
    assert api.post(f"/api/invoices/{invoice_id}/send-payment-reminder?x=1").status_code == 400
