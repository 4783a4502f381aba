"""The database a test run uses: a fresh SQLite file, or a fresh PostgreSQL database on the
server `TALLY_TEST_DATABASE_URL` names (CI points it at the local server).

The run's shared database does not wait for the disk at each commit (SQLite's
`synchronous=OFF`, PostgreSQL's `synchronous_commit=off`): what a commit wrote is seen by every
connection and survives a killed process all the same, and only a power cut or a crash of the
server's machine could lose it, which no test does to it. Thousands of commits a run stop
paying a disk flush each. The databases of the tests that restart or crash a server
(tests/ops: `scratch_database`, `private_postgres`) keep full durability."""

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, make_url, text

from tally import migrations
from tally.db import Database

POSTGRES_URL_VARIABLE = "TALLY_TEST_DATABASE_URL"


def postgres_server_url() -> str | None:
    return os.environ.get(POSTGRES_URL_VARIABLE) or None


@contextmanager
def fresh_postgres_database(server_url: str, *, durable: bool = True) -> Iterator[str]:
    """Create a database of our own on the server, and drop it afterwards. Not `durable`: its
    commits return before their WAL is flushed to disk."""
    name = f"tally_test_{secrets.token_hex(6)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
        if not durable:
            connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def provision_database(tmp_dir: Path) -> Iterator[Database]:
    server_url = postgres_server_url()
    if server_url:
        with fresh_postgres_database(server_url, durable=False) as url:
            database = Database(url)
            migrations.upgrade(database.engine)
            yield database
            database.dispose()
        return
    database = Database(f"sqlite:///{tmp_dir / 'tally-test.db'}")

    @event.listens_for(database.engine, "connect")
    def _no_flush_per_commit(dbapi_connection: Any, _record: Any) -> None:
        # After the app's own settings (listeners run in order): only this one changes.
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    migrations.upgrade(database.engine)
    yield database
    database.dispose()
