"""What the dashboard's browser tests share: a `page` fixture that fails the test on any
console error, `screenshot()` and `sign_in()`. Import them with the portal's browser and server:

    from tests.dashboard.browsing import page, screenshot, sign_in  # noqa: F401
    from tests.portal.browser import LiveServer, browser, live_server  # noqa: F401

A module whose pages log a console error on purpose names the expected text in a module-level
`EXPECTED_CONSOLE` list: an error containing one of those strings is not counted.

Screenshots are saved (full page, 1280 px wide) as dashboard-<name>.png only when asked for:
to docs/screenshots/ with `TALLY_SCREENSHOTS=1`, or to `$TALLY_SCREENSHOTS_DIR` when set (as
scripts/screenshots.py does).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize, expect

from tests.dashboard.helpers import PASSWORD, Merchant
from tests.portal.browser import DESKTOP

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh desktop page (its own cookies); after the test, no page it opened may have
    logged a console error (a CSP violation would) other than the module's EXPECTED_CONSOLE."""
    expected: list[str] = getattr(request.module, "EXPECTED_CONSOLE", [])
    context = browser.new_context(
        viewport=ViewportSize(width=DESKTOP["width"], height=DESKTOP["height"])
    )
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error" and not any(text in message.text for text in expected):
            errors.append(message.text)

    tab.on("console", record)
    context.on("page", lambda other: other.on("console", record))
    yield tab
    context.close()
    assert not errors, errors


def screenshot(page: Page, name: str) -> None:
    """Save the whole page as dashboard-<name>.png, if screenshots were asked for."""
    if os.environ.get("TALLY_SCREENSHOTS") != "1" and not os.environ.get("TALLY_SCREENSHOTS_DIR"):
        return
    target = Path(os.environ.get("TALLY_SCREENSHOTS_DIR") or SCREENSHOTS)
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / f"dashboard-{name}.png"), full_page=True)


def sign_in(page: Page, base_url: str, merchant: Merchant, path: str) -> None:
    """Open `path`, sign in as `merchant` on the form it redirects to, and land on `path`."""
    page.goto(f"{base_url}{path}")
    page.fill("#email", merchant.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base_url}{path}")
