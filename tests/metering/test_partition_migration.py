"""Migration 0024 keeps every usage event, its id and its customerEventId's idempotency;
on PostgreSQL the events end up in their months' partitions."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from tally import migrations
from tally.db import Database, new_id
from tally.metering import partitions
from tally.models import UsageEvent, UsageEventKey
from tests.support.databases import fresh_postgres_database, postgres_server_url


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Database]:
    server = postgres_server_url()
    if server is None:
        database = Database(f"sqlite:///{tmp_path / 'scratch.db'}")
        yield database
        database.dispose()
        return
    with fresh_postgres_database(server, durable=False) as url:
        database = Database(url)
        yield database
        database.dispose()


def test_converting_keeps_the_events_and_their_ids(scratch: Database) -> None:
    migrations.upgrade(scratch.engine, "0023")
    account = new_id()
    rows = [
        {
            "id": new_id(),
            "account_id": account,
            "customer_event_id": f"event-{n}",
            "customer_alias": "acme",
            "event_type": "api_call",
            "event_timestamp": at,
            "properties": {"n": n},
            "received_at": datetime(2026, 1, 1, tzinfo=UTC),
        }
        for n, at in enumerate(
            [
                datetime(2025, 11, 30, 23, 59, tzinfo=UTC),
                datetime(2025, 12, 1, tzinfo=UTC),
                datetime(1999, 5, 5, tzinfo=UTC),
            ]
        )
    ]
    with scratch.transaction() as session:
        session.execute(insert(UsageEvent.__table__), rows)  # the columns are unchanged
    migrations.upgrade(scratch.engine)
    with scratch.transaction() as session:
        stored = session.execute(
            select(UsageEvent.id, UsageEvent.customer_event_id, UsageEvent.event_timestamp)
        ).all()
        keys = session.execute(
            select(UsageEventKey.customer_event_id, UsageEventKey.event_id).where(
                UsageEventKey.account_id == account
            )
        ).all()
        by_id = {row["id"]: row for row in rows}
        assert {(i, key, at) for i, key, at in stored} == {
            (i, row["customer_event_id"], row["event_timestamp"]) for i, row in by_id.items()
        }
        assert sorted(keys) == sorted((row["customer_event_id"], row["id"]) for row in rows)
        if postgres_server_url() is None:
            return
        where = dict(
            session.execute(
                text("SELECT customer_event_id, tableoid::regclass::text FROM usage_events")
            ).all()
        )
        existing = partitions.monthly_partitions(session)
    assert where == {
        "event-0": "tally_partitions.usage_events_p2025_11",
        "event-1": "tally_partitions.usage_events_p2025_12",
        "event-2": "tally_partitions.usage_events_p1999_05",
    }
    this_month = partitions.month_of(datetime.now(UTC))
    assert all(partitions.add_months(this_month, n) in existing for n in range(4))
