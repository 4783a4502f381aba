"""Tally's own OpenAPI document (/openapi.json, /docs) describes its answers field by field.

A response model's serialization schema is derived from its serializer; `Schema`'s null-omitting
serializer once documented every answer as `{}`, which hid the fields from /docs and made the
fuzz's response-schema check accept anything."""

from typing import Any

from fastapi.testclient import TestClient
from openapi_schema_validator import OAS31Validator

from tests.factories import customer_body
from tests.schedules.helpers import Setup, phase
from tests.support.api_client import ApiClient


def _document(http: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = http.get("/openapi.json").json()
    return document


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = document["components"]["schemas"][node["$ref"].split("/")[-1]]
    return node


def _success_schema(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    responses = document["paths"][path][method]["responses"]
    (success,) = (answer for status, answer in responses.items() if status.startswith("2"))
    schema: dict[str, Any] = success["content"]["application/json"]["schema"]
    return schema


def test_answers_are_documented_field_by_field(http: TestClient) -> None:
    document = _document(http)
    customer = _resolve(document, _success_schema(document, "get", "/api/customers/{id}"))
    assert {"id", "legalName", "email", "address", "parentId"} <= customer["properties"].keys()
    assert {"id", "legalName"} <= set(customer["required"])
    # Empty optional fields are left out of answers, so they are documented as optional.
    assert "parentId" not in customer["required"]

    page = _resolve(document, _success_schema(document, "get", "/api/invoices"))
    invoice = _resolve(document, page["properties"]["items"]["items"])
    assert {"id", "status", "customerId", "grossTotal"} <= invoice["properties"].keys()
    pagination = _resolve(document, page["properties"]["pagination"])
    assert "totalResultSize" in pagination["properties"]

    price = _resolve(document, _success_schema(document, "post", "/api/prices"))
    assert {"id", "productId", "currency", "structure"} <= price["properties"].keys()


def test_no_answer_is_documented_as_an_empty_schema(http: TestClient) -> None:
    document = _document(http)
    empty = [
        (method, path, status)
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for method, operation in item.items()
        for status, answer in operation["responses"].items()
        if status.startswith("2") and "application/json" in answer.get("content", {})
        if _resolve(document, answer["content"]["application/json"]["schema"]) == {}
    ]
    assert empty == []


def test_an_answer_with_empty_fields_left_out_matches_the_document(
    api: ApiClient, http: TestClient
) -> None:
    document = _document(http)
    created = api.post("/api/customers", json=customer_body())
    assert created.status_code == 201, created.text
    answer = api.get(f"/api/customers/{created.json()['id']}").json()
    assert "parentId" not in answer  # left out, not null
    assert _mismatches(document, "get", "/api/customers/{id}", answer) == []


def test_a_schedule_answered_with_json_numbers_matches_the_document(
    api: ApiClient, http: TestClient
) -> None:
    # Schedules are answered through msgspec with amounts as JSON numbers, past the model.
    setup = Setup(api)
    grant = {
        "name": "Welcome credit", "creditUnitType": "CURRENCY", "currency": "GBP",
        "amount": 50, "costOfCredit": 12.5, "grantRefreshFrequency": "NONE",
        "rolloverMode": "NONE",
    }  # fmt: skip
    discount = {
        "type": "PERCENTAGE",
        "amount": 12.5,
        "message": "Launch",
        "separateLineItem": False,
    }
    phases = [
        phase([setup.price_id], creditGrants=[grant], discounts=[discount],
              minimums=[{"amount": 150}]),
    ]  # fmt: skip
    schedule = setup.create(phases=phases)
    (answered,) = schedule["phases"][0]["creditGrants"]
    assert (answered["amount"], answered["costOfCredit"]) == (50, 12.5)
    document = _document(http)
    assert _mismatches(document, "post", "/api/billing-schedules", schedule) == []


def _mismatches(document: dict[str, Any], method: str, path: str, answer: Any) -> list[str]:
    schema = _success_schema(document, method, path)
    validator = OAS31Validator({**schema, "components": document["components"]})
    return [error.message for error in validator.iter_errors(answer)]
