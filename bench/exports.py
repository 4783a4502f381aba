"""Exports: rows a second, and memory flat in the number of rows.

A scratch PostgreSQL database (`TALLY_BENCH_POSTGRES_URL`, default the local server) holds
EVENTS usage events of one account (properties of a few fields, as ingestion stores them),
plus as many of another account (the export must skip them). Each run exports the oldest
quarter, then all of them, as Parquet and as CSV, into a sink that only counts bytes,
through `exports.service.write_export` (what `tally export`, the API and the retention
job run). Prints rows a second and bytes per row of each, and the peak resident memory of
the process each export ran in (a spawned one, its high-water mark reset before the export):
read and written a batch at a time, four times the rows must peak within 64 MiB of the
quarter ("flat"; else "GROWING").

`TALLY_BENCH_EXPORT_EVENTS` (default 800,000) sets EVENTS.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
from datetime import UTC, datetime, timedelta

from tests.support.databases import fresh_postgres_database

from tally import migrations
from tally.accounts.service import create_account
from tally.db import Database, bulk_insert, new_id, table_of
from tally.exports.queries import Filters
from tally.exports.service import ExportRequest, write_export
from tally.exports.writers import Format
from tally.models import UsageEvent

SERVER_URL = os.environ.get(
    "TALLY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
EVENTS = int(os.environ.get("TALLY_BENCH_EXPORT_EVENTS", "800000"))
CHUNK = 50_000
START = datetime(2026, 1, 1, tzinfo=UTC)
ALLOWANCE_MB = 64


class CountingSink:
    def __init__(self) -> None:
        self.written = 0

    def write(self, data: bytes) -> int:
        self.written += len(data)
        return len(data)

    def flush(self) -> None:
        pass


def _seed(database: Database, account_id: str) -> None:
    step = timedelta(days=31) / EVENTS
    table = table_of(UsageEvent)
    for first in range(0, EVENTS, CHUNK):
        rows = [
            {
                "id": new_id(),
                "account_id": account_id,
                "customer_event_id": f"event-{n}",
                "customer_alias": f"customer-{n % 1000}",
                "event_type": "api_call" if n % 3 else "storage",
                "event_timestamp": START + step * n,
                "properties": {"tokens": n % 977, "region": "eu-west-1", "cost": "0.000125"},
                "received_at": START,
            }
            for n in range(first, min(first + CHUNK, EVENTS))
        ]
        with database.transaction() as session:
            bulk_insert(session, table, rows)


def _reset_peak() -> float:
    """Start the peak afresh (Linux): importing Tally peaks higher than a batch weighs. The
    resident memory now, in MiB."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    return _status_mb("VmRSS:")


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _export(url: str, account_id: str, format: Format, end: datetime | None) -> tuple[str, float]:
    """One export in a process of its own (spawned: nothing seeded in its memory); what it
    did, and its peak resident memory."""
    database = Database(url)
    sink = CountingSink()
    request = ExportRequest("usage-events", format, Filters(end=end))
    before = _reset_peak()
    started = time.perf_counter()
    with database.session(write=False) as session:
        written = write_export(session, account_id, request, sink)
    took = time.perf_counter() - started
    database.dispose()
    peak = _status_mb("VmHWM:") - before
    line = (
        f"{format.label:>7} {written.rows:>9,} rows  {written.rows / took:>9,.0f} rows/s  "
        f"{written.bytes / max(written.rows, 1):6.1f} bytes/row  memory +{peak:5.1f} MiB "
        f"at its peak (from {before:.0f} MiB)"
    )
    return line, peak


def main() -> None:
    print(f"exports on PostgreSQL: {EVENTS:,} usage events, and as many of another account")
    with fresh_postgres_database(SERVER_URL, durable=False) as url:
        database = Database(url)
        migrations.upgrade(database.engine)
        ids = []
        for name in ("Exported", "Other"):
            with database.transaction() as session:
                ids.append(create_account(session, name)[0].id)
        for account_id in ids:
            _seed(database, account_id)
        database.dispose()
        quarter = START + timedelta(days=31) / 4
        peaks: dict[tuple[Format, bool], float] = {}
        with multiprocessing.get_context("spawn").Pool(1, maxtasksperchild=1) as pool:
            for whole in (False, True):
                for format in (Format.PARQUET, Format.CSV):
                    arguments = (url, ids[0], format, None if whole else quarter)
                    line, peaks[format, whole] = pool.apply(_export, arguments)
                    print("  " + line)
    for format in (Format.PARQUET, Format.CSV):
        growth = peaks[format, True] - peaks[format, False]
        verdict = "flat" if growth <= ALLOWANCE_MB else "GROWING"
        print(f"  {format.label}: four times the rows, peak memory {growth:+.1f} MiB: {verdict}")


if __name__ == "__main__":
    main()
