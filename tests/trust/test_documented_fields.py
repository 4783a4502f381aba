"""Nothing a client sends is silently ignored: every field and query parameter Sequence's
published schema documents for an operation Tally serves is one Tally's operation takes, and
anything else is refused with 400 naming it (and what it probably meant)."""

from typing import Any

import pytest

from tests.factories import address, customer_body
from tests.support.api_client import ApiClient


def _resolve(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = document["components"]["schemas"][node["$ref"].split("/")[-1]]
    return node


def field_paths(document: dict[str, Any], node: Any, prefix: str = "", depth: int = 0) -> set[str]:
    """Every property path a body schema names (`structure.tiers[].price`), over all the
    variants of its unions."""
    node = _resolve(document, node)
    if not isinstance(node, dict) or depth > 8:
        return set()
    paths: set[str] = set()
    for key in ("allOf", "oneOf", "anyOf"):
        for variant in node.get(key, []):
            paths |= field_paths(document, variant, prefix, depth + 1)
    if "items" in node:
        paths |= field_paths(document, node["items"], prefix + "[]", depth + 1)
    for name, sub in node.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        paths.add(path)
        paths |= field_paths(document, sub, path, depth + 1)
    return paths


def test_a_misspelled_field_is_refused_naming_it_and_what_it_meant(api: ApiClient) -> None:
    response = api.post("/api/customers", json=customer_body(custmerAliases=["x"]))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["details"] == [
        {
            "field": "custmerAliases",
            "message": "unknown field `custmerAliases`; did you mean `customerAliases`?",
        }
    ]
    response = api.post("/api/customers", json=customer_body(parentID="x"))
    assert response.status_code == 400
    assert "did you mean `parentId`?" in response.json()["error"]["message"]
    assert api.get("/api/customers").json()["items"] == []  # nothing was written


def test_a_misspelled_nested_field_is_named_with_its_path(api: ApiClient) -> None:
    contact = {"name": "Jane", "emial": "jane@example.com", "billingPreference": "PRIMARY"}
    response = api.post("/api/customers", json=customer_body(contacts=[contact]))
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    unknown = [d for d in details if d["field"] == "contacts.0.emial"]
    assert unknown == [
        {"field": "contacts.0.emial", "message": "unknown field `emial`; did you mean `email`?"}
    ]


def test_a_field_unknown_in_a_self_parsed_body_is_refused(api: ApiClient) -> None:
    # Billing schedules are read with exact decimals, outside FastAPI's body parsing.
    response = api.post("/api/billing-schedules", json={"custmerId": "x"})
    assert response.status_code == 400
    fields = {d["field"]: d["message"] for d in response.json()["error"]["details"]}
    assert fields["custmerId"] == "unknown field `custmerId`; did you mean `customerId`?"


@pytest.mark.parametrize(
    ("url", "name", "meant"),
    [
        (
            "/api/usage-events?customerAlias=a&customerEventID=1",
            "customerEventID",
            "customerEventId",
        ),
        ("/api/customers?legalname=Acme", "legalname", "legalName"),
        ("/api/invoices?custmerId=x", "custmerId", "customerId"),
        ("/api/customers?foo=1", "foo", None),
    ],
)
def test_an_unknown_query_parameter_is_refused_naming_it(
    api: ApiClient, url: str, name: str, meant: str | None
) -> None:
    response = api.get(url)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    hint = f"; did you mean `{meant}`?" if meant else ""
    assert error["details"] == [
        {"field": name, "message": f"unknown query parameter `{name}`{hint}"}
    ]


def test_usage_events_filter_by_customer_event_id(api: ApiClient) -> None:
    for key in ("a-1", "a-2"):
        body = {
            "customerAlias": "acme",
            "eventType": "api_call",
            "customerEventId": key,
            "eventTimestamp": "2024-01-05T10:00:00Z",
            "eventProperties": {},
        }
        assert api.post("/api/usage-events", json=body).status_code in (200, 201)
    found = api.get("/api/usage-events", params={"customerEventId": "a-2"}).json()["items"]
    assert [event["customerEventId"] for event in found] == ["a-2"]


def test_customer_update_refuses_unknown_fields_and_changes_nothing(api: ApiClient) -> None:
    customer = api.post("/api/customers", json=customer_body()).json()
    response = api.put(
        f"/api/customers/{customer['id']}",
        json={"legalName": "Renamed", "address": address(), "parentID": customer["id"]},
    )
    assert response.status_code == 400
    assert api.get(f"/api/customers/{customer['id']}").json()["legalName"] == customer["legalName"]


def test_a_misspelled_usage_event_field_is_refused_not_billed_at_the_wrong_time(
    api: ApiClient,
) -> None:
    # Read with msgspec on the hot path, outside Pydantic: the same rule.
    event = {
        "customerAlias": "acme",
        "eventType": "api_call",
        "eventTimestmp": "2024-01-05T10:00:00Z",
        "eventProperties": {},
    }
    single = api.post("/api/usage-events", json=event)
    assert single.status_code == 400
    assert single.json()["error"]["details"] == [
        {
            "field": "eventTimestmp",
            "message": "unknown field `eventTimestmp`; did you mean `eventTimestamp`?",
        }
    ]
    good = {**event, "eventTimestamp": "2024-01-05T10:00:00Z"}
    del good["eventTimestmp"]
    batch = api.post("/api/usage-events/batch", json={"events": [good, event]})
    assert batch.status_code == 200, batch.text
    answer = batch.json()
    assert (answer["accepted"], answer["rejected"]) == (1, 1)
    assert "did you mean `eventTimestamp`?" in answer["results"][1]["error"]["message"]
    wrapper = api.post("/api/usage-events/batch", json={"evnts": [good]})
    assert wrapper.status_code == 400
    assert "did you mean `events`?" in wrapper.json()["error"]["message"]
    assert len(api.get("/api/usage-events").json()["items"]) == 1
