"""Per-connection temporary tables that a batch of usage events passes through.

A batch is loaded into `usage_event_stage` in one go (COPY on PostgreSQL), then moved into
`usage_events` by set-based statements; `usage_event_prior` keeps the versions that later
events replace, so their rollup buckets can be recomputed.
"""

from dataclasses import dataclass
from datetime import datetime

import psycopg
from sqlalchemy import Column, Connection, MetaData, String, Table, Text, Uuid, delete, insert
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable

from tally.core.sql import is_postgres
from tally.db import UTCDateTime
from tally.models.metering import USAGE_EVENT_KEYS, USAGE_EVENTS

_metadata = MetaData()


def _event_columns() -> list[Column[object]]:
    return [
        Column("id", Uuid(as_uuid=False), nullable=False),
        Column("account_id", String(36), nullable=False),
        Column("customer_event_id", Text, nullable=False),
        Column("customer_alias", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("event_timestamp", UTCDateTime(), nullable=False),
        # Raw JSON text on SQLite; jsonb on PostgreSQL, parsed once by COPY.
        Column("properties", Text().with_variant(JSONB(), "postgresql"), nullable=False),
        Column("received_at", UTCDateTime(), nullable=False),
    ]


stage = Table(
    "usage_event_stage",
    _metadata,
    *_event_columns(),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)
prior = Table(
    "usage_event_prior",
    _metadata,
    *_event_columns(),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)

# `usage_events` itself, seen with its properties as raw JSON text (SQLite's direct path):
# the ORM's JSON type would encode the already-encoded text a second time.
events_as_text = Table("usage_events", _metadata, *_event_columns())

STAGE_COLUMNS = tuple(column.name for column in stage.columns)

# COPY's text format: backslash escapes, tab between fields, newline between rows.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass(frozen=True)
class StagedBatch:
    """The events of one batch, ready to stage: one tuple per event of
    (id, customer_event_id, customer_alias, event_type, event_timestamp, properties JSON)."""

    account_id: str
    received_at: datetime
    rows: list[tuple[str, str, str, str, datetime, bytes]]

    def copy_text(self) -> bytes:
        """The whole batch in COPY text format."""
        account = self.account_id
        received = self.received_at.isoformat()
        text = "".join(
            [
                f"{event_id}\t{account}\t{key}\t{alias}\t{event_type}\t"
                f"{timestamp.isoformat()}\t{properties.decode()}\t{received}\n"
                for event_id, key, alias, event_type, timestamp, properties in self.rows
            ]
        )
        # Usually nothing needs escaping: then the separators are the only tabs and
        # newlines, and there is no backslash. Checking the whole text once is much cheaper
        # than escaping every field.
        rows = len(self.rows)
        if (
            "\\" not in text
            and "\r" not in text
            and text.count("\t") == 7 * rows
            and text.count("\n") == rows
        ):
            return text.encode()
        return self._escaped_copy_text(received)

    def _escaped_copy_text(self, received: str) -> bytes:
        lines = [
            "\t".join(
                (
                    event_id,
                    self.account_id,
                    key.translate(_COPY_ESCAPES),
                    alias.translate(_COPY_ESCAPES),
                    event_type.translate(_COPY_ESCAPES),
                    timestamp.isoformat(),
                    properties.decode().translate(_COPY_ESCAPES),
                    received,
                )
            )
            for event_id, key, alias, event_type, timestamp, properties in self.rows
        ]
        lines.append("")
        return "\n".join(lines).encode()

    def keys_copy_text(self) -> bytes:
        """The batch's (account, customer_event_id, event id) rows in COPY text format."""
        account = self.account_id
        text = "".join([f"{account}\t{key}\t{event_id}\n" for event_id, key, *_ in self.rows])
        rows = len(self.rows)
        if (
            "\\" not in text
            and "\r" not in text
            and text.count("\t") == 2 * rows
            and text.count("\n") == rows
        ):
            return text.encode()
        return "".join(
            [
                f"{account}\t{key.translate(_COPY_ESCAPES)}\t{event_id}\n"
                for event_id, key, *_ in self.rows
            ]
        ).encode()

    def key_parameters(self) -> list[dict[str, object]]:
        return [
            {"account_id": self.account_id, "customer_event_id": key, "event_id": event_id}
            for event_id, key, *_ in self.rows
        ]

    def parameters(self) -> list[dict[str, object]]:
        return [
            {
                "id": event_id,
                "account_id": self.account_id,
                "customer_event_id": key,
                "customer_alias": alias,
                "event_type": event_type,
                "event_timestamp": timestamp,
                "properties": properties.decode(),
                "received_at": self.received_at,
            }
            for event_id, key, alias, event_type, timestamp, properties in self.rows
        ]


def _prepare(connection: Connection) -> None:
    """Make sure this connection has empty staging tables.

    Created in the batch's own transaction every time (IF NOT EXISTS is cheap): a flag kept
    on the connection would lie after a rolled-back transaction took the tables with it.
    """
    ddl = ";\n".join(
        str(CreateTable(table, if_not_exists=True).compile(dialect=connection.dialect))
        for table in (stage, prior)
    )
    if is_postgres(connection):
        connection.exec_driver_sql(ddl)  # ON COMMIT DELETE ROWS keeps them empty
        return
    for statement in ddl.split(";\n"):
        connection.exec_driver_sql(statement)
    connection.execute(delete(stage))
    connection.execute(delete(prior))


def _copy(connection: Connection, table: str, batch: StagedBatch) -> None:
    raw = connection.connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    columns = ", ".join(STAGE_COLUMNS)
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        copy.write(batch.copy_text())


def _copy_keys(connection: Connection, batch: StagedBatch) -> None:
    raw = connection.connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    columns = "account_id, customer_event_id, event_id"
    statement = f"COPY {USAGE_EVENT_KEYS.name} ({columns}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(batch.keys_copy_text())


def load_stage(session: Session, batch: StagedBatch) -> None:
    connection = session.connection()
    _prepare(connection)
    if is_postgres(connection):
        _copy(connection, stage.name, batch)
    else:
        connection.execute(insert(stage), batch.parameters())


def store_if_all_new(session: Session, batch: StagedBatch) -> bool:
    """Write the batch straight into `usage_events` when none of its keys is known yet.

    The common case, and the fastest path: one COPY of the keys into `usage_event_keys`, one
    of the events into the table itself. A known key makes the first fail on the keys' primary
    key; the savepoint undoes it and the caller stages instead.
    """
    savepoint = session.begin_nested()
    connection = session.connection()
    try:
        if is_postgres(connection):
            _copy_keys(connection, batch)
            _copy(connection, USAGE_EVENTS.name, batch)
        else:
            connection.execute(insert(USAGE_EVENT_KEYS), batch.key_parameters())
            connection.execute(insert(events_as_text), batch.parameters())
    except (psycopg.errors.UniqueViolation, IntegrityError):
        savepoint.rollback()
        return False
    savepoint.commit()
    return True
