"""Database engine, sessions and the column types that keep money and time exact."""

from __future__ import annotations

import hashlib
import json
import operator
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import uuid_utils
from sqlalchemy import (
    JSON,
    ColumnDefault,
    DateTime,
    Dialect,
    Engine,
    FromClause,
    Numeric,
    String,
    Table,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    make_url,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, NUMERIC
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator, TypeEngine

from tally import sqlite_functions
from tally.replicas import ReadRouter

# Execution option that makes an SQLite transaction take the write lock at BEGIN, so two
# writers queue on busy_timeout instead of failing when a read lock cannot be upgraded.
SQLITE_WRITE = {"sqlite_begin": "BEGIN IMMEDIATE"}

# session.info keys, set by whoever opens a request's session, read by the activity log
REQUEST_STATE = "request_state"  # an object with `principal` (API) or `dashboard_viewer`
TRACE_ID = "trace_id"


def new_id() -> str:
    """A UUIDv7 string: unique and ordered by creation time, so it doubles as a sort key."""
    return str(uuid_utils.uuid7())


class ExactDecimal(TypeDecorator[Decimal]):
    """Decimal stored exactly: NUMERIC on PostgreSQL, canonical text on SQLite.

    SQLite has no exact decimal type (its NUMERIC affinity turns "0.1" into a float), so the
    value is kept as the string Decimal gives, which round-trips without loss.
    """

    # Numeric, so that SQL arithmetic and comparisons on it are numeric (+ adds); SQLite
    # storage is switched to text below.
    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(NUMERIC())
        return dialect.type_descriptor(String(64))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            value = Decimal(str(value))
        return value if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(value)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both backends (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC timestamp is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(url, **kwargs)
    # An unreachable host fails a request in seconds (a 503 the client retries), not after
    # the operating system's TCP timeout of minutes.
    connect_args = {"connect_timeout": 10, **kwargs.pop("connect_args", {})}
    # Sized for the request thread pool: with SQLAlchemy's default (5 kept, 10 more opened
    # and closed on demand), 20 concurrent requests paid a new PostgreSQL connection (a
    # backend started, authenticated, torn down) on most requests. Connections open lazily.
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def _create_sqlite_engine(url: str, **kwargs: Any) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before the API answers 2xx, even across a power cut.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        sqlite_functions.register(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql(connection.get_execution_options().get("sqlite_begin", "BEGIN"))

    return engine


class Database:
    """An engine plus the two session factories the app uses: reads and writes; and, given a
    PostgreSQL streaming replica, the router of the reads that may go to it (`replica_session`).
    """

    def __init__(
        self,
        url: str,
        *,
        replica_url: str | None = None,
        replica_max_lag_seconds: float = 10,
        **engine_kwargs: Any,
    ) -> None:
        self.url = url
        self.engine = create_db_engine(url, **engine_kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.replicas: ReadRouter | None = None
        if replica_url:
            if self.is_sqlite or make_url(replica_url).get_backend_name() != "postgresql":
                raise ValueError("a read replica needs PostgreSQL, for the primary and replica")
            # A replica that does not answer is skipped after 2 s, not the primary's 10.
            replica = create_db_engine(replica_url, connect_args={"connect_timeout": 2})
            self.replicas = ReadRouter(
                self.engine, replica, max_lag_seconds=replica_max_lag_seconds
            )
        write_bind = (
            self.engine.execution_options(**SQLITE_WRITE) if self.is_sqlite else self.engine
        )
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(write_bind, expire_on_commit=False)
        # PostgreSQL's READ COMMITTED gives each statement its own snapshot anyway: a short
        # read that needs no lock runs in autocommit and skips the BEGIN and COMMIT round trips.
        self._lookup = (
            self._read
            if self.is_sqlite
            else sessionmaker(
                self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                expire_on_commit=False,
            )
        )

    def session(self, *, write: bool = True) -> Session:
        return (self._write if write else self._read)()

    def lookup_session(self) -> Session:
        """A session for reads only, each statement on its own (see `__init__`)."""
        return self._lookup()

    def replica_session(self, client: str | None, *, lookup: bool = False) -> Session:
        """A read session that may be on the replica (`tally.replicas`): for reads that can
        lag a moment, except behind `client`'s own writes. Else a read session on the
        primary (`lookup`: as `lookup_session`)."""
        session = self.replicas.session(client) if self.replicas is not None else None
        if session is not None:
            return session
        return self._lookup() if lookup else self._read()

    def on_replica(self, session: Session) -> bool:
        return self.replicas is not None and self.replicas.serves(session)

    def remember_write(self, client: str) -> None:
        """`client`'s write committed: keep its reads on the primary until it is replayed."""
        if self.replicas is not None:
            self.replicas.remember_write(client)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on error."""
        with self.session() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        if self.replicas is not None:
            self.replicas.dispose()


def is_unique_violation(error: Exception) -> bool:
    """Whether a failed write broke a unique constraint (a race another request won)."""
    original = getattr(error, "orig", None)
    if getattr(original, "sqlstate", None) == "23505":  # PostgreSQL unique_violation
        return True
    return isinstance(original, sqlite3.IntegrityError) and "UNIQUE constraint" in str(original)


def _lock_key(scope: tuple[str, ...]) -> int:
    return int.from_bytes(hashlib.sha256(":".join(scope).encode()).digest()[:8], signed=True)


def try_advisory_lock(session: Session, *scope: str) -> bool:
    """Take the lock `advisory_lock` would, but only if it is free now (SQLite: always)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(_lock_key(scope)))))


def advisory_lock(session: Session, *scope: str, shared: bool = False) -> None:
    """Serialize one kind of change (for example one account's hierarchy) until commit.

    PostgreSQL: a transaction-scoped advisory lock. SQLite needs none: its writers already run
    one at a time (BEGIN IMMEDIATE). Take it before writing anything in the transaction, so a
    waiting request holds no row locks that the lock holder might need.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    lock = func.pg_advisory_xact_lock_shared if shared else func.pg_advisory_xact_lock
    session.execute(select(lock(_lock_key(scope))))


def table_of(model: type[Any]) -> Table:
    """A mapped class's table, typed as one (for Core statements and `bulk_insert`)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def bulk_insert(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows, all with the same keys: COPY on PostgreSQL (several times faster
    than batched INSERTs for the thousands of rows a billing run writes), executemany else.

    Values go through each column type's bind processing first, as an INSERT would."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql":
        connection.execute(insert(table), list(rows))
        return
    keys = list(rows[0])
    # COPY runs no column defaults: the Python-side ones are applied here (context-free ones
    # only, such as a constant or `list`; a default reading other values must be given).
    defaults = [
        (column.key, column.default.arg)
        for column in table.columns
        if column.key not in rows[0] and isinstance(column.default, ColumnDefault)
    ]
    fixed = [arg(None) if callable(arg) else arg for _, arg in defaults]
    columns = [table.c[key] for key in [*keys, *(key for key, _ in defaults)]]
    processors = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
    processed = [(i, process) for i, process in enumerate(processors) if process is not None]
    values_of = operator.itemgetter(*keys)
    raw = connection.connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    names = ", ".join(f'"{column.name}"' for column in columns)
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            values = [*values_of(row), *fixed] if len(keys) > 1 else [row[keys[0]], *fixed]
            for i, process in processed:
                if values[i] is not None:
                    values[i] = process(values[i])
            copy.write_row(values)


INSERT_CHUNK = 500  # rows per INSERT: well within PostgreSQL's 65,535 parameters


def insert_new(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], key: Sequence[str]
) -> set[Any]:
    """Insert the rows whose unique `key` (its last column identifies a row within the first
    ones) is not taken yet; the last key column's values of the rows inserted. Concurrent or
    repeated writers of the same rows insert each once (ON CONFLICT DO NOTHING)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    inserted: set[Any] = set()
    for start in range(0, len(rows), INSERT_CHUNK):
        statement = (
            dialect.insert(table)
            .values(list(rows[start : start + INSERT_CHUNK]))
            .on_conflict_do_nothing(index_elements=list(key))
            .returning(table.c[key[-1]])
        )
        inserted.update(value for value in session.scalars(statement) if value is not None)
    return inserted


def id_table(session: Session, ids: Sequence[str]) -> FromClause:
    """A list of ids as a one-column table (`id`) to join on: one array parameter on
    PostgreSQL, one JSON parameter on SQLite. Joining probes an index once per id, where a
    long `IN (...)` can end up a filter tried against every row of the account."""
    if session.get_bind().dialect.name == "postgresql":
        array = bindparam(None, list(ids), type_=ARRAY(String()))
        return func.unnest(array).table_valued("id").render_derived()
    rows = func.json_each(bindparam(None, json.dumps(list(ids)), type_=String()))
    return select(rows.table_valued("value").c.value.label("id")).subquery("ids")
