"""Every field and query parameter Sequence's published schema documents for an operation
Tally serves is one Tally's operation takes: none is refused as unknown, none ignored."""

from typing import Any

from fastapi import FastAPI

from tally.accounts.service import Credentials
from tally.db import Database
from tests.factories import customer_body
from tests.invoices.helpers import insert_invoice
from tests.schedules.helpers import Setup, phase
from tests.support.api_client import ApiClient
from tests.support.sequence_schema import spec, template_operation
from tests.trust.test_documented_fields import field_paths


def _operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    ours = app.openapi()
    found = []
    for path, operations in sorted(ours["paths"].items()):
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            sequence = template_operation(method, path)
            if sequence is not None:
                found.append((method.upper(), path, operation, sequence.definition))
    return found


def _body_schema(operation: dict[str, Any]) -> Any:
    content = operation.get("requestBody", {}).get("content", {})
    return content.get("application/json", {}).get("schema")


def test_every_documented_query_parameter_is_taken(app: FastAPI) -> None:
    missing = []
    for method, path, ours, theirs in _operations(app):
        documented = {p["name"] for p in theirs.get("parameters", []) if p["in"] == "query"}
        taken = {p["name"] for p in ours.get("parameters", []) if p["in"] == "query"}
        missing += [f"{method} {path} ?{name}" for name in sorted(documented - taken)]
    assert missing == []


def test_every_documented_body_field_is_taken(app: FastAPI) -> None:
    ours_document = app.openapi()
    missing = []
    for method, path, ours, theirs in _operations(app):
        documented = _body_schema(theirs)
        if documented is None:
            continue
        taken = _body_schema(ours)
        assert taken is not None, f"{method} {path} takes no body"
        names = field_paths(spec(), documented) - field_paths(ours_document, taken)
        missing += [f"{method} {path} {name}" for name in sorted(names)]
    assert missing == []


# --- each parameter the comparison above found missing, now taken and acted on ---------------


def _ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


def _customer(api: ApiClient, name: str) -> dict[str, Any]:
    response = api.post("/api/customers", json=customer_body(legalName=name))
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_customers_sort_by_legal_name_both_ways_and_page_through(api: ApiClient) -> None:
    names = ["Delta", "alpha", "Charlie", "Bravo", "Echo"]
    made = {name: _customer(api, name)["id"] for name in names}
    ascending = api.get("/api/customers", params={"sortBy": "legalName", "sortOrder": "ASC"})
    assert ascending.status_code == 200
    # The database's order for text: compared as stored, ties by id.
    expected = sorted(names, key=lambda n: (n.encode(), made[n]))
    assert _ids(ascending.json()) == [made[n] for n in expected]
    first = api.get(
        "/api/customers", params={"sortBy": "LEGALNAME", "sortOrder": "DESC", "limit": 2}
    ).json()
    second = api.get(
        "/api/customers",
        params={
            "sortBy": "legalName",
            "sortOrder": "DESC",
            "limit": 2,
            "after": first["pagination"].get("after"),
        },
    ).json()
    assert _ids(first) + _ids(second) == [made[n] for n in reversed(expected)][:4]


def test_a_sort_column_not_offered_is_refused_naming_what_is(api: ApiClient) -> None:
    response = api.get("/api/customers", params={"sortBy": "telephone"})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "sortBy"
    assert "legalName" in response.json()["error"]["message"]
    custom = api.get("/api/customers", params={"sortBy": 'customProperties.a"b'})
    assert custom.status_code == 400
    assert "no double quote" in custom.json()["error"]["message"]


def test_customers_billing_status_follows_active_schedules(api: ApiClient) -> None:
    setup = Setup(api)
    setup.create()  # an ACTIVE schedule for setup's customer
    idle = _customer(api, "Idle Ltd")
    active = api.get("/api/customers", params={"billingStatus": "ACTIVE"}).json()
    inactive = api.get("/api/customers", params={"billingStatus": "INACTIVE"}).json()
    assert _ids(active) == [setup.customer_id]
    assert _ids(inactive) == [idle["id"]]
    assert api.get("/api/customers", params={"billingStatus": "SOMETIMES"}).status_code == 400


def test_billing_schedules_sort_by_start_date(api: ApiClient) -> None:
    setup = Setup(api)
    late = setup.create(startDate="2024-03-01", phases=[phase([setup.price_id], "2024-03-01")])
    early = setup.create(startDate="2024-01-01", phases=[phase([setup.price_id], "2024-01-01")])
    page = api.get("/api/billing-schedules", params={"sortBy": "startDate", "sortOrder": "ASC"})
    assert page.status_code == 200, page.text
    assert _ids(page.json()) == [early["id"], late["id"]]
    refused = api.get("/api/billing-schedules", params={"sortBy": "customFieldz.region"})
    assert refused.status_code == 400


def _usage_event(api: ApiClient, key: str, at: str) -> None:
    body = {
        "customerAlias": "acme",
        "eventType": "api_call",
        "customerEventId": key,
        "eventTimestamp": at,
        "eventProperties": {},
    }
    assert api.post("/api/usage-events", json=body).status_code == 201


def test_usage_events_sort_by_timestamp_and_skip_with_offset(api: ApiClient) -> None:
    for key, at in (("c", "2024-01-03T00:00:00Z"), ("a", "2024-01-01T00:00:00Z")):
        _usage_event(api, key, at)
    _usage_event(api, "b", "2024-01-02T00:00:00Z")

    def keys(**params: Any) -> list[str]:
        response = api.get("/api/usage-events", params=params)
        assert response.status_code == 200, response.text
        return [event["customerEventId"] for event in response.json()["items"]]

    assert keys(sortBy="eventTimestamp", sortOrder="ASC") == ["a", "b", "c"]
    assert keys(sortOrder="ASC") == ["c", "a", "b"]  # as received
    assert keys(sortBy="eventTimestamp", sortOrder="ASC", offset=1, limit=1) == ["b"]
    page = api.get("/api/usage-events", params={"sortOrder": "ASC", "limit": 1}).json()
    assert keys(sortOrder="ASC", after=page["pagination"].get("after"), offset=1) == ["b"]
    assert api.get("/api/usage-events", params={"offset": -1}).status_code == 400


def test_seat_events_sort_by_timestamp(api: ApiClient) -> None:
    metric = {"seatType": "editor", "label": "Editor"}
    assert api.post("/api/seat-metrics", json=metric).status_code == 201
    for at, total in (("2024-01-05T00:00:00Z", 3), ("2024-01-02T00:00:00Z", 2)):
        body = {"customerAlias": "acme", "seatType": "editor", "eventTimestamp": at, "total": total}
        assert api.post("/api/seat-events", json=body).status_code == 201
    page = api.get("/api/seat-events", params={"sortBy": "eventTimestamp", "sortOrder": "ASC"})
    assert [event["total"] for event in page.json()["items"]] == [2, 3]


def test_invoices_exclude_search_leaves_out_matching_numbers(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = _customer(api, "Numbered Ltd")
    kept = insert_invoice(database, account.account_id, customer, invoice_number="INV-0001")
    insert_invoice(database, account.account_id, customer, invoice_number="TEST-0002")
    unnumbered = insert_invoice(database, account.account_id, customer)
    page = api.get("/api/invoices", params={"excludeSearch": "test"}).json()
    assert set(_ids(page)) == {kept, unnumbered}


def test_sequence_accounts_pages(api: ApiClient) -> None:
    page = api.get("/api/sequence-accounts", params={"limit": 1}).json()
    assert len(page["items"]) == 1
    assert page["pagination"]["totalResultSize"] == 1


def test_fields_tally_cannot_act_on_are_refused_not_dropped(api: ApiClient) -> None:
    metric = {"name": "Calls", "eventType": "call", "aggregationType": "COUNT"}
    deleted = api.post("/api/usage-metrics", json={**metric, "deletedAt": "2024-01-01T00:00:00Z"})
    assert deleted.status_code == 400
    created = api.post("/api/usage-metrics", json={**metric, "deletedAt": None})
    assert created.status_code == 201
    calculated = api.get(
        f"/api/usage-metrics/{created.json()['id']}/calculate",
        params={
            "customerAliases": "acme",
            "periodStart": "2024-01-01",
            "periodEnd": "2024-01-31",
            "customParameters": "region=eu",
        },
    )
    assert calculated.status_code == 400
    assert calculated.json()["error"]["details"][0]["field"] == "customParameters"
    setup = Setup(api)
    listed = phase([setup.price_id], "2024-01-01")
    listed["phaseListPriceMetadata"] = [{"listPriceId": "x", "arrCalculation": "INCLUDE"}]
    refused = api.post("/api/billing-schedules", json=setup.body(phases=[listed]))
    assert refused.status_code == 404  # list prices are acted on: an unknown one is not found
    listed["phaseListPriceMetadata"] = []
    assert api.post("/api/billing-schedules", json=setup.body(phases=[listed])).status_code == 201


def test_push_to_integrations_is_taken(api: ApiClient) -> None:
    # Tally connects no integrations: there is nothing to push to, and nothing fails.
    body = customer_body(pushToIntegrations=True)
    assert api.post("/api/customers", json=body).status_code == 201
