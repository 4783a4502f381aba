"""Automatic collection in the dashboard: the invoice page's Collection section (dunning
state, attempts, next retry) with pause and resume, and pause and resume on the customer
page, through the API's own services. Another account's invoice or customer is a 404; a
form without the session's CSRF token changes nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tally.db import Database
from tally.payments.collection import collect_due
from tally.settings import Settings
from tests.dashboard.helpers import page_token
from tests.factories import new_customer
from tests.payments.collecting import DECLINING_CARD
from tests.payments.collecting import Merchant as Payments
from tests.support.api_client import ApiClient
from tests.support.localstripe import LocalStripe


@pytest.fixture
def payments(
    api: ApiClient,
    database: Database,
    settings: Settings,
    localstripe: LocalStripe,
    account: Credentials,
) -> Payments:
    return Payments(api, database, settings, localstripe, account.account_id)


def post(dashboard: TestClient, path: str) -> object:
    token = page_token(dashboard, "/dashboard/invoices")
    return dashboard.post(path, data={"csrf_token": token}, follow_redirects=False)


def _failed_once(payments: Payments) -> tuple[str, str]:
    """An invoice whose first automatic charge was declined: (invoice id, customer id)."""
    payments.connect()
    customer = payments.customer()
    payments.save_card(customer, DECLINING_CARD)
    invoice_id = payments.finalized(customer)
    today = payments.issue_date(invoice_id)
    report = collect_due(
        payments.database, payments.settings, account_id=payments.account_id, today=today
    )
    assert report.failed == [invoice_id]
    return invoice_id, customer["id"]


def test_the_invoice_page_shows_its_dunning_and_pauses_and_resumes_it(
    dashboard: TestClient, payments: Payments
) -> None:
    invoice_id, _ = _failed_once(payments)
    retry = payments.collection(invoice_id)["nextAttemptOn"]
    page = dashboard.get(f"/dashboard/invoices/{invoice_id}")
    assert page.status_code == 200
    assert '<h2 id="collection-title">Collection</h2>' in page.text
    assert '<span class="badge" id="dunning-status">Scheduled</span>' in page.text
    day = date.fromisoformat(retry)  # the account's locale (en_GB): "9 Dec 2026"
    assert f'<dd id="next-attempt">{day.day} {day:%b %Y}</dd>' in page.text
    assert "Failed: Your card was declined." in page.text
    assert "Pause collection" in page.text and 'id="dunning-paused"' not in page.text

    # Without the session's CSRF token: refused, nothing paused.
    refused = dashboard.post(f"/dashboard/invoices/{invoice_id}/collection/pause", data={})
    assert refused.status_code == 403
    assert payments.collection(invoice_id)["paused"] is False

    paused = post(dashboard, f"/dashboard/invoices/{invoice_id}/collection/pause")
    assert paused.status_code == 303  # type: ignore[attr-defined]
    page = dashboard.get(paused.headers["location"])  # type: ignore[attr-defined]
    assert "Automatic collection paused" in page.text
    assert 'id="dunning-paused">Paused</span>' in page.text and "Resume collection" in page.text
    assert payments.collection(invoice_id)["paused"] is True

    resumed = post(dashboard, f"/dashboard/invoices/{invoice_id}/collection/resume")
    assert resumed.status_code == 303  # type: ignore[attr-defined]
    assert payments.collection(invoice_id)["paused"] is False
    page = dashboard.get(f"/dashboard/invoices/{invoice_id}")
    assert "Automatic collection paused" in page.text  # the activity log's entry
    assert "Automatic collection resumed" in page.text


def test_an_invoice_not_collected_says_so_and_refuses_a_pause(
    dashboard: TestClient, payments: Payments
) -> None:
    payments.connect()
    invoice_id = payments.finalized(payments.customer())
    page = dashboard.get(f"/dashboard/invoices/{invoice_id}")
    assert "Not collected automatically." in page.text
    assert "Pause collection" not in page.text
    refused = post(dashboard, f"/dashboard/invoices/{invoice_id}/collection/pause")
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "is not collected automatically" in refused.text  # type: ignore[attr-defined]


def test_the_customer_page_pauses_and_resumes_their_collection(
    dashboard: TestClient, payments: Payments
) -> None:
    invoice_id, customer_id = _failed_once(payments)
    page = dashboard.get(f"/dashboard/customers/{customer_id}")
    assert "Automatic collection</h2>" in page.text and "Pause collection" in page.text

    paused = post(dashboard, f"/dashboard/customers/{customer_id}/collection/pause")
    assert paused.status_code == 303  # type: ignore[attr-defined]
    page = dashboard.get(paused.headers["location"])  # type: ignore[attr-defined]
    assert "Paused since" in page.text and "Resume collection" in page.text
    assert payments.api.get(f"/api/customers/{customer_id}/collection").json()["paused"] is True
    # The invoice is not charged while its customer is paused, and its page says why.
    retry = payments.issue_date(invoice_id) + timedelta(days=3)
    report = collect_due(
        payments.database, payments.settings, account_id=payments.account_id, today=retry
    )
    assert report.failed == [] and len(payments.intents(invoice_id)) == 1
    invoice_page = dashboard.get(f"/dashboard/invoices/{invoice_id}")
    assert "invoices is paused (since" in invoice_page.text

    resumed = post(dashboard, f"/dashboard/customers/{customer_id}/collection/resume")
    assert resumed.status_code == 303  # type: ignore[attr-defined]
    answer = payments.api.get(f"/api/customers/{customer_id}/collection").json()
    assert answer["paused"] is False


def test_another_accounts_invoice_and_customer_are_not_found(
    dashboard: TestClient, other_api: ApiClient
) -> None:
    customer = new_customer(other_api, "Somebody Else Ltd")
    for path in (
        f"/dashboard/customers/{customer['id']}/collection/pause",
        f"/dashboard/customers/{customer['id']}/collection/resume",
        "/dashboard/invoices/nobody/collection/pause",
    ):
        assert post(dashboard, path).status_code == 404, path  # type: ignore[attr-defined]
