"""API keys from the dashboard: listed, created (the secret shown once), revoked after a
confirmation; the API accepts and refuses them through the same service. A form without the
session's CSRF token changes nothing."""

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tally.db import Database
from tests.conftest import make_account
from tests.dashboard.helpers import (
    Merchant,
    add_user,
    api_key_row,
    key_count,
    page_token,
    signed_in,
)

KEY_AND_SECRET = re.compile(r'id="api-key">(tak_[^<]+)<.*id="api-secret">(tsk_[^<]+)<', re.S)


def create_key(dashboard: TestClient, name: str) -> tuple[str, str]:
    answer = dashboard.post(
        "/dashboard/api-keys", data={"name": name, "csrf_token": page_token(dashboard)}
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["cache-control"] == "no-store"
    found = KEY_AND_SECRET.search(answer.text)
    assert found, answer.text
    return found.group(1), found.group(2)


def test_the_list_shows_the_accounts_keys_only(
    dashboard: TestClient, database: Database, merchant: Merchant
) -> None:
    other = make_account(database, "Another merchant")
    page = dashboard.get("/dashboard/api-keys")
    assert page.status_code == 200
    assert merchant.account.api_key in page.text
    assert other.api_key not in page.text
    assert merchant.account.api_secret not in page.text


def test_a_new_keys_secret_is_shown_once_and_works_with_the_api(
    dashboard: TestClient, http: TestClient, database: Database, merchant: Merchant
) -> None:
    key, secret = create_key(dashboard, "Billing sync")
    row = api_key_row(database, key)
    assert (row.account_id, row.name, row.revoked_at) == (
        merchant.account.account_id,
        "Billing sync",
        None,
    )
    assert secret not in row.secret_hash

    listed = dashboard.get("/dashboard/api-keys")
    assert key in listed.text and "Billing sync" in listed.text
    assert secret not in listed.text  # never again

    answer = http.get("/api/customers", auth=(key, secret))
    assert answer.status_code == 200
    assert answer.json()["items"] == []


def test_revoking_asks_first_then_the_api_refuses_the_key(
    dashboard: TestClient, http: TestClient, database: Database
) -> None:
    key, secret = create_key(dashboard, "Old integration")
    key_id = api_key_row(database, key).id

    confirm = dashboard.get(f"/dashboard/api-keys/{key_id}/revoke")
    assert confirm.status_code == 200
    assert key in confirm.text and "cannot be undone" in confirm.text
    assert api_key_row(database, key).revoked_at is None  # looking revokes nothing

    token = page_token(dashboard)
    answer = dashboard.post(f"/dashboard/api-keys/{key_id}/revoke", data={"csrf_token": token})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/api-keys"
    revoked_at = api_key_row(database, key).revoked_at
    assert revoked_at is not None
    assert http.get("/api/customers", auth=(key, secret)).status_code == 401
    assert "Revoked" in dashboard.get("/dashboard/api-keys").text

    again = dashboard.post(f"/dashboard/api-keys/{key_id}/revoke", data={"csrf_token": token})
    assert again.status_code == 303
    assert api_key_row(database, key).revoked_at == revoked_at  # the first revocation stays


def test_another_accounts_key_is_not_found(
    dashboard: TestClient, http: TestClient, database: Database
) -> None:
    other = make_account(database, "Another merchant")
    other_id = api_key_row(database, other.api_key).id
    token = page_token(dashboard)
    assert dashboard.get(f"/dashboard/api-keys/{other_id}/revoke").status_code == 404
    answer = dashboard.post(f"/dashboard/api-keys/{other_id}/revoke", data={"csrf_token": token})
    assert answer.status_code == 404
    assert api_key_row(database, other.api_key).revoked_at is None
    assert http.get("/api/customers", auth=(other.api_key, other.api_secret)).status_code == 200


def test_forms_without_the_sessions_csrf_token_change_nothing(
    dashboard: TestClient, database: Database, merchant: Merchant
) -> None:
    account_id = merchant.account.account_id
    key_id = api_key_row(database, merchant.account.api_key).id
    keys_before = key_count(database, account_id)
    for forged in ({}, {"csrf_token": ""}, {"csrf_token": "guessed"}):
        created = dashboard.post("/dashboard/api-keys", data={"name": "sneaky", **forged})
        assert created.status_code == 403
        assert "Nothing was changed" in created.text
        revoked = dashboard.post(f"/dashboard/api-keys/{key_id}/revoke", data=forged)
        assert revoked.status_code == 403
    # The token in a JSON body (not the form encoding the pages use) is no token at all.
    token = page_token(dashboard)
    as_json = dashboard.post("/dashboard/api-keys", json={"name": "x", "csrf_token": token})
    assert as_json.status_code == 403
    assert key_count(database, account_id) == keys_before
    assert api_key_row(database, merchant.account.api_key).revoked_at is None


def test_a_token_from_another_session_is_refused(
    app: FastAPI, dashboard: TestClient, database: Database, merchant: Merchant
) -> None:
    stranger = add_user(database, make_account(database, "Another merchant"))
    with signed_in(app, stranger) as other:
        their_token = page_token(other)
    keys_before = key_count(database, merchant.account.account_id)
    answer = dashboard.post("/dashboard/api-keys", data={"name": "x", "csrf_token": their_token})
    assert answer.status_code == 403
    assert key_count(database, merchant.account.account_id) == keys_before


def test_posting_without_a_session_goes_to_sign_in(
    visitor: TestClient, database: Database, merchant: Merchant
) -> None:
    before = key_count(database, merchant.account.account_id)
    answer = visitor.post("/dashboard/api-keys", data={"name": "x", "csrf_token": "x"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/sign-in"
    assert key_count(database, merchant.account.account_id) == before
