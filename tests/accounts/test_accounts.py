"""/api/sequence-accounts: the caller's own account and Tally's billing settings on it."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tally.db import Database
from tests.conftest import make_account
from tests.factories import address
from tests.support.api_client import ApiClient

DEFAULTS = {
    "companyName": "Test merchant",
    "companyNumber": "",
    "country": "GB",
    "sendCustomerNotifications": True,
    "alertEmailAddresses": [],
    "timezone": "UTC",
    "currency": "USD",
    "invoiceNumberPrefix": "INV",
    "paymentTermsDays": 30,
}


def own_account(api: ApiClient) -> dict[str, Any]:
    response = api.get("/api/sequence-accounts")
    assert response.status_code == 200
    items = response.json()["items"]
    assert len(items) == 1
    return dict(items[0])


def put(api: ApiClient, account_id: str, body: object) -> Any:
    return api.put(f"/api/sequence-accounts/{account_id}", json=body)


# --- read ------------------------------------------------------------------------------------


def test_list_answers_exactly_the_callers_account(
    api: ApiClient, other_api: ApiClient, account: Credentials
) -> None:
    response = api.get("/api/sequence-accounts")

    assert response.status_code == 200
    page = response.json()
    assert [a["id"] for a in page["items"]] == [account.account_id]
    assert page["pagination"]["totalResultSize"] == 1
    theirs = own_account(other_api)
    assert theirs["id"] != account.account_id
    assert theirs["companyName"] == "Another merchant"


def test_a_new_account_has_tallys_default_settings(http: TestClient, database: Database) -> None:
    account = make_account(database, address=None)  # the fixture's has an address
    api = ApiClient(http, (account.api_key, account.api_secret))
    mine = own_account(api)
    assert mine["id"] == account.account_id
    assert mine["sequenceOrganisationId"] == account.account_id
    assert uuid.UUID(mine["id"]).version == 7
    created = datetime.fromisoformat(mine["createdAt"])
    assert created.utcoffset() == timedelta(0)
    assert abs(datetime.now(created.tzinfo) - created) < timedelta(minutes=5)
    for field, value in DEFAULTS.items():
        assert mine[field] == value, field
    assert "address" not in mine
    assert "logoUrl" not in mine


def test_get_own_account(api: ApiClient, account: Credentials) -> None:
    response = api.get(f"/api/sequence-accounts/{account.account_id}")
    assert response.status_code == 200
    assert response.json() == own_account(api)


def test_another_or_unknown_account_is_404(api: ApiClient, other_api: ApiClient) -> None:
    theirs = own_account(other_api)
    for account_id in (theirs["id"], str(uuid.uuid4()), "not-an-id"):
        response = api.get(f"/api/sequence-accounts/{account_id}")
        assert response.status_code == 404, account_id
        assert response.json()["error"]["type"] == "NotFound"


def test_accounts_need_credentials(api: ApiClient, account: Credentials) -> None:
    anonymous = ApiClient(api.client, None)
    assert anonymous.get("/api/sequence-accounts").status_code == 401
    assert anonymous.get(f"/api/sequence-accounts/{account.account_id}").status_code == 401
    response = anonymous.put(
        f"/api/sequence-accounts/{account.account_id}", json={"companyName": "Hijacked"}
    )
    assert response.status_code == 401
    wrong_secret = ApiClient(api.client, (account.api_key, "tsk_wrong"))
    assert wrong_secret.get("/api/sequence-accounts").status_code == 401
    assert own_account(api)["companyName"] == "Test merchant"


# --- update ----------------------------------------------------------------------------------


def test_put_changes_the_given_settings(api: ApiClient, account: Credentials) -> None:
    settings = {
        "companyName": "Acme Analytics Ltd",
        "timezone": "Europe/London",
        "currency": "GBP",
        "invoiceNumberPrefix": "ACME-2024",
        "paymentTermsDays": 14,
        "address": address(),
        "logoUrl": "https://acme.example/logo.png",
    }
    response = put(api, account.account_id, settings)

    assert response.status_code == 200
    updated = response.json()
    for field, value in settings.items():
        assert updated[field] == value, field
    for field in ("companyNumber", "country", "sendCustomerNotifications", "alertEmailAddresses"):
        assert updated[field] == DEFAULTS[field], field
    assert updated["id"] == account.account_id
    assert api.get(f"/api/sequence-accounts/{account.account_id}").json() == updated
    assert own_account(api) == updated


def test_omitted_settings_keep_their_values(api: ApiClient, account: Credentials) -> None:
    put(
        api,
        account.account_id,
        {
            "companyName": "Acme",
            "timezone": "America/New_York",
            "currency": "EUR",
            "paymentTermsDays": 45,
            "address": address(),
            "logoUrl": "https://acme.example/logo.png",
        },
    )
    before = own_account(api)

    response = put(api, account.account_id, {"paymentTermsDays": 0})

    assert response.status_code == 200
    after = response.json()
    assert after["paymentTermsDays"] == 0
    assert {k: v for k, v in after.items() if k != "paymentTermsDays"} == {
        k: v for k, v in before.items() if k != "paymentTermsDays"
    }
    empty = put(api, account.account_id, {})
    assert empty.status_code == 200
    assert empty.json() == after
    assert own_account(api) == after


def test_sequences_own_update_body_is_accepted(api: ApiClient, account: Credentials) -> None:
    # The example request of Sequence's PUT /sequence-accounts/{id}.
    body = {
        "companyName": "Acme Inc.",
        "companyNumber": "GB123988",
        "country": "GB",
        "sendCustomerNotifications": True,
        "alertEmailAddresses": ["alerts@example.com"],
    }
    response = put(api, account.account_id, body)
    assert response.status_code == 200
    for field, value in body.items():
        assert response.json()[field] == value, field
    off = put(api, account.account_id, {"sendCustomerNotifications": False, "country": "de"})
    assert off.json()["sendCustomerNotifications"] is False
    assert off.json()["country"] == "DE"
    assert off.json()["alertEmailAddresses"] == ["alerts@example.com"]


def test_a_new_address_replaces_the_old_one(api: ApiClient, account: Credentials) -> None:
    put(api, account.account_id, {"address": address(line2="Second line")})
    new_address = {
        "line1": "1 Main St",
        "town": "Austin",
        "state": "tx",
        "postcode": "78701",
        "country": "US",
    }
    updated = put(api, account.account_id, {"address": new_address}).json()
    assert updated["address"] == {**new_address, "state": "TX"}
    assert "line2" not in updated["address"]


@pytest.mark.parametrize(
    "body",
    [
        {"timezone": "Europe/Atlantis"},
        {"timezone": "GMT+1 (London)"},
        {"timezone": ""},
        {"timezone": "localtime"},  # the server's own zone, whatever that is
        {"timezone": "Factory"},
        {"currency": "XYZ"},
        {"currency": "BTC"},
        {"currency": 826},
        {"paymentTermsDays": -1},
        {"paymentTermsDays": 366},
        {"paymentTermsDays": "soon"},
        {"invoiceNumberPrefix": "INV 2024"},
        {"invoiceNumberPrefix": ""},
        {"companyName": ""},
        {"country": "XX"},
        {"alertEmailAddresses": ["not-an-email"]},
        {"address": {"line1": "No town"}},
        {"address": address(country="US", state="ZZ")},
        # One bad setting spoils the whole request: the valid ones are not applied either.
        {"companyName": "Half applied", "timezone": "Mars/Olympus_Mons"},
        {"currency": "GBP", "paymentTermsDays": -5},
    ],
)
def test_invalid_settings_are_400_and_change_nothing(
    api: ApiClient, account: Credentials, body: dict[str, Any]
) -> None:
    before = own_account(api)
    response = put(api, account.account_id, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "ValidationError"
    assert error["details"]
    assert own_account(api) == before


def test_malformed_json_is_a_400_and_changes_nothing(api: ApiClient, account: Credentials) -> None:
    before = own_account(api)
    response = api.put(
        f"/api/sequence-accounts/{account.account_id}",
        content=b'{"companyName": "Broken",',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "BadRequest"
    assert own_account(api) == before


def test_put_on_another_account_is_404_and_changes_nothing(
    api: ApiClient, other_api: ApiClient
) -> None:
    theirs = own_account(other_api)
    for account_id in (theirs["id"], str(uuid.uuid4())):
        response = put(api, account_id, {"companyName": "Hijacked", "currency": "EUR"})
        assert response.status_code == 404, account_id
        assert response.json()["error"]["type"] == "NotFound"
    assert own_account(other_api) == theirs
    assert own_account(api)["companyName"] == "Test merchant"
