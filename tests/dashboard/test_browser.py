"""The dashboard in a real browser (Playwright driving Debian's Chromium): sign in, create an
API key and see its secret once, call the API with it, revoke it (confirming first), see the
API refuse it, sign out. No page may log a console error (a CSP violation would)."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.dashboard.browsing import page  # noqa: F401
from tests.dashboard.helpers import PASSWORD, Merchant
from tests.portal.browser import LiveServer, browser, live_server  # noqa: F401


def test_sign_in_create_use_and_revoke_an_api_key_then_sign_out(
    page: Page,  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    merchant: Merchant,
) -> None:
    base = live_server.url
    page.goto(f"{base}/dashboard/api-keys")
    expect(page).to_have_url(f"{base}/dashboard/sign-in?next=/dashboard/api-keys")
    page.fill("#email", merchant.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/dashboard/api-keys")
    expect(page.locator("nav.tabs a[aria-current=page]")).to_have_text("API keys")
    expect(page.locator("table.api-keys")).to_contain_text(merchant.account.api_key)

    page.fill("#name", "Warehouse sync")
    page.click("text=Create API key")
    expect(page.locator("h1")).to_have_text("API key created")
    key = page.locator("#api-key").inner_text()
    secret = page.locator("#api-secret").inner_text()
    assert key.startswith("tak_") and secret.startswith("tsk_")

    answer = httpx.get(f"{base}/api/customers", auth=(key, secret), timeout=10)
    assert answer.status_code == 200

    page.click("text=Done")
    expect(page).to_have_url(f"{base}/dashboard/api-keys")
    row = page.locator(f"tr[data-key='{key}']")
    expect(row).to_contain_text("Warehouse sync")
    expect(row).to_contain_text("Active")
    assert secret not in page.content()  # shown once only

    row.locator("text=Revoke").click()
    expect(page.locator("h1")).to_have_text("Revoke API key")
    page.click("button.danger")
    expect(page).to_have_url(f"{base}/dashboard/api-keys")
    expect(page.locator(f"tr[data-key='{key}']")).to_contain_text("Revoked")
    refused = httpx.get(f"{base}/api/customers", auth=(key, secret), timeout=10)
    assert refused.status_code == 401

    page.click("text=Sign out")
    expect(page).to_have_url(f"{base}/dashboard/sign-in")
    page.goto(f"{base}/dashboard")
    expect(page).to_have_url(f"{base}/dashboard/sign-in")
