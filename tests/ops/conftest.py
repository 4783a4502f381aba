"""Apps with settings of their own (small limits, a metrics token) on the run's database,
and scratch databases for the health checks."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tally.app import create_app
from tally.db import Database
from tally.settings import Settings
from tests.support.databases import fresh_postgres_database, postgres_server_url

ClientFactory = Callable[..., TestClient]


@pytest.fixture
def client_with(settings: Settings, database: Database) -> Iterator[ClientFactory]:
    """`client_with(max_body_bytes=..., ...)`: a TestClient on an app with those settings."""
    opened: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        app = create_app(settings.model_copy(update=overrides), database)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@contextmanager
def scratch_database(tmp_path: Path) -> Iterator[Database]:
    """An empty database of the run's kind (SQLite file, or a new PostgreSQL database)."""
    server = postgres_server_url()
    if server:
        with fresh_postgres_database(server) as url:
            database = Database(url)
            yield database
            database.dispose()
        return
    database = Database(f"sqlite:///{tmp_path / 'scratch.db'}")
    yield database
    database.dispose()
