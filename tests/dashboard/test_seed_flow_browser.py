"""The seed flow, end to end, as a finance person walks it in a real browser (Playwright
driving Debian's Chromium): sign in; add a parent customer and a customer under it (the Parent
dropdown); give it a contact and an alias; a usage metric, a product with a fixed and a
per-unit price, and a billing schedule for it; usage posted through the API under the alias;
billing run; the draft invoice with the right lines and total; finalize and send it (emailed to
the contacts); open the customer's portal from the customer page and find the invoice there.

Only the events go through the API, as a merchant's systems send them; everything else is
clicked. The schedule starts on the first day of last month, so last month's period is closed:
the invoice billing its usage (dated the 1st of this month) is a DRAFT awaiting review.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tally.db import Database
from tally.models import EmailMessage
from tests.dashboard.browsing import page, screenshot, sign_in  # noqa: F401
from tests.dashboard.helpers import Merchant
from tests.portal.browser import LiveServer, browser, live_server  # noqa: F401

API_CALLS = 25  # at £0.10 each: £2.50, plus the £49.00 platform fee


def _last_month() -> date:
    return (datetime.now(UTC).date().replace(day=1) - timedelta(days=1)).replace(day=1)


def _post_usage(base: str, merchant: Merchant, alias: str, month: date) -> None:
    auth = (merchant.account.api_key, merchant.account.api_secret)
    events = [
        {
            "customerAlias": alias,
            "eventType": "api_call",
            "customerEventId": f"call-{n}",
            "eventTimestamp": f"{month.isoformat()}T{9 + n % 10:02d}:15:00Z",
        }
        for n in range(API_CALLS)
    ]
    with httpx.Client(base_url=f"{base}/api", auth=auth, timeout=10) as api:
        answer = api.post("/usage-events/batch", json={"events": events})
        answer.raise_for_status()
        assert answer.json()["accepted"] == API_CALLS


def _fill_customer(tab: Page, name: str, street: str, contact: tuple[str, str]) -> None:
    tab.fill("#legal_name", name)
    for field, value in (
        ("#address_line1", street),
        ("#address_town", "Raccoon City"),
        ("#address_postcode", "RC1 1AA"),
        ("#contact-0-name", contact[0]),
        ("#contact-0-email", contact[1]),
    ):
        tab.fill(field, value)
    tab.select_option("#address_country", label="United Kingdom")  # a country by its name


def _add_customers(tab: Page) -> None:
    tab.click("text=New customer")
    _fill_customer(tab, "Umbrella Group", "1 Hive Road", ("Oswell Spencer", "os@umbrella.example"))
    tab.click("text=Create customer")
    expect(tab.locator(".notice")).to_have_text("Customer created.")

    tab.click("nav.tabs >> text=Customers")
    tab.click("text=New customer")
    _fill_customer(
        tab, "Umbrella Labs", "2 Hive Road", ("Alice Accounts", "alice@umbrella.example")
    )
    tab.select_option("#parent_id", label="Umbrella Group")
    tab.click("text=Create customer")
    expect(tab.locator("h1")).to_have_text("Umbrella Labs")
    expect(tab.locator("#hierarchy")).to_contain_text("Umbrella Group")

    # A second contact (in copy of invoices) and an alias, added once the deal is signed.
    tab.click("#main >> text=Edit")
    tab.fill("#contact-1-name", "Bob Budget")
    tab.fill("#contact-1-email", "bob@umbrella.example")
    tab.select_option("#contact-1-billing_preference", "STANDARD")
    tab.fill("#aliases", "umbrella-labs-prod")
    tab.click("button[type=submit]:text('Save')")
    expect(tab.locator(".notice")).to_have_text("Customer saved.")
    expect(tab.locator("#details")).to_contain_text("Bob Budget")
    expect(tab.locator("#details")).to_contain_text("umbrella-labs-prod")
    screenshot(tab, "seed-customer")


def _build_catalog(tab: Page) -> None:
    tab.click("nav.tabs >> text=Catalog")
    tab.click("text=New usage metric")
    tab.fill("#name", "API calls")
    tab.fill("#event_type", "api_call")
    tab.select_option("#aggregation_type", "COUNT")
    tab.click("text=Create usage metric")
    expect(tab.locator("p.notice")).to_have_text("Usage metric created.")

    tab.click("text=New product")
    tab.fill("#name", "Analytics platform")
    tab.click("text=Create product")
    expect(tab.locator("h1")).to_have_text("Analytics platform")
    tab.click("text=Fixed (every period)")
    tab.fill("#name", "Platform fee")
    tab.select_option("#currency", "GBP")
    tab.fill("#price", "49")
    tab.click("text=Create price")
    expect(tab.locator("p.notice")).to_have_text("Price created.")
    tab.click("text=Linear (per unit of usage)")
    tab.fill("#name", "API calls")
    tab.select_option("#usage_metric_id", label="API calls")
    tab.select_option("#currency", "GBP")
    tab.fill("#price_per_unit", "0.10")
    tab.click("text=Create price")
    expect(tab.locator("p.notice")).to_have_text("Price created.")
    expect(tab.locator("table.prices tbody tr")).to_have_count(2)


def _add_schedule(tab: Page, start: date) -> None:
    tab.click("nav.tabs >> text=Billing schedules")
    tab.click("text=New billing schedule")
    tab.select_option("#customer_id", label="Umbrella Labs")
    tab.fill("#label", "Analytics contract")
    tab.fill("#start_date", start.isoformat())
    tab.fill("[name='phase-0-start_date']", start.isoformat())
    for name in ("Platform fee", "API calls"):
        tab.get_by_label(name, exact=False).first.check()
    tab.click("text=Create billing schedule")
    expect(tab.locator("p.notice")).to_have_text("Billing schedule created.")
    tab.click("button:text('Activate')")
    expect(tab.locator(".schedule-status")).to_contain_text("Active")


def test_the_seed_flow_from_sign_in_to_the_customers_portal(
    page: Page,  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    merchant: Merchant,
    database: Database,
) -> None:
    base = live_server.url
    month = _last_month()
    sign_in(page, base, merchant, "/dashboard/customers")
    _add_customers(page)
    _build_catalog(page)
    _add_schedule(page, month)
    _post_usage(base, merchant, "umbrella-labs-prod", month.replace(day=14))

    page.click("nav.tabs >> text=Invoices")
    page.click("button:text('Run billing now')")
    expect(page.locator("p.notice")).to_contain_text("Billing run done")
    page.select_option("#invoiceStatus", "DRAFT")
    page.select_option("#customerId", label="Umbrella Labs")
    page.click("button:text('Filter')")
    # Two drafts: last month's (its fee, in advance) and this month's, dated the 1st: this
    # month's fee in advance plus last month's usage in arrears.
    expect(page.locator("table.invoices tbody tr")).to_have_count(2)
    page.locator("table.invoices tbody tr", has_text="£51.50").locator("a").first.click()
    expect(page.locator("#invoice-status")).to_have_text("Draft")
    document = page.locator("article.tally-document")
    expect(document).to_contain_text("Platform fee")
    expect(document).to_contain_text("API calls")
    expect(document).to_contain_text("£2.50")
    expect(document).to_contain_text("£51.50")
    screenshot(page, "seed-draft-invoice")

    page.click("button:text('Finalize')")
    expect(page.locator("#invoice-status")).to_have_text("Final")
    number = page.locator("h1.page-title").inner_text().removeprefix("Invoice ")
    page.click("button:text('Send to customer')")
    expect(page.locator("p.notice")).to_contain_text("sent")
    expect(page.locator("#invoice-status")).to_have_text("Sent")
    with database.session(write=False) as session:  # emailed to the primary billing contact
        emails = session.scalars(
            select(EmailMessage.to_addresses).where(
                EmailMessage.account_id == merchant.account.account_id
            )
        ).all()
    assert [sorted(to) for to in emails] == [["alice@umbrella.example", "bob@umbrella.example"]]

    page.click("#invoice-customer")
    expect(page.locator("h1")).to_have_text("Umbrella Labs")
    with page.context.expect_page() as opened:
        page.click("text=Open portal")
    portal = opened.value
    portal.wait_for_load_state()
    assert portal.url.startswith(f"{base}/portal/s")
    portal.click("nav >> text=Invoices")
    expect(portal.locator("#main")).to_contain_text(number)
    expect(portal.locator("#main")).to_contain_text("£51.50")
    screenshot(portal, "seed-portal-invoices")
    portal.close()

    page.click("nav.tabs >> text=Home")  # one invoice sent and awaiting payment, one draft left
    expect(page.locator("#overview-awaiting-payment")).to_contain_text("£51.50")
    expect(page.locator("#overview-drafts-to-review")).to_contain_text("£49.00")
    screenshot(page, "home")
