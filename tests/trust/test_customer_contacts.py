"""Updating a customer with the older fields (seed 003's body) never wipes its contacts: they
describe the primary billing contact; only an explicit `contacts` array replaces contacts, and
a replaced contact is archived, never deleted."""

from typing import Any

from tests.factories import address
from tests.support.api_client import ApiClient


def _contact(name: str, email: str, preference: str) -> dict[str, str]:
    return {"name": name, "email": email, "billingPreference": preference}


def _three_contacts(api: ApiClient) -> dict[str, Any]:
    body = {
        "legalName": "Parent Co",
        "address": address(),
        "contacts": [
            _contact("Jane Payer", "jane@example.com", "PRIMARY"),
            _contact("Accounts", "ap@example.com", "STANDARD"),
            _contact("CTO", "cto@example.com", "NONE"),
        ],
    }
    response = api.post("/api/customers", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _contacts(api: ApiClient, customer_id: str, archived: bool = False) -> list[dict[str, Any]]:
    query = "?includeArchived=true" if archived else ""
    response = api.get(f"/api/customers/{customer_id}/contacts{query}")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_older_fields_update_the_primary_contact_and_leave_the_others(api: ApiClient) -> None:
    customer = _three_contacts(api)
    before = {c["email"]: c["id"] for c in _contacts(api, customer["id"])}
    # Seed 003's update body: the older fields, and a parent.
    parent = api.post(
        "/api/customers",
        json={"legalName": "Holding", "address": address(), "email": "hq@example.com"},
    ).json()
    response = api.put(
        f"/api/customers/{customer['id']}",
        json={
            "legalName": "Parent Co",
            "address": address(),
            "contactName": "Jane Payer-Smith",
            "email": "jane.smith@example.com",
            "billingEmails": ["ap@example.com", "finance@example.com"],
            "parentId": parent["id"],
        },
    )
    assert response.status_code == 200, response.text
    live = {c["email"]: c for c in _contacts(api, customer["id"])}
    assert set(live) == {
        "jane.smith@example.com",
        "ap@example.com",
        "cto@example.com",
        "finance@example.com",
    }
    primary = live["jane.smith@example.com"]
    assert primary["id"] == before["jane@example.com"]  # the same contact, renamed
    assert primary["name"] == "Jane Payer-Smith"
    assert primary["billingPreference"] == "PRIMARY"
    assert live["ap@example.com"]["id"] == before["ap@example.com"]
    assert live["cto@example.com"]["id"] == before["cto@example.com"]
    assert live["cto@example.com"]["billingPreference"] == "NONE"
    assert live["finance@example.com"]["billingPreference"] == "STANDARD"
    assert response.json()["parentId"] == parent["id"]


def test_only_a_contacts_array_replaces_contacts_and_archives_the_rest(api: ApiClient) -> None:
    customer = _three_contacts(api)
    ids = {c["email"]: c["id"] for c in _contacts(api, customer["id"])}
    response = api.put(
        f"/api/customers/{customer['id']}",
        json={
            "legalName": "Parent Co",
            "address": address(),
            "contacts": [_contact("Jane Payer", "jane@example.com", "PRIMARY")],
        },
    )
    assert response.status_code == 200, response.text
    assert [c["id"] for c in _contacts(api, customer["id"])] == [ids["jane@example.com"]]
    everyone = {c["id"]: c for c in _contacts(api, customer["id"], archived=True)}
    assert set(everyone) == set(ids.values())  # none deleted
    for email in ("ap@example.com", "cto@example.com"):
        assert everyone[ids[email]]["archivedAt"] is not None


def test_an_update_without_contact_fields_keeps_every_contact(api: ApiClient) -> None:
    customer = _three_contacts(api)
    before = _contacts(api, customer["id"])
    response = api.put(
        f"/api/customers/{customer['id']}",
        json={"legalName": "Renamed Co", "address": address()},
    )
    assert response.status_code == 200, response.text
    after = _contacts(api, customer["id"])
    assert [(c["id"], c["email"], c["billingPreference"]) for c in after] == [
        (c["id"], c["email"], c["billingPreference"]) for c in before
    ]
