"""/api/seat-metrics: create, read, list, update (label and description only), delete.

The seat type is lower snake case, unique per account among live metrics, and immutable; a
deleted metric frees its seat type.
"""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.api_client import ApiClient
from tests.support.paging import walk


def post_metric(api: ApiClient, seat_type: str = "editor", **fields: Any) -> httpx.Response:
    return api.post("/api/seat-metrics", json={"seatType": seat_type, "label": "Seat", **fields})


def create_metric(api: ApiClient, seat_type: str = "editor", **fields: Any) -> dict[str, Any]:
    response = post_metric(api, seat_type, **fields)
    assert response.status_code == 201, response.text
    return dict(response.json())


def metric_page(api: ApiClient, query: str = "") -> dict[str, Any]:
    response = api.get(f"/api/seat-metrics{query}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def seat_types(api: ApiClient) -> list[str]:
    return [metric["seatType"] for metric in metric_page(api, "?limit=100")["items"]]


def total_metrics(api: ApiClient) -> int:
    return int(metric_page(api)["pagination"]["totalResultSize"])


def timestamp(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0), value
    return parsed


# --- create and read -------------------------------------------------------------------------


def test_seed_002_seat_metric_request_answers_201(api: ApiClient) -> None:
    # Sequence's seat-billing guide (seed 002), request as written.
    response = api.post("/api/seat-metrics", json={"seatType": "editor", "label": "Editor Seat"})

    assert response.status_code == 201
    metric = response.json()
    assert set(metric) == {"id", "seatType", "label", "createdAt", "updatedAt"}
    assert uuid.UUID(metric["id"]).version == 7
    assert metric["seatType"] == "editor"
    assert metric["label"] == "Editor Seat"
    created, updated = timestamp(metric["createdAt"]), timestamp(metric["updatedAt"])
    assert created == updated
    assert abs(datetime.now(created.tzinfo) - created) < timedelta(minutes=5)
    assert api.get(f"/api/seat-metrics/{metric['id']}").json() == metric
    assert metric_page(api)["items"] == [metric]


def test_create_with_a_description(api: ApiClient) -> None:
    metric = create_metric(
        api, "admin_user", label="Administrator", description="Manages the whole account"
    )
    assert metric["seatType"] == "admin_user"
    assert metric["label"] == "Administrator"
    assert metric["description"] == "Manages the whole account"
    assert api.get(f"/api/seat-metrics/{metric['id']}").json() == metric


def test_list_paginates_newest_first_or_oldest_first(api: ApiClient) -> None:
    created = [create_metric(api, f"seat_{i}")["id"] for i in range(5)]
    ids, pages = walk(api, "/api/seat-metrics", limit=2)
    assert ids == list(reversed(created))
    assert len(pages) == 3
    assert all(page["pagination"]["totalResultSize"] == 5 for page in pages)
    ascending, _ = walk(api, "/api/seat-metrics", limit=3, sort_order="ASC")
    assert ascending == created


def test_seat_type_must_be_lower_snake_case_and_bad_bodies_write_nothing(api: ApiClient) -> None:
    create_metric(api, "editor")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"seatType": "Editor", "label": "x"}, "seatType"),
        ({"seatType": "editor-seat", "label": "x"}, "seatType"),
        ({"seatType": "editor seat", "label": "x"}, "seatType"),
        ({"seatType": "1st_seat", "label": "x"}, "seatType"),
        ({"seatType": "_seat", "label": "x"}, "seatType"),
        ({"seatType": "siège", "label": "x"}, "seatType"),
        ({"seatType": "", "label": "x"}, "seatType"),
        ({"seatType": "s" * 101, "label": "x"}, "seatType"),
        ({"seatType": 7, "label": "x"}, "seatType"),
        ({"label": "x"}, "seatType"),
        ({"seatType": "viewer"}, "label"),
        ({"seatType": "viewer", "label": ""}, "label"),
        ({"seatType": "viewer", "label": "x" * 501}, "label"),
        ({"seatType": "viewer", "label": "x", "description": "d" * 2001}, "description"),
    ]
    for body, field in cases:
        response = api.post("/api/seat-metrics", json=body)
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert error["type"] == "ValidationError"
        assert field in {detail["field"] for detail in error["details"]}, body

    malformed = api.post(
        "/api/seat-metrics",
        content=b'{"seatType": "viewer", "label": ',
        headers={"Content-Type": "application/json"},
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["type"] == "BadRequest"
    assert seat_types(api) == ["editor"]


def test_the_longest_and_shortest_seat_types_are_accepted(api: ApiClient) -> None:
    assert create_metric(api, "s" * 100)["seatType"] == "s" * 100
    assert create_metric(api, "a")["seatType"] == "a"
    assert create_metric(api, "seat_2024_v2")["seatType"] == "seat_2024_v2"


# --- uniqueness ------------------------------------------------------------------------------


def test_a_duplicate_seat_type_is_a_conflict_and_writes_nothing(api: ApiClient) -> None:
    original = create_metric(api, "editor", label="Editor Seat")
    response = post_metric(api, "editor", label="Another editor")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "DuplicateValue"
    assert "editor" in error["message"]
    assert metric_page(api)["items"] == [original]


def test_the_same_seat_type_may_exist_in_two_accounts(api: ApiClient, other_api: ApiClient) -> None:
    mine = create_metric(api, "editor", label="Mine")
    theirs = create_metric(other_api, "editor", label="Theirs")
    assert mine["id"] != theirs["id"]
    assert metric_page(api)["items"] == [mine]
    assert metric_page(other_api)["items"] == [theirs]


def test_concurrent_creates_of_one_seat_type_make_exactly_one_metric(
    app: FastAPI, api: ApiClient
) -> None:
    rounds = 8
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=3) as pool:
        clients = [
            ApiClient(stack.enter_context(TestClient(app, raise_server_exceptions=False)), api.auth)
            for _ in range(3)
        ]
        for round_ in range(rounds):
            seat_type = f"race_{round_}"
            barrier = threading.Barrier(len(clients), timeout=30)

            def send(
                client: ApiClient, seat_type: str = seat_type, barrier: Any = barrier
            ) -> tuple[int, str]:
                barrier.wait()
                response = post_metric(client, seat_type)
                return response.status_code, response.json().get("error", {}).get("type", "")

            statuses = sorted(f.result(timeout=60) for f in [pool.submit(send, c) for c in clients])
            duplicate = (400, "DuplicateValue")
            assert statuses == [(201, ""), duplicate, duplicate], (seat_type, statuses)
    assert sorted(seat_types(api)) == [f"race_{round_}" for round_ in range(rounds)]


# --- update ----------------------------------------------------------------------------------


def test_update_replaces_label_and_description(api: ApiClient) -> None:
    metric = create_metric(api, "editor", label="Editor", description="Can edit")
    url = f"/api/seat-metrics/{metric['id']}"

    response = api.put(url, json={"label": "Editor Seat", "description": "Edits documents"})
    assert response.status_code == 200
    updated = response.json()
    assert updated["label"] == "Editor Seat"
    assert updated["description"] == "Edits documents"
    assert updated["seatType"] == "editor"
    assert updated["id"] == metric["id"]
    assert updated["createdAt"] == metric["createdAt"]
    assert timestamp(updated["updatedAt"]) >= timestamp(metric["updatedAt"])
    assert api.get(url).json() == updated

    # PUT replaces: a description left out is cleared.
    cleared = api.put(url, json={"label": "Editor Seat"})
    assert cleared.status_code == 200
    assert "description" not in cleared.json()
    assert "description" not in api.get(url).json()


def test_update_accepts_the_current_seat_type_and_refuses_another(api: ApiClient) -> None:
    """Design: restating the seat type (a read-modify-write round trip) is fine; changing it is
    a 400, not silently ignored, so a client never believes it renamed a seat type."""
    metric = create_metric(api, "editor", label="Editor")
    url = f"/api/seat-metrics/{metric['id']}"

    # Read-only fields of the answer (`id`, `createdAt` ...) are not the update's: refused.
    echoed = api.put(url, json={**metric, "label": "Editor Seat"})
    assert echoed.status_code == 400
    assert "unknown field `id`" in echoed.text
    round_trip = api.put(url, json={"label": "Editor Seat", "seatType": metric["seatType"]})
    assert round_trip.status_code == 200
    assert round_trip.json()["label"] == "Editor Seat"
    assert round_trip.json()["seatType"] == "editor"
    before = api.get(url).json()

    for other in ("viewer", "Editor", ""):
        response = api.put(url, json={"label": "Renamed", "seatType": other})
        assert response.status_code == 400, other
        error = response.json()["error"]
        assert error["type"] == "ValidationError"
        assert [detail["field"] for detail in error["details"]] == ["seatType"]
    assert api.get(url).json() == before
    assert seat_types(api) == ["editor"]


def test_update_validates_its_body_and_changes_nothing(api: ApiClient) -> None:
    metric = create_metric(api, "editor", label="Editor", description="Can edit")
    url = f"/api/seat-metrics/{metric['id']}"
    for body, field in (
        ({"description": "no label"}, "label"),
        ({"label": ""}, "label"),
        ({"label": "x" * 501}, "label"),
        ({"label": "ok", "description": "d" * 2001}, "description"),
    ):
        response = api.put(url, json=body)
        assert response.status_code == 400, body
        assert field in {d["field"] for d in response.json()["error"]["details"]}
    malformed = api.put(url, content=b"{", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert api.get(url).json() == metric


# --- delete ----------------------------------------------------------------------------------


def test_delete_answers_the_metric_hides_it_and_frees_its_seat_type(api: ApiClient) -> None:
    metric = create_metric(api, "editor", label="Editor Seat", description="Edits")
    keep = create_metric(api, "viewer")
    url = f"/api/seat-metrics/{metric['id']}"

    response = api.delete(url)
    assert response.status_code == 200
    deleted = response.json()
    assert deleted["deletedAt"]
    assert {k: v for k, v in deleted.items() if k not in ("deletedAt", "updatedAt")} == {
        k: v for k, v in metric.items() if k != "updatedAt"
    }

    for method, body in (("GET", None), ("PUT", {"label": "x"}), ("DELETE", None)):
        gone = api.request(method, url, json=body)
        assert gone.status_code == 404, method
        assert gone.json()["error"]["type"] == "NotFound"
    assert metric_page(api)["items"] == [keep]

    again = create_metric(api, "editor", label="Editor again")
    assert again["id"] != metric["id"]
    assert sorted(seat_types(api)) == ["editor", "viewer"]
    assert api.get(f"/api/seat-metrics/{again['id']}").json() == again


# --- tenancy and unknown ids -----------------------------------------------------------------


def test_unknown_ids_are_404(api: ApiClient) -> None:
    for metric_id in (str(uuid.uuid4()), "nope"):
        url = f"/api/seat-metrics/{metric_id}"
        for method, body in (("GET", None), ("PUT", {"label": "x"}), ("DELETE", None)):
            response = api.request(method, url, json=body)
            assert response.status_code == 404, (method, metric_id)
            assert response.json()["error"]["type"] == "NotFound"


def test_another_accounts_metrics_are_404_and_untouched(
    api: ApiClient, other_api: ApiClient
) -> None:
    theirs = create_metric(other_api, "editor", label="Theirs")
    url = f"/api/seat-metrics/{theirs['id']}"
    for method, body in (("GET", None), ("PUT", {"label": "Hijacked"}), ("DELETE", None)):
        response = api.request(method, url, json=body)
        assert response.status_code == 404, method
        assert response.json()["error"]["type"] == "NotFound"
    assert total_metrics(api) == 0
    assert other_api.get(url).json() == theirs
    assert metric_page(other_api)["items"] == [theirs]
