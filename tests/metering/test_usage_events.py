"""/api/usage-events (single and list) and /api/usage-events/batch (Tally's).

An event's customerEventId is its idempotency key: a later event with the same one replaces
the stored event, which keeps its id; an exact resend changes nothing. Properties are stored
as sent, so decimals keep every digit. Invalid events are refused (single) or answered
`rejected` at their index (batch) and never stored.
"""

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.factories import customer_body
from tests.support.api_client import ApiClient

EVENT_FIELDS = {
    "id",
    "customerEventId",
    "customerAlias",
    "eventType",
    "sequenceAccountId",
    "eventTimestamp",
    "eventProperties",
}
JSON = {"Content-Type": "application/json"}


def event(**overrides: Any) -> dict[str, Any]:
    return {
        "customerAlias": "cust-1",
        "eventType": "api_call",
        "eventTimestamp": "2024-05-01T10:00:00Z",
        **overrides,
    }


def post_event(api: ApiClient, **overrides: Any) -> httpx.Response:
    return api.post("/api/usage-events", json=event(**overrides))


def created(api: ApiClient, **overrides: Any) -> dict[str, Any]:
    response = post_event(api, **overrides)
    assert response.status_code == 201, response.text
    return dict(response.json())


def post_raw(api: ApiClient, body: bytes, path: str = "/api/usage-events") -> httpx.Response:
    return api.post(path, content=body, headers=JSON)


def post_batch(api: ApiClient, events: list[Any]) -> dict[str, Any]:
    response = api.post("/api/usage-events/batch", json={"events": events})
    assert response.status_code == 200, response.text
    return dict(response.json())


def events_page(api: ApiClient, params: Any = None) -> dict[str, Any]:
    response = api.get("/api/usage-events", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def listed(api: ApiClient, params: Any = None) -> list[dict[str, Any]]:
    """One page of up to 100 events; `params` a dict, or pairs to repeat a parameter."""
    pairs = list(params.items()) if isinstance(params, dict) else list(params or [])
    return list(events_page(api, [("limit", 100), *pairs])["items"])


def total_events(api: ApiClient) -> int:
    return int(events_page(api)["pagination"]["totalResultSize"])


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def exact(text: str) -> Any:
    """JSON with every decimal read exactly."""
    return json.loads(text, parse_float=Decimal)


def account_id(api: ApiClient) -> str:
    return str(api.get("/api/sequence-accounts").json()["items"][0]["id"])


# --- single POST -----------------------------------------------------------------------------


def test_create_answers_201_in_sequence_shape(api: ApiClient) -> None:
    response = post_event(
        api,
        customerAlias="crm-42",
        eventType="message_sent",
        customerEventId="evt-1",
        eventProperties={"length": 500, "channel": "sms", "tags": ["a", "b"], "vip": True},
    )
    assert response.status_code == 201, response.text
    stored = response.json()
    assert set(stored) == EVENT_FIELDS
    assert uuid.UUID(stored["id"])
    assert stored["customerEventId"] == "evt-1"
    assert stored["customerAlias"] == "crm-42"
    assert stored["eventType"] == "message_sent"
    assert stored["sequenceAccountId"] == account_id(api)
    assert instant(stored["eventTimestamp"]) == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert stored["eventProperties"] == {
        "length": 500,
        "channel": "sms",
        "tags": ["a", "b"],
        "vip": True,
    }
    assert listed(api) == [stored]
    assert listed(api, {"eventId": stored["id"]}) == [stored]


def test_without_customer_event_id_the_event_id_is_assigned(api: ApiClient) -> None:
    first = created(api)
    second = created(api, customerEventId=None)
    for stored in (first, second):
        assert uuid.UUID(stored["id"])
        assert stored["customerEventId"] == stored["id"]
    assert first["id"] != second["id"]
    # Two identical bodies without a customerEventId are two events.
    assert total_events(api) == 2


def test_without_a_timestamp_the_event_happens_now(api: ApiClient) -> None:
    body = event()
    del body["eventTimestamp"]
    start = datetime.now(UTC)
    omitted = api.post("/api/usage-events", json=body)
    null = post_event(api, eventTimestamp=None)
    end = datetime.now(UTC)
    for response in (omitted, null):
        assert response.status_code == 201, response.text
        stamped = instant(response.json()["eventTimestamp"])
        assert start - timedelta(seconds=1) <= stamped <= end + timedelta(seconds=1)


def test_a_timestamp_with_an_offset_is_the_same_instant_in_utc(api: ApiClient) -> None:
    stored = created(api, eventTimestamp="2024-05-01T12:30:00+02:00")
    assert instant(stored["eventTimestamp"]) == datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    assert instant(stored["eventTimestamp"]).utcoffset() == timedelta(0)


def test_properties_keep_exact_decimals(api: ApiClient) -> None:
    body = (
        b'{"customerAlias": "cust-1", "eventType": "api_call",'
        b' "eventTimestamp": "2024-05-01T10:00:00Z", "eventProperties": {'
        b'"small": 0.10000000000000000001, "big": 123456789012345678901234567890.5,'
        b' "huge_int": 123456789012345678901234567890, "nested": {"rate": 2.50}}}'
    )
    response = post_raw(api, body)
    assert response.status_code == 201, response.text
    for text in (response.text, api.get("/api/usage-events").text):
        assert "0.10000000000000000001" in text
        assert "123456789012345678901234567890.5" in text
    answered = exact(response.text)["eventProperties"]
    listed_back = exact(api.get("/api/usage-events").text)["items"][0]["eventProperties"]
    for properties in (answered, listed_back):
        assert str(properties["small"]) == "0.10000000000000000001"
        assert str(properties["big"]) == "123456789012345678901234567890.5"
        assert properties["huge_int"] == 123456789012345678901234567890
        assert properties["nested"]["rate"] == Decimal("2.5")


def test_properties_default_to_an_empty_object(api: ApiClient) -> None:
    assert created(api)["eventProperties"] == {}


# --- validation ------------------------------------------------------------------------------

INVALID_EVENTS: list[tuple[str, bytes, int, str | None]] = [
    ("no alias", b'{"eventType": "api_call"}', 400, "customerAlias"),
    ("empty alias", b'{"customerAlias": "", "eventType": "api_call"}', 400, "customerAlias"),
    ("no event type", b'{"customerAlias": "cust-1"}', 400, "eventType"),
    ("type not a string", b'{"customerAlias": "cust-1", "eventType": 42}', 400, "eventType"),
    (
        "type an object",
        b'{"customerAlias": "cust-1", "eventType": {"name": "x"}}',
        400,
        "eventType",
    ),
    (
        "not a timestamp",
        b'{"customerAlias": "c", "eventType": "t", "eventTimestamp": "yesterday"}',
        400,
        "eventTimestamp",
    ),
    (
        "no UTC offset",
        b'{"customerAlias": "c", "eventType": "t", "eventTimestamp": "2024-05-01T10:00:00"}',
        400,
        "eventTimestamp",
    ),
    (
        "properties a list",
        b'{"customerAlias": "c", "eventType": "t", "eventProperties": [1, 2]}',
        400,
        "eventProperties",
    ),
    (
        "properties a string",
        b'{"customerAlias": "c", "eventType": "t", "eventProperties": "{}"}',
        400,
        "eventProperties",
    ),
    (
        "number out of range",
        b'{"customerAlias": "c", "eventType": "t", "eventProperties": {"n": 1e5000}}',
        400,
        "eventProperties",
    ),
    (
        "nested number out of range",
        b'{"customerAlias": "c", "eventType": "t", "eventProperties": {"a": [{"n": -2E+9999}]}}',
        400,
        "eventProperties",
    ),
    ("malformed JSON", b'{"customerAlias": "c", "eventType": "t"', 400, None),
    ("not JSON at all", b"customerAlias=c&eventType=t", 400, None),
    ("not an object", b'[{"customerAlias": "c", "eventType": "t"}]', 400, None),
]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [case[1:] for case in INVALID_EVENTS],
    ids=[case[0] for case in INVALID_EVENTS],
)
def test_an_invalid_event_is_refused_and_not_stored(
    api: ApiClient, body: bytes, status: int, field: str | None
) -> None:
    response = post_raw(api, body)  # the client checks the error shape
    assert response.status_code == status, response.text
    error = response.json()["error"]
    # Bodies that are not JSON are a BadRequest; JSON of the wrong shape a ValidationError.
    malformed = field is None and not body.startswith(b"[")
    assert error["type"] == ("BadRequest" if malformed else "ValidationError")
    assert error["message"]
    if field is not None:
        assert error["details"][0]["field"] == field
    assert total_events(api) == 0


def test_a_string_that_looks_like_a_huge_number_is_fine(api: ApiClient) -> None:
    stored = created(api, eventProperties={"n": "1e5000", "digits": "9" * 400})
    assert stored["eventProperties"] == {"n": "1e5000", "digits": "9" * 400}


# --- customerEventId: last received wins -----------------------------------------------------


def test_a_later_event_with_the_same_customer_event_id_replaces_the_earlier(
    api: ApiClient,
) -> None:
    first = created(api, customerEventId="evt-1", eventProperties={"count": 1})
    answer = post_batch(
        api,
        [
            event(
                customerEventId="evt-1",
                customerAlias="cust-2",
                eventType="api_call_v2",
                eventTimestamp="2024-05-02T08:00:00Z",
                eventProperties={"count": 2, "region": "eu"},
            )
        ],
    )
    assert (answer["accepted"], answer["replaced"], answer["rejected"]) == (0, 1, 0)
    assert answer["results"] == [
        {"index": 0, "status": "replaced", "id": first["id"], "customerEventId": "evt-1"}
    ]

    [stored] = listed(api)
    assert stored == {
        **first,
        "customerAlias": "cust-2",
        "eventType": "api_call_v2",
        "eventTimestamp": stored["eventTimestamp"],
        "eventProperties": {"count": 2, "region": "eu"},
    }
    assert instant(stored["eventTimestamp"]) == datetime(2024, 5, 2, 8, tzinfo=UTC)
    assert listed(api, {"eventType": "api_call"}) == []
    assert listed(api, {"customerAlias": "cust-1"}) == []
    assert listed(api, {"eventId": first["id"]}) == [stored]

    # The single POST replaces the same way and answers the event as now stored.
    again = post_event(api, customerEventId="evt-1", eventProperties={"count": 3})
    assert again.status_code == 201
    assert again.json()["id"] == first["id"]
    assert again.json()["eventProperties"] == {"count": 3}
    assert listed(api) == [again.json()]


def test_an_exact_resend_changes_nothing(api: ApiClient) -> None:
    body = event(customerEventId="evt-1", eventProperties={"count": 1, "rate": 0.25})
    first = api.post("/api/usage-events", json=body)
    assert first.status_code == 201
    resent = api.post("/api/usage-events", json=body)
    assert resent.status_code == 201
    assert resent.json() == first.json()

    answer = post_batch(api, [body])
    assert (answer["accepted"], answer["replaced"], answer["rejected"]) == (1, 0, 0)
    assert answer["results"] == [
        {
            "index": 0,
            "status": "accepted",
            "id": first.json()["id"],
            "customerEventId": "evt-1",
            "duplicate": True,
        }
    ]
    # The same instant written with another offset is the same event too.
    shifted = {**body, "eventTimestamp": "2024-05-01T12:00:00+02:00"}
    assert post_batch(api, [shifted])["results"][0]["duplicate"] is True
    assert listed(api) == [first.json()]


def test_a_resend_with_reformatted_properties_is_a_duplicate_on_every_backend(
    api: ApiClient,
) -> None:
    first = post_raw(
        api,
        b'{"customerAlias": "c", "eventType": "t", "customerEventId": "evt-1",'
        b' "eventTimestamp": "2024-05-01T10:00:00Z", "eventProperties": {"a": 1, "b": 2}}',
    )
    assert first.status_code == 201
    for properties in (b'{"b": 2, "a": 1}', b'{"a":1,"b":2}'):
        body = (
            b'{"events": [{"customerAlias": "c", "eventType": "t", "customerEventId": "evt-1",'
            b' "eventTimestamp": "2024-05-01T10:00:00Z", "eventProperties": ' + properties + b"}]}"
        )
        answer = post_raw(api, body, "/api/usage-events/batch").json()
        assert answer["results"][0]["status"] == "accepted", properties
        assert answer["results"][0].get("duplicate") is True, properties
    assert [e["eventProperties"] for e in listed(api)] == [{"a": 1, "b": 2}]


def test_within_one_batch_the_later_event_wins(api: ApiClient) -> None:
    answer = post_batch(
        api,
        [
            event(customerEventId="evt-1", eventProperties={"version": 1}),
            event(customerEventId="other"),
            event(customerEventId="evt-1", eventProperties={"version": 2}),
        ],
    )
    assert (answer["accepted"], answer["replaced"], answer["rejected"]) == (2, 1, 0)
    results = answer["results"]
    assert [r["index"] for r in results] == [0, 1, 2]
    assert [r["status"] for r in results] == ["accepted", "accepted", "replaced"]
    assert [r["customerEventId"] for r in results] == ["evt-1", "other", "evt-1"]
    assert results[0]["id"] == results[2]["id"] != results[1]["id"]
    assert not any(r.get("duplicate") for r in results)

    assert total_events(api) == 2
    [stored] = listed(api, {"eventId": results[0]["id"]})
    assert stored["customerEventId"] == "evt-1"
    assert stored["eventProperties"] == {"version": 2}


def test_a_batch_may_replace_a_stored_event_twice(api: ApiClient) -> None:
    first = created(api, customerEventId="evt-1", eventProperties={"version": 1})
    answer = post_batch(
        api,
        [
            event(customerEventId="evt-1", eventProperties={"version": 2}),
            event(customerEventId="evt-1", eventProperties={"version": 3}),
        ],
    )
    assert [r["status"] for r in answer["results"]] == ["accepted", "replaced"]
    assert {r["id"] for r in answer["results"]} == {first["id"]}
    assert [e["eventProperties"] for e in listed(api)] == [{"version": 3}]


def test_accounts_reuse_customer_event_ids_independently(
    api: ApiClient, other_api: ApiClient
) -> None:
    mine = created(api, customerEventId="shared", eventProperties={"owner": "me"})
    theirs = created(other_api, customerEventId="shared", eventProperties={"owner": "them"})
    assert mine["id"] != theirs["id"]
    assert mine["sequenceAccountId"] != theirs["sequenceAccountId"]

    answer = post_batch(other_api, [event(customerEventId="shared", eventProperties={"v": 2})])
    assert answer["results"][0]["status"] == "replaced"
    assert answer["results"][0]["id"] == theirs["id"]
    assert listed(api) == [mine]
    assert [e["eventProperties"] for e in listed(other_api)] == [{"v": 2}]


# --- batch -----------------------------------------------------------------------------------


def test_a_batch_stores_the_valid_events_and_rejects_the_others(api: ApiClient) -> None:
    earlier = created(api, customerEventId="known", eventProperties={"v": 1})
    no_type = event()
    del no_type["eventType"]
    answer = post_batch(
        api,
        [
            event(customerEventId="a", customerAlias="cust-a"),
            no_type,
            event(customerEventId="b", customerAlias="cust-b", eventProperties={"n": 2}),
            event(eventTimestamp="yesterday"),
            event(eventProperties=[1, 2]),
            event(customerEventId="known", eventProperties={"v": 2}),
            42,
        ],
    )
    assert (answer["accepted"], answer["replaced"], answer["rejected"]) == (2, 1, 4)
    results = answer["results"]
    assert [r["index"] for r in results] == list(range(7))
    assert [r["status"] for r in results] == [
        "accepted",
        "rejected",
        "accepted",
        "rejected",
        "rejected",
        "replaced",
        "rejected",
    ]
    for index, field in ((1, "eventType"), (3, "eventTimestamp"), (4, "eventProperties")):
        rejected = results[index]
        assert "id" not in rejected
        error = rejected["error"]
        assert error["type"] == "ValidationError"
        assert error["message"]
        assert error["details"][0]["field"] == field, error
    assert results[6]["error"]["type"] == "ValidationError"
    assert results[6]["error"]["message"]
    assert results[5]["id"] == earlier["id"]

    stored = {e["customerEventId"]: e for e in listed(api)}
    assert set(stored) == {"a", "b", "known"}
    assert stored["a"]["id"] == results[0]["id"]
    assert stored["b"]["id"] == results[2]["id"]
    assert stored["b"]["eventProperties"] == {"n": 2}
    assert stored["known"]["eventProperties"] == {"v": 2}


def test_a_batch_of_only_invalid_events_stores_nothing(api: ApiClient) -> None:
    answer = post_batch(api, [event(eventType=""), event(eventProperties="x")])
    assert (answer["accepted"], answer["replaced"], answer["rejected"]) == (0, 0, 2)
    assert [r["status"] for r in answer["results"]] == ["rejected", "rejected"]
    assert total_events(api) == 0


def test_a_batch_keeps_exact_decimals(api: ApiClient) -> None:
    body = (
        b'{"events": [{"customerAlias": "c", "eventType": "t", "eventProperties":'
        b' {"x": 0.10000000000000000001, "y": 123456789012345678901234567890.5}}]}'
    )
    response = post_raw(api, body, "/api/usage-events/batch")
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    [stored] = exact(api.get("/api/usage-events").text)["items"]
    assert str(stored["eventProperties"]["x"]) == "0.10000000000000000001"
    assert str(stored["eventProperties"]["y"]) == "123456789012345678901234567890.5"


def test_more_than_1000_events_are_refused_whole(api: ApiClient) -> None:
    too_many = [event(customerEventId=f"e-{i}") for i in range(1001)]
    response = api.post("/api/usage-events/batch", json={"events": too_many})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "ValidationError"
    assert error["details"][0]["field"] == "events"
    assert total_events(api) == 0

    answer = post_batch(api, too_many[:1000])
    assert (answer["accepted"], answer["replaced"], answer["rejected"]) == (1000, 0, 0)
    assert total_events(api) == 1000


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"[]", 400),
        (b"{}", 400),
        (b'{"events": 5}', 400),
        (b'{"events": {"customerAlias": "c", "eventType": "t"}}', 400),
        (b'{"events": null}', 400),
        (b'{"events": [', 400),
        (b"", 400),
    ],
    ids=[
        "a list",
        "no events",
        "events a number",
        "events an object",
        "null",
        "truncated",
        "empty",
    ],
)
def test_a_batch_body_that_is_not_an_object_with_events_is_refused(
    api: ApiClient, body: bytes, status: int
) -> None:
    response = post_raw(api, body, "/api/usage-events/batch")
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]
    assert total_events(api) == 0


def test_an_empty_batch_answers_zero_counts(api: ApiClient) -> None:
    assert post_batch(api, []) == {"accepted": 0, "replaced": 0, "rejected": 0, "results": []}
    assert total_events(api) == 0


# --- list ------------------------------------------------------------------------------------


def test_list_filters_by_alias_type_id_and_timestamp(api: ApiClient) -> None:
    a1 = created(api, customerAlias="a", eventType="call", eventTimestamp="2024-05-01T10:00:00Z")
    b2 = created(api, customerAlias="b", eventType="call", eventTimestamp="2024-05-02T10:00:00Z")
    c3 = created(api, customerAlias="c", eventType="sms", eventTimestamp="2024-05-03T10:00:00Z")
    a4 = created(api, customerAlias="a", eventType="sms", eventTimestamp="2024-05-04T10:00:00Z")

    def ids(params: Any) -> list[str]:
        return [e["id"] for e in listed(api, params)]

    assert ids({}) == [a4["id"], c3["id"], b2["id"], a1["id"]]  # newest first
    assert ids({"customerAlias": "a"}) == [a4["id"], a1["id"]]
    assert ids([("customerAlias", "a"), ("customerAlias", "c")]) == [a4["id"], c3["id"], a1["id"]]
    assert ids({"customerAlias": "A"}) == []  # exact and case-sensitive
    assert ids({"eventType": "sms"}) == [a4["id"], c3["id"]]
    assert ids({"eventType": "sms", "customerAlias": "a"}) == [a4["id"]]
    assert ids({"eventId": b2["id"]}) == [b2["id"]]
    assert ids({"eventId": str(uuid.uuid4())}) == []
    assert ids({"eventTimestampAfter": "2024-05-02T12:00:00Z"}) == [a4["id"], c3["id"]]
    assert ids({"eventTimestampBefore": "2024-05-02T12:00:00Z"}) == [b2["id"], a1["id"]]
    between = {
        "eventTimestampAfter": "2024-05-01T12:00:00Z",
        "eventTimestampBefore": "2024-05-03T12:00:00+00:00",
    }
    assert ids(between) == [c3["id"], b2["id"]]
    # An offset names the instant: 11:00+02:00 is 09:00 UTC, before b2's 10:00.
    assert ids({"eventTimestampAfter": "2024-05-02T11:00:00+02:00"}) == [
        a4["id"],
        c3["id"],
        b2["id"],
    ]
    filtered = events_page(api, {"customerAlias": "a", "limit": 1})
    assert filtered["pagination"]["totalResultSize"] == 2


def test_a_timestamp_filter_without_an_offset_is_not_a_server_error(api: ApiClient) -> None:
    may_1 = created(api, eventTimestamp="2024-05-01T10:00:00Z")
    created(api, eventTimestamp="2024-05-03T10:00:00Z")
    for value in ("2024-05-02T00:00:00", "2024-05-02"):
        response = api.get("/api/usage-events", params={"eventTimestampBefore": value})
        # Either refused like an offset-less eventTimestamp, or read as UTC.
        assert response.status_code in (200, 400), (value, response.status_code)
        if response.status_code == 200:
            assert [e["id"] for e in response.json()["items"]] == [may_1["id"]]
        else:
            assert response.json()["error"]["details"][0]["field"] == "eventTimestampBefore"


def test_unmapped_aliases_only_lists_events_no_customer_claims(api: ApiClient) -> None:
    customer = api.post("/api/customers", json=customer_body(customerAliases=["known"])).json()
    by_id = created(api, customerAlias=customer["id"])
    by_alias = created(api, customerAlias="known")
    later = created(api, customerAlias="crm-7")
    stray = created(api, customerAlias="nobody")

    def unmapped() -> list[str]:
        return [e["id"] for e in listed(api, {"unmappedAliasesOnly": "true"})]

    assert unmapped() == [stray["id"], later["id"]]
    assert len(listed(api, {"unmappedAliasesOnly": "false"})) == 4
    assert {by_id["id"], by_alias["id"]}.isdisjoint(unmapped())

    alias = api.post("/api/customer-aliases", json={"customerId": customer["id"], "value": "crm-7"})
    assert alias.status_code == 201, alias.text
    assert unmapped() == [stray["id"]]
    assert listed(api, {"unmappedAliasesOnly": "true", "customerAlias": "crm-7"}) == []

    # A deleted alias maps nothing any more.
    assert api.delete(f"/api/customer-aliases/{alias.json()['id']}").status_code == 200
    assert unmapped() == [stray["id"], later["id"]]


def test_list_paginates_with_cursors(api: ApiClient) -> None:
    made = [created(api, customerEventId=f"e-{i}", customerAlias="pager") for i in range(5)]
    created(api, customerAlias="someone-else")
    newest_first = [e["id"] for e in reversed(made)]

    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2, "customerAlias": "pager"}
    pages = 0
    while True:
        page = events_page(api, params)
        pages += 1
        assert page["pagination"]["totalResultSize"] == 5
        assert len(page["items"]) <= 2
        seen += [e["id"] for e in page["items"]]
        if page["pagination"].get("after") is None:
            break
        params = {**params, "after": page["pagination"].get("after")}
    assert pages == 3
    assert seen == newest_first

    ascending = events_page(api, {"limit": 3, "sortOrder": "ASC", "customerAlias": "pager"})
    assert [e["id"] for e in ascending["items"]] == [e["id"] for e in made[:3]]
    rest = events_page(
        api,
        {
            "limit": 3,
            "sortOrder": "ASC",
            "customerAlias": "pager",
            "after": ascending["pagination"].get("after"),
        },
    )
    assert [e["id"] for e in rest["items"]] == [e["id"] for e in made[3:]]


def test_another_account_never_sees_these_events(api: ApiClient, other_api: ApiClient) -> None:
    mine = created(api, customerAlias="shared-alias", customerEventId="evt-1")
    post_batch(api, [event(customerAlias="shared-alias", eventType="sms")])
    assert total_events(api) == 2

    assert total_events(other_api) == 0
    for params in (
        {"eventId": mine["id"]},
        {"customerAlias": "shared-alias"},
        {"eventType": "api_call"},
        {"unmappedAliasesOnly": "true"},
    ):
        page = events_page(other_api, params)
        assert page["items"] == []
        assert page["pagination"]["totalResultSize"] == 0
    theirs = created(other_api, customerAlias="shared-alias")
    assert [e["id"] for e in listed(other_api)] == [theirs["id"]]
    assert theirs["id"] not in [e["id"] for e in listed(api)]


def test_an_identical_event_twice_in_one_batch_is_a_duplicate(api: ApiClient) -> None:
    same = {
        "customerAlias": "acme",
        "eventType": "api_call",
        "customerEventId": "twice",
        "eventTimestamp": "2024-01-02T00:00:00Z",
        "eventProperties": {"n": 1},
    }
    answer = api.post("/api/usage-events/batch", json={"events": [same, same]}).json()
    assert [(r["status"], r.get("duplicate", False)) for r in answer["results"]] == [
        ("accepted", False),
        ("accepted", True),
    ]
    assert answer["results"][0]["id"] == answer["results"][1]["id"]
    assert api.get("/api/usage-events").json()["pagination"]["totalResultSize"] == 1
