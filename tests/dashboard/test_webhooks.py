"""Webhook settings from the dashboard: notification policies of both channels created by the
API's `PolicyIn` and service, their recipients and event types edited as the API edits them.
Another account's policy is a 404; a form without the session's CSRF token changes nothing.
(The delivery log and deleting: test_webhooks_log.py.)"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tally.notifications.events import NotificationType
from tests.dashboard.webhooks_helpers import (
    WEBHOOKS,
    create,
    error_of,
    policies,
    policy,
    policy_form,
    post,
)
from tests.notifications.webhook_support import webhook_policy
from tests.support.api_client import ApiClient

# --- creating --------------------------------------------------------------------------------


def test_create_a_webhook_policy_and_see_its_signing_secret(
    dashboard: TestClient, api: ApiClient
) -> None:
    form = dashboard.get(f"{WEBHOOKS}/new")
    assert form.status_code == 200
    assert "New notification policy" in form.text
    for notification_type in NotificationType:  # one checkbox per type
        assert f'name="notification_type.{notification_type.value}"' in form.text

    policy_id = create(
        dashboard,
        **{"notification_type.INVOICE_ISSUED": "on", "notification_type.CUSTOMER_CREATED": "on"},
    )

    shown = policy(api, policy_id)  # what the API answers for it
    assert shown["name"] == "Billing system" and shown["channel"] == "WEBHOOK"
    assert shown["recipients"] == [
        "https://hooks.example.com/tally",
        "https://backup.example.com/in",
    ]
    assert shown["notificationTypes"] == ["INVOICE_ISSUED", "CUSTOMER_CREATED"]  # as posted
    secret = shown["webhookSecret"]
    assert secret.startswith("whsec_")

    page = dashboard.get(f"{WEBHOOKS}/{policy_id}?done=created")
    assert page.status_code == 200
    assert "Policy created." in page.text
    assert f'<code id="webhook-secret" class="copyable">{secret}</code>' in page.text
    assert 'data-recipient="https://backup.example.com/in"' in page.text
    assert 'data-type="INVOICE_ISSUED"' in page.text and 'data-type="CUSTOMER_CREATED"' in page.text
    assert "Nothing sent yet" in page.text  # the delivery log, empty

    listing = dashboard.get(WEBHOOKS)
    assert listing.status_code == 200
    assert '<h1 class="page-title">Webhooks and notifications</h1>' in listing.text
    assert 'href="/dashboard/settings/webhooks" aria-current="page">Webhooks<' in listing.text
    assert f'href="{WEBHOOKS}/{policy_id}">Billing system</a>' in listing.text
    assert "Invoice issued, Customer created" in listing.text


def test_a_given_secret_is_kept(dashboard: TestClient, api: ApiClient) -> None:
    policy_id = create(dashboard, webhook_secret="whsec_ours_and_nobody_elses")
    assert policy(api, policy_id)["webhookSecret"] == "whsec_ours_and_nobody_elses"
    assert policy(api, policy_id)["notificationTypes"] == []  # none ticked: every type


def test_create_an_email_policy(dashboard: TestClient, api: ApiClient) -> None:
    policy_id = create(
        dashboard,
        name="Finance team",
        channel="EMAIL",
        recipients="finance@example.com\nCFO@Example.COM",
    )
    shown = policy(api, policy_id)
    assert shown["channel"] == "EMAIL" and "webhookSecret" not in shown
    assert shown["recipients"] == ["finance@example.com", "CFO@example.com"]  # normalized
    assert shown["notificationTypes"] == []

    page = dashboard.get(f"{WEBHOOKS}/{policy_id}")
    assert "All events" in page.text
    assert "webhook-secret" not in page.text and "Delivery log" not in page.text
    listing = dashboard.get(WEBHOOKS)
    row = listing.text.split(f'data-policy="{policy_id}"')[1].split("</tr>")[0]
    assert "Email" in row and "All events" in row and "CFO@example.com" in row


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"recipients": "ftp://files.example.com/in"}, "recipients", "is not an http or https URL"),
        ({"recipients": "https://"}, "recipients", "is not an http or https URL"),
        (
            {"channel": "EMAIL", "recipients": "finance at example.com"},
            "recipients",
            "is not an email address",
        ),
        ({"name": "  "}, "name", "Name: fill this in"),
        ({"channel": "SMS"}, "channel", "Channel: choose one of WEBHOOK or EMAIL"),
        (
            {"channel": "EMAIL", "recipients": "a@example.com", "webhook_secret": "whsec_x"},
            "webhook_secret",
            "only WEBHOOK policies sign",
        ),
        ({"notification_type.INVOICE_PAID_IN_GOLD": "on"}, "notification_types", "INVOICE_ISSUED"),
    ],
)
def test_the_apis_validation_shows_next_to_the_field_and_nothing_is_created(
    dashboard: TestClient, api: ApiClient, fields: dict[str, str], field: str, message: str
) -> None:
    answer = post(dashboard, WEBHOOKS, policy_form(**fields))
    assert answer.status_code == 422
    assert "Nothing was saved" in answer.text
    assert message in error_of(answer.text, field)
    assert 'aria-invalid="true"' in answer.text or field == "notification_types"
    if fields.get("name") is None:  # what was typed is kept
        assert 'value="Billing system"' in answer.text
    assert policies(api) == []


def test_the_list_shows_only_this_accounts_policies(
    dashboard: TestClient, api: ApiClient, other_api: ApiClient
) -> None:
    mine = webhook_policy(api, "https://hooks.example.com/mine", name="Our hooks")
    theirs = webhook_policy(other_api, "https://hooks.example.com/theirs", name="Their hooks")
    listing = dashboard.get(WEBHOOKS)
    assert f'data-policy="{mine["id"]}"' in listing.text and "Our hooks" in listing.text
    assert theirs["id"] not in listing.text and "Their hooks" not in listing.text


# --- editing ---------------------------------------------------------------------------------


def test_add_and_remove_recipients(dashboard: TestClient, api: ApiClient) -> None:
    policy_id = create(dashboard, recipients="https://hooks.example.com/a")
    path = f"{WEBHOOKS}/{policy_id}/recipients"

    added = post(dashboard, path, {"recipients": "https://hooks.example.com/b?x=1\nhttp://c.test"})
    assert added.status_code == 303
    assert added.headers["location"] == f"{WEBHOOKS}/{policy_id}?done=recipients-added"
    expected = ["https://hooks.example.com/a", "https://hooks.example.com/b?x=1", "http://c.test"]
    assert policy(api, policy_id)["recipients"] == expected

    refused = post(dashboard, path, {"recipients": "http://d.test\nmailto:someone@example.com"})
    assert refused.status_code == 422
    assert "is not an http or https URL" in error_of(refused.text, "recipients")
    assert "mailto:someone@example.com</textarea>" in refused.text  # kept to correct
    empty = post(dashboard, path, {"recipients": "  \n"})
    assert empty.status_code == 422
    assert "Recipients: add at least 1" in error_of(empty.text, "recipients")
    assert policy(api, policy_id)["recipients"] == expected  # nothing changed

    removed = post(dashboard, f"{path}/remove", {"recipient": "https://hooks.example.com/b?x=1"})
    assert removed.status_code == 303
    assert policy(api, policy_id)["recipients"] == [expected[0], expected[2]]
    page = dashboard.get(removed.headers["location"])
    assert "Recipient removed" in page.text and "b?x=1" not in page.text

    stale = post(dashboard, f"{path}/remove", {"recipient": "https://hooks.example.com/b?x=1"})
    assert stale.status_code == 409
    assert "is not a recipient" in stale.text
    assert policy(api, policy_id)["recipients"] == [expected[0], expected[2]]


def test_add_and_remove_event_types(dashboard: TestClient, api: ApiClient) -> None:
    policy_id = create(dashboard, **{"notification_type.INVOICE_ISSUED": "on"})
    path = f"{WEBHOOKS}/{policy_id}/notification-types"
    page = dashboard.get(f"{WEBHOOKS}/{policy_id}")
    assert 'name="notification_type.INVOICE_ISSUED"' not in page.text  # listed already
    assert 'name="notification_type.CREDIT_NOTE_ISSUED"' in page.text

    added = post(
        dashboard,
        path,
        {"notification_type.CREDIT_NOTE_ISSUED": "on", "notification_type.INVOICE_UPDATED": "on"},
    )
    assert added.status_code == 303
    expected = ["INVOICE_ISSUED", "CREDIT_NOTE_ISSUED", "INVOICE_UPDATED"]
    assert policy(api, policy_id)["notificationTypes"] == expected

    nothing = post(dashboard, path, {})
    assert nothing.status_code == 422
    assert "Notification types: add at least 1" in error_of(nothing.text, "notification_types")
    gold = post(dashboard, f"{path}/remove", {"notification_type": "INVOICE_PAID_IN_GOLD"})
    assert gold.status_code == 422 and "INVOICE_ISSUED" in gold.text
    assert policy(api, policy_id)["notificationTypes"] == expected

    for notification_type in ("INVOICE_ISSUED", "INVOICE_UPDATED"):
        removed = post(dashboard, f"{path}/remove", {"notification_type": notification_type})
        assert removed.status_code == 303
    assert policy(api, policy_id)["notificationTypes"] == ["CREDIT_NOTE_ISSUED"]

    last = post(dashboard, f"{path}/remove", {"notification_type": "CREDIT_NOTE_ISSUED"})
    assert last.status_code == 409
    assert "delete the policy instead" in last.text
    assert policy(api, policy_id)["notificationTypes"] == ["CREDIT_NOTE_ISSUED"]


def test_a_policy_of_every_type_stops_one_and_lists_the_others(
    dashboard: TestClient, api: ApiClient
) -> None:
    policy_id = create(dashboard)
    removed = post(
        dashboard,
        f"{WEBHOOKS}/{policy_id}/notification-types/remove",
        {"notification_type": "CUSTOMER_UPDATED"},
    )
    assert removed.status_code == 303
    listed = policy(api, policy_id)["notificationTypes"]
    assert listed == [t.value for t in NotificationType if t.value != "CUSTOMER_UPDATED"]


# --- tenants, CSRF, signing in ---------------------------------------------------------------


def test_another_accounts_policy_is_not_found(dashboard: TestClient, other_api: ApiClient) -> None:
    theirs = webhook_policy(other_api, "https://hooks.example.com/theirs", "INVOICE_ISSUED")
    base = f"{WEBHOOKS}/{theirs['id']}"
    assert dashboard.get(base).status_code == 404
    assert dashboard.get(f"{base}/delete").status_code == 404
    for path, data in (
        (f"{base}/recipients", {"recipients": "https://evil.example.com/"}),
        (f"{base}/recipients/remove", {"recipient": "https://hooks.example.com/theirs"}),
        (f"{base}/notification-types", {"notification_type.CUSTOMER_CREATED": "on"}),
        (f"{base}/notification-types/remove", {"notification_type": "INVOICE_ISSUED"}),
        (f"{base}/recipients", {"recipients": "not even a URL"}),  # 404 before validation
        (f"{base}/delete", {}),
    ):
        answer = post(dashboard, path, data)
        assert answer.status_code == 404, path
        assert "belongs to another account" in answer.text
    assert policy(other_api, theirs["id"]) == theirs


def test_a_post_without_the_csrf_token_is_refused(dashboard: TestClient, api: ApiClient) -> None:
    answer = dashboard.post(WEBHOOKS, data=policy_form())
    assert answer.status_code == 403
    assert policies(api) == []

    mine = webhook_policy(api, "https://hooks.example.com/a", "INVOICE_ISSUED")
    base = f"{WEBHOOKS}/{mine['id']}"
    for path, data in (
        (f"{base}/recipients", {"recipients": "https://hooks.example.com/b"}),
        (f"{base}/recipients/remove", {"recipient": "https://hooks.example.com/a"}),
        (f"{base}/notification-types", {"notification_type.CUSTOMER_CREATED": "on"}),
        (f"{base}/delete", {}),
        (f"{base}/delete", {"csrf_token": "forged"}),
    ):
        assert dashboard.post(path, data=data).status_code == 403, path
    assert policy(api, mine["id"]) == mine


def test_signed_out_visitors_go_to_sign_in(visitor: TestClient) -> None:
    answer = visitor.get(WEBHOOKS)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/dashboard/sign-in?next={WEBHOOKS}"
