"""Finalizing, sending, voiding, payment status and patching a sent invoice: numbers, dates,
balances, the email queued, and what each answer shows."""

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import EmailMessage, InvoiceStatus
from tests.factories import new_customer
from tests.invoices.states import (
    account_settings,
    conflict,
    get,
    invoice_in,
    ok,
    patch,
)
from tests.schedules.helpers import Setup
from tests.support.api_client import ApiClient


@pytest.fixture
def customer(api: ApiClient) -> dict[str, Any]:
    return new_customer(api)


def emails_for(database: Database, account_id: str) -> list[EmailMessage]:
    with database.session() as session:
        return list(
            session.scalars(
                select(EmailMessage)
                .where(EmailMessage.account_id == account_id, EmailMessage.kind != "NOTIFICATION")
                .order_by(EmailMessage.id)
            )
        )


def test_finalize_numbers_and_dates_an_invoice_in_the_account_time_zone(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    zone = "Pacific/Kiritimati"  # UTC+14: its today is often not UTC's
    account_settings(api, timezone=zone, invoiceNumberPrefix="ACME-", paymentTermsDays=45)
    schedule = Setup(api)
    schedule.customer_id = customer["id"]
    with_default = schedule.create(defaultDueDateDays=10)["id"]

    def draft(**columns: Any) -> str:
        return invoice_in(database, account.account_id, customer, "DRAFT", **columns)

    own_terms = draft(payment_term_days=15)
    schedule_terms = draft(payment_term_days=None, billing_schedule_id=with_default)
    account_terms = draft(payment_term_days=None, invoice_date=None)
    manual = draft(payment_term_days=None, due_date=date(2030, 1, 31), due_date_source="MANUAL")
    today = datetime.now(ZoneInfo(zone)).date()

    finalized = [
        ok(api.post(f"/api/invoices/{invoice}/finalize"))
        for invoice in (own_terms, schedule_terms, account_terms, manual)
    ]

    assert [f["invoiceNumber"] for f in finalized] == [
        "ACME-00001",
        "ACME-00002",
        "ACME-00003",
        "ACME-00004",
    ]
    assert {f["status"] for f in finalized} == {"FINAL"}
    assert {f["issueDate"] for f in finalized} == {today.isoformat()}
    assert [(f["dueDate"], f.get("paymentTermDays"), f["dueDateSource"]) for f in finalized] == [
        ((today + timedelta(days=15)).isoformat(), 15, "CALCULATED"),
        ((today + timedelta(days=10)).isoformat(), 10, "CALCULATED"),
        ((today + timedelta(days=45)).isoformat(), 45, "CALCULATED"),
        ("2030-01-31", None, "MANUAL"),
    ]
    first = finalized[0]
    assert (first["balance"], first["balanceVersion"]) == ("270.00", 1)
    assert first["finalizedAt"]
    assert first["invoiceDate"] == "2024-06-01"  # billing's invoice date stays
    assert finalized[2]["invoiceDate"] == today.isoformat()  # none yet: issued today


def test_a_draft_has_no_balance_until_finalized(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    draft = get(api, invoice_in(database, account.account_id, customer, "DRAFT"))
    assert "balance" not in draft and "balanceVersion" not in draft and "invoiceNumber" not in draft


def test_send_queues_the_invoice_email_with_its_pdf(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    invoice_id = invoice_in(database, account.account_id, customer, "DRAFT")
    final = ok(api.post(f"/api/invoices/{invoice_id}/finalize"))
    assert emails_for(database, account.account_id) == []

    sent = ok(api.post(f"/api/invoices/{invoice_id}/send"))

    assert sent["status"] == "SENT"
    assert sent["sentAt"] >= final["finalizedAt"]
    assert sent["invoiceNumber"] == final["invoiceNumber"]
    [email] = emails_for(database, account.account_id)
    assert email.to_addresses == ["jane@example.com"]
    assert email.attachments == [{"document": "invoice", "id": invoice_id}]
    assert final["invoiceNumber"] in email.subject


def test_finalize_and_send_does_both_and_mark_as_sent_emails_no_one(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    first = invoice_in(database, account.account_id, customer, "DRAFT")
    second = invoice_in(database, account.account_id, customer, "DRAFT")
    third = invoice_in(database, account.account_id, customer, "DRAFT")

    sent = ok(api.post(f"/api/invoices/{first}/finalize-and-send"))
    marked = ok(api.post(f"/api/invoices/{second}/mark-as-sent"))
    ok(api.post(f"/api/invoices/{third}/finalize"))
    marked_final = ok(api.post(f"/api/invoices/{third}/mark-as-sent"))

    assert [i["status"] for i in (sent, marked, marked_final)] == ["SENT"] * 3
    assert [i["invoiceNumber"] for i in (sent, marked, marked_final)] == [
        "INV00001",
        "INV00002",
        "INV00003",
    ]
    assert all(i["sentAt"] for i in (sent, marked, marked_final))
    assert [e.attachments[0]["id"] for e in emails_for(database, account.account_id)] == [first]


def test_sending_without_a_billing_contact_is_refused(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    invoice_id = invoice_in(database, account.account_id, customer, "DRAFT", customer_emails=[])
    before = get(api, invoice_id)

    for action in ("finalize-and-send",):
        conflict(
            api.post(f"/api/invoices/{invoice_id}/{action}"),
            "no recipient",
            "contact",
            error_type="MissingRecipient",
        )
    assert get(api, invoice_id) == before  # not even finalized
    ok(api.post(f"/api/invoices/{invoice_id}/finalize"))
    conflict(
        api.post(f"/api/invoices/{invoice_id}/send"),
        "billing contact",
        "mark-as-sent",
        error_type="MissingRecipient",
    )
    assert ok(api.post(f"/api/invoices/{invoice_id}/mark-as-sent"))["status"] == "SENT"
    assert emails_for(database, account.account_id) == []


def test_sending_later_starts_the_payment_terms_from_the_day_sent(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    """Issued 2024-06-02 with 30 days' terms, sent today: issued and due from today."""
    calculated = invoice_in(database, account.account_id, customer, "FINAL")
    manual = invoice_in(database, account.account_id, customer, "FINAL", due_date_source="MANUAL")
    today = datetime.now(ZoneInfo("UTC")).date()

    sent = ok(api.post(f"/api/invoices/{calculated}/send"))
    sent_manual = ok(api.post(f"/api/invoices/{manual}/mark-as-sent"))

    assert (sent["issueDate"], sent["dueDate"]) == (
        today.isoformat(),
        (today + timedelta(days=30)).isoformat(),
    )
    assert (sent_manual["issueDate"], sent_manual["dueDate"]) == (today.isoformat(), "2024-07-02")


def test_voiding_a_draft_takes_no_number_and_a_final_one_owes_nothing(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    draft = invoice_in(database, account.account_id, customer, "DRAFT")
    first = invoice_in(database, account.account_id, customer, "DRAFT")
    second = invoice_in(database, account.account_id, customer, "DRAFT")

    voided_draft = ok(api.post(f"/api/invoices/{draft}/void"))
    final = ok(api.post(f"/api/invoices/{first}/finalize"))
    voided_final = ok(api.post(f"/api/invoices/{first}/void"))
    later = ok(api.post(f"/api/invoices/{second}/finalize"))

    assert voided_draft["status"] == "VOIDED" and voided_draft["voidedAt"]
    assert "invoiceNumber" not in voided_draft and "balance" not in voided_draft
    assert final["invoiceNumber"] == "INV00001"
    assert voided_final["invoiceNumber"] == "INV00001"  # kept for the record
    assert (voided_final["balance"], voided_final["balanceVersion"]) == ("0.00", 2)
    assert later["invoiceNumber"] == "INV00002"  # no gap


def test_payment_status_on_issued_invoices(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    invoice_id = invoice_in(database, account.account_id, customer, "SENT")
    url = f"/api/invoices/{invoice_id}/payment-status"

    for status in ("PARTIALLY_PAID", "UNCOLLECTIBLE", "PAID", "UNPAID"):
        assert ok(api.put(url, json={"paymentStatus": status}))["paymentStatus"] == status
    assert get(api, invoice_id)["balance"] == "270.00"  # no amount came with it
    bad = api.put(url, json={"paymentStatus": "REFUNDED"})
    assert bad.status_code == 400


def test_patching_a_sent_invoice(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    invoice_id = invoice_in(database, account.account_id, customer, "SENT", memo="Old")
    url = f"/api/invoices/{invoice_id}/sent"
    address = {"line1": "1 New Street", "town": "Leeds", "postcode": "LS1 1AA", "country": "GB"}

    patched = ok(
        patch(
            api,
            url,
            {
                "purchaseOrderNumber": "PO-9",
                "customerBillingAddress": address,
                "reference": "R-1",
                "dueDate": "2024-08-15",
            },
        )
    )

    assert patched["purchaseOrderNumber"] == "PO-9"
    assert patched["customerBillingAddress"] == address
    assert patched["reference"] == "R-1"
    assert patched["memo"] == "Old"  # not given, not changed
    assert (patched["dueDate"], patched["dueDateSource"]) == ("2024-08-15", "MANUAL")
    assert "paymentTermDays" not in patched
    assert patched["status"] == "SENT" and patched["invoiceNumber"] == "OLD00042"
    cleared = ok(patch(api, url, {"memo": None}))
    assert "memo" not in cleared

    before = get(api, invoice_id)
    for body, field in (
        ({"dueDate": None}, "dueDate"),
        ({"customerBillingAddress": None}, "customerBillingAddress"),
        ({"customerLegalCompanyName": "Other Ltd"}, "customerLegalCompanyName"),
        ({"customerEmails": ["x@example.com"], "memo": "x"}, "customerEmails"),
        ({"dueDate": "2024-06-01"}, "dueDate"),  # before its issue date
        ({"dueDate": "soon"}, "dueDate"),
    ):
        response = patch(api, url, body)
        assert response.status_code == 400, (body, response.text)
        assert field in response.json()["error"]["message"], response.text
    assert get(api, invoice_id) == before


def test_overdue_is_derived_and_filterable(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    zone = "Pacific/Kiritimati"
    account_settings(api, timezone=zone)
    today = datetime.now(ZoneInfo(zone)).date()

    def sent(due: date, **columns: Any) -> str:
        return invoice_in(database, account.account_id, customer, "SENT", due_date=due, **columns)

    overdue = sent(today - timedelta(days=1))
    partly_paid = sent(today - timedelta(days=30), payment_status="PARTIALLY_PAID")
    due_today = sent(today)
    paid = sent(today - timedelta(days=1), payment_status="PAID")
    final = invoice_in(
        database, account.account_id, customer, "FINAL", due_date=today - timedelta(days=5)
    )
    draft = invoice_in(database, account.account_id, customer, "DRAFT", due_date=None)

    flags = {i: get(api, i)["isOverdue"] for i in (overdue, partly_paid, due_today, paid, final)}
    assert flags == {
        overdue: True,
        partly_paid: True,
        due_today: False,
        paid: False,
        final: False,
    }

    def listed(**params: Any) -> set[str]:
        items = ok(api.get("/api/invoices", params={"limit": 100, **params}))["items"]
        assert all(
            item["isOverdue"] == (item["id"] in flags and flags[item["id"]]) for item in items
        )
        return {item["id"] for item in items}

    assert listed(overdue="true") == {overdue, partly_paid}
    assert listed(overdue="false") == {due_today, paid, final, draft}
    assert listed(overdue="true", invoicePaymentStatus="UNPAID") == {overdue}


def test_summary_totals_per_currency_with_the_list_filters(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    def invoice(state: str, **columns: Any) -> str:
        return invoice_in(database, account.account_id, customer, state, **columns)

    invoice("DRAFT")
    invoice("SENT", due_date=date(2020, 1, 1))
    invoice("VOIDED")
    invoice("SENT", currency="JPY", gross_total=1500, net_total=1250, total_tax=250)
    invoice("FINAL", currency="EUR", gross_total="0.10", net_total="0.10", total_tax=0)
    invoice("FINAL", currency="EUR", gross_total="0.20", net_total="0.20", total_tax=0)

    def summary(**params: Any) -> list[dict[str, Any]]:
        response = api.get("/api/invoices/summary", params=params)
        assert response.status_code == 200, response.text
        return list(response.json()["totalsByCurrency"])

    # Exact JSON numbers in the currency's minor unit, never binary floats.
    assert '"grossTotal":0.30' in api.get("/api/invoices/summary").text

    assert summary() == [
        {"currency": "EUR", "invoiceCount": 2, "grossTotal": 0.3},
        {"currency": "GBP", "invoiceCount": 3, "grossTotal": 810},
        {"currency": "JPY", "invoiceCount": 1, "grossTotal": 1500},
    ]
    assert summary(excludeInvoiceStatus="VOIDED,DRAFT", invoiceCurrency="GBP") == [
        {"currency": "GBP", "invoiceCount": 1, "grossTotal": 270}
    ]
    assert summary(overdue="true") == [  # both SENT ones are long past due
        {"currency": "GBP", "invoiceCount": 1, "grossTotal": 270},
        {"currency": "JPY", "invoiceCount": 1, "grossTotal": 1500},
    ]
    assert summary(invoiceStatus="IN_PROGRESS") == []
    assert api.get("/api/invoices/summary", params={"invoiceStatus": "NOPE"}).status_code == 400


def test_statuses_answer_sequence_invoice_shape(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    """Every transition's answer is validated against Sequence's `Invoice` by the client;
    here the Tally extensions are present too."""
    invoice_id = invoice_in(database, account.account_id, customer, "DRAFT")
    answer = ok(api.post(f"/api/invoices/{invoice_id}/finalize-and-send"))
    assert answer["status"] == InvoiceStatus.SENT
    assert answer["isOverdue"] is False
    assert answer["customerShippingAddress"] == answer["customerBillingAddress"]
    assert answer["paymentOptions"] == []
