"""Backfilling usage events from CSV or NDJSON files (`tally import events`).

Each line or row becomes an event in the API's shape and goes through the same validation
and ingestion as `POST /api/usage-events/batch`, a thousand at a time, one transaction each.
"""

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import msgspec

from tally.db import Database
from tally.metering import wire
from tally.metering.admission import Refusal
from tally.metering.ingest import IncomingEvent, Outcome, ingest
from tally.models import Account

BATCH = 1000
_CSV_FIELDS = ("customerAlias", "eventType", "eventTimestamp", "customerEventId")

# (line number, the event's JSON) or (line number, why the line is not an event)
Line = tuple[int, bytes | str]


@dataclass
class ImportReport:
    accepted: int = 0
    replaced: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def _ndjson(handle: io.TextIOBase) -> Iterator[Line]:
    for number, line in enumerate(handle, start=1):
        if line.strip():
            yield number, line.encode()


_properties = msgspec.json.Decoder(float_hook=Decimal)  # exact numbers, as the API keeps them
_encoder = msgspec.json.Encoder(decimal_format="number")


def _csv(handle: io.TextIOBase) -> Iterator[Line]:
    """Rows with the API's column names; `eventProperties` holds a JSON object, and any
    other column becomes a property of its own."""
    reader = csv.DictReader(handle)
    for row in reader:
        event: dict[str, object] = {k: v for k in _CSV_FIELDS if (v := row.get(k))}
        properties: object = {}
        if raw := row.get("eventProperties"):
            try:
                properties = _properties.decode(raw)
            except msgspec.DecodeError:
                yield reader.line_num, "eventProperties is not valid JSON"
                continue
        if isinstance(properties, dict):
            extra = {k: v for k, v in row.items() if k not in (*_CSV_FIELDS, "eventProperties")}
            properties.update({k: v for k, v in extra.items() if k and v not in ("", None)})
        event["eventProperties"] = properties
        yield reader.line_num, _encoder.encode(event)


def import_events(
    database: Database,
    account_id: str,
    path: Path,
    progress: Callable[[int], None] = lambda _: None,
) -> ImportReport:
    """Store every valid event of the file; `progress` is told the bytes read so far."""
    report = ImportReport()
    batch: list[IncomingEvent] = []
    numbers: list[int] = []  # the line of each event of the batch

    def flush() -> None:
        with database.transaction() as session:
            account = session.get(Account, account_id)
            if account is None:
                raise LookupError(f"No account {account_id}")
            outcomes = ingest(session, account, batch)
        for number, outcome in zip(numbers, outcomes, strict=True):
            if isinstance(outcome, Refusal):
                report.rejected.append((number, outcome.message))
            elif outcome.outcome is Outcome.REPLACED:
                report.replaced += 1
            else:
                report.accepted += 1
        batch.clear()
        numbers.clear()

    # utf-8-sig: spreadsheets often start a UTF-8 CSV with a byte order mark.
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        lines = _csv(text) if path.suffix.lower() == ".csv" else _ndjson(text)
        for number, line in lines:
            if isinstance(line, str):
                report.rejected.append((number, line))
                continue
            try:
                batch.append(wire.decode_event(line))
            except wire.InvalidEvent as error:
                report.rejected.append((number, error.message))
                continue
            numbers.append(number)
            if len(batch) == BATCH:
                flush()
                progress(raw.tell())
        if batch:
            flush()
        progress(raw.tell())
    report.rejected.sort()  # refused at decoding or by ingestion: in line order
    return report
