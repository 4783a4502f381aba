"""The invoice list's summary: per status (in the lifecycle's order) and currency, how many
invoices and their gross total, then all of them per currency; each status a link to the
list so filtered."""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi.testclient import TestClient

from tally.core.clock import utcnow
from tally.dashboard.sessions import Viewer
from tally.dashboard.web import environment
from tally.db import Database
from tally.models import InvoiceStatus
from tests.dashboard.helpers import Merchant
from tests.dashboard.reading import world
from tests.factories import new_customer
from tests.invoices.helpers import insert_invoice
from tests.support.api_client import ApiClient

ROW = re.compile(
    r'<tr data-status="(\w+)" data-status-currency="(\w+)"><th scope="row">'
    r'<a href="([^"]+)">([^<]+)</a></th><td>\w+</td><td class="num">(\d+)</td>'
    r'<td class="num">([^<]+)</td></tr>'
)
ALL = re.compile(
    r'<tr data-currency="(\w+)"><th scope="row">All</th><td>\w+</td>'
    r'<td class="num">(\d+)</td><td class="num">([^<]+)</td></tr>'
)


def test_the_summary_splits_by_status(
    dashboard: TestClient, database: Database, api: ApiClient, merchant: Merchant
) -> None:
    account_id = merchant.account.account_id
    world(database, api, account_id)  # GBP: one in progress, one sent (270.00 each)
    other = new_customer(api, "Other Ltd")
    for gross in ("100.10", "20.05"):
        insert_invoice(database, account_id, other, currency="EUR", gross_total=Decimal(gross))
    insert_invoice(database, account_id, other, status=InvoiceStatus.VOIDED)

    page = dashboard.get("/dashboard/invoices")
    assert page.status_code == 200
    rows = [(s, c, text, int(n), total) for s, c, _, text, n, total in ROW.findall(page.text)]
    assert rows == [
        ("IN_PROGRESS", "GBP", "In progress", 1, "£270.00"),
        ("DRAFT", "EUR", "Draft", 2, "€120.15"),  # 100.10 + 20.05
        ("SENT", "GBP", "Sent", 1, "£270.00"),
        ("VOIDED", "GBP", "Voided", 1, "£270.00"),
    ]
    assert ALL.findall(page.text) == [("EUR", "2", "€120.15"), ("GBP", "3", "£810.00")]
    links = {status: href for status, _, href, _, _, _ in ROW.findall(page.text)}
    assert links["DRAFT"] == "?invoiceStatus=DRAFT"

    # Narrowed: the summary covers what the filters match, and its links keep them.
    page = dashboard.get("/dashboard/invoices", params={"invoiceCurrency": "GBP"})
    found = ROW.findall(page.text)
    assert [status for status, *_ in found] == ["IN_PROGRESS", "SENT", "VOIDED"]
    assert found[0][2] == "?invoiceCurrency=GBP&amp;invoiceStatus=IN_PROGRESS"


def test_an_empty_list_of_api_keys_says_how_to_make_one() -> None:
    # Every account is made with a key, so the page is rendered here without one.
    viewer = Viewer("s", "u", "a", "finance@example.com", "Acme", "token", utcnow())
    html = (
        environment()
        .get_template("dashboard/api_keys.html")
        .render(viewer=viewer, nav=[], keys=[], error=None)
    )
    assert "No API keys yet." in html and 'href="#new-key-name"' in html
