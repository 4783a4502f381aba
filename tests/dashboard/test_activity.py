"""The activity log on the dashboard: the customer's and the invoice's pages list their newest
entries (who, when, what, the changed fields), escaped; what the dashboard does is logged as
the signed-in user, from the DASHBOARD."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tally.dashboard.activity import recent
from tally.db import Database
from tally.models import ApiKey
from tests.dashboard.helpers import Merchant, page_token
from tests.factories import customer_body, new_customer
from tests.invoices.helpers import counting_statements, insert_invoice
from tests.support.api_client import ApiClient

CUSTOMERS = "/dashboard/customers"
INVOICES = "/dashboard/invoices"


def _activity(page: str) -> str:
    """The page's Activity section."""
    found = re.search(r'<section class="card" id="activity">(.*?)</section>', page, re.S)
    assert found, "the page has no Activity section"
    return found.group(1)


def _entries(section: str) -> list[str]:
    return re.findall(
        r'<li class="activity-entry">(.*?)</li>\s*(?=<li class="activity-entry">|</ol>)',
        section,
        re.S,
    )


def _names(section: str) -> list[str]:
    return re.findall(r'<p class="activity-head"><strong>([^<]*)</strong>', section)


def _post(dashboard: TestClient, path: str, **data: str) -> Any:
    token = page_token(dashboard, INVOICES)
    return dashboard.post(path, data={"csrf_token": token, **data})


def test_the_invoice_and_customer_pages_show_who_did_what(
    dashboard: TestClient, api: ApiClient, database: Database, merchant: Merchant
) -> None:
    customer = new_customer(api, "Acme <Rockets> Ltd")
    renamed = api.put(
        f"/api/customers/{customer['id']}",
        json=customer_body(legalName="Acme & <Sons> Ltd"),
    )
    assert renamed.status_code == 200, renamed.text
    invoice_id = insert_invoice(database, merchant.account.account_id, customer)
    assert api.post(f"/api/invoices/{invoice_id}/finalize").status_code == 200
    voided = _post(dashboard, f"{INVOICES}/{invoice_id}/void")
    assert voided.status_code == 303, voided.text

    invoice_page = dashboard.get(f"{INVOICES}/{invoice_id}")
    assert invoice_page.status_code == 200
    section = _activity(invoice_page.text)
    assert _names(section) == ["Invoice voided", "Invoice finalized"]  # newest first
    voided_entry, finalized_entry = _entries(section)
    assert merchant.email in voided_entry
    assert "API key default" in finalized_entry
    assert "<code>status</code>: Final &rarr; Voided" in voided_entry
    assert "<code>balance</code>: 270.00 &rarr; 0.00" in voided_entry
    assert "Customer updated" not in section  # the customer's own entries stay on its page

    customer_page = dashboard.get(f"{CUSTOMERS}/{customer['id']}")
    assert customer_page.status_code == 200
    section = _activity(customer_page.text)
    assert _names(section) == ["Invoice voided", "Invoice finalized", "Customer updated"]
    updated = _entries(section)[-1]
    assert "API key default" in updated
    # Escaped: the names are text, never markup.
    assert "Acme &lt;Rockets&gt; Ltd &rarr; Acme &amp; &lt;Sons&gt; Ltd" in updated
    assert "<Sons>" not in customer_page.text


def test_a_dashboard_action_is_logged_as_the_signed_in_user(
    dashboard: TestClient, api: ApiClient, database: Database, merchant: Merchant
) -> None:
    customer = new_customer(api, "Leaving Ltd")
    draft = insert_invoice(database, merchant.account.account_id, customer)
    token = page_token(dashboard, f"{CUSTOMERS}/{customer['id']}/archive")
    archived = dashboard.post(f"{CUSTOMERS}/{customer['id']}/archive", data={"csrf_token": token})
    assert archived.status_code == 303

    logs = api.get("/api/activity-logs", params={"limit": "100"}).json()["items"]
    by_object = {log["activityLogItems"][0]["activityLogObject"]["id"]: log for log in logs}
    for object_id in (customer["id"], draft):
        log = by_object[object_id]
        assert log["origin"] == "DASHBOARD"
        actor = log["activityLogItems"][0]["activityLogActor"]
        assert actor == {
            "id": merchant.user_id,
            "entityType": "USER",
            "entityId": merchant.user_id,
            "email": merchant.email,
        }
    page = dashboard.get(f"{CUSTOMERS}/{customer['id']}").text
    assert _names(_activity(page)) == ["Invoice voided", "Customer archived"]


def test_the_section_shows_the_newest_twenty(dashboard: TestClient, api: ApiClient) -> None:
    customer = new_customer(api, "Busy Ltd")
    for number in range(22):
        body = customer_body(legalName=f"Busy {number} Ltd")
        assert api.put(f"/api/customers/{customer['id']}", json=body).status_code == 200
    section = _activity(dashboard.get(f"{CUSTOMERS}/{customer['id']}").text)
    entries = _entries(section)
    assert len(entries) == 20
    assert "Busy 20 Ltd &rarr; Busy 21 Ltd" in entries[0]
    assert "Busy 1 Ltd &rarr; Busy 2 Ltd" in entries[-1]


def test_nothing_recorded_yet(dashboard: TestClient, api: ApiClient) -> None:
    customer = new_customer(api, "Quiet Ltd")
    section = _activity(dashboard.get(f"{CUSTOMERS}/{customer['id']}").text)
    assert "Nothing recorded yet:" in section


def test_api_keys_and_passwords_are_logged_without_their_secrets(
    dashboard: TestClient, api: ApiClient, database: Database, merchant: Merchant
) -> None:
    made = dashboard.post(
        "/dashboard/api-keys", data={"name": "Billing sync", "csrf_token": page_token(dashboard)}
    )
    assert made.status_code == 201
    secret = re.search(r'id="api-secret">(tsk_[^<]+)<', made.text)
    assert secret
    with database.session(write=False) as session:
        key_id = session.scalar(
            select(ApiKey.id).where(
                ApiKey.account_id == merchant.account.account_id, ApiKey.name == "Billing sync"
            )
        )
    token = page_token(dashboard, "/dashboard/api-keys")
    revoked = dashboard.post(f"/dashboard/api-keys/{key_id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    new = "a brand new passphrase"
    form = {"current_password": merchant.password, "new_password": new, "confirm_password": new}
    token = page_token(dashboard, "/dashboard/password")
    wrong = dashboard.post(
        "/dashboard/password", data={**form, "current_password": "nope", "csrf_token": token}
    )
    assert wrong.status_code == 422
    changed = dashboard.post("/dashboard/password", data={**form, "csrf_token": token})
    assert changed.status_code == 200

    answer = api.get("/api/activity-logs", params={"limit": "100"})
    logs = [log["activityLogItems"][0] for log in reversed(answer.json()["items"])]  # oldest first
    assert [(item["verb"], item["activityLogObject"]["entityType"]) for item in logs] == [
        ("CREATED", "API_KEY"),
        ("REVOKED", "API_KEY"),
        ("PASSWORD_CHANGED", "USER"),  # once: the refused change logged nothing
    ]
    assert {item["activityLogActor"]["email"] for item in logs} == {merchant.email}
    assert logs[0]["activityLogObject"]["id"] == key_id
    assert logs[2]["activityLogObject"]["id"] == merchant.user_id
    assert secret.group(1) not in answer.text and new not in answer.text


def test_the_section_is_read_in_one_query(
    api: ApiClient, database: Database, merchant: Merchant
) -> None:
    customer = new_customer(api, "Busy Ltd")
    for number in range(5):
        body = customer_body(legalName=f"Busy {number} Ltd")
        assert api.put(f"/api/customers/{customer['id']}", json=body).status_code == 200
    with database.session(write=False) as session, counting_statements(database) as statements:
        rows = recent(session, merchant.account.account_id, customer["id"])
    assert len(rows) == 5
    assert rows[0].who == "API key default"
    assert len([sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]) == 1
