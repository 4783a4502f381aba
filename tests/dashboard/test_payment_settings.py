"""The dashboard's Payments settings: connecting Stripe (the keys stored as the API stores
them, never shown again), disconnecting it, and the collection settings saved as
`PUT /api/stripe/collections/settings/{id}` and `PUT /api/payments/settings/{id}` save them,
through real HTTP to the app."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tests.dashboard.helpers import page_token
from tests.support.api_client import ApiClient

PAYMENTS = "/dashboard/settings/payments"
SECRET = "sk_test_dashboard_secret_9876"
WEBHOOK_SECRET = "whsec_dashboard_signing"
SETTINGS_FORM = {
    "enableAutomaticPayments": "true",
    "retryAnchor": "DUE_DATE",
    "retryOffsetDays": "1, 5, 10",
    "customerNotifications": "true",
}


def post(dashboard: TestClient, path: str, **data: str) -> Any:
    return dashboard.post(path, data={"csrf_token": page_token(dashboard, PAYMENTS), **data})


def connection(api: ApiClient) -> dict[str, Any]:
    answer = api.get("/api/payment-providers/stripe")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_connecting_stripe_shows_the_key_hint_and_the_webhook_url_never_the_secrets(
    dashboard: TestClient, api: ApiClient, account: Credentials
) -> None:
    page = dashboard.get(PAYMENTS)
    assert page.status_code == 200
    assert '<a href="/dashboard/settings/payments" aria-current="page">Payments</a>' in page.text
    assert "Not connected." in page.text
    assert f"/webhooks/stripe/{account.account_id}" in page.text

    keys = {"secretKey": SECRET, "webhookSecret": WEBHOOK_SECRET, "publishableKey": "pk_test_dash"}
    answer = post(dashboard, f"{PAYMENTS}/stripe", **keys)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{PAYMENTS}?saved=connected"
    stored = connection(api)
    assert stored["connected"] is True and stored["secretKeyHint"] == "9876"
    assert stored["hasWebhookSecret"] is True and stored["publishableKey"] == "pk_test_dash"

    page = dashboard.get(answer.headers["location"])
    assert "Stripe connected." in page.text and "<code>9876</code>" in page.text
    assert f"/webhooks/stripe/{account.account_id}" in page.text
    assert SECRET not in page.text and WEBHOOK_SECRET not in page.text

    answer = post(dashboard, f"{PAYMENTS}/stripe/disconnect")
    assert answer.status_code == 303
    assert connection(api)["connected"] is False
    page = dashboard.get(answer.headers["location"])
    assert "Stripe disconnected" in page.text and "Not connected." in page.text
    log = api.get("/api/activity-logs").json()["items"]
    verbs = [item["verb"] for entry in log for item in entry["activityLogItems"]]
    assert verbs[:2] == ["DISCONNECTED", "CONNECTED"]


def test_malformed_keys_are_refused_and_not_shown_again(
    dashboard: TestClient, api: ApiClient
) -> None:
    answer = post(
        dashboard, f"{PAYMENTS}/stripe", secretKey="pk_live_wrong_kind_1", webhookSecret=""
    )
    assert answer.status_code == 422
    assert 'id="secretKey-error"' in answer.text
    assert "pk_live_wrong_kind_1" not in answer.text
    assert connection(api)["connected"] is False


def test_collection_settings_save_what_the_api_answers(
    dashboard: TestClient, api: ApiClient
) -> None:
    answer = post(dashboard, PAYMENTS, **SETTINGS_FORM)
    assert answer.status_code == 303
    stripe = api.get("/api/stripe/collections/settings").json()
    assert stripe["enableAutomaticPayments"] is True
    assert stripe["autoEnableStripePayments"] is False  # unticked
    assert (stripe["retryAnchor"], stripe["retryOffsetDays"]) == ("DUE_DATE", [1, 5, 10])
    notifications = api.get("/api/payments/settings").json()["failureNotifications"]
    assert notifications == {
        "merchantNotifications": "DO_NOT_SEND_NOTIFICATIONS",
        "customerNotifications": "SEND_NOTIFICATIONS",
    }
    page = dashboard.get(answer.headers["location"])
    assert "Payment settings saved." in page.text
    assert 'value="1, 5, 10"' in page.text
    assert 'id="enableAutomaticPayments" name="enableAutomaticPayments" value="true" checked' in (
        page.text
    )
    assert '<option value="DUE_DATE" selected>' in page.text


@pytest.mark.parametrize("days", ["7, 3", "3, 400", "3.5", "three", "-1"])
def test_bad_retry_days_save_nothing(dashboard: TestClient, api: ApiClient, days: str) -> None:
    before = api.get("/api/stripe/collections/settings").json()
    answer = post(dashboard, PAYMENTS, **{**SETTINGS_FORM, "retryOffsetDays": days})
    assert answer.status_code == 422
    assert 'id="retryOffsetDays-error"' in answer.text
    assert api.get("/api/stripe/collections/settings").json() == before
    assert (
        api.get("/api/payments/settings").json()["failureNotifications"]["merchantNotifications"]
        == "SEND_NOTIFICATIONS"
    )


def test_a_form_without_the_csrf_token_is_refused(dashboard: TestClient, api: ApiClient) -> None:
    answer = dashboard.post(f"{PAYMENTS}/stripe", data={"secretKey": SECRET})
    assert answer.status_code == 403
    assert connection(api)["connected"] is False


def test_the_page_shows_the_signed_in_accounts_connection_only(
    dashboard: TestClient, other_api: ApiClient
) -> None:
    other_api.put("/api/payment-providers/stripe", json={"secretKey": "sk_test_theirs_5555"})
    page = dashboard.get(PAYMENTS)
    assert "Not connected." in page.text and "5555" not in page.text
