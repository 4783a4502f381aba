"""The Settings pages in a real browser (Playwright driving Debian's Chromium): save the
account's time zone, change the brand colour, turn the Usage tab off, then open a customer's
portal from its page and see both applied there.

With `TALLY_SCREENSHOTS=1` the main pages are saved (1280 px wide) to docs/screenshots/ (or
`$TALLY_SCREENSHOTS_DIR`)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.dashboard.browsing import page, screenshot, sign_in  # noqa: F401
from tests.dashboard.helpers import Merchant
from tests.factories import customer_body
from tests.portal.browser import LiveServer, browser, live_server  # noqa: F401
from tests.schedules.helpers import created
from tests.support.api_client import ApiClient

GREEN = "rgb(10, 125, 90)"  # #0a7d5a
# The invalid colour's form comes back with a 422, which Chromium logs.
EXPECTED_CONSOLE = ["status of 422"]


def test_brand_colour_and_tabs_reach_the_customers_portal(
    page: Page,  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    merchant: Merchant,
    api: ApiClient,
) -> None:
    base = live_server.url
    customer = created(api.post("/api/customers", json=customer_body(legalName="Globex Corp")))

    sign_in(page, base, merchant, "/dashboard/settings")
    expect(page.locator("nav.tabs a[aria-current=page]")).to_have_text("Settings")
    expect(page.locator(".subnav a[aria-current=page]")).to_have_text("Account")
    page.fill("#timezone", "Europe/Paris")
    page.fill("#invoiceNumberPrefix", "GLX")
    page.click("text=Save settings")
    expect(page.locator(".notice")).to_have_text("Account settings saved.")
    expect(page.locator("#timezone")).to_have_value("Europe/Paris")
    screenshot(page, "settings-account")
    assert api.get("/api/sequence-accounts").json()["items"][0]["timezone"] == "Europe/Paris"

    page.click(".subnav >> text=Branding")
    page.fill("#brandColor", "not a colour")
    page.click("text=Save branding")
    expect(page.locator("#brandColor-error")).to_contain_text("hex colour")
    page.fill("#brandColor", "#0A7D5A")
    page.click("text=Save branding")
    expect(page.locator(".notice")).to_have_text("Branding saved.")
    expect(page.locator("#brandColor")).to_have_value("#0a7d5a")
    expect(page.locator(".preview-masthead")).to_have_css("border-top-color", GREEN)
    screenshot(page, "settings-branding")

    page.click(".subnav >> text=Customer portal")
    expect(page.locator("#tab_USAGE")).to_be_checked()
    page.uncheck("#tab_USAGE")
    page.click("text=Save portal settings")
    expect(page.locator(".notice")).to_have_text("Portal settings saved.")
    expect(page.locator("#tab_USAGE")).not_to_be_checked()
    expect(page.locator("#enabled")).to_be_checked()
    screenshot(page, "settings-portal")

    page.goto(f"{base}/dashboard/customers/{customer['id']}")
    with page.context.expect_page() as opened:
        page.click("text=Open portal")
    portal = opened.value
    portal.wait_for_load_state()
    assert portal.url.startswith(f"{base}/portal/s")
    expect(portal.locator("body")).to_contain_text("Globex Corp")
    expect(portal.locator("header.masthead")).to_have_css("border-top-color", GREEN)
    expect(portal.locator("nav.tabs [data-tab=overview]")).to_be_visible()
    expect(portal.locator("nav.tabs [data-tab=usage]")).to_have_count(0)
    portal.close()
