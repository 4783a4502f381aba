"""Every dashboard page in a real browser (Playwright driving Debian's Chromium) passes
axe-core's checks (WCAG 2 A and AA, and axe's best practices) with no serious or critical
violation, logs no console error, and fits a 390 px wide phone: nothing wider than the screen
but what scrolls inside its own box (a wide table).

The pages are the app's own routes: every GET under /dashboard that answers a page, those
with an id filled from one account's data set (`finance_data.py`: one of each kind), so a new
page is checked without being listed here; a route this test cannot fill fails it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize

from tally.billing.scheduler import bill_account
from tally.db import Database
from tests.dashboard.finance_data import FinanceWeek, dashboard_pages, fill, finance_week
from tests.dashboard.helpers import PASSWORD
from tests.portal.browser import DESKTOP, PHONE, LiveServer, browser, live_server  # noqa: F401
from tests.support.axe import assert_accessible, describe, serious, violations

# The page's width, and the elements that stick out of the window (the innermost ones).
OVERFLOW = """() => {
    const edge = document.documentElement.clientWidth;
    const sticksOut = (e) => e.getBoundingClientRect().right > edge + 0.5;
    const boxed = (e) => {  // inside a box that scrolls or clips what is wider
        for (let up = e.parentElement; up && up !== document.body; up = up.parentElement) {
            if (getComputedStyle(up).overflowX !== "visible") return true;
        }
        return false;
    };
    const wide = (e) => sticksOut(e) && !boxed(e);
    const out = [...document.querySelectorAll("body *")].filter(
        (e) => wide(e) && ![...e.children].some(wide));
    const classes = (e) => typeof e.className === "string" && e.className
        ? "." + e.className.split(" ").join(".") : "";
    const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + classes(e);
    return [document.documentElement.scrollWidth, out.slice(0, 4).map(name).join(", ")];
}"""


@pytest.fixture(scope="module")
def week(database: Database, http: TestClient) -> FinanceWeek:
    made = finance_week(database, http)
    bill_account(database, made.account_id)  # next month's invoice, IN_PROGRESS
    return made


@pytest.fixture(scope="module")
def signed_in(
    browser: Browser,  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    week: FinanceWeek,
) -> Iterator[tuple[Page, list[str]]]:
    """One signed-in page for the module, and the console errors its pages logged."""
    context = browser.new_context(viewport=ViewportSize(**DESKTOP))
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{page.url}: {message.text}")

    page.on("console", record)
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.goto(f"{live_server.url}/dashboard/sign-in")
    assert_accessible(page, "the sign-in page")
    page.fill("#email", week.merchant.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboard")
    yield page, errors
    context.close()


def test_every_dashboard_page_passes_axe_at_desktop_and_phone_widths(
    app: FastAPI,
    signed_in: tuple[Page, list[str]],
    live_server: LiveServer,  # noqa: F811
    week: FinanceWeek,
) -> None:
    page, errors = signed_in
    templates = dashboard_pages(app)
    assert "/dashboard/invoices/{invoice_id}" in templates and len(templates) > 30
    failures: list[str] = []
    too_wide: list[str] = []
    visited = 0
    for template in templates:
        for path in fill(template, week):
            page.set_viewport_size(ViewportSize(**DESKTOP))
            answer = page.goto(f"{live_server.url}{path}")
            assert answer is not None and answer.status < 400, (path, answer and answer.status)
            visited += 1
            failing = serious(violations(page))
            if failing:
                failures.append(f"== {path}\n{describe(failing)}")
            # At a phone's width the page itself never scrolls sideways: what is wide (a
            # table) scrolls in its own box. (axe's rules do not depend on the width.)
            page.set_viewport_size(ViewportSize(**PHONE))
            width, wide = page.evaluate(OVERFLOW)
            if width > PHONE["width"]:
                too_wide.append(f"{path}: {width} px wide at {PHONE['width']} px: {wide}")
    assert visited >= len(templates)
    assert not failures, "\n".join(failures)
    assert not too_wide, "\n".join(too_wide)
    assert not errors, errors


def test_the_check_fails_on_a_page_with_serious_violations(
    browser: Browser,  # noqa: F811
) -> None:
    """The sweep can fail: an unlabelled input, an image without alt text and faint text are
    serious or critical, and named in the failure; a heading level skipped is only moderate."""
    context = browser.new_context()
    page = context.new_page()
    page.set_content(
        '<!doctype html><html lang="en"><head><title>Bad</title></head><body><main>'
        '<h1>Bad</h1><h3>Skipped a level</h3><input id="amount"><img src="x.png">'
        '<p style="color:#bbb">Faint</p></main></body></html>'
    )
    with pytest.raises(AssertionError) as failed:
        assert_accessible(page, "a page made to fail")
    for rule in ("label", "image-alt", "color-contrast"):
        assert f"{rule}:" in str(failed.value)
    assert "heading-order" not in str(failed.value)
    assert "heading-order" in {violation["id"] for violation in violations(page)}
    context.close()
