"""The catalog in a real browser (Playwright driving Debian's Chromium), as a finance team
would walk it: a usage metric, a product, a graduated price typed into the tier table (with
"Add tier rows"), a tax rate changed into a second version. No page may log a console error.

With `TALLY_SCREENSHOTS=1` the main pages are saved (1280 px wide) to docs/screenshots/ (or
`$TALLY_SCREENSHOTS_DIR`), as the portal's browser test saves its own.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.dashboard.browsing import page, screenshot, sign_in  # noqa: F401
from tests.dashboard.helpers import Merchant
from tests.portal.browser import LiveServer, browser, live_server  # noqa: F401


def test_build_a_catalog(
    page: Page,  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    merchant: Merchant,
) -> None:
    base = live_server.url
    sign_in(page, base, merchant, "/dashboard/catalog")
    expect(page.locator("nav.tabs a[aria-current=page]")).to_have_text("Catalog")

    page.click("text=New usage metric")
    page.fill("#name", "API calls")
    page.fill("#event_type", "api_call")
    page.select_option("#aggregation_type", "COUNT")
    page.click("text=Create usage metric")
    expect(page.locator("p.notice")).to_have_text("Usage metric created.")
    expect(page.locator("table.usage-metrics")).to_contain_text("API calls")

    page.click("text=New product")
    page.fill("#name", "Analytics platform")
    page.click("text=Create product")
    expect(page.locator("h1")).to_have_text("Analytics platform")

    page.click("text=Graduated tiers")
    expect(page.locator("h1")).to_have_text("New price: Graduated tiers")
    page.fill("#name", "API calls")
    page.select_option("#usage_metric_id", label="API calls")
    page.click("text=Add tier rows")
    expect(page.locator("table.tier-table tbody tr")).to_have_count(9)
    page.fill("#name", "API calls")  # the form came back with what was typed: still there
    page.fill("[name='tier-0-upper_bound']", "10000")
    page.fill("[name='tier-0-price']", "0.01")
    page.fill("[name='tier-1-price']", "0.005")
    page.fill("[name='tier-1-fee']", "25")
    screenshot(page, "catalog-price-form")
    page.click("text=Create price")
    expect(page.locator("p.notice")).to_have_text("Price created.")
    expect(page.locator("table.prices")).to_contain_text("2 tiers")
    expect(page.locator("table.tiers")).to_contain_text("and above")
    screenshot(page, "catalog-product")

    page.click("text=\u2190 Catalog")
    page.click("text=New tax rate")
    page.fill("#name", "UK VAT")
    page.fill("#invoice_name", "VAT")
    page.fill("#invoice_short_name", "VAT")
    page.fill("#amount", "0.2")
    page.select_option("#country", label="United Kingdom")
    page.click("text=Create tax rate")
    expect(page.locator("p.notice")).to_have_text("Tax rate created.")
    page.fill("#amount", "0.175")
    page.click("text=Save as a new version")
    expect(page.locator("p.notice")).to_contain_text("a new version was added")
    expect(page.locator("table.tax-versions tbody tr")).to_have_count(2)
    screenshot(page, "catalog-tax-rate")

    page.click("text=\u2190 Catalog")
    expect(page.locator("table.products")).to_contain_text("Analytics platform")
    expect(page.locator("table.tax-rates")).to_contain_text("17.5%")
    screenshot(page, "catalog-overview")
