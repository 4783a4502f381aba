"""The portal in a real browser (Playwright driving Debian's Chromium): open a link, switch
every tab, change the usage range and period, search invoices, download a PDF, see seed 000's
credits (250 granted, 6 pending), hover the graph; no CSP violation on any page.

`test_screenshots_of_every_tab` saves each tab at 1280 px and 390 px wide: into
`$TALLY_SCREENSHOTS_DIR` when set (`scripts/screenshots.py` sets it to docs/screenshots/),
else into a temporary directory.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import InvoiceStatus, PaymentStatus
from tests.invoices.helpers import insert_invoice
from tests.portal.browser import DESKTOP, PHONE, LiveServer, browser, live_server  # noqa: F401
from tests.portal.helpers import put_settings
from tests.portal.portal_scenario import Seed000, build_seed_000, utc_today
from tests.schedules.helpers import ok
from tests.support.api_client import ApiClient

LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="150" height="36" viewBox="0 0 150 36">'
    '<rect width="36" height="36" rx="8" fill="#5b3cc4"/>'
    '<path d="M9 27 18 9l9 18h-5l-4-8-4 8z" fill="#fff"/>'
    '<text x="44" y="25" font-family="DejaVu Sans, sans-serif" font-size="18" '
    'font-weight="700" fill="#1f2933">AcmeLabs</text></svg>'
)
LOGO = "data:image/svg+xml;base64," + base64.b64encode(LOGO_SVG.encode()).decode()


@pytest.fixture
def seed(api: ApiClient, app: FastAPI, account: Credentials) -> Seed000:
    return build_seed_000(api, app, account.account_id)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:  # noqa: F811
    """A fresh desktop page that fails the test on any console error (a CSP violation)."""
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    tab.on("console", record)
    yield tab
    context.close()
    assert not errors, errors


def test_open_a_link_and_switch_every_tab(
    page: Page,
    live_server: LiveServer,  # noqa: F811
    seed: Seed000,
) -> None:
    page.goto(live_server.url + seed.link)
    expect(page).to_have_title("Overview · AcmeLabs")
    expect(page.locator(".wallet")).to_contain_text("250")
    for tab, heading in [
        ("invoices", "Invoices"),
        ("usage", "Usage"),
        ("credits", "Credits"),
        ("overview", "Overview"),
    ]:
        page.click(f"nav.tabs a[data-tab={tab}]")
        expect(page.locator("h1")).to_have_text(heading)
        expect(page.locator(f"nav.tabs a[data-tab={tab}]")).to_have_attribute(
            "aria-current", "page"
        )


def test_see_seed_000s_credit_example(
    page: Page,
    live_server: LiveServer,  # noqa: F811
    seed: Seed000,
) -> None:
    page.goto(f"{live_server.url}{seed.link}/credits")
    wallet = page.locator(".wallet")

    def fact(label: str) -> str:
        return wallet.locator(f"div:has(> dt:text-is('{label}')) dd").inner_text()

    assert fact("Balance") == "250 verifications"
    assert fact("Pending") == "6 verifications"
    assert fact("Value") == "£100.00"
    rows = page.locator("table.transactions tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Pending debit")
    expect(rows.nth(0)).to_contain_text("\u22126 verifications")
    expect(rows.nth(1)).to_contain_text("Credits granted")
    expect(rows.nth(1)).to_contain_text("+250 verifications")


def test_change_the_usage_range_and_period(
    page: Page,
    live_server: LiveServer,  # noqa: F811
    seed: Seed000,
) -> None:
    page.goto(f"{live_server.url}{seed.link}/usage")
    expect(page.locator("a[data-range=period]")).to_have_attribute("aria-current", "true")
    page.click("a[data-range='7d']")
    expect(page).to_have_url(f"{live_server.url}{seed.link}/usage?range=7d")
    expect(page.locator("a[data-range='7d']")).to_have_attribute("aria-current", "true")
    page.click("a[data-range='1d']")
    page.click("details.table-view summary")
    expect(page.locator("details.table-view thead th").first).to_have_text("Hour")
    expect(page.locator("details.table-view tbody tr")).to_have_count(24)
    # Picking a period submits the form (JavaScript); the range is kept.
    page.select_option("#period", seed.last_period_start.isoformat())
    page.wait_for_url(f"**/usage?period={seed.last_period_start.isoformat()}&range=1d")
    expect(page.locator("table.breakdown")).to_contain_text(f"{seed.calls_last_period} calls")


def test_hovering_the_graph_shows_date_metric_and_quantity(
    page: Page,
    live_server: LiveServer,  # noqa: F811
    seed: Seed000,
) -> None:
    page.goto(f"{live_server.url}{seed.link}/usage?range=7d")
    series = page.locator("g.chart-series[data-metric='Account verifications'] circle")
    expect(series).to_have_count(7)
    series.last.hover()
    tooltip = page.locator("figure.chart .tooltip")
    expect(tooltip).to_be_visible()
    today = utc_today()
    expect(tooltip).to_have_text(
        f"{today.day} {today:%b %Y} \u00b7 Account verifications: 6 verifications"
    )


def test_search_invoices_and_download_a_pdf(
    page: Page,
    live_server: LiveServer,  # noqa: F811
    seed: Seed000,
    api: ApiClient,
    database: Database,
    account: Credentials,
) -> None:
    customer = ok(api.get(f"/api/customers/{seed.customer_id}"))
    for n in range(1, 26):
        insert_invoice(
            database,
            account.account_id,
            customer,
            status=InvoiceStatus.SENT,
            invoice_number=f"OLD-{n:03d}",
            issue_date=date(2025, 1, 1) + timedelta(days=7 * n),
            due_date=date(2025, 2, 1) + timedelta(days=7 * n),
            gross_total=Decimal(100 + n),
        )
    page.goto(f"{live_server.url}{seed.link}/invoices")
    expect(page.locator(".pager")).to_contain_text("Page 1 of 2")
    page.fill("#q", "old-001")
    page.press("#q", "Enter")
    rows = page.locator("table.invoices tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("OLD-001")
    page.click("a.clear")
    page.click("nav.filters a[data-filter=overdue]")
    expect(page.locator("table.invoices .badge-overdue")).to_have_count(20)
    page.click("nav.filters a[data-filter=all]")
    page.fill("#q", seed.sent_invoice_number)
    page.click("form.search button[type=submit]")
    with page.expect_download() as downloading:
        page.click("a.download")
    download = downloading.value
    assert download.suggested_filename == f"{seed.sent_invoice_number}.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF-")
    # The invoice page shows the same document, and its own download button.
    page.click(f"text={seed.sent_invoice_number}")
    expect(page.locator("article.tally-document")).to_contain_text("Globex Corporation")
    with page.expect_download() as again:
        page.click("a.button:has-text('Download PDF')")
    assert again.value.suggested_filename == f"{seed.sent_invoice_number}.pdf"


def test_the_keyboard_reaches_the_content_and_every_tab(
    page: Page,
    live_server: LiveServer,  # noqa: F811
    seed: Seed000,
) -> None:
    page.goto(live_server.url + seed.link)
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.locator("nav.tabs a[data-tab=invoices]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Invoices")


def test_pages_work_without_javascript(
    browser: Browser,  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    seed: Seed000,
) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    try:
        tab = context.new_page()
        tab.goto(f"{live_server.url}{seed.link}/usage")
        tab.select_option("#period", seed.last_period_start.isoformat())
        tab.click("form.period-picker button[type=submit]")
        expect(tab.locator("table.breakdown")).to_contain_text(f"{seed.calls_last_period} calls")
        tab.click("a[data-range='30d']")
        expect(tab.locator("a[data-range='30d']")).to_have_attribute("aria-current", "true")
    finally:
        context.close()


def test_screenshots_of_every_tab(
    browser: Browser,  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    seed: Seed000,
    api: ApiClient,
    database: Database,
    account: Credentials,
    tmp_path: Path,
) -> None:
    """Each tab at 1280 px and 390 px wide, branded (logo, colour, back link), with an
    invoice history of paid, outstanding and overdue invoices."""
    target = Path(os.environ.get("TALLY_SCREENSHOTS_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    response = put_settings(
        api, logoUrl=LOGO, brandColor="#5b3cc4", applicationUrl="https://app.acmelabs.example"
    )
    assert response.status_code == 200, response.text
    customer = ok(api.get(f"/api/customers/{seed.customer_id}"))
    start = seed.last_period_start
    for months, paid in [(1, True), (2, True), (3, False)]:
        first = (start - timedelta(days=28 * months)).replace(day=1)
        insert_invoice(
            database,
            account.account_id,
            customer,
            status=InvoiceStatus.SENT,
            invoice_number=f"INV-{first:%Y%m}",
            issue_date=first,
            due_date=first + timedelta(days=30),
            billing_period_start=first,
            billing_period_end=first + timedelta(days=27),
            gross_total=Decimal(58 + 3 * months) + Decimal("0.80"),
            payment_status=PaymentStatus.PAID if paid else PaymentStatus.UNPAID,
        )
    pages = {
        "overview": seed.link,
        "invoices": seed.link + "/invoices",
        "invoice": f"{seed.link}/invoices/{seed.sent_invoice_id}",
        "usage": seed.link + "/usage",
        "credits": seed.link + "/credits",
    }
    for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport, device_scale_factor=1)
        try:
            tab = context.new_page()
            for name, path in pages.items():
                tab.goto(live_server.url + path)
                shot = target / f"portal-{name}-{width}.png"
                tab.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 10_000
        finally:
            context.close()
