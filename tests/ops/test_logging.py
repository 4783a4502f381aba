"""Request ids, and one JSON log line per request with nothing secret in it."""

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tally.ops.logging import JsonFormatter, redact
from tests.factories import new_customer
from tests.ops.conftest import ClientFactory
from tests.portal.helpers import issue_session, link_path, portal_client, portal_key, session_path
from tests.support.api_client import ApiClient


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything logged meanwhile, as the JSON lines `tally serve` writes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_request_id_is_echoed_or_made(http: TestClient) -> None:
    given = http.get("/healthz", headers={"X-Request-Id": "trace-42.a:b_c"})
    assert given.headers["x-request-id"] == "trace-42.a:b_c"
    made = http.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32
    for unsafe in ("x" * 129, "a b", "<script>", "id\\n"):
        replaced = http.get("/healthz", headers={"X-Request-Id": unsafe})
        assert replaced.headers["x-request-id"] != unsafe
        assert len(replaced.headers["x-request-id"]) == 32


def test_one_json_line_per_request_with_its_id(
    http: TestClient, api: ApiClient, log_lines: io.StringIO
) -> None:
    customer = new_customer(api)
    answer = http.get(
        f"/api/customers/{customer['id']}",
        auth=api.auth,  # type: ignore[arg-type]
        headers={"X-Request-Id": "req-123"},
    )
    assert answer.status_code == 200
    [line] = [entry for entry in parsed(log_lines) if entry.get("request_id") == "req-123"]
    assert line["logger"] == "tally.access"
    assert line["level"] == "info"
    assert (line["method"], line["route"], line["status"]) == ("GET", "/api/customers/{id}", 200)
    assert line["duration_ms"] >= 0
    assert line["time"].endswith("+00:00")
    assert customer["id"] not in json.dumps(line)


def test_no_secret_reaches_the_logs(
    http: TestClient, app: Any, api: ApiClient, log_lines: io.StringIO
) -> None:
    key, secret = api.auth  # type: ignore[misc]
    customer = new_customer(api)
    session = issue_session(api, customer["id"])
    browser = portal_client(app)

    assert http.get("/api/customers", auth=(key, secret)).status_code == 200
    assert http.get("/api/customers", auth=(key, secret + "x")).status_code == 401
    assert browser.get(session_path(session)).status_code == 303
    assert browser.get(link_path(customer)).status_code == 200
    assert browser.get("/portal/session?token=not-a-token-but-secret-looking").status_code < 500

    text = log_lines.getvalue()
    lines = parsed(log_lines)
    assert len(lines) >= 5
    for forbidden in (secret, session["token"], portal_key(customer), "secret-looking"):
        assert forbidden not in text
    routes = {line.get("route") for line in lines}
    assert "/portal/session" in routes
    assert any(str(route).startswith("/portal/c/{portal_key}") for route in routes)


def test_the_formatter_masks_credentials_in_any_message() -> None:
    assert "abc" not in redact("Authorization: Basic abc==")
    assert "s3kr1t" not in redact("GET /portal/session?token=s3kr1t&x=1")
    assert "k3y" not in redact("GET /portal/c/k3y/invoices")
    assert redact("nothing to hide") == "nothing to hide"


def test_an_unexpected_error_is_logged_and_answered_with_the_request_id(
    client_with: ClientFactory, log_lines: io.StringIO
) -> None:
    client = client_with()

    def boom(portal_key: str) -> None:
        raise RuntimeError("kaboom")

    client.app.add_api_route("/boom/{portal_key}", boom)  # type: ignore[attr-defined]
    answer = client.get("/boom/s3cr3t-key", headers={"X-Request-Id": "boom-1"})
    assert answer.status_code == 500
    assert answer.json()["error"]["type"] == "InternalError"
    assert answer.headers["x-request-id"] == "boom-1"
    lines = [line for line in parsed(log_lines) if line["request_id"] == "boom-1"]
    error = next(line for line in lines if line["level"] == "error")
    assert error["message"] == "unhandled error on GET /boom/{portal_key}"
    assert "kaboom" in error["exception"]
    access = next(line for line in lines if line["logger"] == "tally.access")
    assert (access["route"], access["status"]) == ("/boom/{portal_key}", 500)
    server_side = [line for line in parsed(log_lines) if line["logger"] != "httpx"]  # the client
    assert "s3cr3t-key" not in json.dumps(server_side)
