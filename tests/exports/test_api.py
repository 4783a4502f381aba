"""GET /api/exports/...: the file holds exactly what the API answers, only the caller's
account's rows, filtered as asked; bad input is a 400 that exports and logs nothing."""

from typing import Any

import pytest

from tally.accounts.service import Credentials
from tally.db import Database
from tests.exports.helpers import (
    api_items,
    assert_matches_api,
    csv_rows,
    exported_rows,
    parquet_rows,
    seed,
    send_events,
)
from tests.factories import new_customer
from tests.invoices.helpers import insert_invoice
from tests.support.api_client import ApiClient

DATASETS = ("usage-events", "invoices", "invoice-lines")


@pytest.mark.parametrize("format", ["parquet", "csv"])
@pytest.mark.parametrize("dataset", DATASETS)
def test_the_file_holds_what_the_api_answers(
    dataset: str, format: str, api: ApiClient, database: Database, account: Credentials
) -> None:
    seed(api, database, account.account_id)
    response = api.get(f"/api/exports/{dataset}", params={"format": format})
    assert response.status_code == 200, response.text
    media = "application/vnd.apache.parquet" if format == "parquet" else "text/csv; charset=utf-8"
    assert response.headers["content-type"] == media
    disposition = response.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="{dataset}-')
    assert disposition.endswith(f'.{format}"')
    assert response.headers["cache-control"] == "private, no-store"
    rows = exported_rows(response.content, format)
    assert len(rows) == {"usage-events": 3, "invoices": 3, "invoice-lines": 8}[dataset]
    assert_matches_api(dataset, format, rows, api_items(api, dataset))


def test_parquet_is_parquet_by_default_and_events_come_oldest_first(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    seed(api, database, account.account_id)
    rows = parquet_rows(api.get("/api/exports/usage-events").content)
    stamps = [row["eventTimestamp"] for row in rows]
    assert stamps == sorted(stamps)
    assert [row["customerEventId"] for row in rows] == ["e-1", "e-2", "e-3"]
    # Every digit the sender sent, which no float keeps.
    assert "12345678901234567890.123456789" in rows[0]["eventProperties"]


def test_filters(api: ApiClient, database: Database, account: Credentials) -> None:
    seeded = seed(api, database, account.account_id)
    customer = seeded["customer"]

    def events(**params: Any) -> list[str]:
        response = api.get("/api/exports/usage-events", params={"format": "csv", **params})
        assert response.status_code == 200, response.text
        return [row["customerEventId"] for row in csv_rows(response.content)]

    # `from` inclusive, `to` exclusive; +02:00 is 22:00 UTC the day before.
    assert events(**{"from": "2024-05-01T10:00:00.123456Z"}) == ["e-1", "e-2", "e-3"]
    assert events(**{"from": "2024-05-01T10:00:00.123457Z"}) == ["e-2", "e-3"]
    assert events(to="2024-05-31T22:00:00Z") == ["e-1", "e-2"]
    assert events(to="2024-06-01T00:00:00+02:00", **{"from": "2024-05-02T00:00:00Z"}) == ["e-2"]
    assert events(customerAlias=customer["id"]) == ["e-1", "e-2"]
    assert events(customerAlias=[customer["id"], "other-alias"]) == ["e-1", "e-2", "e-3"]
    assert events(eventType="api_call") == ["e-1", "e-3"]
    assert events(eventType="nothing") == []

    def invoices(dataset: str = "invoices", **params: Any) -> list[str]:
        response = api.get(f"/api/exports/{dataset}", params=params)
        assert response.status_code == 200, response.text
        rows = parquet_rows(response.content)
        return sorted({row["id" if dataset == "invoices" else "invoiceId"] for row in rows})

    draft, final, yen = seeded["invoices"]
    assert invoices(customerId=seeded["other"]["id"]) == [yen]
    assert invoices("invoice-lines", customerId=customer["id"]) == sorted([draft, final])
    finalized_at = api.get(f"/api/invoices/{final}").json()["updatedAt"]
    # By when each invoice last changed: the finalized one changed last.
    assert invoices(**{"from": finalized_at}) == [final]
    assert sorted([*invoices(to=finalized_at), final]) == sorted([draft, final, yen])
    assert invoices("invoice-lines", **{"from": finalized_at}) == [final]


def test_another_accounts_rows_never_appear(
    api: ApiClient, other_api: ApiClient, database: Database, account: Credentials
) -> None:
    seeded = seed(api, database, account.account_id)
    other_account = other_api.get("/api/sequence-accounts").json()["items"][0]["id"]
    # The same aliases and event ids in the other account.
    stranger = new_customer(other_api)
    send_events(other_api, seeded["customer"]["id"])
    insert_invoice(database, other_account, stranger)
    mine = {dataset: api_items(api, dataset) for dataset in DATASETS}
    for dataset in DATASETS:
        for format in ("parquet", "csv"):
            response = api.get(f"/api/exports/{dataset}", params={"format": format})
            rows = exported_rows(response.content, format)
            assert_matches_api(dataset, format, rows, mine[dataset])
            if dataset != "invoice-lines":
                assert {row["sequenceAccountId"] for row in rows} == {account.account_id}
        # The other account's customer names nothing here, and the reverse.
        if dataset != "usage-events":
            url = f"/api/exports/{dataset}"
            assert parquet_rows(api.get(url, params={"customerId": stranger["id"]}).content) == []
            theirs = other_api.get(url, params={"customerId": seeded["customer"]["id"]})
            assert parquet_rows(theirs.content) == []
    other_events = parquet_rows(other_api.get("/api/exports/usage-events").content)
    assert {row["sequenceAccountId"] for row in other_events} == {other_account}
    assert not {row["id"] for row in other_events} & set(seeded["events"])


def _logs(api: ApiClient) -> list[dict[str, Any]]:
    return list(api.get("/api/activity-logs", params={"limit": 100}).json()["items"])


def test_an_export_is_logged_with_who_and_what(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    seed(api, database, account.account_id)
    before = len(_logs(api))
    params = {"format": "csv", "from": "2024-05-01T00:00:00Z", "eventType": "api_call"}
    assert api.get("/api/exports/usage-events", params=params).status_code == 200
    logs = _logs(api)
    assert len(logs) == before + 1
    [item] = logs[0]["activityLogItems"]
    assert logs[0]["origin"] == "API"
    assert (item["verb"], item["activityLogObject"]["entityType"]) == ("EXPORTED", "DATA_EXPORT")
    assert item["activityLogActor"]["entityType"] == "API_KEY"
    assert item["name"] == "Usage events exported"
    assert item["summary"] == (
        "Usage events exported as CSV (from 2024-05-01T00:00:00Z; eventType api_call)."
    )


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/exports/usage-events?format=xlsx", "format"),
        ("/api/exports/usage-events?from=2024-05-01T00:00:00", "from"),
        ("/api/exports/usage-events?from=yesterday", "from"),
        ("/api/exports/usage-events?to=2024-05-01", "to"),
        ("/api/exports/usage-events?from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z", "to"),
        ("/api/exports/usage-events?from=2024-05-01T00:00:00Z&to=2024-05-01T00:00:00Z", "to"),
        ("/api/exports/usage-events?from=0001-01-01T00:00:00%2B01:00", "from"),
        ("/api/exports/invoices?to=9999-12-31T23:59:59-01:00", "to"),
        ("/api/exports/usage-events?customerId=x", "customerId"),
        ("/api/exports/usage-events?limit=10", "limit"),
        ("/api/exports/invoices?eventType=x", "eventType"),
        ("/api/exports/invoices?customerAlias=x", "customerAlias"),
        ("/api/exports/invoice-lines?fromDate=2024-01-01", "fromDate"),
        ("/api/exports/invoice-lines?format=", "format"),
    ],
)
def test_bad_input_is_a_400_naming_it_and_exports_nothing(
    url: str, field: str, api: ApiClient, database: Database, account: Credentials
) -> None:
    seed(api, database, account.account_id)
    before = _logs(api)
    response = api.get(url)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["type"] == "ValidationError"
    assert field in {detail.get("field", "").split(".")[-1] for detail in error["details"]} or (
        field in error["message"]
    ), error
    assert _logs(api) == before


def test_another_dataset_is_not_found(api: ApiClient) -> None:
    assert api.get("/api/exports/customers").status_code == 404


def test_an_empty_export_is_a_valid_file(api: ApiClient) -> None:
    parquet = api.get("/api/exports/invoice-lines")
    assert parquet.status_code == 200
    assert parquet_rows(parquet.content) == []
    csv = api.get("/api/exports/invoice-lines", params={"format": "csv"})
    assert csv.text.startswith("id,invoiceId,groupId,index,kind,title,")
    assert csv.text.count("\r\n") == 1
