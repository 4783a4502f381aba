"""Editing in a real browser (Playwright driving Debian's Chromium), as a finance team would:
change a graduated price's tier table from its product page, then split a billing schedule's
phase in two and give the second one a discount. No page may log a console error.

With `TALLY_SCREENSHOTS=1` the edit pages are saved (1280 px wide) to docs/screenshots/ (or
`$TALLY_SCREENSHOTS_DIR`), as the other browser tests save theirs.
"""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.dashboard.browsing import page, screenshot, sign_in  # noqa: F401
from tests.dashboard.helpers import Merchant
from tests.factories import customer_body
from tests.portal.browser import LiveServer, browser, live_server  # noqa: F401


def test_edit_a_prices_tiers_and_a_schedules_phase(
    page: Page,  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    merchant: Merchant,
) -> None:
    base = live_server.url
    auth = (merchant.account.api_key, merchant.account.api_secret)
    with httpx.Client(base_url=f"{base}/api", auth=auth, timeout=10) as api:
        customer = api.post("/customers", json=customer_body(legalName="Acme Ltd")).json()
        metric = api.post(
            "/usage-metrics",
            json={"name": "API calls", "eventType": "api_call", "aggregationType": "COUNT"},
        ).json()
        product = api.post("/products", json={"name": "Analytics"}).json()
        graduated = {
            "productId": product["id"],
            "name": "API calls",
            "currency": "GBP",
            "billingFrequency": "MONTHLY",
            "billingType": "IN_ARREARS",
            "structure": {
                "pricingType": "GRADUATED",
                "usageMetricId": metric["id"],
                "tiers": [{"upperBound": "1000", "price": "0.10"}, {"price": "0.05"}],
            },
        }
        api.post("/prices", json=graduated).raise_for_status()
        fee = {
            "productId": product["id"],
            "name": "Platform fee",
            "currency": "GBP",
            "billingFrequency": "MONTHLY",
            "billingType": "IN_ADVANCE",
            "structure": {"pricingType": "FIXED", "price": "500.00"},
        }
        fee_id = api.post("/prices", json=fee).json()["id"]
        body = {
            "customerId": customer["id"],
            "startDate": "2024-01-01",
            "endDate": "2024-12-31",
            "isDraft": True,
            "phases": [{"priceIds": [fee_id], "startDate": "2024-01-01", "endDate": "2024-12-31"}],
        }
        schedule_id = api.post("/billing-schedules", json=body).json()["id"]

    sign_in(page, base, merchant, f"/dashboard/catalog/products/{product['id']}")
    page.click("tr:has-text('Graduated tiers') >> text=Edit")
    expect(page.locator("h1")).to_have_text("Edit price: API calls")
    expect(page.locator("[name='tier-0-upper_bound']")).to_have_value("1000")
    expect(page.locator("[name='tier-1-price']")).to_have_value("0.05")
    page.fill("[name='tier-0-upper_bound']", "500")
    page.fill("[name='tier-1-upper_bound']", "10000")
    page.fill("[name='tier-2-price']", "0.02")
    page.fill("[name='tier-2-fee']", "10")
    screenshot(page, "catalog-price-edit")
    page.click("text=Save price")
    expect(page.locator("p.notice")).to_contain_text("Price replaced")
    tiers = page.locator("tr:has-text('Graduated tiers') table.tiers")
    expect(tiers.locator("tbody tr")).to_have_count(3)
    expect(tiers).to_contain_text("10000")

    page.goto(f"{base}/dashboard/billing-schedules/{schedule_id}")
    page.click("a:text-is('Edit')")
    expect(page.locator("h1")).to_contain_text("Edit billing schedule: Acme Ltd \u2014 ")
    expect(page.locator("[name='phase-0-end_date']")).to_have_value("2024-12-31")
    page.fill("[name='phase-0-end_date']", "2024-06-30")
    page.click("text=Add a phase")
    expect(page.locator("fieldset.phase-block")).to_have_count(2)
    page.fill("[name='phase-1-name']", "Second half")
    page.fill("[name='phase-1-start_date']", "2024-07-01")
    page.check(f"[name='phase-1-price-{fee_id}']")
    page.fill("[name='phase-1-discount_amount']", "15")
    page.fill("[name='phase-1-discount_message']", "Renewal discount")
    screenshot(page, "billing-schedules-edit")
    page.click("text=Save billing schedule")

    expect(page.locator("p.notice")).to_contain_text("Billing schedule saved.")
    expect(page.locator("section.phase")).to_have_count(2)
    second = page.locator("section.phase[data-phase='1']")
    expect(second).to_contain_text("Second half")
    expect(second).to_contain_text("1 Jul 2024 to 31 Dec 2024")
    expect(second).to_contain_text("Renewal discount")
