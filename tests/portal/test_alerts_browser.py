"""The portal's alerts card in Chromium: axe-core finds no serious violation, nothing is
logged to the console (the bars are <progress> elements, no inline style the CSP refuses),
and it fits a phone."""

from __future__ import annotations

from playwright.sync_api import Browser, ConsoleMessage, ViewportSize

from tests.alerts.helpers import create_alert
from tests.alerts.test_evaluation import calls
from tests.factories import new_customer
from tests.metering.helpers import create_metric, send
from tests.portal.browser import DESKTOP, PHONE, LiveServer, browser, live_server  # noqa: F401
from tests.portal.helpers import link_path
from tests.support.api_client import ApiClient
from tests.support.axe import assert_accessible


def test_the_alerts_card_is_accessible_and_fits_a_phone(
    api: ApiClient,
    browser: Browser,  # noqa: F811
    live_server: LiveServer,  # noqa: F811
) -> None:
    customer = new_customer(api, language="fr")
    metric = create_metric(api, name="Appels API", aggregationType="COUNT")
    send(api, *calls(str(customer["id"]), 7, prefix="fr"))
    create_alert(api, customerId=customer["id"], metricId=metric["id"], threshold="10")
    create_alert(
        api, name="Budget", type="SPEND", customerId=customer["id"], currency="EUR",
        threshold="100",
    )  # fmt: skip
    context = browser.new_context(viewport=ViewportSize(**PHONE))
    page = context.new_page()
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", record)
    try:
        page.goto(live_server.url + link_path(customer))
        bar = page.locator("progress.spend-alert-bar").first
        assert bar.get_attribute("value") == "70"
        assert (
            "7 sur 10 sur cette période (70" in page.locator(".spend-alert-said").first.inner_text()
        )
        assert_accessible(page, "the portal's Overview with alerts")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        page.set_viewport_size(ViewportSize(**DESKTOP))
        assert_accessible(page, "the portal's Overview with alerts, desktop")
    finally:
        context.close()
    assert not errors, errors
