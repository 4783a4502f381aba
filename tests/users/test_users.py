"""/api/users: the merchant's dashboard users in Sequence's shape. DELETE deactivates: the
user's sessions end, their sign-ins are refused, the row and its history stay, and the last
active user cannot go."""

from typing import Any

from fastapi import FastAPI

from tally.accounts.service import Credentials
from tally.db import Database
from tally.exceptions import Conflict
from tests.dashboard.helpers import add_user, browser, live_sessions, sign_in, signed_in
from tests.support.api_client import ApiClient


def test_users_are_listed_and_read_in_sequence_shape(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    ana, ben = add_user(database, account), add_user(database, account)
    listed = api.get("/api/users")
    assert listed.status_code == 200, listed.text
    assert [user["id"] for user in listed.json()["items"]] == [ben.user_id, ana.user_id]
    assert listed.json()["pagination"]["totalResultSize"] == 2
    one = api.get(f"/api/users/{ana.user_id}").json()
    assert one == {
        "id": ana.user_id,
        "email": ana.email,
        "sequenceAccountIds": [account.account_id],
        "state": "ACTIVE",
        "roles": [],
    }
    page = api.get("/api/users", params={"limit": 1}).json()
    assert len(page["items"]) == 1 and page["pagination"]["after"]


def test_deleting_deactivates_ends_sessions_and_refuses_sign_in(
    app: FastAPI, api: ApiClient, database: Database, account: Credentials
) -> None:
    ana, ben = add_user(database, account), add_user(database, account)
    with signed_in(app, ben) as bens_browser:
        assert live_sessions(database, ben.user_id) == 1
        deleted = api.delete(f"/api/users/{ben.user_id}")
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["state"] == "DEACTIVATED"
        assert live_sessions(database, ben.user_id) == 0
        # The signed-in browser is out at its next page.
        assert bens_browser.get("/dashboard").status_code == 303
    with browser(app) as fresh:
        assert getattr(sign_in(fresh, ben.email, ben.password), "status_code", None) != 303
    # The user is kept (history names them), no longer listed as active.
    assert api.get(f"/api/users/{ben.user_id}").json()["state"] == "DEACTIVATED"
    assert [user["id"] for user in api.get("/api/users").json()["items"]] == [ana.user_id]
    # Deleting again changes nothing.
    again = api.delete(f"/api/users/{ben.user_id}")
    assert again.status_code == 200 and again.json()["state"] == "DEACTIVATED"
    logs = api.get("/api/activity-logs", params={"activityLogObjectId": ben.user_id}).json()
    items: list[dict[str, Any]] = [log["activityLogItems"][0] for log in logs["items"]]
    assert [item["verb"] for item in items] == ["DEACTIVATED"]
    # Ana still signs in.
    with signed_in(app, ana):
        pass


def test_the_last_active_user_cannot_be_deleted(
    app: FastAPI, api: ApiClient, database: Database, account: Credentials
) -> None:
    only = add_user(database, account)
    response = api.delete(f"/api/users/{only.user_id}")
    assert response.status_code == Conflict.status_code
    assert "last active user" in response.json()["error"]["message"]
    assert api.get(f"/api/users/{only.user_id}").json()["state"] == "ACTIVE"
    with signed_in(app, only):
        pass


def test_another_accounts_users_are_invisible(
    api: ApiClient, other_api: ApiClient, database: Database, account: Credentials
) -> None:
    ana, ben = add_user(database, account), add_user(database, account)
    assert other_api.get(f"/api/users/{ana.user_id}").status_code == 404
    assert other_api.delete(f"/api/users/{ana.user_id}").status_code == 404
    assert other_api.get("/api/users").json()["items"] == []
    assert api.get(f"/api/users/{ana.user_id}").json()["state"] == "ACTIVE"
    assert api.get(f"/api/users/{ben.user_id}").json()["state"] == "ACTIVE"


def test_unknown_query_parameters_are_refused(api: ApiClient) -> None:
    response = api.get("/api/users", params={"role": "admin"})
    assert response.status_code == 400
    assert "role" in response.text
