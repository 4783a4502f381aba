"""/api/notifications/policies: Sequence's notification policy operations (answers checked
against its schema by the client), their validation, and the delivery log's paging."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from tally.db import Database
from tally.notifications.events import NotificationType
from tally.notifications.webhooks import deliver_due
from tally.settings import Settings
from tests.factories import customer_body
from tests.notifications.webhook_support import deliveries, webhook_policy
from tests.support.api_client import ApiClient
from tests.support.errors import conflict_error

URL = "http://127.0.0.1:9/hooks/a"  # the discard port: nothing listens, refused at once
OTHER_URL = "https://hooks.example.com/sequence?source=tally"

POLICIES = "/api/notifications/policies"


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refused(response: httpx.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    message: str = response.json()["error"]["message"]
    return message


def email_policy(api: ApiClient, *recipients: str, **overrides: Any) -> dict[str, Any]:
    body = {"name": "Finance team", "recipients": list(recipients), "channel": "EMAIL"}
    response = api.post(POLICIES, json={**body, **overrides})
    assert response.status_code == 201, response.text
    policy: dict[str, Any] = response.json()
    return policy


def test_create_and_read_a_webhook_policy(api: ApiClient) -> None:
    policy = webhook_policy(api, URL, "CUSTOMER_CREATED", "CUSTOMER_CREATED", "INVOICE_ISSUED")
    assert policy["name"] == "Integration webhooks"
    assert policy["channel"] == "WEBHOOK"
    assert policy["recipients"] == [URL]
    assert policy["notificationTypes"] == ["CUSTOMER_CREATED", "INVOICE_ISSUED"]
    secret = policy["webhookSecret"]
    assert secret.startswith("whsec_")
    assert len(secret) == len("whsec_") + 32
    assert ok(api.get(f"{POLICIES}/{policy['id']}")) == policy  # the secret stays readable

    own = webhook_policy(api, OTHER_URL, webhookSecret="whsec_UserSubmittedSecret1234567890abc")
    assert own["webhookSecret"] == "whsec_UserSubmittedSecret1234567890abc"
    assert own["notificationTypes"] == []  # every type
    assert webhook_policy(api, URL)["webhookSecret"] != secret


def test_email_policies_hold_addresses_and_no_secret(api: ApiClient) -> None:
    policy = email_policy(api, "finance@example.com", "Ops@Example.COM", "finance@example.com")
    assert policy["recipients"] == ["finance@example.com", "Ops@example.com"]
    assert "webhookSecret" not in policy
    message = refused(
        api.post(
            POLICIES,
            json={
                "name": "x",
                "recipients": ["a@example.com"],
                "channel": "EMAIL",
                "webhookSecret": "whsec_x",
            },
        )
    )
    assert "webhookSecret" in message


def test_recipients_must_suit_the_channel(api: ApiClient) -> None:
    for url in ("ftp://example.com/hooks", "example.com/hooks", "https://", "http://a b.com/"):
        body = {"name": "x", "recipients": [url], "channel": "WEBHOOK"}
        assert "http or https URL" in refused(api.post(POLICIES, json=body)), url
    for address in ("not-an-address", URL):
        body = {"name": "x", "recipients": [address], "channel": "EMAIL"}
        assert "email address" in refused(api.post(POLICIES, json=body)), address
    unknown = {"name": "x", "recipients": [URL], "channel": "WEBHOOK"}
    refused(api.post(POLICIES, json={**unknown, "notificationTypes": ["CUSTOMER_EATEN"]}))
    refused(api.post(POLICIES, json={**unknown, "channel": "SMS"}))
    refused(api.post(POLICIES, json={"recipients": [URL], "channel": "WEBHOOK"}))
    assert ok(api.get(POLICIES))["items"] == []  # bad input changes nothing


def test_list_and_filter_by_notification_type(api: ApiClient) -> None:
    customers = webhook_policy(api, URL, "CUSTOMER_CREATED")
    everything = webhook_policy(api, URL)
    invoices = webhook_policy(api, URL, "INVOICE_CREATED")

    listed = ok(api.get(POLICIES))
    assert [p["id"] for p in listed["items"]] == [invoices["id"], everything["id"], customers["id"]]
    assert listed["pagination"]["totalResultSize"] == 3

    def ids(notification_type: str) -> set[str]:
        page = ok(api.get(POLICIES, params={"notificationType": notification_type}))
        return {p["id"] for p in page["items"]}

    assert ids("CUSTOMER_CREATED") == {customers["id"], everything["id"]}
    assert ids("INVOICE_CREATED") == {invoices["id"], everything["id"]}
    assert ids("QUOTE_SIGNED") == {everything["id"]}
    refused(api.get(POLICIES, params={"notificationType": "NOPE"}))

    first = ok(api.get(POLICIES, params={"limit": 2}))
    assert len(first["items"]) == 2
    rest = ok(api.get(POLICIES, params={"limit": 2, "after": first["pagination"].get("after")}))
    assert [p["id"] for p in rest["items"]] == [customers["id"]]


def test_add_and_remove_notification_types(api: ApiClient) -> None:
    policy = webhook_policy(api, URL, "CUSTOMER_CREATED")
    types = f"{POLICIES}/{policy['id']}/notification-types"

    added = ok(api.post(types, json={"notificationTypes": ["INVOICE_ISSUED", "CUSTOMER_CREATED"]}))
    assert added["notificationTypes"] == ["CUSTOMER_CREATED", "INVOICE_ISSUED"]
    removed = ok(api.delete(f"{types}/CUSTOMER_CREATED"))
    assert removed["notificationTypes"] == ["INVOICE_ISSUED"]
    assert "does not receive" in refused(api.delete(f"{types}/CUSTOMER_CREATED"), 404)
    # An empty list would mean every type: the last one cannot go.
    last = api.delete(f"{types}/INVOICE_ISSUED")
    assert "delete the policy" in conflict_error(last, "LastNotificationType")["message"]
    refused(api.delete(f"{types}/NOPE"))
    refused(api.post(types, json={"notificationTypes": []}))

    everything = webhook_policy(api, URL)
    all_types = f"{POLICIES}/{everything['id']}/notification-types"
    assert (
        ok(api.post(all_types, json={"notificationTypes": ["INVOICE_ISSUED"]}))["notificationTypes"]
        == []
    )  # it receives every type already
    all_but = ok(api.delete(f"{all_types}/QUOTE_SIGNED"))["notificationTypes"]
    assert "QUOTE_SIGNED" not in all_but
    assert len(all_but) == len(NotificationType) - 1
    assert ok(api.get(f"{POLICIES}/{policy['id']}"))["notificationTypes"] == ["INVOICE_ISSUED"]


def test_add_and_remove_recipients(api: ApiClient) -> None:
    policy = webhook_policy(api, URL)
    recipients = f"{POLICIES}/{policy['id']}/recipients"

    added = ok(api.post(recipients, json={"recipients": [OTHER_URL, URL, OTHER_URL]}))
    assert added["recipients"] == [URL, OTHER_URL]
    assert "http or https URL" in refused(
        api.post(recipients, json={"recipients": ["mailto:a@example.com"]})
    )
    # A URL in a path: percent-encoded, slashes and query included.
    removed = ok(api.delete(f"{recipients}/{quote(OTHER_URL, safe='')}"))
    assert removed["recipients"] == [URL]
    assert "not a recipient" in refused(
        api.delete(f"{recipients}/{quote(OTHER_URL, safe='')}"), 404
    )

    emails = email_policy(api, "finance@example.com")
    email_recipients = f"{POLICIES}/{emails['id']}/recipients"
    both = ok(api.post(email_recipients, json={"recipients": ["ops@example.com"]}))
    assert both["recipients"] == ["finance@example.com", "ops@example.com"]
    assert ok(api.delete(f"{email_recipients}/ops@example.com"))["recipients"] == [
        "finance@example.com"
    ]
    refused(api.post(email_recipients, json={"recipients": [URL]}))


def test_delete_a_policy(api: ApiClient) -> None:
    policy = webhook_policy(api, URL)
    deleted = ok(api.delete(f"{POLICIES}/{policy['id']}"))
    assert deleted == policy
    refused(api.get(f"{POLICIES}/{policy['id']}"), 404)
    refused(api.delete(f"{POLICIES}/{policy['id']}"), 404)
    refused(api.get(f"{POLICIES}/{policy['id']}/deliveries"), 404)
    refused(api.post(f"{POLICIES}/{policy['id']}/recipients", json={"recipients": [URL]}), 404)
    assert ok(api.get(POLICIES))["items"] == []


def test_another_accounts_policies_are_not_found(api: ApiClient, other_api: ApiClient) -> None:
    theirs = webhook_policy(other_api, URL)
    assert ok(api.get(POLICIES))["items"] == []
    refused(api.get(f"{POLICIES}/{theirs['id']}"), 404)
    refused(api.delete(f"{POLICIES}/{theirs['id']}"), 404)
    refused(api.get(f"{POLICIES}/{theirs['id']}/deliveries"), 404)
    assert ok(other_api.get(f"{POLICIES}/{theirs['id']}")) == theirs


def test_the_delivery_log_pages_newest_first(
    api: ApiClient, database: Database, settings: Settings
) -> None:
    policy = webhook_policy(api, URL, "CUSTOMER_CREATED")
    for n in range(5):
        api.post("/api/customers", json=customer_body(legalName=f"Customer {n}"))
    deliver_due(database, settings.model_copy(update={"webhook_timeout_seconds": 2.0}))

    log = f"{POLICIES}/{policy['id']}/deliveries"
    first = ok(api.get(log, params={"limit": 3}))
    assert len(first["items"]) == 3
    assert first["pagination"]["totalResultSize"] == 5
    rest = ok(api.get(log, params={"limit": 3, "after": first["pagination"].get("after")}))
    every = first["items"] + rest["items"]
    assert [d["id"] for d in every] == sorted((d["id"] for d in every), reverse=True)
    assert {d["status"] for d in every} == {"PENDING"}  # nothing listens on the discard port
    assert {d["lastError"] for d in every} == {"connection refused"}
    assert all(d["attempts"] == 1 for d in every)
    assert deliveries(api, policy["id"], status="DELIVERED") == []
    refused(api.get(log, params={"status": "LOST"}))
