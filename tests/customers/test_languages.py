"""`language`, a Tally extension on the customer and the account: accepted, answered,
validated against the supported languages (400 naming the field, nothing written), the
customer's falling back to the account's; `tally accounts create --language`."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import Account
from tests.factories import customer_body, new_customer
from tests.support.api_client import ApiClient
from tests.support.cli import run_tally


def _total(api: ApiClient) -> int:
    return int(api.get("/api/customers").json()["pagination"]["totalResultSize"])


def test_a_customer_language_is_accepted_answered_and_kept(api: ApiClient) -> None:
    created = new_customer(api, "Kunde GmbH", language="de")
    assert created["language"] == "de"
    assert api.get(f"/api/customers/{created['id']}").json()["language"] == "de"

    # Left out of a PUT: kept. Another one: changed. Null: the account's again.
    body = customer_body(legalName="Kunde GmbH")
    assert api.put(f"/api/customers/{created['id']}", json=body).json()["language"] == "de"
    changed = api.put(f"/api/customers/{created['id']}", json={**body, "language": "nl"})
    assert changed.status_code == 200 and changed.json()["language"] == "nl"
    reset = api.put(f"/api/customers/{created['id']}", json={**body, "language": None})
    assert reset.status_code == 200 and reset.json().get("language") is None
    listed = api.get("/api/customers").json()["items"]
    assert [item.get("language") for item in listed] == [None]


def test_an_unsupported_language_is_refused_naming_the_field_and_writes_nothing(
    api: ApiClient,
) -> None:
    for language in ("xx", "DE", "de_DE", "", 7):
        response = api.post("/api/customers", json=customer_body(language=language))
        assert response.status_code == 400, (language, response.text)
        error = response.json()["error"]
        assert error["type"] == "ValidationError"
        assert error["details"][0]["field"] == "language"
    assert _total(api) == 0

    customer = new_customer(api, "Kept Ltd", language="fr")
    refused = api.put(
        f"/api/customers/{customer['id']}", json=customer_body(legalName="Kept Ltd", language="xx")
    )
    assert refused.status_code == 400
    assert api.get(f"/api/customers/{customer['id']}").json()["language"] == "fr"


def test_the_account_language_defaults_to_english_and_is_validated(
    api: ApiClient, account: Credentials
) -> None:
    path = f"/api/sequence-accounts/{account.account_id}"
    assert api.get(path).json()["language"] == "en"
    refused = api.put(path, json={"language": "xx"})
    assert refused.status_code == 400
    assert refused.json()["error"]["details"][0]["field"] == "language"
    assert api.get(path).json()["language"] == "en"
    changed = api.put(path, json={"language": "es"})
    assert changed.status_code == 200 and changed.json()["language"] == "es"
    assert api.get(path).json()["language"] == "es"


def test_accounts_create_takes_a_language(database: Database, tmp_path: Path) -> None:
    made = run_tally(
        "accounts", "create", "Société Exemple", "--language", "fr", "--json",
        database_url=database.url, data_dir=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    account_id = json.loads(made.stdout)["accountId"]
    with database.session() as session:
        assert session.scalar(select(Account.language).where(Account.id == account_id)) == "fr"

    refused = run_tally(
        "accounts", "create", "Nope", "--language", "xx", database_url=database.url,
        data_dir=tmp_path,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "--language must be one of en, de, fr, es, nl" in refused.stdout
