"""The dashboard's Customers section over HTTP: list and filters, the customer's page, create,
edit, archive and the portal link, through the same services as the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tally.db import Database
from tests.dashboard.helpers import page_token
from tests.factories import new_customer
from tests.invoices.helpers import insert_invoice
from tests.schedules.helpers import created, new_price, schedule_body
from tests.support.api_client import ApiClient

CUSTOMERS = "/dashboard/customers"


def customer(api: ApiClient, customer_id: str) -> dict[str, Any]:
    answer = api.get(f"/api/customers/{customer_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def form(token: str, **overrides: str) -> dict[str, str]:
    fields = {
        "csrf_token": token,
        "legal_name": "Northwind Traders",
        "url": "https://northwind.example",
        "label": "Enterprise",
        "telephone": "+44 20 7946 0000",
        "tax_status": "TAXED",
        "status": "ACTIVE",
        "parent_id": "",
        "address_line1": "1 Market Street",
        "address_line2": "",
        "address_town": "Leeds",
        "address_state": "",
        "address_postcode": "LS1 1AA",
        "address_country": "GB",
        "contact-0-name": "Nora Payer",
        "contact-0-email": "nora@northwind.example",
        "contact-0-billing_preference": "PRIMARY",
        "contact-1-name": "Colin Copy",
        "contact-1-email": "colin@northwind.example",
        "contact-1-billing_preference": "STANDARD",
        "aliases": "nw-001\nnorthwind",
        "integration_ids": "Stripe: cus_123",
        "custom_properties": "region=north",
    }
    fields.update(overrides)
    return fields


# --- list ------------------------------------------------------------------------------------


def test_the_list_searches_and_filters(
    dashboard: TestClient, api: ApiClient, other_api: ApiClient
) -> None:
    acme = new_customer(api, "Acme Rockets", customerAliases=["acme-1"])
    globex = new_customer(api, "Globex")
    archived = new_customer(api, "Initech")
    assert api.post(f"/api/customers/{archived['id']}/archive").status_code == 200
    theirs = new_customer(other_api, "Acme Elsewhere")
    price = new_price(api)
    created(api.post("/api/billing-schedules", json=schedule_body(globex["id"], [price])))

    page = dashboard.get(CUSTOMERS)
    assert page.status_code == 200
    assert "Acme Rockets" in page.text and "Globex" in page.text
    assert "Initech" not in page.text and theirs["id"] not in page.text
    assert 'aria-current="page">Customers' in page.text

    found = dashboard.get(CUSTOMERS, params={"name": "acme"}).text
    assert "Acme Rockets" in found and "Globex" not in found and "Acme Elsewhere" not in found
    by_alias = dashboard.get(CUSTOMERS, params={"alias": "acme-1"}).text
    assert acme["id"] in by_alias and globex["id"] not in by_alias
    by_email = dashboard.get(CUSTOMERS, params={"email": "jane@example.com"}).text
    assert acme["id"] in by_email

    with_archived = dashboard.get(CUSTOMERS, params={"archived": "1"}).text
    assert "Initech" in with_archived and "Archived" in with_archived
    scheduled = dashboard.get(CUSTOMERS, params={"schedule": "yes"}).text
    assert globex["id"] in scheduled and acme["id"] not in scheduled
    unscheduled = dashboard.get(CUSTOMERS, params={"schedule": "no"}).text
    assert acme["id"] in unscheduled and globex["id"] not in unscheduled


def test_the_list_needs_a_sign_in(visitor: TestClient) -> None:
    answer = visitor.get(CUSTOMERS)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/dashboard/sign-in")


# --- the customer's page ---------------------------------------------------------------------


def test_the_customer_page_shows_details_hierarchy_schedules_invoices_and_portal_link(
    dashboard: TestClient, api: ApiClient, database: Database, account: Credentials
) -> None:
    parent = new_customer(api, "Parent Holdings")
    child = new_customer(api, "Child Ltd", parentId=parent["id"])
    grandchild = new_customer(api, "Grandchild Ltd", parentId=child["id"])
    price = new_price(api)
    created(
        api.post(
            "/api/billing-schedules", json=schedule_body(child["id"], [price], label="Main plan")
        )
    )
    insert_invoice(database, account.account_id, child, invoice_number="INV-42")

    page = dashboard.get(f"{CUSTOMERS}/{child['id']}")
    assert page.status_code == 200
    text = page.text
    assert "Child Ltd" in text and "Jane Payer" in text and "Primary billing contact" in text
    assert "Parent Holdings" in text and "Grandchild Ltd" in text
    assert grandchild["id"] in text
    assert "Main plan" in text
    assert "INV-42" in text and "£270.00" in text
    assert customer(api, child["id"])["portalUrl"] in text


def test_another_accounts_customer_is_not_found(
    dashboard: TestClient, other_api: ApiClient
) -> None:
    theirs = new_customer(other_api, "Not yours")
    token = page_token(dashboard, CUSTOMERS)
    for path in ("", "/edit", "/archive"):
        answer = dashboard.get(f"{CUSTOMERS}/{theirs['id']}{path}")
        assert answer.status_code == 404, path
        assert "Not yours" not in answer.text
    for path in ("/edit", "/archive", "/portal-session", "/portal-link/rotate"):
        answer = dashboard.post(f"{CUSTOMERS}/{theirs['id']}{path}", data=form(token))
        assert answer.status_code == 404, path
    assert other_api.get(f"/api/customers/{theirs['id']}").json().get("archivedAt") is None
    assert other_api.get(f"/api/customers/{theirs['id']}").json()["legalName"] == "Not yours"


# --- the portal link -------------------------------------------------------------------------


def test_open_the_portal_in_a_fresh_session_and_rotate_its_link(
    dashboard: TestClient, api: ApiClient
) -> None:
    mine = new_customer(api, "Portal Ltd")
    old_link = mine["portalUrl"]
    token = page_token(dashboard, f"{CUSTOMERS}/{mine['id']}")

    opened = dashboard.post(f"{CUSTOMERS}/{mine['id']}/portal-session", data={"csrf_token": token})
    assert opened.status_code == 303
    assert opened.headers["location"].startswith("/portal/session?token=")
    portal = dashboard.get(opened.headers["location"])
    assert portal.status_code == 303  # the token is exchanged for the portal's cookie

    rotated = dashboard.post(
        f"{CUSTOMERS}/{mine['id']}/portal-link/rotate", data={"csrf_token": token}
    )
    assert rotated.status_code == 303
    assert rotated.headers["location"] == f"{CUSTOMERS}/{mine['id']}?done=rotated"
    new_link = customer(api, mine["id"])["portalUrl"]
    assert new_link != old_link
    page = dashboard.get(rotated.headers["location"]).text
    assert new_link in page and old_link not in page and "Portal link rotated" in page


def test_posts_without_the_csrf_token_are_refused(dashboard: TestClient, api: ApiClient) -> None:
    mine = new_customer(api, "Guarded Ltd")
    before = customer(api, mine["id"])
    for path in (
        "/new",
        f"/{mine['id']}/edit",
        f"/{mine['id']}/archive",
        f"/{mine['id']}/portal-session",
        f"/{mine['id']}/portal-link/rotate",
    ):
        answer = dashboard.post(f"{CUSTOMERS}{path}", data=form("wrong"))
        assert answer.status_code == 403, path
    after = customer(api, mine["id"])
    assert after == before
    listed = api.get("/api/customers", params={"legalName": "Northwind"}).json()
    assert listed["items"] == []


# --- create and edit -------------------------------------------------------------------------


def test_create_a_customer_with_every_field(dashboard: TestClient, api: ApiClient) -> None:
    parent = new_customer(api, "Northwind Group")
    new_form = dashboard.get(f"{CUSTOMERS}/new")
    assert new_form.status_code == 200
    assert parent["id"] in new_form.text  # the Parent dropdown
    token = page_token(dashboard, f"{CUSTOMERS}/new")

    answer = dashboard.post(f"{CUSTOMERS}/new", data=form(token, parent_id=parent["id"]))
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    customer_id = location.removeprefix(f"{CUSTOMERS}/").split("?")[0]
    made = customer(api, customer_id)
    assert made["legalName"] == "Northwind Traders"
    assert made["url"] == "https://northwind.example" and made["label"] == "Enterprise"
    assert made["telephone"] == "+44 20 7946 0000"
    assert made["address"]["town"] == "Leeds" and made["address"]["country"] == "GB"
    assert made["parentId"] == parent["id"]
    assert made["email"] == "nora@northwind.example"
    assert made["billingEmails"] == ["colin@northwind.example"]
    assert sorted(made["customerAliases"]) == ["northwind", "nw-001"]
    assert made["integrationIds"][0]["service"] == "Stripe"
    assert made["integrationIds"][0]["id"] == "cus_123"
    assert made["customProperties"] == {"region": "north"}
    assert "Customer created." in dashboard.get(location).text


def test_create_shows_the_apis_validation_errors_and_saves_nothing(
    dashboard: TestClient, api: ApiClient
) -> None:
    token = page_token(dashboard, f"{CUSTOMERS}/new")
    answer = dashboard.post(
        f"{CUSTOMERS}/new",
        data=form(token, legal_name="Invalid Co", **{"contact-0-email": "not-an-email"}),
    )
    assert answer.status_code == 422
    assert "Nothing was saved" in answer.text
    assert "Contact 1 email: enter an email address like name@example.com" in answer.text
    assert 'value="Invalid Co"' in answer.text  # what was typed is kept
    no_contact = dashboard.post(
        f"{CUSTOMERS}/new",
        data=form(
            token,
            legal_name="Invalid Co",
            **{"contact-0-name": "", "contact-0-email": "", "contact-1-name": ""},
            **{"contact-1-email": ""},
        ),
    )
    assert no_contact.status_code == 422 and "billing contact" in no_contact.text
    assert api.get("/api/customers", params={"legalName": "Invalid Co"}).json()["items"] == []


def test_edit_a_customer(dashboard: TestClient, api: ApiClient) -> None:
    parent = new_customer(api, "New Parent")
    mine = new_customer(api, "Old Name", customerAliases=["old-1"])
    edit = dashboard.get(f"{CUSTOMERS}/{mine['id']}/edit")
    assert edit.status_code == 200
    assert 'value="Old Name"' in edit.text and "old-1" in edit.text
    token = page_token(dashboard, f"{CUSTOMERS}/{mine['id']}/edit")

    answer = dashboard.post(
        f"{CUSTOMERS}/{mine['id']}/edit",
        data=form(
            token,
            legal_name="New Name",
            parent_id=parent["id"],
            aliases="new-1",
            **{"contact-0-billing_preference": "STANDARD"},
            **{"contact-1-billing_preference": "PRIMARY"},
        ),
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{CUSTOMERS}/{mine['id']}?done=updated"
    changed = customer(api, mine["id"])
    assert changed["legalName"] == "New Name" and changed["parentId"] == parent["id"]
    assert changed["email"] == "colin@northwind.example"
    assert sorted(changed["customerAliases"]) == ["new-1", "old-1"]

    detached = dashboard.post(
        f"{CUSTOMERS}/{mine['id']}/edit", data=form(token, legal_name="New Name")
    )
    assert detached.status_code == 303
    assert customer(api, mine["id"]).get("parentId") is None


def test_edit_refusals_change_nothing(dashboard: TestClient, api: ApiClient) -> None:
    parent = new_customer(api, "Top")
    child = new_customer(api, "Below", parentId=parent["id"])
    token = page_token(dashboard, f"{CUSTOMERS}/{parent['id']}/edit")
    before = customer(api, parent["id"])

    invalid = dashboard.post(
        f"{CUSTOMERS}/{parent['id']}/edit", data=form(token, address_country="XX")
    )
    assert invalid.status_code == 422 and "Country: choose a country" in invalid.text
    cycle = dashboard.post(
        f"{CUSTOMERS}/{parent['id']}/edit", data=form(token, parent_id=child["id"])
    )
    assert cycle.status_code == 409 and "cycle" in cycle.text
    two_primaries = dashboard.post(
        f"{CUSTOMERS}/{parent['id']}/edit",
        data=form(token, **{"contact-1-billing_preference": "PRIMARY"}),
    )
    assert two_primaries.status_code in (409, 422)
    assert customer(api, parent["id"]) == before


# --- archive ---------------------------------------------------------------------------------


def test_archive_says_what_it_will_do_then_does_it(
    dashboard: TestClient, api: ApiClient, database: Database, account: Credentials
) -> None:
    mine = new_customer(api, "Leaving Ltd")
    price = new_price(api)
    schedule = created(api.post("/api/billing-schedules", json=schedule_body(mine["id"], [price])))
    invoice_id = insert_invoice(database, account.account_id, mine)

    confirm = dashboard.get(f"{CUSTOMERS}/{mine['id']}/archive")
    assert confirm.status_code == 200
    assert "1 billing schedule will be archived" in confirm.text
    assert "1 draft or in-progress invoice will be voided" in confirm.text
    assert customer(api, mine["id"]).get("archivedAt") is None  # asking changes nothing

    token = page_token(dashboard, f"{CUSTOMERS}/{mine['id']}/archive")
    answer = dashboard.post(f"{CUSTOMERS}/{mine['id']}/archive", data={"csrf_token": token})
    assert answer.status_code == 303
    assert customer(api, mine["id"])["archivedAt"] is not None
    assert api.get(f"/api/billing-schedules/{schedule['id']}").json()["archivedAt"] is not None
    assert api.get(f"/api/invoices/{invoice_id}").json()["status"] == "VOIDED"
    page = dashboard.get(answer.headers["location"]).text
    assert "Customer archived" in page and "The account is closed" in page
    assert dashboard.get(f"{CUSTOMERS}/{mine['id']}/edit").status_code == 409


# --- balances --------------------------------------------------------------------------------


def test_the_customer_page_shows_credit_and_seat_balances_and_usage_this_period(
    dashboard: TestClient, api: ApiClient
) -> None:
    mine = new_customer(api, "Busy Ltd", customerAliases=["busy-1"])
    empty = dashboard.get(f"{CUSTOMERS}/{mine['id']}").text
    assert "No credits." in empty and "No seats." in empty and "No usage this period." in empty

    grant = {
        "customerId": mine["id"],
        "name": "Onboarding credits",
        "creditUnitType": "CURRENCY",
        "currency": "GBP",
        "amount": 100,
        "costOfCredit": 80,
        "effectiveDate": "2024-01-01",
    }
    created(api.post("/api/credits", json=grant))
    assert api.post("/api/seat-metrics", json={"seatType": "editor", "label": "Editor"}).is_success
    seat = {"customerAlias": "busy-1", "seatType": "editor", "total": 7}
    seat["eventTimestamp"] = "2024-05-02T19:00:00Z"
    assert api.post("/api/seat-events", json=seat).is_success
    metric = {"name": "API calls", "metricType": "SIMPLE", "eventType": "api_call"}
    metric["aggregationType"] = "COUNT"
    created(api.post("/api/usage-metrics", json=metric))
    now = datetime.now(UTC).isoformat()
    events = [{"customerAlias": "busy-1", "eventType": "api_call", "eventTimestamp": now}]
    sent = api.post("/api/usage-events/batch", json={"events": events})
    assert sent.status_code == 200, sent.text

    page = dashboard.get(f"{CUSTOMERS}/{mine['id']}").text
    assert "GBP (cash): <strong>100" in page
    assert "editor: <strong>7</strong>" in page
    assert "API calls: <strong>1</strong>" in page and "(1 event)" in page
    by_month = f'href="/dashboard/usage/metrics?customerId={mine["id"]}"'
    assert by_month in page and f'href="/dashboard/usage?customerId={mine["id"]}"' in page
    usage = dashboard.get(f"/dashboard/usage/metrics?customerId={mine['id']}")
    assert usage.status_code == 200 and "Busy Ltd" in usage.text


def test_remove_an_alias(dashboard: TestClient, api: ApiClient, other_api: ApiClient) -> None:
    mine = new_customer(api, "Aliased Ltd", customerAliases=["keep-me", "drop-me"])
    other = new_customer(api, "Someone Else", customerAliases=["not-this-one"])
    theirs = new_customer(other_api, "Theirs", customerAliases=["their-alias"])
    ids = {a["value"]: a["id"] for a in api.get("/api/customer-aliases").json()["items"]}
    their_id = other_api.get("/api/customer-aliases").json()["items"][0]["id"]
    page = dashboard.get(f"{CUSTOMERS}/{mine['id']}")
    assert f"/aliases/{ids['drop-me']}/delete" in page.text
    token = page_token(dashboard, f"{CUSTOMERS}/{mine['id']}")
    base = f"{CUSTOMERS}/{mine['id']}/aliases"

    refused = dashboard.post(f"{base}/{ids['drop-me']}/delete", data={"csrf_token": "x"})
    assert refused.status_code == 403
    for alias_id in (ids["not-this-one"], their_id):  # another customer's, another account's
        answer = dashboard.post(f"{base}/{alias_id}/delete", data={"csrf_token": token})
        assert answer.status_code == 404
    assert sorted(customer(api, mine["id"])["customerAliases"]) == ["drop-me", "keep-me"]
    assert customer(api, other["id"])["customerAliases"] == ["not-this-one"]
    assert other_api.get(f"/api/customers/{theirs['id']}").json()["customerAliases"] == [
        "their-alias"
    ]

    removed = dashboard.post(f"{base}/{ids['drop-me']}/delete", data={"csrf_token": token})
    assert removed.status_code == 303
    assert customer(api, mine["id"])["customerAliases"] == ["keep-me"]
    assert "Alias removed." in dashboard.get(removed.headers["location"]).text


def test_the_list_names_each_customers_parent(dashboard: TestClient, api: ApiClient) -> None:
    parent = new_customer(api, "Holding Plc")
    new_customer(api, "Subsidiary Ltd", parentId=parent["id"])
    page = dashboard.get(CUSTOMERS, params={"name": "Subsidiary"}).text
    assert f'<a href="/dashboard/customers/{parent["id"]}">Holding Plc</a>' in page


def test_the_form_sets_and_clears_a_customers_language(
    dashboard: TestClient, api: ApiClient
) -> None:
    new_form = dashboard.get(f"{CUSTOMERS}/new")
    assert '<option value="de">German (Deutsch)</option>' in new_form.text
    token = page_token(dashboard, f"{CUSTOMERS}/new")
    answer = dashboard.post(f"{CUSTOMERS}/new", data=form(token, language="de"))
    assert answer.status_code == 303, answer.text
    customer_id = answer.headers["location"].removeprefix(f"{CUSTOMERS}/").split("?")[0]
    assert customer(api, customer_id)["language"] == "de"

    edit = dashboard.get(f"{CUSTOMERS}/{customer_id}/edit")
    assert '<option value="de" selected>' in edit.text
    token = page_token(dashboard, f"{CUSTOMERS}/{customer_id}/edit")
    cleared = dashboard.post(f"{CUSTOMERS}/{customer_id}/edit", data=form(token, language=""))
    assert cleared.status_code == 303, cleared.text
    assert customer(api, customer_id).get("language") is None  # the account's again
    refused = dashboard.post(f"{CUSTOMERS}/{customer_id}/edit", data=form(token, language="xx"))
    assert refused.status_code == 422 and "language" in refused.text
    assert customer(api, customer_id).get("language") is None
