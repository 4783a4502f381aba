"""The Customers section in a real browser (Playwright driving Debian's Chromium): find a
customer, create one under it, open its portal in a new tab, rotate its link, archive it.

With `TALLY_SCREENSHOTS=1` the main pages are saved (1280 px wide) to docs/screenshots/ (or
`$TALLY_SCREENSHOTS_DIR`), as the portal's browser test saves its own."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.dashboard.browsing import page, screenshot, sign_in  # noqa: F401
from tests.dashboard.helpers import Merchant
from tests.factories import customer_body
from tests.portal.browser import LiveServer, browser, live_server  # noqa: F401
from tests.schedules.helpers import created
from tests.support.api_client import ApiClient


def test_find_create_open_portal_rotate_and_archive_a_customer(
    page: Page,  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    merchant: Merchant,
    api: ApiClient,
) -> None:
    base = live_server.url
    group = created(api.post("/api/customers", json=customer_body(legalName="Umbrella Group")))
    created(api.post("/api/customers", json=customer_body(legalName="Hooli")))

    sign_in(page, base, merchant, "/dashboard/customers")
    expect(page.locator("nav.tabs a[aria-current=page]")).to_have_text("Customers")
    screenshot(page, "customers-list")
    page.fill("#name", "umbrella")
    page.click("text=Search")
    expect(page.locator("table.customers tbody tr")).to_have_count(1)
    expect(page.locator("table.customers")).to_contain_text("Umbrella Group")

    page.click("text=New customer")
    page.fill("#legal_name", "Umbrella Labs")
    page.select_option("#parent_id", group["id"])
    page.fill("#address_line1", "1 Hive Road")
    page.fill("#address_town", "Raccoon City")
    page.fill("#address_postcode", "RC1 1AA")
    page.select_option("#address_country", label="United Kingdom")
    page.fill("#contact-0-name", "Alice Accounts")
    page.fill("#contact-0-email", "alice@umbrella.example")
    page.fill("#aliases", "umb-labs")
    screenshot(page, "customers-new")
    page.click("text=Create customer")
    expect(page.locator("h1")).to_have_text("Umbrella Labs")
    expect(page.locator(".notice")).to_have_text("Customer created.")
    expect(page.locator("#hierarchy")).to_contain_text("Umbrella Group")
    expect(page.locator("#details")).to_contain_text("Alice Accounts")
    screenshot(page, "customers-customer")

    old_link = page.input_value("#portal-link")
    with page.context.expect_page() as opened:
        page.click("text=Open portal")
    portal = opened.value
    portal.wait_for_load_state()
    assert portal.url.startswith(f"{base}/portal/s")
    expect(portal.locator("body")).to_contain_text("Umbrella Labs")
    portal.close()

    page.click("text=Rotate link")
    expect(page.locator(".notice")).to_contain_text("Portal link rotated")
    assert page.input_value("#portal-link") != old_link

    page.click("#main >> text=Archive")
    expect(page.locator("#main")).to_contain_text("No billing schedules to archive")
    screenshot(page, "customers-archive")
    page.click("button.danger")
    expect(page.locator(".notice")).to_contain_text("Customer archived")
    # Closed, not gone: the link keeps showing its invoices; no new sessions.
    expect(page.locator("#portal")).to_contain_text("The account is closed")
    expect(page.locator("#portal >> text=Open portal")).to_have_count(0)
