"""Sequence's status codes: 400 for every invalid or refused request (422 never), 409 only where
Sequence documents it (a stale balance version on POST /api/credit-note-applications); both
as Tally answers and as its OpenAPI document says."""

from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.factories import customer_body
from tests.support.api_client import ApiClient

# The one operation of Sequence's schema that documents a 409.
CONFLICT_DOCUMENTED = {("post", "/api/credit-note-applications")}


def validation_error(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "ValidationError"
    details: list[dict[str, Any]] = error["details"]
    return details


def fields(response: httpx.Response) -> set[str]:
    return {detail["field"] for detail in validation_error(response)}


def test_bad_path_values_are_400_with_details(api: ApiClient) -> None:
    day = api.post("/api/billing/execution/accounts/self/for-date/not-a-date")
    assert fields(day) == {"day"}
    version = api.get("/api/tax-rates/0190d6c1-0000-7000-8000-000000000000/versions/first")
    assert fields(version) == {"version"}
    kind = api.delete("/api/notifications/policies/nope/notification-types/NO_SUCH_TYPE")
    assert fields(kind) == {"type"}


def test_bad_query_values_are_400_with_details(api: ApiClient) -> None:
    assert fields(api.get("/api/products", params={"limit": "ten"})) == {"limit"}
    assert fields(api.get("/api/invoices", params={"sortOrder": "SIDEWAYS"})) == {"sortOrder"}
    both = api.get("/api/customers", params={"limit": 0, "sortOrder": "UP"})
    assert fields(both) == {"limit", "sortOrder"}


def test_bad_body_values_are_400_with_details(api: ApiClient) -> None:
    wrong_type = api.post("/api/customers", json=customer_body(contacts="nobody"))
    assert "contacts" in fields(wrong_type)
    missing = api.post("/api/tax-rates", json={"name": "VAT"})
    assert {"amount", "country"} <= fields(missing)
    unknown = api.post("/api/products", json={"name": "X", "colour": "blue"})
    assert fields(unknown) == {"colour"}
    not_an_object = api.post("/api/usage-metrics", json=[1, 2])
    assert validation_error(not_an_object)
    assert api.get("/api/customers").json()["pagination"]["totalResultSize"] == 0


def test_the_openapi_document_says_400_never_422_and_409_only_where_sequence_does(
    http: TestClient,
) -> None:
    document = http.get("/openapi.json").json()
    operations = [
        (method, path, operation)
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    ]
    assert len(operations) > 100  # the walk saw the API, not an empty document
    for method, path, operation in operations:
        responses = set(operation["responses"])
        assert "422" not in responses, (method, path)
        assert ("409" in responses) == ((method, path) in CONFLICT_DOCUMENTED), (method, path)
        assert "400" in responses, (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]
