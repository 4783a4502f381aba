"""/api/customers: create, read, update, list, archive."""

import uuid

from tests.factories import address, customer_body
from tests.support.api_client import ApiClient
from tests.support.errors import conflict_error


def create(api: ApiClient, **overrides: object) -> dict[str, object]:
    response = api.post("/api/customers", json=customer_body(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


def total(api: ApiClient, query: str = "") -> int:
    return int(api.get(f"/api/customers{query}").json()["pagination"]["totalResultSize"])


def test_create_returns_the_customer_in_sequence_shape(api: ApiClient) -> None:
    body = customer_body(
        url="https://www.example.com/pricing",
        label="Key account",
        customerAliases=["ext-42"],
        integrationIds=[{"service": "Stripe", "id": "cus_123"}],
        customProperties={"region": "EU"},
    )
    response = api.post("/api/customers", json=body)

    assert response.status_code == 201
    customer = response.json()
    assert uuid.UUID(customer["id"]).version == 7
    assert customer["legalName"] == "Example Ltd"
    assert customer["address"] == address()
    assert customer["taxStatus"] == "TAXED"
    assert customer["status"] == "ACTIVE"
    assert customer["domain"] == "example.com"
    assert customer["customerAliases"] == ["ext-42"]
    assert customer["integrationIds"] == [
        {"service": "Stripe", "id": "cus_123", "isPending": False}
    ]
    assert customer["customProperties"] == {"region": "EU"}
    assert [c["billingPreference"] for c in customer["contacts"]] == ["PRIMARY"]
    assert customer["email"] == "jane@example.com"
    assert "archivedAt" not in customer
    assert api.get(f"/api/customers/{customer['id']}").json() == customer


def test_tax_status_defaults_to_taxed(api: ApiClient) -> None:
    body = customer_body()
    del body["taxStatus"]
    response = api.post("/api/customers", json=body)
    assert response.status_code == 201
    assert response.json()["taxStatus"] == "TAXED"


def test_missing_required_fields_are_rejected_and_nothing_is_written(api: ApiClient) -> None:
    for missing in ("legalName", "address"):
        body = customer_body()
        del body[missing]
        response = api.post("/api/customers", json=body)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["type"] == "ValidationError"
        assert error["details"][0]["field"] == missing
    body = customer_body()
    del body["contacts"]
    response = api.post("/api/customers", json=body)
    assert response.status_code == 400
    assert "billing contact" in response.json()["error"]["message"]
    assert total(api) == 0


def test_invalid_values_are_rejected(api: ApiClient) -> None:
    cases = [
        customer_body(taxStatus="SOMETIMES"),
        customer_body(address=address(country="XX")),
        customer_body(address=address(country="US", state="ZZ")),
        customer_body(
            contacts=[{"name": "A", "email": "not-an-email", "billingPreference": "PRIMARY"}]
        ),
        customer_body(legalName=""),
    ]
    for body in cases:
        response = api.post("/api/customers", json=body)
        assert response.status_code == 400, body
    assert total(api) == 0


def test_malformed_json_is_a_400_and_writes_nothing(api: ApiClient) -> None:
    response = api.post(
        "/api/customers",
        content=b'{"legalName": "Broken",',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "BadRequest"
    assert total(api) == 0


def test_unknown_and_foreign_ids_are_404(api: ApiClient, other_api: ApiClient) -> None:
    theirs = create(other_api)
    for customer_id in (theirs["id"], str(uuid.uuid4()), "not-an-id"):
        assert api.get(f"/api/customers/{customer_id}").status_code == 404
        assert api.put(f"/api/customers/{customer_id}", json=customer_body()).status_code == 404
        assert api.post(f"/api/customers/{customer_id}/archive").status_code == 404
    assert "archivedAt" not in other_api.get(f"/api/customers/{theirs['id']}").json()


def test_update_replaces_given_fields_and_keeps_omitted_ones(api: ApiClient) -> None:
    customer = create(api, label="Old label", customProperties={"tier": "gold"}, telephone="0101")
    response = api.put(
        f"/api/customers/{customer['id']}",
        json={
            "legalName": "Renamed Ltd",
            "address": address(town="Manchester"),
            "label": "New label",
        },
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["legalName"] == "Renamed Ltd"
    assert updated["address"]["town"] == "Manchester"
    assert updated["label"] == "New label"
    assert updated["customProperties"] == {"tier": "gold"}
    assert updated["telephone"] == "0101"
    assert updated["taxStatus"] == "TAXED"
    assert [c["email"] for c in updated["contacts"]] == ["jane@example.com"]


def test_update_with_contacts_replaces_them_and_keeps_matching_ids(api: ApiClient) -> None:
    customer = create(
        api,
        contacts=[
            {"name": "Jane", "email": "jane@example.com", "billingPreference": "PRIMARY"},
            {"name": "Old", "email": "old@example.com", "billingPreference": "STANDARD"},
        ],
    )
    jane_id = customer["contacts"][0]["id"]
    updated = api.put(
        f"/api/customers/{customer['id']}",
        json=customer_body(
            contacts=[
                {"name": "Jane P.", "email": "JANE@example.com", "billingPreference": "STANDARD"},
                {"name": "New", "email": "new@example.com", "billingPreference": "NONE"},
            ]
        ),
    ).json()
    contacts = {c["email"].lower(): c for c in updated["contacts"]}
    assert set(contacts) == {"jane@example.com", "new@example.com"}
    assert contacts["jane@example.com"]["id"] == jane_id
    assert contacts["jane@example.com"]["billingPreference"] == "PRIMARY"  # only billing contact
    archived = api.get(f"/api/customers/{customer['id']}/contacts?includeArchived=true").json()
    assert {c["email"] for c in archived["items"] if "archivedAt" in c} == {"old@example.com"}


def test_list_filters(api: ApiClient) -> None:
    acme = create(api, legalName="Acme Rockets", label="Enterprise", customerAliases=["acme-1"])
    create(
        api,
        legalName="Globex",
        label="Startup",
        contacts=[{"name": "G", "email": "ap@globex.example", "billingPreference": "PRIMARY"}],
    )
    archived = create(api, legalName="Acme Archived")
    api.post(f"/api/customers/{archived['id']}/archive")

    def names(query: str) -> list[str]:
        return sorted(c["legalName"] for c in api.get(f"/api/customers{query}").json()["items"])

    assert names("") == ["Acme Rockets", "Globex"]
    assert names("?includeArchived=true") == ["Acme Archived", "Acme Rockets", "Globex"]
    assert names("?legalName=acme") == ["Acme Rockets"]
    assert names("?legalName=100%25") == []
    assert names("?label=enterprise") == ["Acme Rockets"]
    assert names("?email=AP@globex.example") == ["Globex"]
    assert names("?alias=acme-1") == ["Acme Rockets"]
    assert names(f"?alias={acme['id']}") == ["Acme Rockets"]
    assert names("?alias=ACME-1") == []


def test_archive_hides_the_customer_and_makes_it_read_only(api: ApiClient) -> None:
    customer = create(api)
    response = api.post(f"/api/customers/{customer['id']}/archive")
    assert response.status_code == 200
    archived_at = response.json()["archivedAt"]
    assert archived_at
    assert api.post(f"/api/customers/{customer['id']}/archive").json()["archivedAt"] == archived_at
    assert total(api) == 0
    assert api.get(f"/api/customers/{customer['id']}").status_code == 200
    conflict = api.put(f"/api/customers/{customer['id']}", json=customer_body())
    assert "archived" in conflict_error(conflict, "ArchivedReference")["message"]
    contact = {"name": "X", "email": "x@example.com", "billingPreference": "STANDARD"}
    added = api.post(f"/api/customers/{customer['id']}/contacts", json=contact)
    conflict_error(added, "ArchivedReference")
