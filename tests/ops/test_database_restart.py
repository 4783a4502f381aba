"""Acknowledged means durable: PostgreSQL restarts (fast, then a crash) while clients stream
usage events to a real `tally serve`. Every event answered 2xx is stored exactly once, every
other answer is a 503 with Retry-After, and retrying those until acknowledged counts each
event once.

The cluster is a private one (initdb in a temporary directory): restarting the shared server
would break everybody else's tests. It is independent of the suite's database, so it runs
once, in the PostgreSQL pass (TALLY_TEST_DATABASE_URL set): that is the pass CI runs against
PostgreSQL, and the one a change to PostgreSQL handling is checked by.
"""

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from tally import migrations
from tally.app import create_app
from tally.db import Database
from tally.settings import Settings
from tests.conftest import make_account
from tests.factories import customer_body
from tests.ops.processes import Running, serving
from tests.support.databases import postgres_server_url
from tests.support.private_postgres import PrivateCluster, private_cluster, server_binaries
from tests.support.serving import clean_environment

pytestmark = [
    pytest.mark.skipif(
        not postgres_server_url(),
        reason="runs once, in the PostgreSQL pass (set TALLY_TEST_DATABASE_URL); it brings "
        "its own private cluster",
    ),
    pytest.mark.skipif(
        server_binaries() is None,
        reason="PostgreSQL server binaries (initdb, pg_ctl) missing under /usr/lib/postgresql",
    ),
]

MARCH = ("2024-03-01", "2024-03-31")
ACKS_BETWEEN_RESTARTS = 40  # acknowledged events each phase waits for, per client


@dataclass
class PrivateDatabase:
    cluster: PrivateCluster
    url: str


@pytest.fixture(scope="module")
def private() -> Iterator[PrivateDatabase]:
    """A migrated database on a cluster of this module's own; each test has its account."""
    with private_cluster() as cluster:
        url = cluster.create_database("tally")
        database = Database(url)
        migrations.upgrade(database.engine)
        database.dispose()
        yield PrivateDatabase(cluster, url)


def new_account(url: str) -> tuple[str, tuple[str, str]]:
    """(account id, Basic auth) of a new account."""
    database = Database(url)
    try:
        account = make_account(database)
    finally:
        database.dispose()
    return account.account_id, (account.api_key, account.api_secret)


def unavailable_count(metrics_page: str) -> float:
    for family in text_string_to_metric_families(metrics_page):
        for sample in family.samples:
            if sample.name == "tally_database_unavailable_total":
                return sample.value
    return 0.0


def usage_event(event_id: str, n: int) -> dict[str, Any]:
    return {
        "customerEventId": event_id,
        "customerAlias": f"customer-{n % 3}",
        "eventType": "api_call",
        "eventTimestamp": f"2024-03-{1 + n % 28:02}T12:00:00Z",
        "eventProperties": {"units": n % 7 + 1},
    }


@dataclass
class Answer:
    events: list[dict[str, Any]]
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    transport_error: str = ""

    @property
    def acknowledged(self) -> list[str]:
        """The customerEventIds this answer acknowledged as stored."""
        if self.status == 201:  # the single-event endpoint
            return [self.events[0]["customerEventId"]]
        if self.status == 200:
            return [
                result["customerEventId"]
                for result in self.body["results"]
                if result["status"] in ("accepted", "replaced")
            ]
        return []


def post_events(client: httpx.Client, events: list[dict[str, Any]]) -> Answer:
    """One event alone (POST /api/usage-events) or a small batch: both paths get restarts."""
    answer = Answer(events)
    try:
        if len(events) == 1:
            response = client.post("/api/usage-events", json=events[0])
        else:
            response = client.post("/api/usage-events/batch", json={"events": events})
    except httpx.TransportError as error:
        answer.transport_error = repr(error)
        return answer
    answer.status, answer.headers = response.status_code, dict(response.headers)
    answer.body = response.json() if response.content else None
    return answer


class Stream(threading.Thread):
    """A client sending new events without pause, recording every answer."""

    def __init__(self, name: str, base_url: str, auth: tuple[str, str]) -> None:
        super().__init__(name=f"stream-{name}", daemon=True)
        self.client = httpx.Client(base_url=base_url, auth=auth, timeout=60)
        self.prefix = name
        self.answers: list[Answer] = []
        self.acknowledged = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        counter = itertools.count()
        sizes = itertools.cycle([1, 3, 1, 5])
        while not self.stopping.is_set():
            batch = [
                usage_event(f"{self.prefix}-{n}", n) for n in itertools.islice(counter, next(sizes))
            ]
            answer = post_events(self.client, batch)
            self.answers.append(answer)
            self.acknowledged += len(answer.acknowledged)
            if answer.status == 503:
                time.sleep(0.02)  # keep knocking: the outage is what this test is about

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=60)
        self.client.close()


def wait_for_acknowledgements(streams: list[Stream], more: int, server: Running) -> None:
    """Until every client has `more` acknowledgements than now: tally serves again."""
    targets = [stream.acknowledged + more for stream in streams]
    deadline = time.monotonic() + 30
    while any(s.acknowledged < t for s, t in zip(streams, targets, strict=True)):
        assert server.process.poll() is None, f"tally exited:\n{server.log}"
        statuses = [a.status for s in streams for a in s.answers[-5:]]
        assert time.monotonic() < deadline, f"no recovery; last answers {statuses}"
        time.sleep(0.05)


def stored_events(cluster_url: str, account_id: str) -> dict[str, tuple[int, int]]:
    """customerEventId -> (rows stored, units) straight from the table."""
    database = Database(cluster_url)
    try:
        with database.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT customer_event_id, count(*), min((properties->>'units')::int) "
                    "FROM usage_events WHERE account_id = :account GROUP BY customer_event_id"
                ),
                {"account": account_id},
            ).all()
    finally:
        database.dispose()
    return {event_id: (count, units) for event_id, count, units in rows}


def resend_until_acknowledged(client: httpx.Client, events: list[dict[str, Any]]) -> list[Answer]:
    """What a client does with every event not acknowledged: send it again, after the
    Retry-After it was given. The answers to the resends."""
    pending = {event["customerEventId"]: event for event in events}
    answers = []
    deadline = time.monotonic() + 30
    while pending:
        assert time.monotonic() < deadline, f"still refused: {sorted(pending)[:10]}"
        answer = post_events(client, list(pending.values())[:100])
        answers.append(answer)
        if answer.status == 503:
            assert_retryable_refusal(answer)
            time.sleep(float(answer.headers["retry-after"]))
            continue
        # 201 when one event is left: post_events sends a lone event to the single endpoint
        assert answer.status in (200, 201), (answer.status, answer.body, answer.transport_error)
        for event_id in answer.acknowledged:
            del pending[event_id]
    return answers


def calculate(client: httpx.Client, metric_id: str) -> dict[str, Any]:
    response = client.get(
        f"/api/usage-metrics/{metric_id}/calculate",
        params={
            "customerAliases": "customer-0,customer-1,customer-2",
            "periodStart": MARCH[0],
            "periodEnd": MARCH[1],
        },
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def create_metric(client: httpx.Client, **fields: str) -> str:
    body = {"name": "API calls", "eventType": "api_call", **fields}
    response = client.post("/api/usage-metrics", json=body)
    assert response.status_code == 201, response.text
    metric_id: str = response.json()["id"]
    return metric_id


def assert_retryable_refusal(answer: Answer) -> None:
    assert answer.status == 503, (answer.status, answer.body)
    assert int(answer.headers["retry-after"]) >= 1
    assert answer.body["error"]["type"] == "ServiceUnavailable"
    assert answer.body["error"]["message"]


def stream_through_restarts(
    cluster: PrivateCluster, server: Running, auth: tuple[str, str]
) -> list[Stream]:
    streams = [Stream(name, server.base_url, auth) for name in ("a", "b")]
    for stream in streams:
        stream.start()
    try:
        wait_for_acknowledgements(streams, ACKS_BETWEEN_RESTARTS, server)
        cluster.restart("fast")  # sessions terminated: AdminShutdown mid-request
        wait_for_acknowledgements(streams, ACKS_BETWEEN_RESTARTS, server)
        cluster.restart("immediate")  # a crash: recovery replays the WAL
        wait_for_acknowledgements(streams, ACKS_BETWEEN_RESTARTS, server)
    finally:
        for stream in streams:
            stream.stop()
    return streams


def test_events_acknowledged_across_postgres_restarts_are_stored_exactly_once(
    private: PrivateDatabase, tmp_path: Path
) -> None:
    started = time.monotonic()
    url = private.url
    account_id, auth = new_account(url)
    env = clean_environment(
        TALLY_DATABASE_URL=url,
        TALLY_DATA_DIR=str(tmp_path),
        TALLY_BILLING_SCHEDULER="false",
        # The clients send as fast as they can; rate limits are not under test here.
        TALLY_RATE_LIMIT_PER_MINUTE="0",
        TALLY_INGESTION_RATE_LIMIT_PER_MINUTE="0",
    )
    with serving(env, tmp_path) as server:
        client = httpx.Client(base_url=server.base_url, auth=auth, timeout=60)
        count_metric = create_metric(client, aggregationType="COUNT")
        units_metric = create_metric(
            client, name="Units", aggregationType="SUM", aggregationProperty="units"
        )

        streams = stream_through_restarts(private.cluster, server, auth)
        answers = [answer for stream in streams for answer in stream.answers]
        sent = {e["customerEventId"]: e for a in answers for e in a.events}
        acknowledged = [event_id for answer in answers for event_id in answer.acknowledged]

        # tally itself never dropped a connection, and refused only with a retryable 503.
        assert [a.transport_error for a in answers if a.transport_error] == []
        refused = [a for a in answers if a.status not in (200, 201)]
        for answer in refused:
            assert_retryable_refusal(answer)
        assert refused, "no request met the restarts: nothing was tested"
        # A batch is one transaction: answered 2xx, it accepted every event.
        assert all(len(a.acknowledged) == len(a.events) for a in answers if a.status == 200)

        # Every acknowledged event is in the table once, as sent.
        stored = stored_events(url, account_id)
        for event_id in acknowledged:
            units = sent[event_id]["eventProperties"]["units"]
            assert stored.get(event_id) == (1, units), event_id

        # Retried until acknowledged, as a client would: each event counted once, and
        # the rollups billing reads agree (resends of stored events change nothing).
        missing = [e for i, e in sent.items() if i not in set(acknowledged)]
        resends = resend_until_acknowledged(client, missing)
        stored = stored_events(url, account_id)
        assert stored == {i: (1, e["eventProperties"]["units"]) for i, e in sent.items()}
        assert calculate(client, count_metric)["eventCount"] == len(sent)
        total_units = sum(Decimal(e["eventProperties"]["units"]) for e in sent.values())
        assert Decimal(str(calculate(client, units_metric)["value"])) == total_units
        assert client.get("/readyz").status_code == 200
        # Operators see the outage: one count per 503 answered.
        retry_refusals = sum(answer.status == 503 for answer in resends)
        assert unavailable_count(client.get("/metrics").text) == len(refused) + retry_refusals
        client.close()
        assert server.process.poll() is None  # the same process throughout

    print(
        f"\nevents sent {len(sent)} in {len(answers)} requests; acknowledged first time "
        f"{len(acknowledged)}; 503 answers {len(refused)} ({len(missing)} events); "
        f"resent in {len(resends)} requests; duration {time.monotonic() - started:.1f} s"
    )


def test_the_api_answers_503_while_the_database_is_down_and_recovers_by_itself(
    private: PrivateDatabase, tmp_path: Path
) -> None:
    _, auth = new_account(private.url)
    settings = Settings(
        data_dir=tmp_path,
        database_url=private.url,
        billing_scheduler=False,
        rate_limit_per_minute=0,
        ingestion_rate_limit_per_minute=0,
        auth_failure_limit=0,
    )
    database = Database(private.url)
    app = create_app(settings, database)
    cluster = private.cluster

    def event(event_id: str) -> dict[str, Any]:
        return usage_event(event_id, 1)

    with TestClient(app, raise_server_exceptions=False) as http:
        http.auth = auth
        counted = unavailable_count(http.get("/metrics").text)
        assert http.post("/api/usage-events", json=event("before")).status_code == 201
        assert http.get("/api/customers").status_code == 200

        # The pooled connections died with the server: the first request after a restart
        # already gets a fresh one (pool_pre_ping), no 500 on the way.
        cluster.restart("fast")
        assert http.post("/api/usage-events", json=event("after-restart")).status_code == 201
        assert http.get("/api/customers").status_code == 200

        cluster.pg_ctl("stop", "-m", "fast")
        refusals = [
            http.post("/api/usage-events", json=event("while-down")),
            http.post("/api/usage-events/batch", json={"events": [event("while-down-2")]}),
            http.get("/api/customers"),
            http.post(
                "/api/customers",
                json=customer_body(),
                headers={"Idempotency-Key": "acme-1"},
            ),
        ]
        for response in refusals:
            assert_retryable_refusal(
                Answer([], response.status_code, dict(response.headers), response.json())
            )
        assert http.get("/readyz").status_code == 503
        assert http.get("/healthz").status_code == 200  # the process itself is fine

        cluster.pg_ctl("start")
        retried = http.post("/api/usage-events", json=event("while-down"))
        assert retried.status_code == 201, retried.text
        assert http.get("/readyz").status_code == 200
        assert unavailable_count(http.get("/metrics").text) == counted + len(refusals)

        listed = http.get("/api/usage-events", params={"limit": 100}).json()
        assert sorted(item["customerEventId"] for item in listed["items"]) == [
            "after-restart",
            "before",
            "while-down",
        ]
    database.dispose()
