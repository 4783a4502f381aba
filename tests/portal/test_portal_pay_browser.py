"""Paying an invoice from the portal in a real browser (Playwright driving Debian's Chromium),
with localstripe's `localstripe-v3.js` standing in for Stripe.js (the test settings load it
from the test's localstripe, `TALLY_STRIPE_JS_URL`): its fake card field renders plain inputs
(number, exp_month, exp_year, cvc, postal_code) inside the mounted element.

Card 4242 4242 4242 4242 pays: the page shows the invoice Paid, the API says PAID, one payment
is recorded. Card 4000 0000 0000 0002 is declined (localstripe declines it when the card is
set up): the page says so and the invoice stays UNPAID. Neither page logs a CSP violation or
an error of its own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.models import Payment
from tests.invoices.states import ok
from tests.portal.browser import DESKTOP, LiveServer, browser, live_server  # noqa: F401
from tests.portal.pay_support import CARD_OK, connect_stripe, owed_invoice
from tests.support.api_client import ApiClient
from tests.support.localstripe import LocalStripe

CARD_DECLINED = "4000000000000002"

# Recorded in the page before any of its scripts run.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@dataclass
class Watched:
    page: Page
    console_errors: list[ConsoleMessage] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        found: list[str] = self.page.evaluate("window.__cspViolations || []")
        csp_messages = [m.text for m in self.console_errors if "Content Security Policy" in m.text]
        return found + csp_messages


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:  # noqa: F811
    context = browser.new_context(viewport=DESKTOP)
    context.add_init_script(WATCH_CSP)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    seen = Watched(tab)
    tab.on("console", lambda m: seen.console_errors.append(m) if m.type == "error" else None)
    tab.on("pageerror", lambda error: pytest.fail(f"script error on the page: {error}"))
    yield seen
    context.close()


def _type_card(page: Page, number: str) -> None:
    field = page.locator("#card-element")
    field.get_by_placeholder("number").fill(number)
    field.get_by_placeholder("exp_month").fill("12")
    field.get_by_placeholder("exp_year").fill("34")
    field.get_by_placeholder("cvc").fill("123")
    field.get_by_placeholder("postal_code").fill("42424")


def test_a_card_pays_the_invoice_in_the_browser(
    app: FastAPI,
    api: ApiClient,
    account: Credentials,
    localstripe: LocalStripe,
    live_server: LiveServer,  # noqa: F811
    watched: Watched,
) -> None:
    connect_stripe(api)
    owed = owed_invoice(app, api, account, "Browser Payer")
    page = watched.page
    page.goto(live_server.url + owed.link + "/invoices")
    page.get_by_role("link", name="Pay", exact=False).first.click()
    expect(page.locator("#pay")).to_be_visible()
    expect(page.locator(".invoice-status")).to_have_text("Outstanding")
    _type_card(page, CARD_OK)
    page.get_by_label("Save this card for future invoices").check()
    page.get_by_role("button", name="Pay £270.00").click()

    expect(page.locator(".invoice-status")).to_have_text("Paid")
    expect(page.locator("#pay")).to_have_count(0)  # nothing left to pay
    invoice = ok(api.get(f"/api/invoices/{owed.invoice_id}"))
    assert invoice["paymentStatus"] == "PAID"
    with app.state.db.transaction() as session:
        payments = session.scalars(
            select(Payment).where(
                Payment.account_id == account.account_id,
                Payment.invoice_id == owed.invoice_id,
            )
        ).all()
    assert [(p.amount, p.currency, p.origin.value) for p in payments] == [(270, "GBP", "STRIPE")]
    assert watched.csp_violations() == []
    assert [m.text for m in watched.console_errors] == []


def test_a_declined_card_says_so_and_leaves_the_invoice_unpaid(
    app: FastAPI,
    api: ApiClient,
    account: Credentials,
    localstripe: LocalStripe,
    live_server: LiveServer,  # noqa: F811
    watched: Watched,
) -> None:
    connect_stripe(api)
    owed = owed_invoice(app, api, account, "Declined Payer")
    page = watched.page
    page.goto(live_server.url + owed.page)
    _type_card(page, CARD_DECLINED)
    page.get_by_role("button", name="Pay £270.00").click()

    expect(page.locator(".pay-status")).to_contain_text("declined")
    expect(page.locator(".pay-status")).to_have_attribute("data-kind", "error")
    expect(page.get_by_role("button", name="Pay £270.00")).to_be_enabled()
    assert ok(api.get(f"/api/invoices/{owed.invoice_id}"))["paymentStatus"] == "UNPAID"
    page.reload()
    expect(page.locator(".invoice-status")).to_have_text("Outstanding")
    assert watched.csp_violations() == []
    # The only error the browser logs is Stripe's answer to the declined card (an HTTP 402
    # from localstripe, as Stripe answers it); nothing from the portal's own pages or calls.
    others = [
        m.text
        for m in watched.console_errors
        if not m.location.get("url", "").startswith(localstripe.url)
    ]
    assert others == []
