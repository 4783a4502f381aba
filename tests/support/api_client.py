"""A test client that acts as one account and checks every answer's shape.

Every 2xx JSON answer to an operation that Sequence also has is validated against Sequence's
schema; every 4xx/5xx answer must be Tally's error shape. So each test that calls the API
also tests wire compatibility.
"""

from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.support.sequence_schema import find_operation, response_errors

VALIDATED: set[tuple[str, str]] = set()


class ContractError(AssertionError):
    pass


def check_contract(response: httpx.Response) -> None:
    request = response.request
    if response.status_code >= 400:
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        if not (isinstance(error, dict) and {"type", "message"} <= error.keys()):
            raise ContractError(f"{request.method} {request.url.path}: not an error shape: {body}")
        return
    if "application/json" not in response.headers.get("content-type", ""):
        return
    operation = find_operation(request.method, request.url.path)
    if operation is None:
        return
    errors = response_errors(operation, response.status_code, response.json())
    if errors:
        raise ContractError(
            f"{request.method} {request.url.path} -> {response.status_code} does not match "
            f"Sequence's {operation.method.upper()} {operation.path}:\n  " + "\n  ".join(errors)
        )
    VALIDATED.add((operation.method, operation.path))


class ApiClient:
    def __init__(self, client: TestClient, auth: tuple[str, str] | None) -> None:
        self.client = client
        self.auth = auth

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if self.auth is not None:
            kwargs.setdefault("auth", self.auth)
        response = self.client.request(method, url, **kwargs)
        check_contract(response)
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)
