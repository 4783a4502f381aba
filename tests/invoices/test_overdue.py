"""Overdue is one rule everywhere (`invoices.queries`): SENT, UNPAID or PARTIALLY_PAID, due
before the account's local today. An UNCOLLECTIBLE invoice past its due date is written off,
not overdue: the API's filter, flag and summary, the dashboard's home card, list and badges,
and the portal's Invoices tab, Overview and JSON API all leave it out, while they all count
an UNPAID one."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.db import Database
from tally.invoices.queries import is_overdue, overdue_condition
from tally.models import Invoice, InvoiceStatus, PaymentStatus
from tests.dashboard.helpers import add_user, signed_in
from tests.factories import new_customer
from tests.invoices.states import invoice_in, ok
from tests.portal.helpers import issue_session, link_path, portal_client
from tests.support.api_client import ApiClient

D = Decimal
PAST = date(2024, 7, 2)  # the issued states' due date, long gone


def test_an_uncollectible_invoice_is_overdue_nowhere_and_an_unpaid_one_everywhere(
    app: FastAPI, api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api, "Late Payer Ltd")

    def sent(state: str, number: str, gross: str) -> str:
        return invoice_in(
            database,
            account.account_id,
            customer,
            state,
            invoice_number=number,
            gross_total=D(gross),
            balance=D(gross),
        )

    unpaid = sent("SENT", "INV-0001", "111")
    uncollectible = sent("SENT_UNCOLLECTIBLE", "INV-0002", "222")
    partly = sent("SENT_PARTIALLY_PAID", "INV-0003", "444")
    paid = sent("SENT_PAID", "INV-0004", "333")
    final = sent("FINAL", "INV-0005", "555")
    overdue, not_overdue = {unpaid, partly}, {uncollectible, paid, final}

    # The API: the filter both ways, the flag on each invoice, the summary.
    def listed(**params: Any) -> dict[str, bool]:
        items = ok(api.get("/api/invoices", params={"limit": 100, **params}))["items"]
        return {item["id"]: item["isOverdue"] for item in items}

    assert listed(overdue="true") == dict.fromkeys(overdue, True)
    assert listed(overdue="false") == dict.fromkeys(not_overdue, False)
    summary = ok(api.get("/api/invoices/summary", params={"overdue": "true"}))
    assert summary["totalsByCurrency"] == [
        {"currency": "GBP", "invoiceCount": 2, "grossTotal": 555}
    ]

    # The dashboard: the home card, the list it links to, each row's badge.
    with signed_in(app, add_user(database, account)) as dashboard:
        home = dashboard.get("/dashboard").text
        card = re.search(r'id="overview-overdue".*?</a>', home, re.S)
        assert card and ">2 invoices<" in card.group(0) and "£555.00" in card.group(0)
        listing = dashboard.get("/dashboard/invoices", params={"overdue": "true"}).text
        assert unpaid in listing and partly in listing and uncollectible not in listing
        every = dashboard.get("/dashboard/invoices").text
        assert badge_of(every, unpaid) == "Overdue"
        assert badge_of(every, partly) == "Overdue"
        assert badge_of(every, uncollectible) == "Uncollectible"

    # The portal: the Overdue tab and its count, the badges, the Overview, the JSON API.
    portal = portal_client(app)
    base = link_path(customer)
    tab = portal.get(base + "/invoices", params={"status": "overdue"}).text
    assert re.findall(r">(INV-\d{4})</a>", tab) == ["INV-0003", "INV-0001"]
    assert re.search(r'data-filter="overdue"[^>]*>Overdue <span class="count">2</span>', tab)
    overview = portal.get(base).text
    assert overview.count('<span class="badge badge-overdue">Overdue</span>') == 2
    assert "Uncollectible</span>" in overview
    token = issue_session(api, customer["id"])["token"]
    answer = ok(portal.get("/portal/api/invoices", headers={"X-Session-Token": token}))
    assert answer["counts"]["overdue"] == 2
    statuses = {item["invoiceNumber"]: item["status"] for item in answer["items"]}
    assert statuses["INV-0001"] == "OVERDUE" and statuses["INV-0002"] == "UNCOLLECTIBLE"


def badge_of(page: str, invoice_id: str) -> str:
    """The payment badge on the invoice list's row of `invoice_id`."""
    row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{invoice_id}(?:(?!</tr>).)*</tr>", page, re.S)
    assert row, invoice_id
    badge = re.search(r'<span class="badge [^"]*">([^<]*)</span>', row.group(0))
    assert badge, row.group(0)
    return badge.group(1)


def test_the_rule_in_sql_and_in_python_agree(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    """Every status and payment status, due yesterday, today, tomorrow or never."""
    customer = new_customer(api)
    today = date(2024, 7, 10)
    dues = (today - timedelta(days=1), today, today + timedelta(days=1), None)
    ids = [
        invoice_in(
            database,
            account.account_id,
            customer,
            "DRAFT",
            status=status,
            payment_status=payment,
            due_date=due,
        )
        for status in InvoiceStatus
        for payment in PaymentStatus
        for due in dues
    ]
    with database.session(write=False) as session:
        rows = session.execute(
            select(
                Invoice.status,
                Invoice.payment_status,
                Invoice.due_date,
                overdue_condition(today).label("overdue"),
            ).where(Invoice.id.in_(ids))
        ).all()
    assert len(rows) == len(ids)
    for row in rows:
        assert row.overdue is not None, row  # never NULL: NOT of it is its complement
        expected = is_overdue(row.status, row.payment_status, row.due_date, today)
        assert bool(row.overdue) is expected, row
    overdue = {(r.status, r.payment_status) for r in rows if r.overdue}
    assert overdue == {
        (InvoiceStatus.SENT, PaymentStatus.UNPAID),
        (InvoiceStatus.SENT, PaymentStatus.PARTIALLY_PAID),
    }
    assert all(r.due_date == today - timedelta(days=1) for r in rows if r.overdue)
