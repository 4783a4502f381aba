"""Ingestion refuses what billing cannot bill (issue 15): negative values a metric does not
allow, values and timestamps outside `tally.usage_limits`, properties nested too deeply, and
usage for archived customers. A single event answers 400; in a batch each refused event is
`rejected` at its index and the others are stored. Whatever is accepted bills, is shown by the
portal and survives a change of the account's time zone, on both databases."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tally.accounts.service import Credentials
from tally.db import Database
from tally.metering.imports import import_events
from tests.billing.helpers import Merchant
from tests.catalog.price_bodies import linear
from tests.factories import customer_body
from tests.invoices.helpers import counting_statements
from tests.metering.helpers import calculate, create_metric, event, send, value
from tests.portal.helpers import link_path, portal_client
from tests.support.api_client import ApiClient

JSON = {"Content-Type": "application/json"}
JAN = ("2024-01-01", "2024-01-31")
AT = "2024-01-10T12:00:00Z"
LARGEST = "999999999999999.999999"  # the largest value a metric may aggregate


def raw_event(properties: str, alias: str = "acme", at: str = AT, **fields: str) -> str:
    """An event's JSON with its properties exactly as written (numbers no float can hold)."""
    extra = "".join(f', "{name}": {json.dumps(text)}' for name, text in fields.items())
    return (
        f'{{"customerAlias": "{alias}", "eventType": "api_call", "eventTimestamp": "{at}", '
        f'"eventProperties": {properties}{extra}}}'
    )


def post_one(api: ApiClient, body: str) -> httpx.Response:
    return api.post("/api/usage-events", content=body.encode(), headers=JSON)


def post_batch(api: ApiClient, bodies: list[str]) -> dict[str, Any]:
    content = ('{"events": [' + ", ".join(bodies) + "]}").encode()
    response = api.post("/api/usage-events/batch", content=content, headers=JSON)
    assert response.status_code == 200, response.text
    return dict(response.json())


def stored_events(api: ApiClient) -> list[dict[str, Any]]:
    response = api.get("/api/usage-events", params={"limit": 100})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def refused(response: httpx.Response, field: str) -> str:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "ValidationError", error
    assert error["details"][0]["field"] == field, error
    return str(error["message"])


def storage(api: ApiClient, **fields: Any) -> dict[str, Any]:
    return create_metric(
        api, name="Storage", aggregationType="SUM", aggregationProperty="gb", **fields
    )


# --- 1. negative values ----------------------------------------------------------------------


def test_a_negative_value_is_refused_naming_the_property_the_metric_and_the_way_out(
    api: ApiClient,
) -> None:
    metric = storage(api)
    assert metric["allowNegativeValues"] is False
    message = refused(post_one(api, raw_event('{"gb": -500}')), "eventProperties.gb")
    assert "-500" in message and "'Storage'" in message and metric["id"] in message
    assert "allowNegativeValues" in message and "customerEventId" in message
    # A string spelling a negative number is aggregated as one, so it is refused too.
    refused(post_one(api, raw_event('{"gb": " -2.5 "}')), "eventProperties.gb")
    assert stored_events(api) == []
    # Zero is not negative, however it is spelled.
    for zero in ("-0", "-0.000", '"-0"'):
        assert post_one(api, raw_event(f'{{"gb": {zero}}}')).status_code == 201
    assert value(api, metric, "acme", *JAN) == 0


def test_every_numeric_aggregation_refuses_negatives_but_unique_counts_them(
    api: ApiClient,
) -> None:
    for kind in ("MAX", "LATEST"):
        create_metric(
            api, name=kind, eventType=kind, aggregationType=kind, aggregationProperty="gb"
        )
        body = raw_event('{"gb": -1}').replace('"api_call"', f'"{kind}"')
        refused(post_one(api, body), "eventProperties.gb")
    # UNIQUE counts distinct values: a negative id is one value, never a negative bill.
    users = create_metric(api, name="Chats", aggregationType="UNIQUE", aggregationProperty="chat")
    send(api, event("acme", AT, chat=-1001234), event("acme", AT, chat=-1005678))
    assert value(api, users, "acme", *JAN) == 2


def test_a_metric_that_allows_negative_values_takes_them_and_bills_a_negative_quantity(
    api: ApiClient,
) -> None:
    merchant = Merchant(api)
    metric = storage(api)
    customer = merchant.customer()
    refused(post_one(api, raw_event('{"gb": -500}', alias=customer)), "eventProperties.gb")

    body = {
        "name": "Storage",
        "eventType": "api_call",
        "aggregationType": "SUM",
        "aggregationProperty": "gb",
        "allowNegativeValues": True,
    }
    updated = api.put(f"/api/usage-metrics/{metric['id']}", json=body)
    assert updated.status_code == 200, updated.text
    assert updated.json()["allowNegativeValues"] is True
    assert post_one(api, raw_event('{"gb": -500}', alias=customer)).status_code == 201
    assert value(api, metric, customer, *JAN) == -500

    price = merchant.price(linear(metric["id"], pricePerUnit="0.10"), name="Storage")
    schedule = merchant.schedule(customer, [price], "2024-01-01", taxed=False)
    merchant.bill("2024-02-01")
    [line] = merchant.invoice_for(schedule["id"], "2024-01-01")["lineItems"]
    assert (line["title"], line["quantity"], line["netTotal"]) == ("Storage", "-500", "-50.00")


def test_allow_negative_values_is_false_unless_given_and_kept_when_an_update_leaves_it_out(
    api: ApiClient,
) -> None:
    metric = storage(api, allowNegativeValues=True)
    assert metric["allowNegativeValues"] is True
    body = {"name": "Disk", "eventType": "api_call", "aggregationType": "SUM",
            "aggregationProperty": "gb"}  # fmt: skip
    kept = api.put(f"/api/usage-metrics/{metric['id']}", json=body).json()
    assert (kept["name"], kept["allowNegativeValues"]) == ("Disk", True)
    listed = api.get("/api/usage-metrics").json()["items"]
    assert [m["allowNegativeValues"] for m in listed] == [True]
    assert create_metric(api, name="Calls", aggregationType="COUNT")["allowNegativeValues"] is False
    off = api.put(f"/api/usage-metrics/{metric['id']}", json={**body, "allowNegativeValues": False})
    assert off.json()["allowNegativeValues"] is False
    not_a_bool = api.put(
        f"/api/usage-metrics/{metric['id']}", json={**body, "allowNegativeValues": "x"}
    )
    assert not_a_bool.status_code == 400


def test_a_metrics_filters_decide_whether_it_reads_a_negative_value(api: ApiClient) -> None:
    purchases = create_metric(
        api, name="Purchases", aggregationType="SUM", aggregationProperty="amount",
        propertyFilters={"kind": ["purchase"]},
    )  # fmt: skip
    refunds = create_metric(
        api, name="Refunds", aggregationType="SUM", aggregationProperty="amount",
        propertyFilters={"kind": ["REFUND"]}, caseSensitive=False, allowNegativeValues=True,
    )  # fmt: skip
    send(
        api,
        event("acme", AT, kind="refund", amount=-5),
        event("acme", AT, kind="purchase", amount=7),
    )
    message = refused(
        post_one(api, raw_event('{"kind": "purchase", "amount": -5}')), "eventProperties.amount"
    )
    assert "'Purchases'" in message
    # Not a purchase (negated filters and absent properties included): Purchases never reads it.
    send(api, event("acme", AT, amount=-3), event("acme", AT, kind=None, amount=-2))
    assert value(api, purchases, "acme", *JAN) == 7
    assert value(api, refunds, "acme", *JAN) == -5


def test_a_property_a_metric_aggregates_given_twice_is_refused(api: ApiClient) -> None:
    """PostgreSQL keeps a repeated key's last value, SQLite reads its first: whichever the
    check read, the other could bill."""
    metric = storage(api)
    refused(post_one(api, raw_event('{"gb": -5, "gb": 5}')), "eventProperties.gb")
    refused(post_one(api, raw_event('{"g\\u0062": 1e999, "gb": 5}')), "eventProperties.gb")
    assert post_one(api, raw_event('{"gb": 1, "tag": "a", "tag": "b"}')).status_code == 201
    assert post_one(api, raw_event('{"unit": "gb", "gb": 2}')).status_code == 201
    assert value(api, metric, "acme", *JAN) == 3


def test_values_no_metric_aggregates_are_stored_as_sent(api: ApiClient) -> None:
    storage(api)
    body = raw_event('{"gb": 2, "balance": -12345678901234567890.123456789, "nested": {"gb": -1}}')
    assert post_one(api, body).status_code == 201
    other_type = raw_event('{"gb": -1e999}').replace('"api_call"', '"other"')
    assert post_one(api, other_type).status_code == 201
    assert len(stored_events(api)) == 2


# --- defence in depth: metrics defined over stored events ------------------------------------


def test_a_metric_over_stored_negative_values_is_refused_until_it_allows_them_or_they_go(
    api: ApiClient,
) -> None:
    send(
        api,
        {**event("acme", AT, gb=-5), "customerEventId": "minus-5"},
        {**event("acme", AT, gb="-2"), "customerEventId": "minus-2"},
        {**event("acme", AT, gb=10), "customerEventId": "ten"},
    )
    body = {"name": "Storage", "metricType": "SIMPLE", "eventType": "api_call",
            "aggregationType": "SUM", "aggregationProperty": "gb"}  # fmt: skip
    message = refused(api.post("/api/usage-metrics", json=body), "allowNegativeValues")
    assert "2 with a negative value" in message and "'minus-2'" in message
    assert "customerEventId" in message
    assert api.get("/api/usage-metrics").json()["items"] == []

    metric = api.post("/api/usage-metrics", json={**body, "allowNegativeValues": True}).json()
    assert value(api, metric, "acme", *JAN) == 3
    url = f"/api/usage-metrics/{metric['id']}"
    refused(api.put(url, json={**body, "allowNegativeValues": False}), "allowNegativeValues")
    # Replaced by their customerEventId, the events no longer stand in the way.
    send(
        api,
        {**event("acme", AT, gb=5), "customerEventId": "minus-5"},
        {**event("acme", AT, gb=2), "customerEventId": "minus-2"},
    )
    assert api.put(url, json={**body, "allowNegativeValues": False}).status_code == 200
    assert value(api, metric, "acme", *JAN) == 17


def test_a_metric_over_stored_values_it_could_not_bill_is_refused(api: ApiClient) -> None:
    post_one(api, raw_event('{"gb": 1, "bytes": 1e999, "ratio": "0.1234567"}', customerEventId="x"))
    for prop in ("bytes", "ratio"):
        body = {"name": prop, "metricType": "SIMPLE", "eventType": "api_call",
                "aggregationType": "MAX", "aggregationProperty": prop}  # fmt: skip
        message = refused(api.post("/api/usage-metrics", json=body), "aggregationProperty")
        assert "'x'" in message and "less than 10^15" in message
    metric = create_metric(api, name="gb", aggregationType="MAX", aggregationProperty="gb")
    moved = {"name": "gb", "eventType": "api_call", "aggregationType": "MAX",
             "aggregationProperty": "bytes"}  # fmt: skip
    refused(api.put(f"/api/usage-metrics/{metric['id']}", json=moved), "aggregationProperty")
    assert value(api, metric, "acme", *JAN) == 1


# --- 2. values and timestamps billing cannot bill --------------------------------------------

UNBILLABLE = [
    ("29 digits", "12345678901234567890123456789"),
    ("1e999", "1e999"),
    ("10^15", "1000000000000000"),
    ("minus 10^15", "-1000000000000000"),
    ("7 decimal places", "0.0000001"),
    ("tiny", "1e-999"),
    ("a string of 29 digits", '"12345678901234567890123456789"'),
    ("a string 1e999", '"1e999"'),
]


@pytest.mark.parametrize("number", [n for _, n in UNBILLABLE], ids=[i for i, _ in UNBILLABLE])
def test_a_value_billing_cannot_hold_is_refused_even_where_negatives_are_allowed(
    api: ApiClient, number: str
) -> None:
    storage(api, allowNegativeValues=True)
    message = refused(post_one(api, raw_event(f'{{"gb": {number}}}')), "eventProperties.gb")
    assert "less than 10^15 in absolute value, with at most 6 decimal places" in message
    assert stored_events(api) == []


def test_values_at_the_bounds_and_strings_that_are_text_are_taken(api: ApiClient) -> None:
    metric = storage(api, allowNegativeValues=True)
    for number in (LARGEST, f"-{LARGEST}", "0.000001", "1.5000000000", '" 2.5 "', "1E+2"):
        assert post_one(api, raw_event(f'{{"gb": {number}}}')).status_code == 201, number
    # Strings beyond what a number may be spelled as are text: skipped, as "lots" is.
    for text in ("1e5000", "9" * 400, "1_000", "Infinity"):
        assert post_one(api, raw_event(json.dumps({"gb": text}))).status_code == 201, text
    result = calculate(api, metric, "acme", *JAN)
    assert Decimal(str(result["value"])) == Decimal("104.000001")
    assert (result["eventCount"], result["skippedEventCount"]) == (10, 4)


@pytest.mark.parametrize(
    "at",
    [
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "1969-12-31T23:59:59Z",
        "3000-01-01T00:00:00Z",
        "2999-12-31T23:59:59.5Z",
        "9999-12-31T23:00:00-14:00",  # no UTC equivalent at all
        "0001-01-01T00:00:00+01:00",
        "1970-01-01T00:59:59+01:00",  # 1969 in UTC
        "2999-12-31T23:00:00-01:00",  # 3000 in UTC
        "2024-01-01T00:00:00+25:00",  # not an offset
    ],
)
def test_a_timestamp_outside_1970_to_2999_is_refused(api: ApiClient, at: str) -> None:
    refused(post_one(api, raw_event("{}", at=at)), "eventTimestamp")
    answer = post_batch(api, [raw_event("{}", at=at), raw_event("{}")])
    assert (answer["accepted"], answer["rejected"]) == (1, 1)
    assert answer["results"][0]["error"]["details"][0]["field"] == "eventTimestamp"
    assert len(stored_events(api)) == 1


def test_deep_nesting_is_refused_not_a_server_error(api: ApiClient) -> None:
    def nested(levels: int) -> str:
        return '{"a": ' * (levels - 1) + "{}" + "}" * (levels - 1)

    refused(post_one(api, raw_event(nested(20_000))), "eventProperties")
    refused(post_one(api, raw_event(nested(33))), "eventProperties")
    # Brackets inside strings do not count.
    assert post_one(api, raw_event(json.dumps({"text": "[{" * 100}))).status_code == 201
    assert post_one(api, raw_event(nested(32))).status_code == 201
    answer = post_batch(api, [raw_event(nested(33)), raw_event("{}")])
    assert [r["status"] for r in answer["results"]] == ["rejected", "accepted"]
    # Too deep for the decoder to tell the events apart: the body is refused whole.
    content = ('{"events": [' + raw_event(nested(20_000)) + ", " + raw_event("{}") + "]}").encode()
    response = api.post("/api/usage-events/batch", content=content, headers=JSON)
    assert response.status_code == 400, response.text
    assert "nested more than 32 levels" in response.json()["error"]["message"]
    assert len(stored_events(api)) == 3


def test_the_largest_values_bill_and_show_in_the_portal_without_error(
    api: ApiClient, app: FastAPI
) -> None:
    """A thousand events of the largest value each, priced at a million a unit, taxed."""
    merchant = Merchant(api)
    metric = storage(api)
    peak = create_metric(api, name="Peak", aggregationType="MAX", aggregationProperty="gb")
    customer = api.post("/api/customers", json=customer_body()).json()
    price = merchant.price(linear(metric["id"], pricePerUnit="1000000"), name="Storage")
    today = datetime.now(UTC).date()
    start = today.replace(day=1)
    schedule = merchant.schedule(customer["id"], [price], start.isoformat(), None)
    now = datetime.now(UTC) - timedelta(seconds=1)
    at = max(now, datetime(start.year, start.month, 1, tzinfo=UTC)).isoformat()
    answer = post_batch(api, [raw_event(f'{{"gb": {LARGEST}}}', customer["id"], at)] * 1000)
    assert answer["accepted"] == 1000

    total = Decimal(LARGEST) * 1000
    period = (start.isoformat(), (start + timedelta(days=40)).replace(day=1).isoformat())
    assert value(api, metric, customer["id"], *period) == total
    assert value(api, peak, customer["id"], *period) == Decimal(LARGEST)
    merchant.bill_now()
    [invoice] = merchant.invoices(schedule["id"])
    [line] = invoice["lineItems"]
    assert Decimal(line["quantity"]) == total
    assert Decimal(invoice["netTotal"]) == (total * 1000000).quantize(Decimal("0.01"))
    assert Decimal(invoice["grossTotal"]) == (total * 1200000).quantize(Decimal("0.01"))

    client = portal_client(app)
    for page in ("", "/usage", "/usage?range=1d", "/invoices"):
        response = client.get(link_path(customer) + page)
        assert response.status_code == 200, (page, response.text[:500])


def test_a_time_zone_change_after_events_at_the_bounds(api: ApiClient, database: Database) -> None:
    metric = create_metric(api, name="Calls", aggregationType="COUNT")
    latest = create_metric(api, name="Last", aggregationType="LATEST", aggregationProperty="gb")
    for at in ("1970-01-01T00:00:00Z", "2999-12-31T23:59:59Z", "2999-12-31T09:59:59-14:00"):
        assert post_one(api, raw_event('{"gb": 1}', at=at)).status_code == 201, at
    # Stored, these made every later time zone change fail on SQLite (no local day exists).
    for at in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
        refused(post_one(api, raw_event('{"gb": 1}', at=at)), "eventTimestamp")
    account_id = api.get("/api/sequence-accounts").json()["items"][0]["id"]
    days = {
        "Etc/GMT-14": ("1970-01-01", "3000-01-01"),  # UTC+14
        "Etc/GMT+12": ("1969-12-31", "2999-12-31"),  # UTC-12
        "UTC": ("1970-01-01", "2999-12-31"),
    }
    for zone, (first, last) in days.items():
        response = api.put(f"/api/sequence-accounts/{account_id}", json={"timezone": zone})
        assert response.status_code == 200, response.text
        assert value(api, metric, "acme", first, first) == 1, zone
        assert value(api, metric, "acme", last, last) == 2, zone
        assert value(api, latest, "acme", first, last) == 1, zone


# --- 3. batches ------------------------------------------------------------------------------


def test_a_mixed_batch_stores_the_good_events_and_answers_each_refusal_at_its_index(
    api: ApiClient,
) -> None:
    metric = storage(api)
    archived = api.post("/api/customers", json=customer_body(customerAliases=["gone-crm"])).json()
    assert api.post(f"/api/customers/{archived['id']}/archive").status_code == 200
    answer = post_batch(
        api,
        [
            raw_event('{"gb": 1}', customerEventId="good"),
            raw_event('{"gb": -500}'),
            raw_event('{"gb": 12345678901234567890123456789}'),
            raw_event('{"gb": 1}', at="0001-01-01T00:00:00Z"),
            raw_event('{"gb": 1}', alias="gone-crm"),
            raw_event('{"gb": 1}', alias=archived["id"]),
            raw_event('{"a": ' * 40 + "1" + "}" * 40),
            raw_event('{"gb": 2}', alias="not-yet-a-customer", customerEventId="early"),
        ],
    )
    assert (answer["accepted"], answer["replaced"], answer["rejected"]) == (2, 0, 6)
    results = answer["results"]
    assert [r["index"] for r in results] == list(range(8))
    assert [r["status"] for r in results] == ["accepted"] + ["rejected"] * 6 + ["accepted"]
    fields = [r["error"]["details"][0]["field"] for r in results[1:7]]
    assert fields == [
        "eventProperties.gb",
        "eventProperties.gb",
        "eventTimestamp",
        "customerAlias",
        "customerAlias",
        "eventProperties",
    ]
    assert "archived" in results[4]["error"]["message"]
    assert all("id" not in r for r in results[1:7])
    assert {e["customerEventId"] for e in stored_events(api)} == {"good", "early"}
    assert value(api, metric, "acme", *JAN) == 1
    assert value(api, metric, "not-yet-a-customer", *JAN) == 2


def test_a_batch_of_only_refused_events_stores_nothing(api: ApiClient) -> None:
    storage(api)
    answer = post_batch(api, [raw_event('{"gb": -1}'), raw_event('{"gb": 1e20}')])
    assert (answer["accepted"], answer["replaced"], answer["rejected"]) == (0, 0, 2)
    assert [r["status"] for r in answer["results"]] == ["rejected", "rejected"]
    assert stored_events(api) == []


def test_a_refused_replacement_leaves_the_stored_event_as_it_was(api: ApiClient) -> None:
    metric = storage(api)
    post_one(api, raw_event('{"gb": 4}', customerEventId="e1"))
    answer = post_batch(api, [raw_event('{"gb": -4}', customerEventId="e1")])
    assert answer["rejected"] == 1
    [stored] = stored_events(api)
    assert stored["eventProperties"] == {"gb": 4}
    assert value(api, metric, "acme", *JAN) == 4


def test_a_batch_reads_metrics_and_archived_customers_once_whatever_its_size(
    api: ApiClient, database: Database
) -> None:
    storage(api)
    create_metric(api, name="Calls", aggregationType="COUNT")

    def statements(count: int) -> int:
        bodies = [raw_event(f'{{"gb": {n}}}', alias=f"c-{count}-{n}") for n in range(count)]
        with counting_statements(database) as seen:
            assert post_batch(api, bodies)["accepted"] == count
        return len(seen)

    assert statements(3) == statements(300)


# --- 4. archived customers -------------------------------------------------------------------


def test_an_archived_customer_gets_no_new_usage_by_id_or_alias(api: ApiClient) -> None:
    customer = api.post("/api/customers", json=customer_body(customerAliases=["acme-crm"])).json()
    assert post_one(api, raw_event("{}", alias="acme-crm")).status_code == 201
    assert api.post(f"/api/customers/{customer['id']}/archive").status_code == 200
    for alias in (customer["id"], "acme-crm"):
        message = refused(post_one(api, raw_event("{}", alias=alias)), "customerAlias")
        assert "archived" in message and customer["id"] in message
    # Aliases no customer holds are taken: usage may come before its customer.
    assert post_one(api, raw_event("{}", alias="acme-crm-2")).status_code == 201
    assert len(stored_events(api)) == 2


def test_an_import_lists_refused_events_with_their_line_and_stores_the_others(
    api: ApiClient, database: Database, account: Credentials, tmp_path: Path
) -> None:
    storage(api)
    lines = [
        raw_event('{"gb": 1}'),
        raw_event('{"gb": -1}'),
        raw_event("{}", at="0001-01-01T00:00:00Z"),
        raw_event('{"gb": 2}'),
    ]
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(lines) + "\n")
    report = import_events(database, account.account_id, path)
    assert (report.accepted, report.replaced) == (2, 0)
    assert [line for line, _ in report.rejected] == [2, 3]
    assert "negative" in report.rejected[0][1] and "eventTimestamp" in report.rejected[1][1]
    assert len(stored_events(api)) == 2
