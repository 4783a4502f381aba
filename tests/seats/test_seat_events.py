"""/api/seat-events: record (last received wins per customerEventId), read, list and filter.

A seat event's `total` is the absolute seat count of its seat type from its timestamp on. The
customerEventId is the idempotency key: a later event with the same one replaces the stored
event, which keeps its id; an exact resend changes nothing.
"""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tally.db import Database
from tally.models import SeatEvent
from tests.factories import new_customer
from tests.seats.test_seat_metrics import create_metric
from tests.support.api_client import ApiClient
from tests.support.paging import walk

EVENT_FIELDS = {
    "id",
    "customerEventId",
    "customerAlias",
    "seatType",
    "sequenceAccountId",
    "eventTimestamp",
    "total",
}


def post_event(
    api: ApiClient,
    alias: str,
    total: int,
    at: str = "2024-05-02T19:00:00Z",
    seat_type: str = "editor",
    event_id: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {
        "customerAlias": alias,
        "seatType": seat_type,
        "eventTimestamp": at,
        "total": total,
    }
    if event_id is not None:
        body["customerEventId"] = event_id
    return api.post("/api/seat-events", json=body)


def record(
    api: ApiClient,
    alias: str,
    total: int,
    at: str = "2024-05-02T19:00:00Z",
    seat_type: str = "editor",
    event_id: str | None = None,
) -> dict[str, Any]:
    response = post_event(api, alias, total, at, seat_type, event_id)
    assert response.status_code == 201, response.text
    return dict(response.json())


def event_page(api: ApiClient, **params: Any) -> dict[str, Any]:
    response = api.get("/api/seat-events", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return dict(response.json())


def event_ids(api: ApiClient, **params: Any) -> list[str]:
    return [event["id"] for event in event_page(api, **params)["items"]]


def total_events(api: ApiClient) -> int:
    return int(event_page(api)["pagination"]["totalResultSize"])


def stored(database: Database, event_id: str) -> SeatEvent:
    with database.session(write=False) as session:
        event = session.scalar(select(SeatEvent).where(SeatEvent.id == event_id))
        assert event is not None
        return event


# --- record and read -------------------------------------------------------------------------


def test_seed_002_seat_event_request_answers_201(api: ApiClient) -> None:
    # Sequence's seat-billing guide (seed 002): the seat metric, then the event for the
    # customer, named by its id as alias, with the guide's exact body.
    customer = new_customer(api, legalName="John Doe")
    api.post("/api/seat-metrics", json={"seatType": "editor", "label": "Editor Seat"})
    response = api.post(
        "/api/seat-events",
        json={
            "customerEventId": "10be23bc-09a2-4078-959b-551e8a402781",
            "customerAlias": customer["id"],
            "seatType": "editor",
            "eventTimestamp": "2024-05-02T19:00:00.000000Z",
            "total": 1,
        },
    )

    assert response.status_code == 201
    event = response.json()
    assert set(event) == EVENT_FIELDS
    assert uuid.UUID(event["id"]).version == 7
    assert event["customerEventId"] == "10be23bc-09a2-4078-959b-551e8a402781"
    assert event["customerAlias"] == customer["id"]
    assert event["seatType"] == "editor"
    assert event["sequenceAccountId"] == customer["sequenceAccountId"]
    assert event["eventTimestamp"] == "2024-05-02T19:00:00Z"
    assert event["total"] == 1
    assert api.get(f"/api/seat-events/{event['id']}").json() == event
    assert event_page(api)["items"] == [event]

    balances = api.get("/api/seat-balances").json()["items"]
    assert [(b["id"], b["total"]) for b in balances] == [(customer["id"], 1)]


def test_without_a_customer_event_id_the_event_id_is_used(api: ApiClient) -> None:
    create_metric(api, "editor")
    first = record(api, "acme", 3)
    second = record(api, "acme", 3)
    assert first["customerEventId"] == first["id"]
    assert second["customerEventId"] == second["id"]
    assert first["id"] != second["id"]
    assert total_events(api) == 2


def test_timestamps_are_kept_in_utc(api: ApiClient) -> None:
    create_metric(api, "editor")
    event = record(api, "acme", 2, at="2024-05-02T21:30:00.123456+02:30")
    assert event["eventTimestamp"] == "2024-05-02T19:00:00.123456Z"
    assert api.get(f"/api/seat-events/{event['id']}").json()["eventTimestamp"] == (
        "2024-05-02T19:00:00.123456Z"
    )


def test_an_event_may_name_an_alias_no_customer_has_yet(api: ApiClient) -> None:
    create_metric(api, "editor")
    event = record(api, "crm-not-yet", 4)
    assert event["customerAlias"] == "crm-not-yet"
    assert api.get(f"/api/seat-events/{event['id']}").json() == event


# --- replacement and resends -----------------------------------------------------------------


def test_a_later_event_with_the_same_customer_event_id_replaces_the_stored_one(
    api: ApiClient, database: Database
) -> None:
    create_metric(api, "editor")
    create_metric(api, "viewer")
    first = record(api, "acme", 3, at="2024-05-01T10:00:00Z", event_id="evt-1")
    before = stored(database, first["id"])

    second = record(
        api, "acme-eu", 5, at="2024-05-03T10:00:00Z", seat_type="viewer", event_id="evt-1"
    )
    assert second == {
        **first,
        "customerAlias": "acme-eu",
        "seatType": "viewer",
        "eventTimestamp": "2024-05-03T10:00:00Z",
        "total": 5,
    }
    assert api.get(f"/api/seat-events/{first['id']}").json() == second
    assert event_page(api)["items"] == [second]
    assert event_page(api, customerEventId="evt-1")["items"] == [second]
    after = stored(database, first["id"])
    assert after.created_at == before.created_at
    assert after.received_at > before.received_at
    assert after.updated_at == after.received_at

    # Going back to the first content is a change too: the last received wins.
    third = record(api, "acme", 3, at="2024-05-01T10:00:00Z", event_id="evt-1")
    assert third == first
    assert event_page(api)["items"] == [first]


def test_an_exact_resend_changes_nothing(api: ApiClient, database: Database) -> None:
    create_metric(api, "editor")
    first = record(api, "acme", 3, event_id="evt-1")
    before = stored(database, first["id"])
    for _ in range(3):
        assert record(api, "acme", 3, event_id="evt-1") == first
    after = stored(database, first["id"])
    assert (after.received_at, after.updated_at) == (before.received_at, before.updated_at)
    assert event_page(api)["items"] == [first]


def test_customer_event_ids_are_per_account(api: ApiClient, other_api: ApiClient) -> None:
    create_metric(api, "editor")
    create_metric(other_api, "editor")
    mine = record(api, "acme", 3, event_id="shared-id")
    theirs = record(other_api, "acme", 9, event_id="shared-id")
    assert theirs["id"] != mine["id"]
    assert event_page(api)["items"] == [mine]
    assert event_page(other_api)["items"] == [theirs]


def test_concurrent_sends_of_one_customer_event_id_leave_exactly_one_event(
    app: FastAPI, api: ApiClient
) -> None:
    create_metric(api, "editor")
    senders = 4
    rounds = 6
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=senders) as pool:
        # Each thread has its own client, so the requests really run side by side.
        clients = [
            ApiClient(stack.enter_context(TestClient(app, raise_server_exceptions=False)), api.auth)
            for _ in range(senders)
        ]
        for round_ in range(rounds):
            event_id = f"race-{round_}"
            barrier = threading.Barrier(senders, timeout=30)

            def send(
                client: ApiClient, total: int, event_id: str = event_id, barrier: Any = barrier
            ) -> httpx.Response:
                barrier.wait()
                at = f"2024-05-0{1 + total % 5}T12:00:00Z"
                return post_event(client, f"alias-{total}", total, at=at, event_id=event_id)

            futures = [pool.submit(send, client, total) for total, client in enumerate(clients)]
            responses = [future.result(timeout=60) for future in futures]
            assert [r.status_code for r in responses] == [201] * senders, event_id
            # Each sender saw its own content stored, all under one event id.
            assert [r.json()["total"] for r in responses] == list(range(senders))
            assert len({r.json()["id"] for r in responses}) == 1

            page = event_page(api, customerEventId=event_id)
            assert page["pagination"]["totalResultSize"] == 1
            (event,) = page["items"]
            assert event["id"] == responses[0].json()["id"]
            assert event in [r.json() for r in responses]
            assert event["customerAlias"] == f"alias-{event['total']}"
    assert total_events(api) == rounds


# --- validation ------------------------------------------------------------------------------


def test_the_seat_type_must_be_a_live_seat_metric_of_the_account(
    api: ApiClient, other_api: ApiClient
) -> None:
    create_metric(other_api, "theirs")
    deleted = create_metric(api, "retired")
    api.delete(f"/api/seat-metrics/{deleted['id']}")
    for seat_type in ("unknown", "theirs", "retired", "Editor"):
        response = post_event(api, "acme", 1, seat_type=seat_type)
        assert response.status_code == 400, seat_type
        error = response.json()["error"]
        assert error["type"] == "ValidationError"
        assert [detail["field"] for detail in error["details"]] == ["seatType"]
    assert total_events(api) == 0

    # Once the seat type exists again, events for it are accepted.
    create_metric(api, "retired")
    assert post_event(api, "acme", 1, seat_type="retired").status_code == 201


def test_invalid_events_are_400_and_write_nothing(api: ApiClient) -> None:
    create_metric(api, "editor")
    record(api, "acme", 2, event_id="keep")
    valid = {
        "customerAlias": "acme",
        "seatType": "editor",
        "eventTimestamp": "2024-05-02T19:00:00Z",
        "total": 1,
        "customerEventId": "keep",
    }
    cases: list[tuple[dict[str, Any], str]] = [
        ({k: v for k, v in valid.items() if k != "customerAlias"}, "customerAlias"),
        ({k: v for k, v in valid.items() if k != "seatType"}, "seatType"),
        ({k: v for k, v in valid.items() if k != "eventTimestamp"}, "eventTimestamp"),
        ({k: v for k, v in valid.items() if k != "total"}, "total"),
        ({**valid, "customerAlias": ""}, "customerAlias"),
        ({**valid, "customerAlias": "a" * 501}, "customerAlias"),
        ({**valid, "customerEventId": ""}, "customerEventId"),
        ({**valid, "customerEventId": "e" * 501}, "customerEventId"),
        ({**valid, "total": -1}, "total"),
        ({**valid, "total": "5"}, "total"),
        ({**valid, "total": 1.5}, "total"),
        ({**valid, "total": True}, "total"),
        ({**valid, "total": None}, "total"),
        ({**valid, "total": 2**31}, "total"),
        ({**valid, "eventTimestamp": "2024-05-02T19:00:00"}, "eventTimestamp"),  # no offset
        ({**valid, "eventTimestamp": "2024-05-02"}, "eventTimestamp"),
        ({**valid, "eventTimestamp": "yesterday"}, "eventTimestamp"),
        ({**valid, "eventTimestamp": 1714676400}, "eventTimestamp"),
        ({**valid, "eventTimestamp": "0001-01-01T00:00:00+01:00"}, "eventTimestamp"),
    ]
    for body, field in cases:
        response = api.post("/api/seat-events", json=body)
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert error["type"] == "ValidationError"
        assert field in {detail["field"] for detail in error["details"]}, body
    for raw in (b'{"customerAlias": "acme", "total": ', b"[1, 2", b"not json"):
        response = api.post(
            "/api/seat-events", content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, raw
        assert response.json()["error"]["type"] == "BadRequest"

    (kept,) = event_page(api)["items"]
    assert (kept["customerEventId"], kept["total"], kept["customerAlias"]) == ("keep", 2, "acme")


def test_the_largest_total_and_zero_are_accepted(api: ApiClient) -> None:
    create_metric(api, "editor")
    assert record(api, "acme", 2**31 - 1)["total"] == 2**31 - 1
    assert record(api, "acme", 0)["total"] == 0


# --- list and filters ------------------------------------------------------------------------


def test_list_filters_by_alias_seat_type_and_customer_event_id(api: ApiClient) -> None:
    for seat_type in ("editor", "viewer", "admin"):
        create_metric(api, seat_type)
    a = record(api, "acme", 1, event_id="a")
    b = record(api, "acme", 2, seat_type="viewer", event_id="b")
    c = record(api, "globex", 3, seat_type="admin", event_id="c")

    assert event_ids(api) == [c["id"], b["id"], a["id"]]
    assert event_ids(api, customerAlias="acme") == [b["id"], a["id"]]
    assert event_ids(api, customerAlias="ACME") == []  # exact, case-sensitive
    assert event_ids(api, seatType="viewer") == [b["id"]]
    assert event_ids(api, seatType="viewer,admin") == [c["id"], b["id"]]
    assert event_ids(api, seatType=" editor , admin ") == [c["id"], a["id"]]
    assert event_ids(api, customerEventId="b") == [b["id"]]
    assert event_ids(api, customerEventId="nope") == []
    assert event_ids(api, customerAlias="acme", seatType="editor") == [a["id"]]
    page = event_page(api, customerAlias="acme")
    assert page["pagination"]["totalResultSize"] == 2


def test_customer_ids_resolve_to_every_alias_including_the_id(api: ApiClient) -> None:
    create_metric(api, "editor")
    acme = new_customer(api, customerAliases=["acme-crm"])
    globex = new_customer(api)
    by_id = record(api, acme["id"], 1)
    by_alias = record(api, "acme-crm", 2)
    early = record(api, "acme-later", 3)  # the alias comes later
    theirs = record(api, globex["id"], 4)
    record(api, "nobody", 5)

    assert event_ids(api, customerIds=acme["id"]) == [by_alias["id"], by_id["id"]]
    api.post("/api/customer-aliases", json={"customerId": acme["id"], "value": "acme-later"})
    assert event_ids(api, customerIds=acme["id"]) == [early["id"], by_alias["id"], by_id["id"]]
    assert event_ids(api, customerIds=f"{acme['id']},{globex['id']}") == [
        theirs["id"],
        early["id"],
        by_alias["id"],
        by_id["id"],
    ]
    # The parameter may also repeat.
    assert event_ids(api, customerIds=[globex["id"], acme["id"]])[0] == theirs["id"]
    assert event_ids(api, customerIds=globex["id"], seatType="editor") == [theirs["id"]]
    assert event_ids(api, customerIds=str(uuid.uuid4())) == []

    # A deleted alias no longer names the customer.
    alias_id = api.get(f"/api/customers/{acme['id']}/aliases").json()["items"][0]["id"]
    api.delete(f"/api/customer-aliases/{alias_id}")
    assert event_ids(api, customerIds=acme["id"]) == [early["id"], by_id["id"]]


def test_at_most_25_customer_ids_and_seat_types(api: ApiClient) -> None:
    create_metric(api, "editor")
    record(api, "acme", 1)
    ids = [str(uuid.uuid4()) for _ in range(26)]
    assert event_ids(api, customerIds=",".join(ids[:25])) == []
    for name, values in (("customerIds", ids), ("seatType", [f"s{i}" for i in range(26)])):
        response = api.get("/api/seat-events", params={name: ",".join(values)})
        assert response.status_code == 400, name
        error = response.json()["error"]
        assert error["type"] == "ValidationError"
        assert [detail["field"] for detail in error["details"]] == [name]


def test_list_filters_by_event_timestamp(api: ApiClient) -> None:
    create_metric(api, "editor")
    first = record(api, "acme", 1, at="2024-05-01T00:00:00Z")
    second = record(api, "acme", 2, at="2024-05-02T00:00:00Z")
    third = record(api, "acme", 3, at="2024-05-03T00:00:00Z")

    # After is inclusive, before exclusive: adjacent windows never share an event.
    after = {"eventTimestampAfter": "2024-05-02T00:00:00Z"}
    before = {"eventTimestampBefore": "2024-05-02T00:00:00Z"}
    assert event_ids(api, **after) == [third["id"], second["id"]]
    assert event_ids(api, **before) == [first["id"]]
    assert event_ids(
        api, eventTimestampAfter="2024-05-01T12:00:00Z", eventTimestampBefore="2024-05-03T00:00:00Z"
    ) == [second["id"]]
    assert event_ids(api, eventTimestampAfter="2024-05-02T02:00:00+02:00") == [
        third["id"],
        second["id"],
    ]
    for params in (
        {"eventTimestampAfter": "2024-05-02T00:00:00"},
        {"eventTimestampBefore": "tomorrow"},
    ):
        response = api.get("/api/seat-events", params=params)
        assert response.status_code == 400, params
        assert response.json()["error"]["details"][0]["field"] == next(iter(params))


def test_list_paginates_and_sorts(api: ApiClient) -> None:
    create_metric(api, "editor")
    created = [record(api, "acme", total)["id"] for total in range(5)]
    ids, pages = walk(api, "/api/seat-events", limit=2)
    assert ids == list(reversed(created))
    assert len(pages) == 3
    ascending, _ = walk(api, "/api/seat-events", limit=2, sort_order="ASC")
    assert ascending == created
    # A replaced event keeps its place: it keeps its id.
    record(api, "acme", 9, event_id=created[0])
    assert walk(api, "/api/seat-events", limit=2, sort_order="ASC")[0] == created


# --- tenancy ---------------------------------------------------------------------------------


def test_another_accounts_events_are_invisible(api: ApiClient, other_api: ApiClient) -> None:
    create_metric(api, "editor")
    create_metric(other_api, "editor")
    mine = new_customer(api)
    theirs_customer = new_customer(other_api)
    theirs = record(other_api, theirs_customer["id"], 7)
    # Even an event naming my customer's id, sent by another account, is not mine.
    record(other_api, mine["id"], 8)

    for event_id in (theirs["id"], str(uuid.uuid4()), "nope"):
        response = api.get(f"/api/seat-events/{event_id}")
        assert response.status_code == 404, event_id
        assert response.json()["error"]["type"] == "NotFound"
    assert total_events(api) == 0
    assert event_ids(api, customerIds=mine["id"]) == []
    assert event_ids(api, customerIds=theirs_customer["id"]) == []
    assert event_ids(api, customerAlias=theirs_customer["id"]) == []
    assert other_api.get(f"/api/seat-events/{theirs['id']}").json() == theirs


def test_event_timestamps_round_trip_exactly(api: ApiClient) -> None:
    create_metric(api, "editor")
    event = record(api, "acme", 1, at="2024-02-29T23:59:59.999999Z")
    parsed = datetime.fromisoformat(event["eventTimestamp"])
    assert parsed.isoformat() == "2024-02-29T23:59:59.999999+00:00"
    assert event_ids(api, eventTimestampAfter="2024-02-29T23:59:59.999999Z") == [event["id"]]
    assert event_ids(api, eventTimestampBefore="2024-02-29T23:59:59.999999Z") == []
