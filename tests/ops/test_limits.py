"""Request bodies, batches, rates per API key and failed logins: each refused in the error
shape, changing nothing."""

import json
from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tally.db import Database
from tally.settings import Settings
from tests.conftest import make_account
from tests.ops.conftest import ClientFactory


def events(count: int, prefix: str, padding: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "customerAlias": "acme",
            "eventType": "api_call",
            "customerEventId": f"{prefix}-{n}",
            "eventProperties": {"pad": "x" * padding},
        }
        for n in range(count)
    ]


def stored(client: TestClient, account: Credentials) -> int:
    answer = client.get(
        "/api/usage-events",
        params={"limit": 100},
        auth=(account.api_key, account.api_secret),
    )
    assert answer.status_code == 200
    return len(answer.json()["items"])


def assert_error(answer: Any, status: int, error_type: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["type"] == error_type
    assert answer.json()["error"]["message"]


def test_a_body_over_the_limit_is_413_and_stores_nothing(
    client_with: ClientFactory, account: Credentials
) -> None:
    client = client_with(max_body_bytes=4096)
    auth = (account.api_key, account.api_secret)
    big = {"events": events(20, "big", padding=300)}
    assert len(json.dumps(big)) > 4096
    assert_error(
        client.post("/api/usage-events/batch", json=big, auth=auth), 413, "PayloadTooLarge"
    )

    # Streamed without a Content-Length: refused once the limit is passed.
    def chunks() -> Iterator[bytes]:
        body = json.dumps(big).encode()
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    streamed = client.post(
        "/api/usage-events/batch",
        content=chunks(),
        headers={"Content-Type": "application/json"},
        auth=auth,
    )
    assert_error(streamed, 413, "PayloadTooLarge")
    assert stored(client, account) == 0

    small = {"events": events(2, "small")}
    assert client.post("/api/usage-events/batch", json=small, auth=auth).status_code == 200
    assert stored(client, account) == 2


def test_a_batch_over_1000_events_is_refused_whole(http: TestClient, account: Credentials) -> None:
    # The 1000-event cap is no setting: the run's own app (not one more app of the same
    # settings, a second or two to build and route).
    client = http
    auth = (account.api_key, account.api_secret)
    answer = client.post("/api/usage-events/batch", json={"events": events(1001, "n")}, auth=auth)
    assert answer.status_code in (400, 400), answer.text
    assert "1000" in answer.json()["error"]["message"]
    assert stored(client, account) == 0


def test_an_api_key_over_its_rate_gets_429_with_retry_after(
    client_with: ClientFactory, database: Database
) -> None:
    client = client_with(rate_limit_per_minute=3, ingestion_rate_limit_per_minute=2)
    mine, theirs = make_account(database), make_account(database)
    auth = (mine.api_key, mine.api_secret)
    for _ in range(3):
        assert client.get("/api/customers", auth=auth).status_code == 200
    refused = client.get("/api/customers", auth=auth)
    assert_error(refused, 429, "TooManyRequests")
    assert 1 <= int(refused.headers["retry-after"]) <= 20  # a token every 20 s
    # Another key has its own bucket; ingestion has its own too.
    assert client.get("/api/customers", auth=(theirs.api_key, theirs.api_secret)).status_code == 200
    body = {"events": events(1, "rate")}
    assert client.post("/api/usage-events/batch", json=body, auth=auth).status_code == 200
    assert client.post("/api/usage-events/batch", json=body, auth=auth).status_code == 200
    assert_error(
        client.post("/api/usage-events/batch", json=body, auth=auth), 429, "TooManyRequests"
    )


def test_repeated_failed_logins_are_throttled(
    client_with: ClientFactory, account: Credentials
) -> None:
    client = client_with(auth_failure_limit=3, auth_failure_window_seconds=60)
    wrong = (account.api_key, "not-the-secret")
    for _ in range(3):
        assert_error(client.get("/api/customers", auth=wrong), 401, "Unauthorized")
    throttled = client.get("/api/customers", auth=wrong)
    assert_error(throttled, 429, "TooManyRequests")
    assert 1 <= int(throttled.headers["retry-after"]) <= 20
    # From this client, even the right secret waits: the address is throttled.
    right = client.get("/api/customers", auth=(account.api_key, account.api_secret))
    assert right.status_code == 429


def test_the_default_limits_are_sequences(client_with: ClientFactory, account: Credentials) -> None:
    defaults = Settings.model_fields
    assert defaults["rate_limit_per_minute"].default == 1500
    assert defaults["ingestion_rate_limit_per_minute"].default == 12000
    client = client_with(
        **{name: defaults[name].default for name in ("rate_limit_per_minute", "auth_failure_limit")}
    )
    auth = (account.api_key, account.api_secret)
    assert all(client.get("/api/customers", auth=auth).status_code == 200 for _ in range(30))
