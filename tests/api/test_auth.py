"""HTTP Basic authentication with an API key and secret."""

import base64
import hashlib

from sqlalchemy import select, update

from tally.accounts.service import Credentials
from tally.core.clock import utcnow
from tally.db import Database
from tally.models import ApiKey
from tests.support.api_client import ApiClient


def basic(value: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(value.encode()).decode()}


def assert_unauthorized(response_status: int, body: dict[str, object]) -> None:
    assert response_status == 401
    assert body["error"]["type"] == "Unauthorized"  # type: ignore[index]


def test_valid_credentials_are_accepted(api: ApiClient) -> None:
    assert api.get("/api/customers").status_code == 200


def test_missing_credentials_get_401_with_a_challenge(anonymous: ApiClient) -> None:
    response = anonymous.get("/api/customers")
    assert_unauthorized(response.status_code, response.json())
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_wrong_credentials_get_401(anonymous: ApiClient, account: Credentials) -> None:
    attempts = [
        basic(f"{account.api_key}:wrong-secret"),
        basic(f"unknown-key:{account.api_secret}"),
        basic(f"{account.api_key}:"),
        basic(account.api_key),
        {"Authorization": "Basic %%%not-base64"},
        {"Authorization": f"Bearer {account.api_secret}"},
    ]
    for headers in attempts:
        response = anonymous.get("/api/customers", headers=headers)
        assert_unauthorized(response.status_code, response.json())


def test_secrets_are_stored_hashed(database: Database, account: Credentials) -> None:
    with database.session(write=False) as session:
        stored = session.scalar(select(ApiKey.secret_hash).where(ApiKey.key == account.api_key))
    assert stored is not None
    assert account.api_secret not in stored
    assert stored == hashlib.sha256(account.api_secret.encode()).hexdigest()


def test_a_revoked_key_stops_working(
    database: Database, api: ApiClient, account: Credentials
) -> None:
    with database.transaction() as session:
        session.execute(
            update(ApiKey).where(ApiKey.key == account.api_key).values(revoked_at=utcnow())
        )
    response = api.get("/api/customers")
    assert_unauthorized(response.status_code, response.json())


def test_failed_auth_writes_nothing(anonymous: ApiClient, api: ApiClient) -> None:
    response = anonymous.post("/api/products", json={"name": "Sneaky"})
    assert response.status_code == 401
    assert api.get("/api/products").json()["pagination"]["totalResultSize"] == 0
