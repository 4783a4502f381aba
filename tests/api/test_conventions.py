"""Conventions every endpoint shares: versions, ids, JSON style, errors, documentation."""

import uuid

from fastapi.testclient import TestClient

from tests.factories import tax_rate_body
from tests.support.api_client import ApiClient


def test_sequence_version_is_echoed_on_every_response(api: ApiClient, anonymous: ApiClient) -> None:
    assert api.get("/api/products").headers["Sequence-Version"] == "2024-07-30"
    older = api.get("/api/products", headers={"Sequence-Version": "2024-05-09"})
    assert older.status_code == 200
    assert older.headers["Sequence-Version"] == "2024-05-09"
    # Even errors carry it.
    assert anonymous.get("/api/products").headers["Sequence-Version"] == "2024-07-30"


def test_an_unknown_sequence_version_is_refused(api: ApiClient) -> None:
    response = api.post(
        "/api/products", json={"name": "X"}, headers={"Sequence-Version": "2099-01-01"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "type": "UnrecognisedApiVersion",
            "message": "No matching API version found. "
            "Please make sure the specified API version is valid.",
        }
    }
    assert api.get("/api/products").json()["pagination"]["totalResultSize"] == 0


def test_created_objects_have_uuid7_ids_camel_case_and_decimal_strings(api: ApiClient) -> None:
    response = api.post("/api/tax-rates", json=tax_rate_body(amount="0.075"))
    assert response.status_code == 201
    body = response.json()
    assert uuid.UUID(body["id"]).version == 7
    assert uuid.UUID(body["versionId"]).version == 7
    assert {"invoiceName", "invoiceShortName", "isPublished", "isArchived"} <= body.keys()
    assert not any("_" in key for key in body)
    assert body["amount"] == "0.075"
    assert body["createdAt"].endswith("Z")


def test_numbers_given_as_json_numbers_are_read_exactly(api: ApiClient) -> None:
    response = api.post("/api/tax-rates", json=tax_rate_body(amount=0.1))
    assert response.status_code == 201
    assert response.json()["amount"] == "0.1"


def test_unknown_routes_and_methods_answer_in_the_error_shape(api: ApiClient) -> None:
    missing = api.get("/api/no-such-thing")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "NotFound"
    wrong_method = api.request("PATCH", "/api/products")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["type"] == "MethodNotAllowed"


def test_a_body_that_is_not_an_object_is_a_validation_error(api: ApiClient) -> None:
    response = api.post("/api/products", json=["name", "X"])
    assert response.status_code == 400
    assert response.json()["error"]["details"]


def test_openapi_document_and_interactive_docs(http: TestClient) -> None:
    document = http.get("/openapi.json").json()
    assert document["info"]["title"] == "Tally API"
    assert "/api/customers" in document["paths"]
    create = document["paths"]["/api/customers"]["post"]
    assert set(create["responses"]) >= {"201", "401", "404", "400"}
    assert not {"409", "422"} & set(create["responses"])  # a conflict is a 400 naming it
    assert any(
        scheme.get("scheme") == "basic"
        for scheme in document["components"]["securitySchemes"].values()
    )
    docs = http.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


def test_nul_characters_are_refused_alike_on_every_backend(api: ApiClient) -> None:
    attempts = [
        api.post(
            "/api/products",
            content=b'{"name": "a\\u0000b"}',
            headers={"Content-Type": "application/json"},
        ),
        api.get("/api/products/a%00b"),
        api.get("/api/products", params={"name": "a\x00b"}),
        api.put(
            "/api/products/x",
            content=b'{"name": "\\\\\\u0000"}',
            headers={"Content-Type": "application/json"},
        ),
    ]
    for response in attempts:
        assert response.status_code == 400, response.text
        assert "NUL" in response.json()["error"]["message"]
    # An escaped backslash before "u0000" is ordinary text.
    literal = api.post(
        "/api/products",
        content=b'{"name": "C:\\\\u0000"}',
        headers={"Content-Type": "application/json"},
    )
    assert literal.status_code == 201
    assert literal.json()["name"] == "C:\\u0000"
    assert api.get("/api/products").json()["pagination"]["totalResultSize"] == 1
