"""Exporting a dataset of one account: the request checked, its rows read with a server-side
cursor a batch at a time and written as they come, so memory stays flat whatever the number
of rows.

- `write_export`: the core, to any binary sink (a file, an object store's output stream such
  as pyarrow.fs's `open_output_stream`); the caller owns the session and the sink.
- `export_to_file`: to a path, whole or not at all (written beside it, then renamed).
- `stream_export`: the bytes as they are written, for an HTTP answer.
- `record_export`: the activity log entry: an export hands a merchant's data out.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from tally.activity.service import record
from tally.db import Database, new_id
from tally.exceptions import InvalidRequest
from tally.exports import queries
from tally.exports.datasets import DATASETS, Dataset, instant_text
from tally.exports.queries import Filters, Rows
from tally.exports.writers import Counted, Format, Sink, open_table

# Rows per batch: one fetch from the cursor, one Parquet row group. About 20 MB of Python
# objects for the widest rows; row groups large enough for column statistics to pay.
BATCH_ROWS = 20_000

_STATEMENTS = {
    "usage-events": queries.usage_events,
    "invoices": queries.invoices,
    "invoice-lines": queries.invoice_lines,
}


@dataclass(frozen=True)
class ExportRequest:
    dataset: str  # a name of `datasets.DATASETS`: usage-events, invoices, invoice-lines
    format: Format = Format.PARQUET
    filters: Filters = field(default_factory=Filters)

    @property
    def table(self) -> Dataset:
        return DATASETS[self.dataset]

    def filename(self, now: datetime) -> str:
        return f"{self.dataset}-{now:%Y%m%dT%H%M%SZ}.{self.format.value}"


@dataclass(frozen=True)
class Written:
    dataset: str
    format: Format
    rows: int
    bytes: int
    path: Path | None = None


def checked(request: ExportRequest) -> ExportRequest:
    """The request, or InvalidRequest naming what is wrong (before anything is read)."""
    if request.dataset not in DATASETS:
        raise InvalidRequest.field(
            "dataset", f"{request.dataset!r} is not one of {', '.join(DATASETS)}"
        )
    filters = replace(
        request.filters,
        start=_utc("from", request.filters.start),
        end=_utc("to", request.filters.end),
    )
    if filters.start is not None and filters.end is not None and filters.start >= filters.end:
        raise InvalidRequest.field("to", "must be after `from`")
    events = request.dataset == "usage-events"
    if not events and (filters.customer_aliases or filters.event_type is not None):
        name = "customerAlias" if filters.customer_aliases else "eventType"
        raise InvalidRequest.field(name, "filters usage events only")
    if events and filters.customer_id is not None:
        raise InvalidRequest.field("customerId", "filters invoices only (usage: customerAlias)")
    return replace(request, filters=filters)


def _utc(name: str, moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.utcoffset() is None:
        raise InvalidRequest.field(name, "a timestamp needs its offset (Z or +01:00)")
    try:  # 0001-01-01T00:00:00+01:00 is before the first instant a datetime holds
        return moment.astimezone(UTC)
    except OverflowError:
        raise InvalidRequest.field(name, "out of range once in UTC") from None


def _statement(account_id: str, request: ExportRequest) -> Rows:
    return _STATEMENTS[request.dataset](account_id, request.filters)


def _batches(
    session: Session,
    account_id: str,
    request: ExportRequest,
    sink: Counted,
    batch_rows: int,
) -> Iterator[int]:
    """Write the export to `sink`, yielding the rows written so far: once the query runs,
    after each batch, and once the file is complete."""
    request = checked(request)
    statement = _statement(account_id, request)
    table = request.table
    # yield_per: a server-side cursor on PostgreSQL (psycopg's named cursor), rows fetched
    # from SQLite as they are stepped: never the whole result in memory.
    result = session.execute(statement.execution_options(yield_per=batch_rows))
    writer = open_table(request.format, table.columns, sink)
    rows = 0
    yield rows
    for partition in result.partitions():
        writer.write([table.values(row) for row in partition])
        rows += len(partition)
        yield rows
    writer.close()
    yield rows


def write_export(
    session: Session,
    account_id: str,
    request: ExportRequest,
    sink: Sink,
    *,
    batch_rows: int = BATCH_ROWS,
) -> Written:
    """Write one dataset of `account_id` to `sink` (left open): the reusable core, for the
    CLI, the API and the retention job alike."""
    counted = Counted(sink)
    rows = 0
    for rows in _batches(session, account_id, request, counted, batch_rows):  # noqa: B007
        pass
    return Written(request.dataset, request.format, rows, counted.written)


def export_to_file(
    database: Database,
    account_id: str,
    request: ExportRequest,
    path: Path,
    *,
    batch_rows: int = BATCH_ROWS,
) -> Written:
    """Write the export to `path`: whole or not at all. It is written beside it and renamed
    once complete and on disk, so a reader (or a retention job about to drop what it
    exported) never takes a file cut short for the export."""
    with database.session(write=False) as session, whole_file(path) as sink:
        written = write_export(session, account_id, request, sink, batch_rows=batch_rows)
    return replace(written, path=path)


@contextmanager
def whole_file(path: Path) -> Iterator[BinaryIO]:
    """A file for `path` written beside it and renamed once complete and on disk: `path`
    is whole or absent, never cut short."""
    partial = path.with_name(f".{path.name}.{new_id()}.partial")
    try:
        with partial.open("wb") as sink:
            yield sink
            sink.flush()
            os.fsync(sink.fileno())
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


class _Chunks:
    """A sink that keeps what was written until it is taken."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        taken = b"".join(self._parts)
        self._parts.clear()
        return taken


def stream_export(
    database: Database, account_id: str, request: ExportRequest, *, batch_rows: int = BATCH_ROWS
) -> Iterator[bytes]:
    """The export's bytes, a batch at a time, read in a session of its own that lasts as long
    as the stream. The first chunk comes once the query has run: a caller that takes it
    before answering answers a database failure as an error, not as a file cut short."""
    request = checked(request)
    chunks = _Chunks()
    with database.session(write=False) as session:
        counted = Counted(chunks)
        for _ in _batches(session, account_id, request, counted, batch_rows):
            yield chunks.take()


def _described(request: ExportRequest) -> str:
    filters = request.filters
    parts = []
    if filters.start is not None:
        parts.append(f"from {instant_text(filters.start)}")
    if filters.end is not None:
        parts.append(f"to {instant_text(filters.end)}")
    if filters.customer_aliases:
        parts.append(f"customerAlias {', '.join(filters.customer_aliases)}")
    if filters.event_type is not None:
        parts.append(f"eventType {filters.event_type}")
    if filters.customer_id is not None:
        parts.append(f"customerId {filters.customer_id}")
    return "; ".join(parts) or "everything"


def record_export(
    session: Session, account_id: str, request: ExportRequest, rows: int | None = None
) -> str:
    """Log that the account's data was handed out (who, what, which rows); the id the entry
    gives the export."""
    export_id = new_id()
    table = request.table
    what = table.label.capitalize() if rows is None else f"{rows} {table.label}"
    record(
        session,
        account_id,
        verb="EXPORTED",
        object_type="DATA_EXPORT",
        object_id=export_id,
        name=f"{table.label.capitalize()} exported",
        summary=f"{what} exported as {request.format.label} ({_described(request)}).",
    )
    return export_id
