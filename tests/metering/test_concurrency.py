"""Concurrent ingestion: no event lost or counted twice, whatever runs at the same time."""

import threading
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tests.metering.helpers import calculate, create_metric, event, value
from tests.support.api_client import ApiClient

JAN = ("2024-01-01", "2024-01-31")


def together(
    app: FastAPI, auth: tuple[str, str], calls: list[Callable[[TestClient], Any]]
) -> list[Any]:
    """Run each call in its own thread and client, all released at the same moment."""
    barrier = threading.Barrier(len(calls), timeout=60)
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[TestClient], Any]) -> None:
        with TestClient(app, raise_server_exceptions=False) as client:
            client.auth = auth
            barrier.wait()
            results[index] = call(client)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def post_batch(events: list[dict[str, Any]]) -> Callable[[TestClient], httpx.Response]:
    return lambda client: client.post("/api/usage-events/batch", json={"events": events})


def test_the_same_customer_event_id_at_once_is_stored_once(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    metric = create_metric(api, aggregationType="SUM", aggregationProperty="n")
    auth = (account.api_key, account.api_secret)
    for round_ in range(5):
        key = f"same-{round_}"
        versions = [
            {**event(f"alias-{round_}", "2024-01-02T00:00:00Z", n=n), "customerEventId": key}
            for n in (1, 10, 100, 1000)
        ]
        responses = together(app, auth, [post_batch([v]) for v in versions])
        assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
        stored = api.get("/api/usage-events", params={"customerAlias": f"alias-{round_}"}).json()
        assert stored["pagination"]["totalResultSize"] == 1
        kept = stored["items"][0]["eventProperties"]["n"]
        assert kept in (1, 10, 100, 1000)
        # The rollups agree with the one stored version.
        assert value(api, metric, f"alias-{round_}", *JAN) == kept


def test_batches_for_one_hot_customer_at_once_count_every_event(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    metric = create_metric(api, aggregationType="COUNT")
    total = create_metric(api, name="total", aggregationType="SUM", aggregationProperty="n")
    batches = [
        [
            {
                **event("hot", f"2024-01-{1 + i % 28:02}T12:00:00Z", n=1),
                "customerEventId": f"{b}-{i}",
            }
            for i in range(200)
        ]
        for b in range(4)
    ]
    responses = together(
        app, (account.api_key, account.api_secret), [post_batch(b) for b in batches]
    )
    assert [r.json()["accepted"] for r in responses] == [200] * 4
    assert value(api, metric, "hot", *JAN) == 800
    assert value(api, total, "hot", *JAN) == 800


def test_a_metric_created_while_events_arrive_counts_them_all(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    auth = (account.api_key, account.api_secret)
    batches = [
        [
            {**event("acme", "2024-01-05T00:00:00Z"), "customerEventId": f"{b}-{i}"}
            for i in range(100)
        ]
        for b in range(3)
    ]
    body = {
        "name": "late",
        "metricType": "SIMPLE",
        "eventType": "api_call",
        "aggregationType": "COUNT",
    }
    create = lambda client: client.post("/api/usage-metrics", json=body)  # noqa: E731
    results = together(app, auth, [*(post_batch(b) for b in batches), create])
    metric = results[-1].json()
    assert value(api, metric, "acme", *JAN) == 300
    assert calculate(api, metric, "acme", *JAN)["eventCount"] == 300


def test_replacements_and_new_events_in_one_bucket_at_once(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    metric = create_metric(api, aggregationType="SUM", aggregationProperty="n")
    api.post(
        "/api/usage-events/batch",
        json={
            "events": [
                {**event("acme", "2024-01-05T00:00:00Z", n=1), "customerEventId": f"r{i}"}
                for i in range(50)
            ]
        },
    )
    replacements = [
        {**event("acme", "2024-01-05T00:00:00Z", n=2), "customerEventId": f"r{i}"}
        for i in range(50)
    ]
    fresh = [
        {**event("acme", "2024-01-05T06:00:00Z", n=1), "customerEventId": f"f{i}"}
        for i in range(50)
    ]
    together(
        app, (account.api_key, account.api_secret), [post_batch(replacements), post_batch(fresh)]
    )
    assert value(api, metric, "acme", *JAN) == 50 * 2 + 50
