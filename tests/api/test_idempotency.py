"""`Idempotency-Key` on POST: retries replay the first response, for 24 hours."""

import threading
from datetime import timedelta

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from starlette.requests import Request

from tally.accounts.service import Credentials
from tally.api.idempotency import ABANDONED_AFTER, _request_hash
from tally.core.clock import utcnow
from tally.db import Database
from tally.models import IdempotencyRecord
from tests.support.api_client import ApiClient
from tests.support.errors import conflict_error


def count_products(api: ApiClient) -> int:
    return int(api.get("/api/products").json()["pagination"]["totalResultSize"])


def post_product(api: ApiClient, key: str, name: str = "Widget") -> httpx.Response:
    return api.post("/api/products", json={"name": name}, headers={"Idempotency-Key": key})


def test_a_retry_replays_the_first_response(api: ApiClient) -> None:
    first = post_product(api, "key-1")
    retry = post_product(api, "key-1")
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert count_products(api) == 1


def test_the_same_key_with_another_body_is_a_conflict(api: ApiClient) -> None:
    post_product(api, "key-2", name="Widget")
    response = post_product(api, "key-2", name="Gadget")
    assert "different request" in conflict_error(response, "IdempotencyKeyReused")["message"]
    assert count_products(api) == 1


def test_keys_belong_to_one_account(api: ApiClient, other_api: ApiClient) -> None:
    mine = post_product(api, "shared-key")
    theirs = post_product(other_api, "shared-key")
    assert theirs.status_code == 201
    assert theirs.json()["id"] != mine.json()["id"]


def test_a_failed_request_releases_its_key(api: ApiClient) -> None:
    invalid = api.post(
        "/api/products", json={"label": "no name"}, headers={"Idempotency-Key": "k3"}
    )
    assert invalid.status_code == 400
    fixed = post_product(api, "k3")
    assert fixed.status_code == 201
    assert count_products(api) == 1


def test_keys_expire_after_24_hours(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    first = post_product(api, "old-key")
    with database.transaction() as session:
        session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.account_id == account.account_id)
            .values(created_at=utcnow() - timedelta(hours=24, minutes=1))
        )
    again = post_product(api, "old-key")
    assert again.status_code == 201
    assert again.json()["id"] != first.json()["id"]
    assert count_products(api) == 2


def test_an_abandoned_claim_is_taken_over_by_the_next_retry(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    # A claim whose request never answered: its process died, or the database went away
    # before the key could be released.
    body_hash = _request_hash_of_product("Widget")
    with database.transaction() as session:
        session.add(
            IdempotencyRecord(account_id=account.account_id, key="stuck", request_hash=body_hash)
        )
    in_flight = post_product(api, "stuck")
    # A claim this young may still be running.
    assert "still in progress" in conflict_error(in_flight, "RequestInProgress")["message"]
    with database.transaction() as session:
        session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.account_id == account.account_id)
            .values(created_at=utcnow() - ABANDONED_AFTER - timedelta(seconds=1))
        )
    taken = post_product(api, "stuck")
    assert taken.status_code == 201
    replayed = post_product(api, "stuck")
    assert replayed.json() == taken.json() and replayed.headers["Idempotent-Replayed"] == "true"
    assert count_products(api) == 1


def _request_hash_of_product(name: str) -> str:
    """The hash `post_product` sends, computed from a request the client builds the same way."""
    request = httpx.Request("POST", "http://testserver/api/products", json={"name": name})
    return _request_hash(
        Request(
            {
                "type": "http",
                "method": "POST",
                "path": "/api/products",
                "query_string": b"",
                "headers": [],
                "server": ("testserver", 80),
                "scheme": "http",
                "root_path": "",
            }
        ),
        request.content,
    )


def test_an_overlong_key_is_rejected(api: ApiClient) -> None:
    response = post_product(api, "k" * 256)
    assert response.status_code == 400
    assert count_products(api) == 0


def test_requests_without_a_key_are_not_deduplicated(api: ApiClient) -> None:
    api.post("/api/products", json={"name": "Widget"})
    api.post("/api/products", json={"name": "Widget"})
    assert count_products(api) == 2


def test_concurrent_retries_create_one_object(
    app: FastAPI, account: Credentials, api: ApiClient
) -> None:
    auth = (account.api_key, account.api_secret)
    barrier = threading.Barrier(4)
    responses: list[httpx.Response] = []

    def send() -> None:
        with TestClient(app) as client:
            barrier.wait()
            responses.append(
                client.post(
                    "/api/products",
                    json={"name": "Once"},
                    headers={"Idempotency-Key": "race"},
                    auth=auth,
                )
            )

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(created) == 1
    refused = [r for r in responses if r.status_code != 201]
    assert all(conflict_error(r, "RequestInProgress") for r in refused)
    assert count_products(api) == 1
