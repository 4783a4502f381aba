"""Fixtures: one migrated database per test process (SQLite, or PostgreSQL in the second pass;
each pytest-xdist worker its own), one app, and a fresh account per test, so tests never see
each other's data."""

import gc
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, profiles
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tally.accounts.service import Credentials, create_account
from tally.app import create_app
from tally.dashboard import users
from tally.db import Database
from tally.settings import Settings
from tests.factories import SELLER
from tests.support.api_client import ApiClient
from tests.support.databases import postgres_server_url, provision_database
from tests.support.localstripe import LocalStripe
from tests.support.serving import TEST_SECRET_KEY


def pytest_report_header() -> str:
    return f"tally database: {postgres_server_url() or 'SQLite (embedded)'}"


@pytest.hookimpl(wrapper=True)
def pytest_collection() -> Generator[None, object, object]:
    """The garbage collector, off since tests/__init__.py, back on once the tests are
    collected: what is alive then (Tally, the libraries, the test modules) is set aside for
    good (gc.freeze), and young objects are collected less often. It had walked those
    millions of long-lived objects again and again: a sixth of the import time, then about
    5 % of the tests' time."""
    gc.disable()
    try:
        return (yield)
    finally:
        gc.collect()  # what collecting left unreachable
        gc.freeze()
        gc.set_threshold(10_000, 50, 50)  # the defaults: 700, 10, 10
        gc.enable()


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Dashboard passwords hashed at argon2's cheapest cost in this process (a production hash
    takes about half a second of CPU, and hundreds of tests sign in). Stored hashes carry their
    parameters, so verifying works either way; tests/dashboard/test_users.py puts the production
    hasher back to check it. `tally` subprocesses keep the production cost."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users, "HASHER", PasswordHasher.from_parameters(profiles.CHEAPEST))
        users._decoy_hash.cache_clear()
        yield
    users._decoy_hash.cache_clear()


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with provision_database(tmp_path_factory.mktemp("db")) as db:
        yield db


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[LocalStripe]:
    """localstripe's port, reserved; started by the `localstripe` fixture when a test needs it."""
    server = LocalStripe()
    yield server
    server.stop()


@pytest.fixture
def localstripe(stripe_server: LocalStripe) -> LocalStripe:
    return stripe_server.start()


@pytest.fixture(scope="session")
def settings(
    tmp_path_factory: pytest.TempPathFactory, database: Database, stripe_server: LocalStripe
) -> Settings:
    # Tests bill on demand (the execution endpoint), never from a background thread. The
    # whole run shares one app and one client address: no rate limits or failed-auth
    # throttling (tests/ops turns them on in apps of their own). Webhook tests deliver to
    # receivers on 127.0.0.1, allowed as an operator allows internal receivers (tests/security
    # checks the refusals in an app without it).
    return Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        database_url=database.url,
        billing_scheduler=False,
        rate_limit_per_minute=0,
        ingestion_rate_limit_per_minute=0,
        auth_failure_limit=0,
        webhook_allowed_hosts="127.0.0.1",
        # Payments: credentials encrypted with a test key; Stripe is the test's localstripe.
        secret_key=SecretStr(TEST_SECRET_KEY),
        stripe_api_base=stripe_server.url,
        stripe_js_url=stripe_server.js_url,
    )


@pytest.fixture(scope="session")
def app(settings: Settings, database: Database) -> FastAPI:
    return create_app(settings, database)


@pytest.fixture(scope="session")
def http(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def make_account(
    database: Database, name: str = "Test merchant", *, address: dict[str, Any] | None = SELLER
) -> Credentials:
    """An account that can issue invoices: it has the seller's legal address
    (`accounts.seller`) unless `address=None`."""
    with database.transaction() as session:
        _, credentials = create_account(session, name, address=address)
    return credentials


@pytest.fixture
def account(database: Database) -> Credentials:
    return make_account(database)


@pytest.fixture
def api(http: TestClient, account: Credentials) -> ApiClient:
    """The API as the test's own account."""
    return ApiClient(http, (account.api_key, account.api_secret))


@pytest.fixture
def other_api(http: TestClient, database: Database) -> ApiClient:
    """The API as a second, unrelated account."""
    other = make_account(database, "Another merchant")
    return ApiClient(http, (other.api_key, other.api_secret))


@pytest.fixture
def anonymous(http: TestClient) -> ApiClient:
    return ApiClient(http, None)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
