"""A draft invoice's lines edited in a real browser (Playwright driving Debian's Chromium), as
a finance lead would: add a line, see a mistyped quantity said next to its field, correct it,
change a line's tax rate, delete one; the totals follow exactly, and the invoice's activity
page lists the edits. No page may log a console error.

With `TALLY_SCREENSHOTS=1` the lines section and the line form are saved as screenshots.
"""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.dashboard.browsing import page, screenshot, sign_in  # noqa: F401
from tests.dashboard.helpers import Merchant
from tests.factories import customer_body
from tests.portal.browser import LiveServer, browser, live_server  # noqa: F401

# The refused line answers 422, which Chromium reports on the console.
EXPECTED_CONSOLE = ["status of 422"]


def test_edit_a_drafts_lines_in_the_browser(
    page: Page,  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    merchant: Merchant,
) -> None:
    base = live_server.url
    auth = (merchant.account.api_key, merchant.account.api_secret)
    with httpx.Client(base_url=f"{base}/api", auth=auth, timeout=10) as api:
        customer = api.post("/customers", json=customer_body(legalName="Acme Ltd")).json()
        invoice = api.post("/invoices", json={"currency": "GBP", "customerId": customer["id"]})
        invoice_id = invoice.json()["id"]

    sign_in(page, base, merchant, f"/dashboard/invoices/{invoice_id}")
    lines = page.locator("#lines")
    expect(lines).to_contain_text("No lines yet")

    page.click("#lines summary")  # "Add a line"
    form = page.locator("#add-line")
    form.locator("[name='title']").fill("Onboarding")
    form.locator("[name='quantity']").fill("three")
    form.locator("[name='rate']").fill("12.50")
    form.locator("[name='tax_rate']").fill("20")
    form.locator("text=Add line").click()
    # Refused: said next to the field, in words; what was typed is kept.
    expect(page.locator("#quantity-error")).to_have_text("Quantity: enter a number, e.g. 12.50")
    expect(page.locator("#quantity")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#rate")).to_have_value("12.50")
    screenshot(page, "invoice-line-form")
    page.fill("#quantity", "3")
    page.click("text=Add line")
    expect(page.locator("p.notice")).to_have_text("Line added: the totals are recalculated.")
    # 3 x 12.50 = 37.50 net; 20 % tax 7.50; 45.00 in all.
    expect(page.locator("#lines-net")).to_have_text("£37.50")
    expect(page.locator("#lines-tax")).to_have_text("£7.50")
    expect(page.locator("#lines-gross")).to_have_text("£45.00")

    page.click("#lines summary")
    form = page.locator("#add-line")
    form.locator("[name='title']").fill("Calls")
    form.locator("[name='quantity']").fill("7")
    form.locator("[name='rate']").fill("0.125")
    form.locator("[name='tax_rate']").fill("20")
    form.locator("text=Add line").click()
    # 7 x 0.125 = 0.875 -> 0.88; tax on the rate's nets (38.38 x 20 % = 7.676) -> 7.68.
    expect(page.locator("#lines")).to_contain_text("£0.125")  # a rate is not rounded
    expect(page.locator("#lines-net")).to_have_text("£38.38")
    expect(page.locator("#lines-tax")).to_have_text("£7.68")
    expect(page.locator("#lines-gross")).to_have_text("£46.06")
    screenshot(page, "invoice-lines")

    page.click("[aria-label='Edit line Calls']")
    expect(page.locator("h1")).to_have_text("Edit line")
    expect(page.locator("#rate")).to_have_value("0.125")
    page.fill("#tax_rate", "0")
    page.click("text=Save line")
    expect(page.locator("p.notice")).to_have_text("Line saved: the totals are recalculated.")
    # Tax now only on Onboarding: 37.50 x 20 % = 7.50.
    expect(page.locator("#lines-tax")).to_have_text("£7.50")
    expect(page.locator("#lines-gross")).to_have_text("£45.88")

    page.click("[aria-label='Delete line Onboarding']")
    expect(page.locator("p.notice")).to_have_text("Line deleted: the totals are recalculated.")
    expect(page.locator("#lines tbody tr")).to_have_count(1)
    expect(page.locator("#lines-gross")).to_have_text("£0.88")

    page.click("#see-all-activity")
    expect(page.locator("h1")).to_contain_text("Activity")
    entries = page.locator(".activity-summary")
    expect(entries.first).to_contain_text("Line 'Onboarding' deleted")
    expect(page.locator("#activity")).to_contain_text("Line 'Calls' changed")
