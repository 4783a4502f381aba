"""The database a test run uses: a fresh SQLite file, or a fresh PostgreSQL database on the
server `TALLY_TEST_DATABASE_URL` names (CI points it at the local server)."""

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from tally import migrations
from tally.db import Database

POSTGRES_URL_VARIABLE = "TALLY_TEST_DATABASE_URL"


def postgres_server_url() -> str | None:
    return os.environ.get(POSTGRES_URL_VARIABLE) or None


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """Create a database of our own on the server, and drop it afterwards."""
    name = f"tally_test_{secrets.token_hex(6)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
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
        with fresh_postgres_database(server_url) as url:
            database = Database(url)
            migrations.upgrade(database.engine)
            yield database
            database.dispose()
        return
    database = Database(f"sqlite:///{tmp_dir / 'tally-test.db'}")
    migrations.upgrade(database.engine)
    yield database
    database.dispose()
