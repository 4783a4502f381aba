"""The Usage section in a real browser (Playwright driving Debian's Chromium): usage posted
through the API, explored and filtered (a customer, unmapped aliases, a time window), then a
metric's values per month for the customer and for every customer.

With `TALLY_SCREENSHOTS=1` the main pages are saved (1280 px wide) to docs/screenshots/ (or
`$TALLY_SCREENSHOTS_DIR`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from tests.dashboard.browsing import page, screenshot, sign_in  # noqa: F401
from tests.dashboard.helpers import Merchant
from tests.factories import new_customer_id
from tests.metering.helpers import create_metric, event, send
from tests.portal.browser import LiveServer, browser, live_server  # noqa: F401
from tests.support.api_client import ApiClient


def test_explore_events_and_see_a_metrics_values(
    page: Page,  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    merchant: Merchant,
    api: ApiClient,
) -> None:
    base = live_server.url
    acme = new_customer_id(api, legalName="Acme Rockets Ltd")
    answer = api.post("/api/customer-aliases", json={"customerId": acme, "value": "acme-prod"})
    assert answer.status_code == 201, answer.text
    new_customer_id(api, legalName="Hooli")
    create_metric(
        api, name="Tokens", aggregationType="SUM", aggregationProperty="tokens", unit="tokens"
    )
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    if now.day == 1 and now.hour < 2:  # both events this month, whenever the test runs
        now += timedelta(hours=2)
    hour_ago = (now - timedelta(hours=1)).isoformat()
    send(
        api,
        event("acme-prod", hour_ago, tokens="1.5", region="eu"),
        event(acme, now.isoformat(), tokens="2"),
        event("acme-prod", now.isoformat(), event_type="login"),
        event("ghost-customer", now.isoformat(), tokens="40"),
    )

    sign_in(page, base, merchant, "/dashboard/usage")
    expect(page.locator("nav.tabs a[aria-current=page]")).to_have_text("Usage")
    events = page.locator("table.usage-events tbody tr")
    expect(events).to_have_count(4)
    expect(page.locator("#event-count")).to_have_text("4 events")
    expect(page.locator("table.usage-events")).to_contain_text("Acme Rockets Ltd")
    expect(page.locator("table.usage-events .badge")).to_have_text(["unmapped"])
    screenshot(page, "usage-events")

    page.select_option("#customerId", acme)
    page.fill("#eventType", "api_call")
    page.click("text=Filter")
    expect(events).to_have_count(2)
    expect(page.locator("table.usage-events")).not_to_contain_text("ghost-customer")
    # A window of local (UTC) time: the hour-old event is before it.
    page.fill("#from", (now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"))
    page.click("text=Filter")
    expect(events).to_have_count(1)
    expect(events.first).to_contain_text('"tokens": "2"')

    page.click("text=Clear")
    page.check("input[name=unmappedAliasesOnly]")
    page.click("text=Filter")
    expect(events).to_have_count(1)
    expect(events.first).to_contain_text("ghost-customer")

    page.click(".usage-subnav >> text=Metric values")
    expect(page.locator("h2#values-title")).to_contain_text("Tokens by customer")
    customers = page.locator("table.metric-customers tbody tr")
    expect(customers).to_have_count(1)  # the ghost's 40 tokens count for nobody
    expect(customers.first).to_contain_text("Acme Rockets Ltd")
    expect(customers.first.locator("td[data-value]")).to_have_text("3.5 tokens")

    page.select_option("#customerId", acme)
    page.click("text=Show")
    months = page.locator("table.metric-months tbody tr")
    expect(months).to_have_count(6)
    this_month = months.first
    expect(this_month.locator("th")).to_have_text(now.strftime("%B %Y"))
    expect(this_month.locator("td[data-value]")).to_have_text("3.5 tokens")
    expect(this_month.locator("td[data-events]")).to_have_text("2")
    screenshot(page, "usage-metrics")

    this_month.locator("text=Events").click()
    expect(events).to_have_count(2)
    expect(page.locator("#customerId")).to_have_value(acme)
