"""Screenshots of every dashboard page, on a desktop (1280 px) and a phone (390 px), for the
README: docs/screenshots/dashboard/<page>.png and <page>-390.png, from one account's data set
(`finance_data.py`). The pages are the app's routes, as the accessibility sweep visits them
(`dashboard_pages`), plus the sign-in page and next month's invoice.

Taken only when asked for (it writes into the repository):

    TALLY_SCREENSHOTS=1 .venv/bin/pytest -p no:cacheprovider tests/dashboard/test_screenshots.py

(or into the dashboard/ folder of `$TALLY_SCREENSHOTS_DIR`, as scripts/screenshots.py sets it).
A folder of their own: the other browser tests' screenshots of some of these pages, taken
along their walks, keep their names (docs/screenshots/dashboard-*.png). A desktop page is
saved whole while that stays under ~300 KB, else its first screen; a phone's is its first
screen.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, ViewportSize

from tally.billing.scheduler import bill_account
from tally.db import Database
from tests.dashboard.browsing import SCREENSHOTS
from tests.dashboard.finance_data import (
    FinanceWeek,
    dashboard_pages,
    fill,
    finance_week,
    page_name,
    upcoming_invoice,
)
from tests.dashboard.helpers import PASSWORD
from tests.portal.browser import DESKTOP, PHONE, LiveServer, browser, live_server  # noqa: F401

pytestmark = pytest.mark.skipif(
    os.environ.get("TALLY_SCREENSHOTS") != "1" and not os.environ.get("TALLY_SCREENSHOTS_DIR"),
    reason="screenshots are taken with TALLY_SCREENSHOTS=1",
)
MAX_FULL_PAGE = 300_000  # bytes


@pytest.fixture(scope="module")
def week(database: Database, http: TestClient) -> FinanceWeek:
    made = finance_week(database, http, email="maria@northwind.example")
    bill_account(database, made.account_id)  # next month's invoice, IN_PROGRESS
    return made


@pytest.fixture(scope="module")
def tab(browser: Browser) -> Iterator[Page]:  # noqa: F811
    context = browser.new_context(viewport=ViewportSize(**DESKTOP))
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def shoot(page: Page, folder: Path, name: str) -> None:
    """<name>.png (desktop) and <name>-390.png (phone) of the page."""
    page.set_viewport_size(ViewportSize(**DESKTOP))
    desktop = folder / f"{name}.png"
    page.screenshot(path=str(desktop), full_page=True)
    if desktop.stat().st_size > MAX_FULL_PAGE:
        page.screenshot(path=str(desktop))
    page.set_viewport_size(ViewportSize(**PHONE))
    page.screenshot(path=str(folder / f"{name}-390.png"))
    page.set_viewport_size(ViewportSize(**DESKTOP))


def test_screenshots_of_every_dashboard_page(
    app: FastAPI,
    tab: Page,
    live_server: LiveServer,  # noqa: F811
    week: FinanceWeek,
) -> None:
    folder = Path(os.environ.get("TALLY_SCREENSHOTS_DIR") or SCREENSHOTS) / "dashboard"
    folder.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    tab.goto(f"{base}/dashboard/sign-in")
    shoot(tab, folder, "sign-in")
    tab.fill("#email", week.merchant.email)
    tab.fill("#password", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{base}/dashboard")
    taken = []
    for template in dashboard_pages(app):
        if template == "/dashboard/sign-in":
            continue  # taken signed out, above
        path = fill(template, week)[0]
        answer = tab.goto(f"{base}{path}")
        assert answer is not None and answer.status < 400, path
        shoot(tab, folder, page_name(template))
        taken.append(page_name(template))
    tab.goto(f"{base}/dashboard/invoices/{upcoming_invoice(week)}")
    shoot(tab, folder, "invoices-upcoming")
    assert len(taken) == len(set(taken)) > 30
    assert all((folder / f"{name}-390.png").exists() for name in taken)
