"""usage_events partitioned by month (PostgreSQL): idempotency kept across months, events in
their month's partition, partitions made ahead idempotently, even by two workers at once."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from tally.core.clock import utcnow
from tally.db import Database
from tally.jobs import background_jobs
from tally.metering import partitions
from tally.metering.retention import Maintenance
from tally.settings import Settings
from tests.metering.helpers import create_metric, event, send, value
from tests.support.api_client import ApiClient
from tests.support.databases import postgres_server_url

postgres_only = pytest.mark.skipif(
    postgres_server_url() is None, reason="partitioning is PostgreSQL's"
)


def _events(api: ApiClient, key: str) -> list[dict[str, object]]:
    response = api.get("/api/usage-events", params={"customerEventId": key})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_a_customer_event_id_is_one_event_across_months(api: ApiClient) -> None:
    """Sequence: a later event with the same customerEventId supersedes the earlier one,
    whatever month either falls in; an exact resend changes nothing."""
    metric = create_metric(api, aggregationType="SUM", aggregationProperty="units")
    first = {**event("acme", "2031-01-20T10:00:00Z", units=5), "customerEventId": "k-1"}
    answer = send(api, first)
    (stored,) = _events(api, "k-1")
    moved = {**event("acme", "2031-03-02T10:00:00Z", units=7), "customerEventId": "k-1"}
    assert send(api, moved)["replaced"] == 1
    (replaced,) = _events(api, "k-1")
    assert replaced["id"] == stored["id"] == answer["results"][0]["id"]
    assert replaced["eventTimestamp"].startswith("2031-03-02")
    assert value(api, metric, "acme", "2031-01-01", "2031-01-31") == 0
    assert value(api, metric, "acme", "2031-03-01", "2031-03-31") == Decimal(7)
    again = send(api, moved)
    assert again["replaced"] == 0 and again["results"][0]["id"] == stored["id"]
    assert value(api, metric, "acme", "2031-01-01", "2031-12-31") == Decimal(7)
    # Within one batch, across months, the last one wins too.
    pair = [
        {**event("acme", "2031-05-01T00:00:00Z", units=1), "customerEventId": "k-2"},
        {**event("acme", "2031-06-01T00:00:00Z", units=2), "customerEventId": "k-2"},
    ]
    send(api, *pair)
    (latest,) = _events(api, "k-2")
    assert latest["eventTimestamp"].startswith("2031-06-01")
    assert value(api, metric, "acme", "2031-05-01", "2031-06-30") == Decimal(2)


def _partition_of(database: Database, event_id: str) -> str:
    with database.session(write=False) as session:
        return str(
            session.scalar(
                text("SELECT tableoid::regclass::text FROM usage_events WHERE id = :id"),
                {"id": event_id},
            )
        )


@postgres_only
def test_events_land_in_their_months_partition(api: ApiClient, database: Database) -> None:
    """A month without a partition goes to DEFAULT (never refused); once the month's
    partition is made, its events are moved into it."""
    with database.transaction() as session:
        partitions.ensure_ahead(session, date(2032, 2, 1), ahead=0)
    early = send(api, {**event("acme", "2032-02-29T23:59:59Z"), "customerEventId": "p-1"})
    late = send(api, {**event("acme", "2032-03-01T00:00:00Z"), "customerEventId": "p-2"})
    far = send(api, {**event("acme", "2987-07-04T00:00:00Z"), "customerEventId": "p-3"})
    feb, march, future = (answer["results"][0]["id"] for answer in (early, late, far))
    assert _partition_of(database, feb) == "tally_partitions.usage_events_p2032_02"
    assert _partition_of(database, march) == "tally_partitions.usage_events_default"
    assert _partition_of(database, future) == "tally_partitions.usage_events_default"
    with database.transaction() as session:
        created = partitions.ensure_ahead(session, date(2032, 3, 15), ahead=1)
    assert created == [date(2032, 3, 1), date(2032, 4, 1)]
    assert _partition_of(database, march) == "tally_partitions.usage_events_p2032_03"
    assert _partition_of(database, future) == "tally_partitions.usage_events_default"
    assert [e["id"] for e in _events(api, "p-2")] == [march]  # its key still finds it
    # Replacing the event across months moves it between partitions, keeping its id.
    send(api, {**event("acme", "2032-02-10T00:00:00Z"), "customerEventId": "p-2"})
    assert _partition_of(database, march) == "tally_partitions.usage_events_p2032_02"


@postgres_only
def test_two_workers_make_partitions_ahead_once(database: Database) -> None:
    """Both callers succeed, each month is made once, and running it again makes none."""
    start = threading.Barrier(2)
    made: list[list[date]] = []
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            with database.transaction() as session:
                start.wait()
                made.append(partitions.ensure_ahead(session, date(2941, 11, 5)))
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    wanted = [date(2941, 11, 1), date(2941, 12, 1), date(2942, 1, 1), date(2942, 2, 1)]
    assert sorted(made, key=len) == [[], wanted]
    with database.transaction() as session:
        assert partitions.ensure_ahead(session, date(2941, 11, 30)) == []
        existing = partitions.monthly_partitions(session)
    assert all(month in existing for month in wanted)


@pytest.mark.skipif(postgres_server_url() is not None, reason="SQLite's behaviour")
def test_sqlite_has_nothing_to_partition(database: Database) -> None:
    with database.transaction() as session:
        assert partitions.ensure_ahead(session, date(2031, 1, 1)) == []
        assert partitions.retired_until(session) is None


def test_the_worker_makes_this_months_partition_and_the_next_three(
    settings: Settings, database: Database
) -> None:
    [job] = [job for job in background_jobs(settings) if job.name == "usage-partitions"]
    done = job.run(database)
    assert isinstance(done, Maintenance) and done.retired == []
    if postgres_server_url() is None:
        assert done.created == []
        return
    this_month = partitions.month_of(utcnow())
    with database.transaction() as session:
        existing = partitions.monthly_partitions(session)
    assert all(partitions.add_months(this_month, n) in existing for n in range(4))
