"""The monthly partitions of `usage_events` on PostgreSQL (migration 0024 made the table
partitioned): made ahead by the worker, so ingestion always finds its month's partition.

A partition holds the events whose `event_timestamp` falls in one UTC month; the DEFAULT
partition takes any other (far past or far future), so no timestamp ever fails ingestion.
Partitions live in the schema `tally_partitions`, out of the way of the models' schema.
Creating one is idempotent and serialized by an advisory lock, so any number of workers may
run it at once. SQLite is not partitioned: everything here does nothing there.
"""

from datetime import UTC, date, datetime

from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from tally.core.sql import is_postgres
from tally.db import advisory_lock
from tally.models import UsageEventRetirement

SCHEMA = "tally_partitions"
DEFAULT = f"{SCHEMA}.usage_events_default"
# The current month's partition and this many after it exist once the job has run.
AHEAD = 3
# DDL waits at most this long for a lock (a long query on usage_events), rather than make
# every batch queue behind it; the next pass tries again.
LOCK_TIMEOUT = "5s"


def month_of(moment: date | datetime) -> date:
    """The first day of the UTC month of `moment`."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    return moment.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"usage_events_p{month:%Y_%m}"


def _bound(month: date) -> str:
    return f"'{month.isoformat()} 00:00:00+00'"


def lock(session: Session) -> None:
    """Serialize partition changes (made ahead, dropped by retention) across processes."""
    advisory_lock(session, "usage-event-partitions")


def monthly_partitions(session: Session | Connection) -> dict[date, str]:
    """The months that have a partition, with its qualified name (PostgreSQL only)."""
    rows = session.execute(
        text(
            "SELECT c.relname FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE i.inhparent = 'public.usage_events'::regclass AND n.nspname = :schema "
            "AND c.relname ~ '^usage_events_p[0-9]{4}_[0-9]{2}$'"
        ),
        {"schema": SCHEMA},
    ).scalars()
    return {date(int(name[-7:-3]), int(name[-2:]), 1): f"{SCHEMA}.{name}" for name in rows}


def create_partition(session: Session, month: date) -> None:
    """Add `month`'s partition. Events of that month already in the DEFAULT partition move
    into it first (PostgreSQL refuses a partition whose rows the DEFAULT holds). ATTACH, not
    CREATE ... PARTITION OF: it locks the parent only against other DDL, so ingestion goes on."""
    name = f"{SCHEMA}.{partition_name(month)}"
    start, end = _bound(month), _bound(add_months(month, 1))
    statements = [
        f"CREATE TABLE {name} (LIKE usage_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)",
        f"WITH moved AS (DELETE FROM {DEFAULT} WHERE event_timestamp >= {start} "  # noqa: S608
        f"AND event_timestamp < {end} RETURNING *) INSERT INTO {name} SELECT * FROM moved",
        f"ALTER TABLE usage_events ATTACH PARTITION {name} FOR VALUES FROM ({start}) TO ({end})",
    ]
    for statement in statements:
        session.execute(text(statement))


def ensure_ahead(session: Session, today: date, ahead: int = AHEAD) -> list[date]:
    """Create the partitions of `today`'s month and the `ahead` months after it that are
    missing; the months created. Idempotent; concurrent callers wait for each other."""
    if not is_postgres(session):
        return []
    lock(session)  # waits for another worker doing the same: then there is nothing left to do
    session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    existing = monthly_partitions(session)
    first = month_of(today)
    wanted = [add_months(first, count) for count in range(ahead + 1)]
    missing = [month for month in wanted if month not in existing]
    for month in missing:
        create_partition(session, month)
    return missing


def retired_until(session: Session) -> date | None:
    """The first day after the newest month retention dropped (`metering.retention`), or
    None when none was: events before it are gone, their rollups are all that is left."""
    newest = session.scalar(select(func.max(UsageEventRetirement.month)))
    return None if newest is None else add_months(newest, 1)
