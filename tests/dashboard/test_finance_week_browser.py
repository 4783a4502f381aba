"""A finance lead's week in a real browser (Playwright driving Debian's Chromium): sign in,
read the home page's figures, follow the Overdue card to the overdue invoice, send its
customer a payment reminder, record the payment, add a customer, change a price, and preview
next month's invoice. Each step checks its effect where it lands (the page, the outbox, the
API), against numbers this test computes from the data it made (`finance_data.py`); every
page the walk lands on passes axe-core's checks (no serious or critical violation), and none
logs a console error.

One walk, in order, in one test: its steps build on each other, and a test distributed to
another worker would not find the page where the last step left it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize, expect
from sqlalchemy import select

from tally.db import Database
from tally.models import EmailMessage
from tests.dashboard.finance_data import (
    DRAFT_GROSS,
    LAUNCH_CREDITS,
    PLATFORM_FEE,
    SUPPORT_FEE,
    VAT,
    FinanceWeek,
    finance_week,
    first_of_next_month,
)
from tests.dashboard.helpers import PASSWORD
from tests.portal.browser import DESKTOP, LiveServer, browser, live_server  # noqa: F401
from tests.support.axe import assert_accessible


def pounds(amount: Decimal) -> str:
    return f"£{amount:,.2f}"


def count(invoices: int) -> str:
    return f"{invoices} invoice{'' if invoices == 1 else 's'}"


@pytest.fixture(scope="module")
def week(database: Database, http: TestClient) -> FinanceWeek:
    return finance_week(database, http)


@pytest.fixture(scope="module")
def lead(browser: Browser) -> Iterator[tuple[Page, list[str]]]:  # noqa: F811
    """The lead's browser tab, and the console errors and page errors it met."""
    context = browser.new_context(viewport=ViewportSize(**DESKTOP))
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{page.url}: {message.text}")

    page.on("console", record)
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    yield page, errors
    context.close()


def home_cards(page: Page) -> dict[str, tuple[str, str]]:
    """Each home card's count and totals, as shown."""
    cards = {}
    for key in ("drafts-to-review", "awaiting-payment", "overdue"):
        card = page.locator(f"#overview-{key}")
        totals = card.locator(".overview-totals")
        cards[key] = (
            card.locator(".overview-count").inner_text(),
            totals.inner_text() if totals.count() else "",
        )
    return cards


def reminders(database: Database, account_id: str) -> list[EmailMessage]:
    with database.session() as session:
        return list(
            session.scalars(
                select(EmailMessage).where(
                    EmailMessage.account_id == account_id, EmailMessage.kind == "REMINDER"
                )
            )
        )


def test_a_finance_leads_week(
    lead: tuple[Page, list[str]],
    live_server: LiveServer,  # noqa: F811
    week: FinanceWeek,
    database: Database,
) -> None:
    page, errors = lead
    base = live_server.url
    api = week.api

    # Monday: sign in; the home page says what needs attention.
    page.goto(f"{base}/dashboard")
    expect(page).to_have_url(f"{base}/dashboard/sign-in")
    assert_accessible(page)
    page.fill("#email", week.merchant.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/dashboard")
    expect(page.locator("h1")).to_have_text("Northwind Analytics Ltd")
    awaiting = week.overdue_gross + week.not_due_gross
    assert home_cards(page) == {
        "drafts-to-review": (count(1), pounds(DRAFT_GROSS)),
        "awaiting-payment": (count(2), pounds(awaiting)),
        "overdue": (count(1), pounds(week.overdue_gross)),
    }
    # The analytics below the cards: what is owed by age (the overdue invoice is 15 days past
    # due, the other not yet due), and the overdue invoice with its days.
    aging = page.locator("#figure-receivables-aging")
    expect(aging.locator(".analytics-headlines")).to_contain_text(pounds(awaiting))
    expect(aging.locator(".analytics-headlines")).to_contain_text(count(2))
    buckets = {
        cells[1]: cells[3]
        for row in aging.locator("tbody tr").all()
        if (cells := [cell.text_content() or "" for cell in row.locator("td").all()])
    }
    assert buckets["1-30 days"] == pounds(week.overdue_gross)
    assert buckets["Total"] == pounds(awaiting)
    overdue_rows = page.locator("#figure-overdue-invoices-table tbody tr")
    expect(overdue_rows).to_have_count(1)
    expect(overdue_rows.first).to_contain_text(week.overdue_number)
    expect(overdue_rows.first.locator("td").nth(3)).to_have_text("15")
    assert_accessible(page)

    # The Overdue card lists the overdue invoice, and only it.
    page.click("#overview-overdue")
    expect(page).to_have_url(f"{base}/dashboard/invoices?overdue=true")
    rows = page.locator("table.invoices tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(week.overdue_number)
    expect(rows.first).to_contain_text("Overdue")
    assert_accessible(page)
    rows.first.locator("a").first.click()
    expect(page).to_have_url(f"{base}/dashboard/invoices/{week.overdue_id}")
    expect(page.locator("h1.page-title")).to_contain_text(week.overdue_number)
    expect(page.locator("#payment-status")).to_have_text("Overdue")
    assert_accessible(page)

    # Tuesday: a payment reminder, emailed through the outbox and logged.
    assert reminders(database, week.account_id) == []
    page.click("#send-reminder")
    expect(page.locator("p.notice")).to_have_text(
        "Payment reminder emailed to the customer's billing contacts."
    )
    [email] = reminders(database, week.account_id)
    assert email.to_addresses == ["ap@globex.example"]
    assert week.overdue_number in email.subject
    assert len(email.attachments) == 1  # the invoice's PDF
    expect(page.locator("section.activity, #activity").first).to_contain_text(
        "Payment reminder sent"
    )
    assert_accessible(page)

    # Wednesday: the money arrives; recorded by hand, the invoice is paid.
    expect(page.locator("#amount-due")).to_have_text(pounds(week.overdue_gross))
    page.fill("#payment-amount", f"{week.overdue_gross}")
    page.fill("#payment-reference", "BACS GLOBEX 7")
    page.click("#record-payment button[type=submit]")
    expect(page.locator("p.notice")).to_have_text("Payment recorded.")
    expect(page.locator("#payment-status")).to_have_text("Paid")
    expect(page.locator("#amount-due")).to_have_text(pounds(Decimal(0)))
    expect(page.locator("#payments")).to_contain_text("BACS GLOBEX 7")
    expect(page.locator("#send-reminder")).to_have_count(0)  # nothing owed: no reminder
    paid = api.get(f"/api/invoices/{week.overdue_id}").json()
    assert paid["paymentStatus"] == "PAID"
    assert_accessible(page)
    page.click("nav.tabs >> text=Home")
    assert home_cards(page) == {
        "drafts-to-review": (count(1), pounds(DRAFT_GROSS)),
        "awaiting-payment": (count(1), pounds(week.not_due_gross)),
        "overdue": (count(0), ""),
    }

    # Thursday: a new customer signs.
    page.click("nav.tabs >> text=Customers")
    page.click("text=New customer")
    assert_accessible(page)
    page.fill("#legal_name", "Umbrella Labs Ltd")
    page.fill("#address_line1", "1 Hive Road")
    page.fill("#address_town", "Leeds")
    page.fill("#address_postcode", "LS1 1AA")
    page.select_option("#address_country", "GB")
    page.fill("#contact-0-name", "Alice Accounts")
    page.fill("#contact-0-email", "alice@umbrella.example")
    page.click("text=Create customer")
    expect(page.locator("h1")).to_have_text("Umbrella Labs Ltd")
    expect(page.locator(".notice")).to_have_text("Customer created.")
    assert_accessible(page)
    page.click("nav.tabs >> text=Customers")
    expect(page.locator("table.customers")).to_contain_text("Umbrella Labs Ltd")
    [made] = [
        customer
        for customer in api.get("/api/customers", params={"limit": 50}).json()["items"]
        if customer["legalName"] == "Umbrella Labs Ltd"
    ]
    assert made["contacts"][0]["email"] == "alice@umbrella.example"

    # Friday: premium support goes up by 50.00 a month.
    raised = SUPPORT_FEE + Decimal("50.00")
    page.goto(f"{base}/dashboard/catalog/products/{week.product_id}")
    support = page.locator(f"tr[data-price='{week.support_price_id}']")
    expect(support).to_contain_text(f"{SUPPORT_FEE} GBP")
    support.locator("a:text('Edit')").click()
    assert_accessible(page)
    page.fill("[name='price']", f"{raised}")
    page.click("text=Save price")
    expect(page).to_have_url(
        f"{base}/dashboard/catalog/products/{week.product_id}?done=price-replaced"
    )
    prices = page.locator("table.prices")
    expect(prices).to_contain_text(f"{raised} GBP")
    expect(prices).not_to_contain_text(f"{SUPPORT_FEE} GBP")
    expect(prices).to_contain_text(f"{PLATFORM_FEE} GBP")  # the billed price is as it was
    listed = api.get("/api/prices", params={"limit": 50}).json()["items"]
    support_now = [price for price in listed if price["name"] == "Premium support"]
    assert [price["structure"]["price"] for price in support_now] == [f"{raised}"]
    assert_accessible(page)

    # And next month's invoice, before it is due: billing brings the schedule up to date and
    # keeps the upcoming invoice (IN_PROGRESS) as it would bill it.
    page.click("nav.tabs >> text=Invoices")
    page.click("text=Run billing now")
    expect(page.locator("p.notice")).to_contain_text("1 invoices created")
    page.select_option("#invoiceStatus", "IN_PROGRESS")
    page.click("button:text('Filter')")
    rows = page.locator("table.invoices tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Acme Rockets Ltd")
    rows.first.locator("a").first.click()
    expect(page.locator("#invoice-status")).to_have_text("In progress")
    # What billing must make of it: the month's fee, less the customer's credits, taxed.
    net = PLATFORM_FEE - LAUNCH_CREDITS
    tax = (net * VAT).quantize(Decimal("0.01"))
    document = page.locator("article.tally-document")
    rows = {  # a line's first cell begins with its title; a total's header is its title
        r"^\s*Platform fee": pounds(PLATFORM_FEE),
        r"^\s*Launch credits": "-" + pounds(LAUNCH_CREDITS),
        r"^\s*Net total\s*$": pounds(net),
        r"^\s*Tax\s*$": pounds(tax),
        r"^\s*Total\s*$": pounds(net + tax),
    }
    for title, amount in rows.items():
        cell = page.locator("th, td", has_text=re.compile(title))
        row = document.locator("tbody tr", has=cell)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(amount)
    upcoming = api.get(f"/api/invoices/{page.url.rsplit('/', 1)[1]}").json()
    invoice_day = first_of_next_month(week.today)
    assert upcoming["invoiceDate"] == invoice_day.isoformat()
    start, end = week.today.replace(day=1), invoice_day - timedelta(days=1)
    period = f"{start.day} {start:%b %Y} \u2013 {end.day} {end:%b %Y}"  # this month, in arrears
    expect(document.locator("tbody tr", has_text="Platform fee")).to_contain_text(period)
    assert (upcoming["netTotal"], upcoming["totalTax"], upcoming["grossTotal"]) == (
        f"{net}",
        f"{tax}",
        f"{net + tax}",
    )
    assert_accessible(page)

    assert not errors, errors
