"""Data to export, files read back, and the comparison with what the API answers: every
column against the API's field of that name (nested fields flattened), exactly: money as
Decimal (Parquet) or the API's very text (CSV), event properties digit for digit."""

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq

from tally.db import Database
from tally.exports.datasets import DATASETS, Kind
from tests.factories import new_customer
from tests.invoices.helpers import D, GroupSpec, LineSpec, insert_invoice
from tests.support.api_client import ApiClient

# Numbers no float holds, text CSV must quote, and what JSON escapes.
EVENTS = """{"events": [
  {"customerAlias": "%(alias)s", "eventType": "api_call", "customerEventId": "e-1",
   "eventTimestamp": "2024-05-01T10:00:00.123456Z",
   "eventProperties": {"tokens": 12345678901234567890.123456789, "cost": 0.1,
                       "note": "a,b \\"c\\"\\nd é", "nested": {"deep": [1, 2.50, null]}}},
  {"customerAlias": "%(alias)s", "eventType": "storage", "customerEventId": "e-2",
   "eventTimestamp": "2024-05-02T23:59:59Z", "eventProperties": {"gb": -0.000001}},
  {"customerAlias": "other-alias", "eventType": "api_call", "customerEventId": "e-3",
   "eventTimestamp": "2024-06-01T00:00:00+02:00", "eventProperties": {}}
]}"""

FLATTENED = {
    "billingPeriodStart": ("billingPeriod", "start"),
    "billingPeriodEndInclusive": ("billingPeriod", "endInclusive"),
    "servicePeriodStartDate": ("servicePeriod", "startDate"),
    "servicePeriodEndDate": ("servicePeriod", "endDate"),
}


def exact_json(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def send_events(api: ApiClient, alias: str) -> list[str]:
    response = api.post(
        "/api/usage-events/batch",
        content=EVENTS % {"alias": alias},
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 3, response.text
    return [result["id"] for result in response.json()["results"]]


def jpy_lines() -> tuple[list[GroupSpec], list[LineSpec]]:
    """A yen invoice: no minor unit, a rate finer than one, a negative credit line."""
    groups = [GroupSpec(0, "Usage", D("1233"), D("123"), D("1356"))]
    lines = [
        LineSpec(0, 0, "Requests", D("98765.4321"), D("0.01249"), D("0.1"),
                 D("1234"), D("123"), D("1357")),
        LineSpec(1, 0, "Credit", D("1"), D("-1"), D("0"), D("-1"), D("0"), D("-1")),
    ]  # fmt: skip
    return groups, lines


def seed(api: ApiClient, database: Database, account_id: str) -> dict[str, Any]:
    """A customer with three events and three invoices: a GBP draft, a finalized GBP one
    (number, balance, finalizedAt), a JPY draft of another customer."""
    customer = new_customer(api)
    other = new_customer(api, "Other Ltd")
    events = send_events(api, customer["id"])
    draft = insert_invoice(database, account_id, customer, memo='Thanks, "friend"\n')
    final = insert_invoice(database, account_id, customer, purchase_order_number="PO-1")
    groups, lines = jpy_lines()
    yen = insert_invoice(
        database,
        account_id,
        other,
        groups=groups,
        lines=lines,
        currency="JPY",
        net_total=D("1233"),
        total_tax=D("123"),
        gross_total=D("1356"),
    )
    response = api.post(f"/api/invoices/{final}/finalize")  # the last invoice changed
    assert response.status_code == 200, response.text
    return {
        "customer": customer,
        "other": other,
        "events": events,
        "invoices": [draft, final, yen],
    }


def parquet_rows(content: bytes) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(io.BytesIO(content)).to_pylist()
    return rows


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"), newline="")))


def exported_rows(content: bytes, format: str) -> list[dict[str, Any]]:
    return parquet_rows(content) if format == "parquet" else csv_rows(content)


def api_items(api: ApiClient, dataset: str) -> list[dict[str, Any]]:
    """What the API answers for the rows of a dataset (numbers parsed exactly)."""
    if dataset == "usage-events":
        response = api.get("/api/usage-events", params={"limit": 100})
        return list(exact_json(response.text)["items"])
    invoices = exact_json(api.get("/api/invoices", params={"limit": 100}).text)["items"]
    if dataset == "invoices":
        return list(invoices)
    items = []
    for invoice in invoices:
        url = f"/api/invoices/{invoice['id']}/line-items"
        for line in exact_json(api.get(url, params={"limit": 100}).text)["items"]:
            items.append({**line, "currency": invoice["currency"]})
    return items


def _field(item: dict[str, Any], name: str) -> Any:
    value: Any = item
    for key in FLATTENED.get(name, (name,)):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _parquet_value(kind: Kind, api_value: Any) -> Any:
    """The API's value as Parquet holds it."""
    if api_value is None:
        return None
    if kind is Kind.MONEY:
        return Decimal(api_value)
    if kind is Kind.INSTANT:
        return datetime.fromisoformat(api_value)
    if kind is Kind.DATE:
        return date.fromisoformat(api_value)
    return api_value


def assert_matches_api(
    dataset: str, format: str, rows: list[dict[str, Any]], items: list[dict[str, Any]]
) -> None:
    """Every exported row is the API's item of its id, column by column, and no item is
    missing."""
    columns = DATASETS[dataset].columns
    if rows:
        assert list(rows[0]) == [column.name for column in columns]
    by_id = {item["id"]: item for item in items}
    assert sorted(row["id"] for row in rows) == sorted(by_id)
    for row in rows:
        item = by_id[row["id"]]
        for column in columns:
            expected = _field(item, column.name)
            got = row[column.name]
            where = f"{dataset} {row['id']} {column.name}"
            if column.kind is Kind.JSON:
                assert exact_json(got) == expected, where
            elif format == "csv":
                text = "" if expected is None else str(expected)
                assert got == text, f"{where}: {got!r} != {text!r}"
            else:
                value = _parquet_value(column.kind, expected)
                assert got == value, f"{where}: {got!r} != {value!r}"
                if column.kind is Kind.MONEY and got is not None:
                    assert isinstance(got, Decimal), where
