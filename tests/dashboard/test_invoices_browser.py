"""Invoices and Credits in a real browser (Playwright driving Debian's Chromium): filter the
list, open an invoice, finalize it, record it as sent and paid, view it in the customer's
portal; then grant the customer credits and read its ledger. No page may log a console error.

With `TALLY_SCREENSHOTS=1` the main pages are saved (1280 px wide) to docs/screenshots/ (or
`$TALLY_SCREENSHOTS_DIR`), as the portal's browser test saves its own."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tally.db import Database
from tests.dashboard.browsing import page, screenshot, sign_in  # noqa: F401
from tests.dashboard.helpers import Merchant
from tests.factories import new_customer
from tests.invoices.helpers import insert_invoice
from tests.portal.browser import LiveServer, browser, live_server  # noqa: F401
from tests.support.api_client import ApiClient

# The grant form's validation answers 422 on purpose (Chromium logs any 4xx): `page` lets it by.
EXPECTED_CONSOLE = ["status of 422"]


def test_run_an_invoice_to_paid_then_grant_credits(
    page: Page,  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    merchant: Merchant,
    api: ApiClient,
    database: Database,
) -> None:
    base = live_server.url
    customer = new_customer(api, "Acme Rockets Ltd")
    account_id = merchant.account.account_id
    invoice_id = insert_invoice(database, account_id, customer)
    insert_invoice(database, account_id, customer, currency="EUR")

    sign_in(page, base, merchant, "/dashboard/invoices")
    expect(page.locator("nav.tabs a[aria-current=page]")).to_have_text("Invoices")
    expect(page.locator("table.invoice-summary")).to_contain_text("£270.00")
    expect(page.locator("table.invoice-summary")).to_contain_text("€270.00")
    screenshot(page, "invoices-list")

    page.fill("#invoiceCurrency", "GBP")
    page.click("button:text('Filter')")
    expect(page.locator("table.invoices tbody tr")).to_have_count(1)
    page.click(f"tr[data-invoice='{invoice_id}'] a")
    expect(page.locator("h1.page-title")).to_have_text("Invoice Draft")
    expect(page.locator("article.tally-document")).to_contain_text("Platform fee")

    page.click("button:text('Finalize')")
    expect(page.locator("p.notice")).to_contain_text("Invoice finalized")
    expect(page.locator("#invoice-status")).to_have_text("Final")
    number = page.locator("h1.page-title").inner_text().removeprefix("Invoice ")
    page.click("button:text('Mark as sent')")
    expect(page.locator("#invoice-status")).to_have_text("Sent")
    page.select_option("#paymentStatus", "PAID")
    page.click("button:text('Update payment status')")
    expect(page.locator("#payment-status")).to_have_text("Paid")
    screenshot(page, "invoices-invoice")

    with page.context.expect_page() as opened:
        page.click("#portal-link")
    portal = opened.value
    expect(portal.locator("body")).to_contain_text(number)
    portal.close()

    page.click("nav.tabs >> text=Credits")
    expect(page).to_have_url(f"{base}/dashboard/credits")
    page.select_option("#customerId", customer["id"])
    page.fill("#name", "Launch credits")
    page.select_option("#currency", "GBP")  # the form starts on the account's (USD)
    page.fill("#amount", "-5")
    page.click("button:text('Grant credits')")
    expect(page.locator("#amount-error")).to_have_text("Credits: enter more than 0")
    page.fill("#amount", "250")
    page.click("button:text('Grant credits')")
    expect(page.locator("h1.page-title")).to_have_text("Credits of Acme Rockets Ltd")
    expect(page.locator("p.notice")).to_have_text("Credits granted.")
    expect(page.locator("table.ledger")).to_contain_text("Granted")
    expect(page.locator("section.balance")).to_contain_text("Launch credits")
    screenshot(page, "credits-customer")
    page.click("text=All credits")
    expect(page.locator("table.grants")).to_contain_text("£250.00")
    screenshot(page, "credits-list")
