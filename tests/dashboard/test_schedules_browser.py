"""Billing schedules in a real browser (Playwright driving Debian's Chromium): create a draft
for a customer with a discount and a tax rate, view it, activate it, archive it.

With `TALLY_SCREENSHOTS=1` the main pages are saved (1280 px wide) to docs/screenshots/ (or
`$TALLY_SCREENSHOTS_DIR`), as the portal's browser test saves its own.
"""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.dashboard.browsing import page, screenshot, sign_in  # noqa: F401
from tests.dashboard.helpers import Merchant
from tests.factories import customer_body, tax_rate_body
from tests.portal.browser import LiveServer, browser, live_server  # noqa: F401


def test_create_activate_and_archive_a_schedule(
    page: Page,  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    merchant: Merchant,
) -> None:
    base = live_server.url
    auth = (merchant.account.api_key, merchant.account.api_secret)
    with httpx.Client(base_url=f"{base}/api", auth=auth, timeout=10) as api:
        api.post("/customers", json=customer_body(legalName="Acme Ltd")).raise_for_status()
        product = api.post("/products", json={"name": "Platform"}).json()
        price = {
            "productId": product["id"],
            "name": "Platform fee",
            "currency": "GBP",
            "billingFrequency": "MONTHLY",
            "billingType": "IN_ADVANCE",
            "structure": {"pricingType": "FIXED", "price": "1000.00"},
        }
        price_id = api.post("/prices", json=price).json()["id"]
        api.post("/tax-rates", json=tax_rate_body()).raise_for_status()

    sign_in(page, base, merchant, "/dashboard/billing-schedules")
    expect(page.locator("nav.tabs a[aria-current=page]")).to_have_text("Billing schedules")
    page.click("text=New billing schedule")
    page.select_option("#customer_id", label="Acme Ltd")
    page.fill("#label", "2024 contract")
    page.fill("#start_date", "2024-01-01")
    page.fill("#end_date", "2024-12-31")
    page.select_option("#tax_rate_id", index=1)
    page.fill("[name='phase-0-start_date']", "2024-01-01")
    page.check(f"[name='phase-0-price-{price_id}']")
    page.fill("[name='phase-0-discount_amount']", "10")
    page.fill("[name='phase-0-discount_message']", "Loyalty discount")
    screenshot(page, "billing-schedules-form")
    page.click("text=Create billing schedule")

    expect(page.locator("p.notice")).to_have_text("Billing schedule created.")
    expect(page.locator("h1")).to_have_text("Billing schedule: 2024 contract")  # its label
    expect(page.locator(".schedule-status")).to_contain_text("Draft")
    expect(page.locator("section.phase")).to_contain_text("Loyalty discount")
    page.click("button:text('Activate')")
    expect(page.locator("p.notice")).to_have_text("Billing schedule activated.")
    expect(page.locator(".schedule-status")).to_contain_text("Active")
    screenshot(page, "billing-schedules-view")

    page.click("text=\u2190 Billing schedules")
    expect(page.locator("table.schedules")).to_contain_text("Acme Ltd")
    screenshot(page, "billing-schedules-list")
    page.click("text=2024 contract")
    page.click("button.danger")
    expect(page.locator("p.notice")).to_have_text("Billing schedule archived.")
    expect(page.locator(".schedule-status")).to_contain_text("Cancelled")
