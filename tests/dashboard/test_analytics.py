"""The dashboard home's analytics: each figure's numbers as computed in the test from what it
made (`tests/analytics/scenario.py`), a chart with a title, a table view, a CSV that says what
the table says, links to every invoice and customer, an empty state, and no other account's
data."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from tally.db import Database
from tally.models import InvoiceStatus
from tests.analytics.scenario import Scenario, build, month_key, months_back
from tests.dashboard.browsing import page, screenshot, sign_in  # noqa: F401
from tests.dashboard.helpers import Merchant, add_user, signed_in
from tests.factories import new_customer
from tests.invoices.helpers import counting_statements, insert_invoice
from tests.payments.helpers import pay
from tests.portal.browser import LiveServer, browser, live_server  # noqa: F401
from tests.support.api_client import ApiClient

FIGURES = (
    "mrr",
    "revenue",
    "cash",
    "receivables-aging",
    "overdue-invoices",
    "top-customers-revenue",
    "top-customers-usage",
    "usage",
)


@pytest.fixture(scope="module")
def scenario(http: TestClient, database: Database) -> Scenario:
    return build(http, database)


@pytest.fixture(scope="module")
def user(database: Database, scenario: Scenario) -> Merchant:
    return add_user(database, scenario.credentials)


@pytest.fixture(scope="module")
def client(app: FastAPI, user: Merchant) -> Iterator[TestClient]:
    with signed_in(app, user) as signed:
        yield signed


@pytest.fixture(scope="module")
def home(client: TestClient) -> str:
    answer = client.get("/dashboard")
    assert answer.status_code == 200, answer.text
    return answer.text


def section(html_text: str, key: str) -> str:
    found = re.search(rf'<section class="card analytics-figure" id="figure-{key}".*?</section>',
                      html_text, re.S)  # fmt: skip
    assert found, key
    return found.group(0)


class _Table(HTMLParser):
    """The cells of a page's table: text and link of each."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.inside = False
        self.cell: list[str] | None = None
        self.href: str | None = None
        self.header: list[str] = []
        self.rows: list[list[tuple[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell, self.href = [], None
        elif self.inside and tag == "a":
            self.href = found.get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(("".join(self.cell).strip(), self.href))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table(html_text: str, key: str) -> list[list[tuple[str, str | None]]]:
    parser = _Table(f"figure-{key}-table")
    parser.feed(html_text)
    return parser.rows


def same(shown: str, written: str) -> bool:
    """A table cell and its CSV cell say the same: equal text, or the same amount or day."""
    if shown == written:
        return True
    try:
        day = datetime.strptime(shown + " +0000", "%d %b %Y %z").date()
        return day == date.fromisoformat(written)
    except ValueError:
        pass
    try:
        return Decimal(re.sub(r"[^0-9.\-]", "", shown)) == Decimal(written)
    except InvalidOperation:
        return False


def test_each_figure_has_a_titled_chart_or_table_a_table_view_and_a_csv(home: str) -> None:
    for key in FIGURES:
        part = section(home, key)
        assert f'href="/dashboard/analytics/{key}.csv"' in part, key
        assert table(home, key), key
        if key not in ("overdue-invoices", "top-customers-usage"):
            assert '<svg class="chart-svg"' in part and "<title id=" in part, key
            assert 'role="img" aria-labelledby="chart-' in part, key
            assert "<summary>Table</summary>" in part, key
    # The cards that were there before stay.
    for card in ("drafts-to-review", "awaiting-payment", "overdue"):
        assert f'id="overview-{card}"' in home


@pytest.mark.parametrize("key", FIGURES)
def test_the_csv_says_what_the_table_says(client: TestClient, home: str, key: str) -> None:
    answer = client.get(f"/dashboard/analytics/{key}.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    written = list(csv.reader(io.StringIO(answer.text)))
    shown = table(home, key)
    assert [text for text, _ in shown[0]] == written[0]
    assert len(shown) == len(written) > 1
    for row, line in zip(shown[1:], written[1:], strict=True):
        assert len(row) == len(line)
        for (text, _), value in zip(row, line, strict=True):
            assert same(html.unescape(text), value), (key, text, value)


def test_the_figures_are_the_ones_computed_from_the_data(scenario: Scenario, home: str) -> None:
    mrr = section(home, "mrr")
    assert "£198.33" in mrr and "£2,380.00" in mrr  # 100 + 100/12 + 90; 12 x that
    assert "€33.33" in mrr and "€400.00" in mrr
    revenue = {(r[0][0], r[1][0]): r for r in table(home, "revenue")[1:]}
    last_month = months_back(scenario.today, 1)
    label = last_month.strftime("%b %Y")
    row = revenue[("GBP", label)]
    assert [c[0] for c in row[2:6]] == ["1", "£200.00", "£40.00", "£240.00"]
    # A credit note of 60.00 net (the test's) was issued last month.
    assert row[7][0] == "£60.00" and row[8][0] == "£140.00"
    expected_net = sum((m.net for m in scenario.issued() if m.currency == "GBP"), Decimal(0))
    shown = sum(
        (Decimal(r[3][0].strip("£").replace(",", "")) for k, r in revenue.items() if k[0] == "GBP"),
        Decimal(0),
    )
    assert shown == expected_net
    aging = {(r[0][0], r[1][0]): r[3][0] for r in table(home, "receivables-aging")[1:]}
    assert aging[("GBP", "Current")] == "£120.00"
    assert aging[("GBP", "Over 90 days")] == "£999.00"
    assert aging[("EUR", "Total")] == "€480.00"
    assert month_key(last_month) in scenario.months


def test_every_invoice_and_customer_links_to_its_page(
    client: TestClient, scenario: Scenario, home: str
) -> None:
    overdue = table(home, "overdue-invoices")[1:]
    expected = sorted(
        (m.due, n)
        for n, m in enumerate(scenario.invoices)
        if m.status.value == "SENT" and m.paid < m.gross and m.due < scenario.today
    )
    assert [row[0][1] for row in overdue] == [
        f"/dashboard/invoices/{scenario.invoice_ids[n]}" for _, n in expected
    ]
    customers = {c["id"] for c in scenario.customers.values()}
    for key, column in (("overdue-invoices", 1), ("top-customers-revenue", 2),
                        ("top-customers-usage", 3)):  # fmt: skip
        for row in table(home, key)[1:]:
            href = row[column][1]
            assert href is not None and href.rsplit("/", 1)[1] in customers, (key, row)
    for href in {overdue[0][0][1], overdue[0][1][1]}:
        assert href is not None
        assert client.get(href).status_code == 200, href


def test_another_account_and_an_empty_one(
    app: FastAPI, database: Database, home: str, account: object
) -> None:
    assert "5555" not in home and "Their Customer" not in home
    fresh = add_user(database, account)  # type: ignore[arg-type]
    with signed_in(app, fresh) as empty:
        answer = empty.get("/dashboard")
        assert answer.status_code == 200
        for key in FIGURES:
            part = section(answer.text, key)
            assert f'id="figure-{key}-empty"' in part, key
            assert ".csv" not in part
        assert "No invoices issued in the last 12 months" in answer.text
        assert "Acme Rockets" not in answer.text
        written = empty.get("/dashboard/analytics/revenue.csv").text
        assert written.splitlines()[1:] == []


def test_csv_of_an_unknown_figure_or_without_signing_in(app: FastAPI, client: TestClient) -> None:
    assert client.get("/dashboard/analytics/secrets.csv").status_code == 404
    with TestClient(app, follow_redirects=False) as visitor:
        answer = visitor.get("/dashboard/analytics/revenue.csv")
        assert answer.status_code in (302, 303, 307)


def test_a_formula_in_a_customer_name_is_not_one_in_the_csv() -> None:
    from tally.dashboard.analytics import Cell, Table, csv_text  # noqa: PLC0415

    row = [Cell("=1+1", "=1+1"), Cell("-1.00", "-1.00", numeric=True)]
    written = csv_text(Table("t", ["Customer", "Net"], [row]))
    assert written.splitlines()[1] == "'=1+1,-1.00"


def test_in_a_browser_the_charts_draw_and_the_table_opens(
    page: Page,  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    user: Merchant,
) -> None:
    sign_in(page, live_server.url, user, "/dashboard")
    revenue = page.locator("#figure-revenue")
    expect(revenue.locator("svg.chart-svg").first).to_be_visible()
    expect(revenue.locator("rect").first).to_be_attached()
    table = page.locator("#figure-revenue-table")
    expect(table).to_be_hidden()
    revenue.locator("summary").click()
    expect(table).to_be_visible()
    screenshot(page, "home-analytics")


def test_the_home_runs_as_many_statements_whatever_the_data(
    dashboard: TestClient, merchant: Merchant, api: ApiClient, database: Database
) -> None:
    """No query per invoice, customer, month or metric: more of each, the same statements."""
    account_id = merchant.account.account_id
    today = datetime.now(UTC).date()

    def add(count: int) -> None:
        for n in range(count):
            customer = new_customer(api, f"Customer {n}")
            invoice_id = insert_invoice(
                database, account_id, customer, groups=[], lines=[], status=InvoiceStatus.SENT,
                invoice_number=None, issue_date=months_back(today, n), due_date=today,
                balance=Decimal("270"), balance_version=1,
            )  # fmt: skip
            pay(api, invoice_id, "10.00", paidOn=months_back(today, n).isoformat())

    add(1)
    with counting_statements(database) as few:
        assert dashboard.get("/dashboard").status_code == 200
    add(4)
    with counting_statements(database) as more:
        page = dashboard.get("/dashboard")
        assert page.status_code == 200
    assert "Customer 3" in page.text
    assert len(more) == len(few), more
