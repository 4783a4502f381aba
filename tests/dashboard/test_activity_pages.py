"""The whole activity log of a customer and of an invoice, a page at a time, newest first
("See all activity" from their pages): every entry once across the pages, line edits and
payments among them; another account's customer or invoice not found."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tally.dashboard.activity import PAGE_SIZE, SHOWN
from tally.db import Database
from tests.dashboard.helpers import Merchant, page_token
from tests.dashboard.test_invoice_lines import new_draft
from tests.factories import new_customer
from tests.payments.helpers import owed_invoice
from tests.support.api_client import ApiClient

ENTRY = re.compile(r'<li class="activity-entry">.*?<p class="activity-summary">([^<]*)', re.S)


def summaries(html: str) -> list[str]:
    return [summary.strip() for summary in ENTRY.findall(html)]


def all_pages(dashboard: TestClient, path: str) -> list[list[str]]:
    """Each page's summaries, following "Older entries" to the end."""
    pages, url = [], path
    while True:
        answer = dashboard.get(url)
        assert answer.status_code == 200, answer.text
        pages.append(summaries(answer.text))
        older = re.search(r'<a href="([^"]+)" id="activity-older">', answer.text)
        if older is None:
            return pages
        url = older.group(1).replace("&amp;", "&")
        assert url.startswith(path + "?before=")


def test_an_invoices_activity_pages_hold_every_line_edit_once(
    dashboard: TestClient, api: ApiClient
) -> None:
    invoice_id = new_draft(api)
    count = PAGE_SIZE + 5  # two pages
    for number in range(count):
        made = api.post(
            f"/api/invoices/{invoice_id}/line-items",
            json={"title": f"Line {number}", "quantity": "1", "rate": "1", "taxRate": "0"},
        )
        assert made.status_code == 201, made.text

    page = dashboard.get(f"/dashboard/invoices/{invoice_id}").text
    assert len(summaries(page)) == SHOWN
    link = f'<a href="/dashboard/invoices/{invoice_id}/activity" id="see-all-activity">'
    assert link in page

    pages = all_pages(dashboard, f"/dashboard/invoices/{invoice_id}/activity")
    assert [len(shown) for shown in pages] == [PAGE_SIZE, count - PAGE_SIZE + 1]  # + created
    every = [summary for shown in pages for summary in shown]
    added = [s.split(" on draft")[0] for s in every if s.startswith("Line &#39;Line ")]
    # Newest first, each line's entry exactly once.
    assert added == [f"Line &#39;Line {n}&#39; added" for n in reversed(range(count))]
    older = dashboard.get(f"/dashboard/invoices/{invoice_id}/activity?before=x").text
    assert 'id="activity-newest"' in older


def test_a_customers_activity_page_shows_its_invoices_payments(
    dashboard: TestClient, api: ApiClient, database: Database, merchant: Merchant
) -> None:
    invoice_id = owed_invoice(api, database, merchant.account.account_id, gross="120.00")
    token = page_token(dashboard, "/dashboard/invoices")
    paid = dashboard.post(
        f"/dashboard/invoices/{invoice_id}/payments",
        data={"csrf_token": token, "amount": "100.00", "paidOn": "2024-06-15", "method": "CASH"},
    )
    assert paid.status_code == 303, paid.text
    customer_id = api.get(f"/api/invoices/{invoice_id}").json()["customerId"]

    for path in (f"/dashboard/customers/{customer_id}", f"/dashboard/invoices/{invoice_id}"):
        full = dashboard.get(f"{path}/activity")
        assert full.status_code == 200
        assert f'<a href="{path}">' in full.text  # back to the page it is about
        assert any("100.00" in s or "payment" in s.lower() for s in summaries(full.text)), (
            summaries(full.text)
        )
        assert 'id="activity-older"' not in full.text  # one page


def test_another_accounts_activity_is_not_found(
    dashboard: TestClient, other_api: ApiClient
) -> None:
    theirs = new_customer(other_api, "Not Yours Ltd")
    assert dashboard.get(f"/dashboard/customers/{theirs['id']}/activity").status_code == 404
    invoice_id = new_draft(other_api)
    assert dashboard.get(f"/dashboard/invoices/{invoice_id}/activity").status_code == 404
