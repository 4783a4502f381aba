"""Webhook settings in a real browser (Playwright driving Debian's Chromium): create a webhook
policy (after a refused URL), copy its signing secret, add an event type, see an event
delivered to a local receiver in the delivery log, and delete the policy after the
confirmation. No page may log a console error but the refused form's 422.

With `TALLY_SCREENSHOTS=1` the main pages are saved (1280 px wide) to docs/screenshots/ (or
`$TALLY_SCREENSHOTS_DIR`)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tally.db import Database
from tally.notifications.webhooks import deliver_due
from tally.settings import Settings
from tests.dashboard.browsing import page, screenshot, sign_in  # noqa: F401
from tests.dashboard.helpers import Merchant
from tests.factories import customer_body
from tests.notifications.webhook_support import (
    Receiver,
    receivers,  # noqa: F401 - the fixture
    signed_by,
    start,
)
from tests.portal.browser import LiveServer, browser, live_server  # noqa: F401
from tests.support.api_client import ApiClient

# The refused form answers 422 on purpose (Chromium logs any 4xx): `page` lets it by.
EXPECTED_CONSOLE = ["status of 422"]
WEBHOOKS = "/dashboard/settings/webhooks"


def test_create_a_webhook_see_its_secret_add_an_event_and_delete_it(
    page: Page,  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    merchant: Merchant,
    api: ApiClient,
    database: Database,
    settings: Settings,
    receivers: list[Receiver],  # noqa: F811
) -> None:
    base = live_server.url
    receiver = start(receivers)

    sign_in(page, base, merchant, WEBHOOKS)
    expect(page.locator("nav.subnav a[aria-current=page]")).to_have_text("Webhooks")
    expect(page.locator("#main")).to_contain_text("No notification policies yet.")

    page.click("text=New policy")
    page.fill("#name", "Billing system")
    page.select_option("#channel", "WEBHOOK")
    page.fill("#recipients", "ftp://files.example.com/in")
    page.check("input[name='notification_type.INVOICE_ISSUED']")
    page.click("button:text('Create policy')")
    expect(page.locator("#recipients-error")).to_contain_text("is not an http or https URL")
    expect(page.locator("input[name='notification_type.INVOICE_ISSUED']")).to_be_checked()
    screenshot(page, "settings-webhooks-new")

    page.fill("#recipients", receiver.url)
    page.click("button:text('Create policy')")
    expect(page.locator("h1.page-title")).to_have_text("Billing system")
    expect(page.locator(".notice")).to_have_text("Policy created.")
    secret = page.locator("#webhook-secret").inner_text()
    assert secret.startswith("whsec_")
    page.click("#webhook-secret")  # one click selects the whole secret, to copy
    assert page.evaluate("() => window.getSelection().toString()") == secret
    (shown,) = api.get("/api/notifications/policies").json()["items"]
    assert shown["webhookSecret"] == secret

    page.check("input[name='notification_type.CUSTOMER_CREATED']")
    page.click("button:text('Add events')")
    expect(page.locator(".notice")).to_have_text("Event types added.")
    expect(page.locator("#types-card li[data-type]")).to_have_count(2)
    expect(page.locator("#types-card")).to_contain_text("Customer created")

    created = api.post("/api/customers", json=customer_body(legalName="Acme Rockets Ltd"))
    assert created.status_code == 201, created.text
    deliver_due(database, settings.model_copy(update={"webhook_timeout_seconds": 2.0}))
    (arrival,) = receiver.arrivals
    assert signed_by(arrival, secret)  # the secret shown is the one that signs
    page.reload()
    row = page.locator("table.deliveries tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("CUSTOMER_CREATED")
    expect(row).to_contain_text("Delivered")
    expect(row).to_contain_text("HTTP 200")
    screenshot(page, "settings-webhooks-policy")

    page.click("text=Webhooks and notifications")
    expect(page.locator("table.policies tbody tr")).to_have_count(1)
    expect(page.locator("table.policies")).to_contain_text("Invoice issued, Customer created")
    screenshot(page, "settings-webhooks")

    page.click("table.policies a:text('Billing system')")
    page.click("#main .actions >> text=Delete")
    expect(page.locator("#main")).to_contain_text("Nothing more is sent to its recipients")
    expect(page.locator("#main")).to_contain_text("It has no pending deliveries.")
    page.click("button.danger")
    expect(page.locator(".notice")).to_contain_text("Policy deleted")
    expect(page.locator("#main")).to_contain_text("No notification policies yet.")
    assert api.get("/api/notifications/policies").json()["items"] == []
