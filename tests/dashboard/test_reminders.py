"""A payment reminder from an invoice's page: the API's own service (`payment_reminders`), so an
outstanding invoice's customer gets one email through the outbox, the activity log says so,
a second click the same day sends nothing more, and an invoice with nothing owed is refused
with the service's message, nothing queued; another account's invoice is a 404."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select

from tally.db import Database
from tally.models import ActivityLog, EmailMessage
from tests.conftest import make_account
from tests.dashboard.helpers import Merchant, page_token
from tests.payments.helpers import owed_invoice, pay
from tests.support.api_client import ApiClient


def reminders(database: Database, account_id: str) -> list[EmailMessage]:
    with database.session() as session:
        return list(
            session.scalars(
                select(EmailMessage)
                .where(EmailMessage.account_id == account_id, EmailMessage.kind == "REMINDER")
                .order_by(EmailMessage.id)
            )
        )


def remind(dashboard: TestClient, invoice_id: str) -> object:
    token = page_token(dashboard, f"/dashboard/invoices/{invoice_id}")
    return dashboard.post(
        f"/dashboard/invoices/{invoice_id}/send-reminder",
        data={"csrf_token": token},
        follow_redirects=False,
    )


def test_an_outstanding_invoice_is_reminded_from_its_page_once_a_day(
    dashboard: TestClient, api: ApiClient, database: Database, merchant: Merchant
) -> None:
    account_id = merchant.account.account_id
    invoice_id = owed_invoice(api, database, account_id, due=date(2024, 7, 1), number="INV-R1")
    page = dashboard.get(f"/dashboard/invoices/{invoice_id}")
    assert 'id="send-reminder"' in page.text

    done = remind(dashboard, invoice_id)
    assert getattr(done, "status_code", None) == 303
    assert getattr(done, "headers", {})["location"] == (
        f"/dashboard/invoices/{invoice_id}?done=reminded"
    )
    [email] = reminders(database, account_id)
    assert email.to_addresses == ["jane@example.com"]
    shown = dashboard.get(f"/dashboard/invoices/{invoice_id}?done=reminded")
    assert "Payment reminder emailed" in shown.text
    with database.session() as session:
        logged = session.scalars(
            select(ActivityLog.verb).where(
                ActivityLog.account_id == account_id, ActivityLog.object_id == invoice_id
            )
        ).all()
    assert "REMINDER_SENT" in logged

    again = remind(dashboard, invoice_id)
    assert getattr(again, "status_code", None) == 303
    assert len(reminders(database, account_id)) == 1  # one a day


def test_a_paid_invoice_is_not_reminded_and_another_accounts_is_not_found(
    dashboard: TestClient, api: ApiClient, http: TestClient, database: Database, merchant: Merchant
) -> None:
    account_id = merchant.account.account_id
    invoice_id = owed_invoice(api, database, account_id, gross="50.00", number="INV-R2")
    pay(api, invoice_id, "50.00")
    assert 'id="send-reminder"' not in dashboard.get(f"/dashboard/invoices/{invoice_id}").text
    refused = remind(dashboard, invoice_id)
    assert getattr(refused, "status_code", None) == 409
    assert "nothing is owed on it" in getattr(refused, "text", "")
    assert reminders(database, account_id) == []

    other = make_account(database, "Another merchant")
    other_api = ApiClient(http, (other.api_key, other.api_secret))
    theirs = owed_invoice(other_api, database, other.account_id, number="INV-R3")
    token = page_token(dashboard)
    missing = dashboard.post(
        f"/dashboard/invoices/{theirs}/send-reminder", data={"csrf_token": token}
    )
    assert missing.status_code == 404
    assert reminders(database, other.account_id) == []
