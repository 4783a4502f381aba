"""A webhook policy's delivery log on its dashboard page (deliveries sent for real to a local
receiver by `deliver_due`, shown as the API's log shows them: newest first, paged, filtered
by status), and deleting a policy after a confirmation saying its pending deliveries stop."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tally.db import Database
from tally.notifications.webhooks import deliver_due
from tally.settings import Settings
from tests.dashboard.webhooks_helpers import WEBHOOKS, create, policy, post
from tests.factories import new_customer_id
from tests.notifications.webhook_support import (
    Receiver,
    deliveries,
    receivers,  # noqa: F401 - the fixture
    start,
)
from tests.support.api_client import ApiClient


@pytest.fixture
def hooks(settings: Settings) -> Settings:
    """Quick to give up on a silent receiver."""
    return settings.model_copy(update={"webhook_timeout_seconds": 2.0})


# --- the delivery log ------------------------------------------------------------------------


def test_the_delivery_log_shows_what_was_sent_and_filters_by_status(
    dashboard: TestClient,
    api: ApiClient,
    database: Database,
    hooks: Settings,
    receivers: list[Receiver],  # noqa: F811
) -> None:
    receiver = start(receivers, statuses=[500])  # the first attempt fails, then 200s
    policy_id = create(
        dashboard, recipients=receiver.url, **{"notification_type.CUSTOMER_CREATED": "on"}
    )
    customers = {new_customer_id(api, "Acme Rockets Ltd"), new_customer_id(api, "Hooli")}
    deliver_due(database, hooks)

    logged = deliveries(api, policy_id)
    assert sorted(d["status"] for d in logged) == ["DELIVERED", "PENDING"]
    assert {d["resourceId"] for d in logged} == customers
    failed = next(d for d in logged if d["status"] == "PENDING")
    delivered = next(d for d in logged if d["status"] == "DELIVERED")

    page = dashboard.get(f"{WEBHOOKS}/{policy_id}")
    assert page.status_code == 200
    table = page.text.split('<table class="data deliveries">')[1]
    rows = re.findall(r'data-delivery="([^"]+)"', table)
    assert rows == [d["id"] for d in logged]  # the API's order: newest first
    failed_row = table.split(f'data-delivery="{failed["id"]}"')[1].split("</tr>")[0]
    assert "CUSTOMER_CREATED" in failed_row and failed["resourceId"] in failed_row
    assert receiver.url in failed_row and "Pending" in failed_row
    assert "HTTP 500" in failed_row and "answered 500" in failed_row
    assert "receiver says no" not in page.text  # the receiver's answer never shows
    assert "next " in failed_row  # when it is tried again
    delivered_row = table.split(f'data-delivery="{delivered["id"]}"')[1].split("</tr>")[0]
    assert "Delivered" in delivered_row and "HTTP 200" in delivered_row

    pending = dashboard.get(f"{WEBHOOKS}/{policy_id}", params={"status": "PENDING"})
    assert re.findall(r'data-delivery="([^"]+)"', pending.text) == [failed["id"]]
    none = dashboard.get(f"{WEBHOOKS}/{policy_id}", params={"status": "FAILED"})
    assert "No failed deliveries." in none.text and "data-delivery=" not in none.text
    assert dashboard.get(f"{WEBHOOKS}/{policy_id}", params={"status": "LOST"}).status_code == 400


def test_the_delivery_log_pages_like_the_api(
    dashboard: TestClient,
    api: ApiClient,
    receivers: list[Receiver],  # noqa: F811
) -> None:
    receiver = start(receivers)
    policy_id = create(
        dashboard, recipients=receiver.url, **{"notification_type.CUSTOMER_CREATED": "on"}
    )
    for number in range(21):
        new_customer_id(api, f"Customer {number}")
    first_api = api.get(f"/api/notifications/policies/{policy_id}/deliveries").json()

    first = dashboard.get(f"{WEBHOOKS}/{policy_id}")
    ids = re.findall(r'data-delivery="([^"]+)"', first.text)
    assert ids == [d["id"] for d in first_api["items"]] and len(ids) == 20
    assert "21 deliveries, newest first." in first.text
    older = re.search(r'href="(\?after=[^"#]+)#deliveries" rel="next"', first.text)
    assert older, first.text
    second = dashboard.get(f"{WEBHOOKS}/{policy_id}{older.group(1).replace('&amp;', '&')}")
    assert second.status_code == 200
    rest = re.findall(r'data-delivery="([^"]+)"', second.text)
    assert len(rest) == 1 and rest[0] not in ids
    assert 'rel="prev"' in second.text
    cursor = first_api["pagination"].get("after")
    assert api.get(
        f"/api/notifications/policies/{policy_id}/deliveries", params={"after": cursor}
    ).json()["items"][0]["id"] == rest[0]  # fmt: skip


# --- deleting --------------------------------------------------------------------------------


def test_delete_after_a_confirmation_stops_pending_deliveries(
    dashboard: TestClient,
    api: ApiClient,
    database: Database,
    hooks: Settings,
    receivers: list[Receiver],  # noqa: F811
) -> None:
    receiver = start(receivers)
    policy_id = create(dashboard, recipients=receiver.url)
    new_customer_id(api)  # queued for the policy, not sent yet

    confirm = dashboard.get(f"{WEBHOOKS}/{policy_id}/delete")
    assert confirm.status_code == 200
    assert "Delete the policy “Billing system”?" in confirm.text
    assert "Its 1 pending delivery stops: it is not sent." in confirm.text
    assert policy(api, policy_id)["id"] == policy_id  # asking changed nothing

    answer = post(dashboard, f"{WEBHOOKS}/{policy_id}/delete", {})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{WEBHOOKS}?done=deleted"
    assert api.get(f"/api/notifications/policies/{policy_id}").status_code == 404
    assert dashboard.get(f"{WEBHOOKS}/{policy_id}").status_code == 404
    listing = dashboard.get(answer.headers["location"])
    assert "Policy deleted" in listing.text and policy_id not in listing.text

    deliver_due(database, hooks)
    assert receiver.arrivals == []  # the pending delivery stopped
