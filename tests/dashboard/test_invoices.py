"""Invoices from the dashboard: the list with the API's filters and its summary per currency,
one invoice as its document, its lifecycle through the API's own services (an illegal
transition shows the service's 409 and changes nothing), its PDF and portal page. Another
account's invoice is a 404; a form without the session's CSRF token changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tally.dashboard.invoices import PAGE_SIZE
from tally.db import Database
from tally.models import EmailMessage, InvoiceStatus
from tests.dashboard.helpers import Merchant, page_token
from tests.factories import new_customer, new_customer_id
from tests.invoices.helpers import insert_invoice
from tests.schedules.helpers import created, new_price, schedule_body
from tests.support.api_client import ApiClient
from tests.support.errors import conflict_error

ACTIONS = ("finalize", "finalize-and-send", "send", "mark-as-sent", "void", "payment-status")


def invoice_of(api: ApiClient, invoice_id: str) -> dict[str, Any]:
    answer = api.get(f"/api/invoices/{invoice_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def draft(database: Database, api: ApiClient, merchant: Merchant, **columns: Any) -> str:
    customer = new_customer(api, "Acme Rockets Ltd")
    return insert_invoice(database, merchant.account.account_id, customer, **columns)


def post(dashboard: TestClient, path: str, **data: str) -> Any:
    token = page_token(dashboard, "/dashboard/invoices")
    return dashboard.post(path, data={"csrf_token": token, **data})


@pytest.fixture
def foreign_invoice(database: Database, other_api: ApiClient) -> str:
    customer = new_customer(other_api, "Somebody Else Ltd")
    account_id = other_api.get("/api/sequence-accounts").json()["items"][0]["id"]
    return insert_invoice(database, account_id, customer)


def test_the_list_filters_as_the_api_does_and_sums_per_currency(
    dashboard: TestClient,
    api: ApiClient,
    database: Database,
    merchant: Merchant,
    foreign_invoice: str,
) -> None:
    gbp = draft(database, api, merchant)
    eur = draft(database, api, merchant, currency="EUR")
    page = dashboard.get("/dashboard/invoices")
    assert page.status_code == 200
    assert gbp in page.text and eur in page.text
    assert foreign_invoice not in page.text
    assert 'data-currency="GBP"' in page.text and "£270.00" in page.text
    assert 'data-currency="EUR"' in page.text and "€270.00" in page.text
    assert 'aria-current="page">Invoices<' in page.text

    only_eur = dashboard.get("/dashboard/invoices", params={"invoiceCurrency": "EUR"})
    assert only_eur.status_code == 200
    assert eur in only_eur.text and gbp not in only_eur.text
    api_list = api.get("/api/invoices", params={"invoiceCurrency": "EUR"}).json()["items"]
    assert [item["id"] for item in api_list] == [eur]

    summary = api.get("/api/invoices/summary").json()["totalsByCurrency"]
    assert [(t["currency"], t["invoiceCount"]) for t in summary] == [("EUR", 1), ("GBP", 1)]

    finals = dashboard.get("/dashboard/invoices", params={"invoiceStatus": "FINAL"})
    assert gbp not in finals.text and "No invoices match these filters." in finals.text


def test_the_list_pages_through_every_invoice(
    dashboard: TestClient, api: ApiClient, database: Database, merchant: Merchant
) -> None:
    customer = new_customer(api, "Many Invoices Ltd")
    ids = {
        insert_invoice(database, merchant.account.account_id, customer, groups=[], lines=[])
        for _ in range(PAGE_SIZE + 1)
    }
    first = dashboard.get("/dashboard/invoices", params={"customerId": customer["id"]})
    assert first.text.count("data-invoice=") == PAGE_SIZE
    assert 'rel="prev"' not in first.text
    older = first.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = dashboard.get("/dashboard/invoices" + older.replace("&amp;", "&"))
    assert second.status_code == 200 and second.text.count("data-invoice=") == 1
    assert 'rel="prev"' in second.text
    shown = {
        part.split('"')[0]
        for text in (first.text, second.text)
        for part in text.split('data-invoice="')[1:]
    }
    assert shown == ids


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"invoiceStatus": "LOST"}, "invoiceStatus: &#39;LOST&#39; is not one of"),
        ({"dueBefore": "next week"}, "dueBefore: &#39;next week&#39; is not a date"),
        ({"invoiceCurrency": "XXQ"}, "invoiceCurrency"),
    ],
)
def test_a_wrong_filter_says_why_with_a_422(
    dashboard: TestClient, params: dict[str, str], message: str
) -> None:
    page = dashboard.get("/dashboard/invoices", params=params)
    assert page.status_code == 422
    assert message in page.text
    assert 'role="alert"' in page.text


def test_the_invoice_page_shows_its_document(
    dashboard: TestClient, api: ApiClient, database: Database, merchant: Merchant
) -> None:
    invoice_id = draft(database, api, merchant)
    page = dashboard.get(f"/dashboard/invoices/{invoice_id}")
    assert page.status_code == 200
    assert 'class="tally-document' in page.text  # the documents' own template
    for text in ("Acme Rockets Ltd", "Platform fee", "API calls", "10% off", "£270.00"):
        assert text in page.text
    assert "/portal/static/document.css" in page.text
    assert "Finalize" in page.text and "portal-link" not in page.text


def test_another_accounts_invoice_is_not_found(dashboard: TestClient, foreign_invoice: str) -> None:
    for path in ("", "/pdf", "/void"):
        assert dashboard.get(f"/dashboard/invoices/{foreign_invoice}{path}").status_code == 404
    for action in ACTIONS:
        answer = post(
            dashboard, f"/dashboard/invoices/{foreign_invoice}/{action}", paymentStatus="PAID"
        )
        assert answer.status_code == 404, action
    assert dashboard.get("/dashboard/invoices/no-such-invoice").status_code == 404


def test_finalize_send_pay_then_view_in_the_portal(
    dashboard: TestClient, http: TestClient, api: ApiClient, database: Database, merchant: Merchant
) -> None:
    invoice_id = draft(database, api, merchant)
    answer = post(dashboard, f"/dashboard/invoices/{invoice_id}/finalize")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/dashboard/invoices/{invoice_id}?done=finalized"
    finalized = invoice_of(api, invoice_id)
    assert finalized["status"] == "FINAL" and finalized["invoiceNumber"]
    page = dashboard.get(answer.headers["location"])
    assert "Invoice finalized" in page.text and finalized["invoiceNumber"] in page.text

    answer = post(dashboard, f"/dashboard/invoices/{invoice_id}/send")
    assert answer.status_code == 303
    assert invoice_of(api, invoice_id)["status"] == "SENT"
    with database.session(write=False) as session:  # queued for the billing contacts
        queued = session.scalars(
            select(EmailMessage).where(EmailMessage.account_id == merchant.account.account_id)
        ).all()
    assert [message.to_addresses for message in queued] == [["jane@example.com"]]

    answer = post(
        dashboard, f"/dashboard/invoices/{invoice_id}/payment-status", paymentStatus="PAID"
    )
    assert answer.status_code == 303
    assert invoice_of(api, invoice_id)["paymentStatus"] == "PAID"

    page = dashboard.get(f"/dashboard/invoices/{invoice_id}")
    assert 'id="portal-link"' in page.text
    link = page.text.split('id="portal-link"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert link.startswith("/portal/c/") and link.endswith(f"/invoices/{invoice_id}")
    portal = http.get(link)
    assert portal.status_code == 200 and finalized["invoiceNumber"] in portal.text


def test_mark_as_sent_records_it_without_email(
    dashboard: TestClient, api: ApiClient, database: Database, merchant: Merchant
) -> None:
    invoice_id = draft(database, api, merchant, customer_emails=[])
    refused = post(dashboard, f"/dashboard/invoices/{invoice_id}/send")
    assert refused.status_code == 409  # a draft is finalized first; sending needs FINAL
    answer = post(dashboard, f"/dashboard/invoices/{invoice_id}/mark-as-sent")
    assert answer.status_code == 303
    assert invoice_of(api, invoice_id)["status"] == "SENT"


def test_an_illegal_transition_shows_the_services_409_and_changes_nothing(
    dashboard: TestClient, api: ApiClient, database: Database, merchant: Merchant
) -> None:
    invoice_id = draft(database, api, merchant)
    assert post(dashboard, f"/dashboard/invoices/{invoice_id}/mark-as-sent").status_code == 303
    before = invoice_of(api, invoice_id)
    refused = post(dashboard, f"/dashboard/invoices/{invoice_id}/finalize")
    assert refused.status_code == 409
    api_refusal = api.post(f"/api/invoices/{invoice_id}/finalize")
    message = conflict_error(api_refusal, "InvalidStateTransition")["message"]
    assert message.replace("'", "&#39;") in refused.text
    assert 'role="alert"' in refused.text and 'class="tally-document' in refused.text
    assert invoice_of(api, invoice_id) == before

    paid = post(dashboard, f"/dashboard/invoices/{invoice_id}/payment-status", paymentStatus="PAID")
    assert paid.status_code == 303
    refused = post(dashboard, f"/dashboard/invoices/{invoice_id}/void")
    assert refused.status_code == 409 and "cannot void" in refused.text
    assert invoice_of(api, invoice_id)["status"] == InvoiceStatus.SENT


def test_void_asks_first(
    dashboard: TestClient, api: ApiClient, database: Database, merchant: Merchant
) -> None:
    invoice_id = draft(database, api, merchant)
    confirm = dashboard.get(f"/dashboard/invoices/{invoice_id}/void")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    assert invoice_of(api, invoice_id)["status"] == "DRAFT"  # looking voids nothing
    answer = post(dashboard, f"/dashboard/invoices/{invoice_id}/void")
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("?done=voided")
    assert invoice_of(api, invoice_id)["status"] == "VOIDED"


def test_a_wrong_payment_status_is_a_422_and_changes_nothing(
    dashboard: TestClient, api: ApiClient, database: Database, merchant: Merchant
) -> None:
    invoice_id = draft(database, api, merchant)
    post(dashboard, f"/dashboard/invoices/{invoice_id}/finalize")
    answer = post(
        dashboard, f"/dashboard/invoices/{invoice_id}/payment-status", paymentStatus="MAYBE"
    )
    assert answer.status_code == 422
    assert "Payment status must be one of" in answer.text
    assert invoice_of(api, invoice_id)["paymentStatus"] == "UNPAID"


def test_the_pdf_downloads(
    dashboard: TestClient, api: ApiClient, database: Database, merchant: Merchant
) -> None:
    invoice_id = draft(database, api, merchant)
    answer = dashboard.get(f"/dashboard/invoices/{invoice_id}/pdf")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    assert f'filename="{invoice_id}.pdf"' in answer.headers["content-disposition"]


def test_a_post_without_the_csrf_token_is_refused(
    dashboard: TestClient, api: ApiClient, database: Database, merchant: Merchant
) -> None:
    invoice_id = draft(database, api, merchant)
    for action in ACTIONS:
        answer = dashboard.post(
            f"/dashboard/invoices/{invoice_id}/{action}", data={"paymentStatus": "PAID"}
        )
        assert answer.status_code == 403, action
    assert invoice_of(api, invoice_id)["status"] == "DRAFT"


def test_signed_out_visitors_go_to_sign_in(visitor: TestClient) -> None:
    answer = visitor.get("/dashboard/invoices")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/sign-in?next=/dashboard/invoices"


def test_finalize_and_send_in_one_step(
    dashboard: TestClient, api: ApiClient, database: Database, merchant: Merchant
) -> None:
    invoice_id = draft(database, api, merchant)
    answer = post(dashboard, f"/dashboard/invoices/{invoice_id}/finalize-and-send")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/dashboard/invoices/{invoice_id}?done=sent"
    sent = invoice_of(api, invoice_id)
    assert sent["status"] == "SENT" and sent["invoiceNumber"]
    with database.session(write=False) as session:
        queued = session.scalars(
            select(EmailMessage).where(EmailMessage.account_id == merchant.account.account_id)
        ).all()
    assert [message.to_addresses for message in queued] == [["jane@example.com"]]
    again = post(dashboard, f"/dashboard/invoices/{invoice_id}/finalize-and-send")
    assert again.status_code == 409 and "cannot send" in again.text.lower()


def _schedule_from_last_month(api: ApiClient) -> str:
    start = (datetime.now(UTC).date().replace(day=1) - timedelta(days=1)).replace(day=1)
    customer = new_customer_id(api, "Acme Rockets Ltd")
    price = new_price(api, billing_type="IN_ADVANCE")
    body = schedule_body(customer, [price], start=start.isoformat(), end=None)
    created(api.post("/api/billing-schedules", json=body))
    return customer


def listed(api: ApiClient, customer_id: str) -> list[dict[str, Any]]:
    answer = api.get("/api/invoices", params={"customerId": customer_id, "limit": 100})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def test_run_billing_now_brings_invoices_up_to_date_once(
    dashboard: TestClient, api: ApiClient
) -> None:
    customer = _schedule_from_last_month(api)
    assert listed(api, customer) == []
    refused = dashboard.post("/dashboard/invoices/billing-run", data={"csrf_token": "forged"})
    assert refused.status_code == 403 and listed(api, customer) == []

    answer = post(dashboard, "/dashboard/invoices/billing-run")
    assert answer.status_code == 303
    invoices = listed(api, customer)
    # Last month's and this month's fees, in advance, dated on or before today: drafts; next
    # month's invoice is in progress.
    assert sorted(i["status"] for i in invoices) == ["DRAFT", "DRAFT", "IN_PROGRESS"]
    page = dashboard.get(answer.headers["location"])
    assert "Billing run done: 3 invoices created, 0 updated, 0 finalized." in page.text

    again = post(dashboard, "/dashboard/invoices/billing-run")  # nothing twice
    assert [i["id"] for i in listed(api, customer)] == [i["id"] for i in invoices]
    assert "0 invoices created" in dashboard.get(again.headers["location"]).text


def test_the_billing_run_notice_shows_only_counts(dashboard: TestClient) -> None:
    page = dashboard.get(
        "/dashboard/invoices", params={"billingRun": "done", "created": "<b>x</b>", "failed": "2"}
    )
    assert page.status_code == 200
    assert "Billing run done: 0 invoices created" in page.text and "<b>x" not in page.text
    assert "2 billing schedules failed" in page.text
