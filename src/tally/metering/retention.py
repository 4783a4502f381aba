"""Retention of raw usage events (PostgreSQL): months older than the setting
`TALLY_USAGE_EVENTS_RETENTION_MONTHS` are exported, then their partitions dropped.

Nothing is dropped unless an export hook wrote the month somewhere and reported exactly as
many events as the partition holds: the hook is a parameter (`ExportHook`), so the export
(Parquet files in a directory or an object store) lives in its own package. Billing keeps
working after the drop because it reads the daily rollups, which are kept; rebuilding
rollups (a metric or time zone change) leaves the retired months' rows as they are
(`partitions.retired_until`), and ingestion refuses events of those months. Each account
whose events went gets an activity log entry.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from tally.activity.service import Entry, record_all
from tally.core.clock import utcnow
from tally.core.sql import is_postgres
from tally.db import Database
from tally.metering import partitions
from tally.models import UsageEventRetirement

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonthToExport:
    """What the hook exports: the events of one UTC month, in `table` (a partition: read it
    like any table, in the session given, which holds it locked against writes)."""

    month: date
    table: str
    events: int


@dataclass(frozen=True)
class ExportReceipt:
    """The hook's report: where the month went, and how many events it wrote there."""

    location: str
    events: int


# Exports one month; returns its receipt, or None (or raises) when it could not.
ExportHook = Callable[[Session, MonthToExport], ExportReceipt | None]


@dataclass(frozen=True)
class Retired:
    month: date
    events: int
    location: str


class ExportFailed(Exception):
    """The hook did not report the month as exported whole: its partition stays."""


def cutoff(today: date, months: int) -> date:
    """The first month kept when `months` months are retained (the current one counts)."""
    return partitions.add_months(partitions.month_of(today), -(months - 1))


def due_months(session: Session, today: date, months: int) -> list[date]:
    """The months with a partition that retention would drop now, oldest first."""
    if not is_postgres(session):
        return []
    first_kept = cutoff(today, months)
    return sorted(month for month in partitions.monthly_partitions(session) if month < first_kept)


def retire_month(session: Session, month: date, export: ExportHook) -> Retired:
    """Export `month`'s events with the hook, then drop its partition and forget its
    customerEventIds, in the caller's transaction. Raises ExportFailed, dropping nothing,
    unless the hook reports every event exported."""
    partitions.lock(session)
    # The drop locks usage_events whole for a moment: never queue ingestion behind it long.
    session.execute(text(f"SET LOCAL lock_timeout = '{partitions.LOCK_TIMEOUT}'"))
    table = partitions.monthly_partitions(session).get(month)
    if table is None:
        raise ExportFailed(f"usage events of {month:%Y-%m} have no partition")
    # Writes wait (reads go on) until the drop commits: nothing lands after the export.
    session.execute(text(f"LOCK TABLE {table} IN SHARE MODE"))
    count = int(session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)  # noqa: S608
    receipt = export(session, MonthToExport(month, table, count))
    if receipt is None or receipt.events != count:
        reported = "nothing" if receipt is None else f"{receipt.events} events"
        raise ExportFailed(f"{month:%Y-%m}: {count} events, the export reported {reported}")
    accounts = list(session.scalars(text(f"SELECT DISTINCT account_id FROM {table}")))  # noqa: S608
    session.execute(
        text(
            "DELETE FROM usage_event_keys k USING "  # noqa: S608 - a partition's name
            f"{table} e WHERE k.account_id = e.account_id "
            "AND k.customer_event_id = e.customer_event_id AND k.event_id = e.id"
        )
    )
    session.execute(text(f"DROP TABLE {table}"))
    session.execute(
        insert(UsageEventRetirement).values(
            month=month, events=count, exported_to=receipt.location, retired_at=utcnow()
        )
    )
    entry = Entry(
        verb="DELETED",
        object_type="USAGE_EVENTS",
        object_id=f"usage-events-{month:%Y-%m}",
        name="Usage events retired",
        summary=(
            f"Usage events of {month:%Y-%m} exported to {receipt.location} and removed "
            "(retention); their daily usage totals are kept."
        ),
    )
    for account_id in accounts:
        record_all(session, account_id, [entry])
    return Retired(month, count, receipt.location)


@dataclass(frozen=True)
class Maintenance:
    created: list[date]
    retired: list[Retired]
    refused: list[str]  # months the export did not report whole: kept


def maintain(
    db: Database, today: date, *, retention_months: int | None, export: ExportHook | None
) -> Maintenance:
    """The worker's job: partitions made ahead, then (when retention is set and an export
    is configured) each month past it exported and dropped, one transaction each."""
    with db.transaction() as session:
        created = partitions.ensure_ahead(session, today)
    retired: list[Retired] = []
    refused: list[str] = []
    if retention_months is None:
        return Maintenance(created, retired, refused)
    if export is None:
        log.warning("usage event retention is set but no export is configured: nothing dropped")
        return Maintenance(created, retired, refused)
    with db.transaction() as session:
        months = due_months(session, today, retention_months)
    for month in months:
        try:
            with db.transaction() as session:
                retired.append(retire_month(session, month, export))
        except ExportFailed as failure:
            log.error("usage events kept: %s", failure)
            refused.append(str(failure))
    return Maintenance(created, retired, refused)
