"""Reads routed to a real streaming replica (PostgreSQL pass only): lists, analytics and the
portal read from it; a client's own writes are read back at once (from the primary) while
replay is paused; other clients keep reading the replica; an unreachable, stopped or lagging
replica sends reads to the primary, and says so in the log."""

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from tally.accounts.service import Credentials, get_account, issue_api_key
from tally.app import create_app
from tally.db import Database
from tally.settings import Settings
from tests.factories import new_customer, new_customer_id
from tests.support.api_client import ApiClient
from tests.support.databases import postgres_server_url
from tests.support.replica import Replica, ReplicaUnavailable, start_replica
from tests.support.serving import free_port

ROUTER_LOG = "tally.replicas"

pytestmark = pytest.mark.skipif(
    postgres_server_url() is None,
    reason="read replicas are PostgreSQL's: set TALLY_TEST_DATABASE_URL",
)


@pytest.fixture(scope="session")
def replica(database: Database) -> Iterator[Replica]:
    """A streaming replica of the server, taken after this process's test database exists."""
    try:
        with start_replica(database.url) as started:
            print(f"\nreplica started in {started.started_in:.2f} s")
            yield started
    except ReplicaUnavailable as reason:
        pytest.skip(f"no streaming replica on this machine: {reason}")


def _routed_database(database: Database, replica_url: str, max_lag: float) -> Database:
    return Database(database.url, replica_url=replica_url, replica_max_lag_seconds=max_lag)


@pytest.fixture(scope="module")
def routed(database: Database, replica: Replica) -> Iterator[Database]:
    """The test database with the replica; a lag bound no paused replay reaches in a test."""
    routed = _routed_database(database, replica.url, max_lag=3600)
    yield routed
    routed.dispose()


@pytest.fixture(scope="module")
def routed_http(settings: Settings, routed: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings, routed), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def caught_up(replica: Replica, database: Database) -> Replica:
    """The replica with everything written before the test replayed."""
    replica.catch_up(database.url)
    return replica


@pytest.fixture
def replica_statements(routed: Database) -> Iterator[list[str]]:
    """The statements the replica runs during the test."""
    assert routed.replicas is not None
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = routed.replicas.replica
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _second_key(database: Database, account: Credentials) -> Credentials:
    """Another client of the same account: a second API key."""
    with database.transaction() as session:
        return issue_api_key(session, get_account(session, account.account_id), name="reader")


def _names(client: ApiClient) -> set[str]:
    response = client.get("/api/customers", params={"limit": 100})
    assert response.status_code == 200, response.text
    return {item["legalName"] for item in response.json()["items"]}


def _rename_on_primary(database: Database, customer_id: str, name: str) -> None:
    """Another writer's change, straight on the primary (no API client's fence moves)."""
    with database.transaction() as session:
        session.execute(
            text("UPDATE customers SET legal_name = :name WHERE id = :id"),
            {"name": name, "id": customer_id},
        )


def test_a_list_is_served_by_the_replica(
    routed_http: TestClient, database: Database, account: Credentials, replica: Replica
) -> None:
    api = ApiClient(routed_http, (account.api_key, account.api_secret))
    customer_id = new_customer_id(api, "Before Ltd")
    replica.catch_up(database.url)
    with replica.replay_paused():
        _rename_on_primary(database, customer_id, "After Ltd")
        # Only the replica still holds the old name: the answer came from it.
        assert _names(api) == {"Before Ltd"}
        # A single customer is not a list: read on the primary.
        assert api.get(f"/api/customers/{customer_id}").json()["legalName"] == "After Ltd"
    replica.catch_up(database.url)
    assert _names(api) == {"After Ltd"}


def test_analytics_read_from_the_replica(
    routed_http: TestClient,
    account: Credentials,
    caught_up: Replica,
    replica_statements: list[str],
) -> None:
    api = ApiClient(routed_http, (account.api_key, account.api_secret))
    response = api.get("/api/analytics/mrr")
    assert response.status_code == 200, response.text
    ran = " ".join(replica_statements)
    assert "pg_last_wal_replay_lsn" in ran  # the freshness check, then the figures
    assert len(replica_statements) > 1


def test_a_clients_own_write_is_read_back_at_once_while_replay_is_paused(
    routed_http: TestClient, database: Database, account: Credentials, replica: Replica
) -> None:
    writer = ApiClient(routed_http, (account.api_key, account.api_secret))
    second = _second_key(database, account)
    reader = ApiClient(routed_http, (second.api_key, second.api_secret))
    new_customer(writer, "Existing Ltd")
    replica.catch_up(database.url)
    with replica.replay_paused():
        new_customer(writer, "Mine Ltd")
        # The writer reads its own write (from the primary: the replica does not have it) ...
        assert _names(writer) == {"Existing Ltd", "Mine Ltd"}
        # ... while another client of the same account still reads the replica.
        assert _names(reader) == {"Existing Ltd"}
        on_replica = replica.scalar(
            f"SELECT string_agg(legal_name, ',') FROM customers "
            f"WHERE account_id = '{account.account_id}'"
        )
        assert on_replica == "Existing Ltd"
    replica.catch_up(database.url)
    # Replayed: both read the replica again, and both see it.
    assert _names(writer) == _names(reader) == {"Existing Ltd", "Mine Ltd"}


def _portal_session(api: ApiClient, customer_id: str) -> str:
    response = api.post(f"/api/customers/{customer_id}/portal-sessions")
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def test_the_portal_reads_from_the_replica(
    routed_http: TestClient, database: Database, account: Credentials, replica: Replica
) -> None:
    api = ApiClient(routed_http, (account.api_key, account.api_secret))
    customer_id = new_customer_id(api, "Portal Before Ltd")
    token = _portal_session(api, customer_id)
    replica.catch_up(database.url)
    with replica.replay_paused():
        _rename_on_primary(database, customer_id, "Portal After Ltd")
        profile = routed_http.get("/portal/api/profile", headers={"X-Session-Token": token})
        assert profile.status_code == 200, profile.text
        assert profile.json()["name"] == "Portal Before Ltd"
        page = routed_http.get("/portal/session", params={"token": token}, follow_redirects=True)
        assert page.status_code == 200
        assert "Portal Before Ltd" in page.text
        assert "Portal After Ltd" not in page.text


def test_a_portal_session_made_a_moment_ago_opens_although_not_replayed(
    routed_http: TestClient, database: Database, account: Credentials, replica: Replica
) -> None:
    """The merchant's API key made the session; the customer is another client. A miss on
    the replica is confirmed on the primary, so the fresh session opens."""
    api = ApiClient(routed_http, (account.api_key, account.api_secret))
    customer_id = new_customer_id(api, "Fresh Session Ltd")
    replica.catch_up(database.url)
    with replica.replay_paused():
        token = _portal_session(api, customer_id)
        profile = routed_http.get("/portal/api/profile", headers={"X-Session-Token": token})
        assert profile.status_code == 200, profile.text
        assert profile.json()["name"] == "Fresh Session Ltd"
        refused = routed_http.get("/portal/api/profile", headers={"X-Session-Token": "nope"})
        assert refused.status_code == 401


def test_a_lagging_replica_sends_reads_to_the_primary(
    settings: Settings,
    database: Database,
    account: Credentials,
    replica: Replica,
    caplog: pytest.LogCaptureFixture,
) -> None:
    strict = _routed_database(database, replica.url, max_lag=0.5)
    assert strict.replicas is not None
    seen: list[str] = []
    event.listen(strict.replicas.replica, "before_cursor_execute", lambda *a: seen.append(a[2]))
    api_key = (account.api_key, account.api_secret)
    with TestClient(create_app(settings, strict), raise_server_exceptions=False) as http:
        api = ApiClient(http, api_key)
        customer_id = new_customer_id(api, "Lag Before Ltd")
        replica.catch_up(database.url)
        with caplog.at_level(logging.WARNING, ROUTER_LOG):
            with replica.replay_paused():
                _rename_on_primary(database, customer_id, "Lag After Ltd")
                _wait_for_lag(replica, above=0.5)
                assert _names(api) == {"Lag After Ltd"}  # too far behind: the primary answers
                assert _names(api) == {"Lag After Ltd"}
            replica.catch_up(database.url)
            seen.clear()
            assert _names(api) == {"Lag After Ltd"}
            assert any("FROM customers" in statement for statement in seen)  # replica again
        messages = [r.getMessage() for r in caplog.records if r.name == ROUTER_LOG]
        # Logged when it started and when it ended, not per request.
        assert len(messages) == 2, messages
        assert messages[0].startswith("replica lagging")
        assert messages[1].startswith("replica serves reads again")
    strict.dispose()


def _wait_for_lag(replica: Replica, above: float) -> None:
    sql = "SELECT EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())"
    for _ in range(200):
        if float(str(replica.scalar(sql))) > above:
            return
        time.sleep(0.02)
    raise AssertionError("the paused replica did not fall behind")


def test_an_unreachable_replica_sends_reads_to_the_primary(
    settings: Settings, database: Database, account: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = database.url.replace(":5432/", f":{free_port()}/")
    assert nowhere != database.url
    missing = _routed_database(database, nowhere, max_lag=3600)
    with (
        TestClient(create_app(settings, missing), raise_server_exceptions=False) as http,
        caplog.at_level(logging.WARNING, ROUTER_LOG),
    ):
        api = ApiClient(http, (account.api_key, account.api_secret))
        new_customer(api, "Nowhere Ltd")
        assert _names(api) == {"Nowhere Ltd"}
        assert _names(api) == {"Nowhere Ltd"}
    assert [r.getMessage() for r in caplog.records if r.name == ROUTER_LOG] == [
        "replica unreachable (OperationalError): reads go to the primary"
    ]
    missing.dispose()


def test_a_stopped_replica_sends_reads_to_the_primary(
    settings: Settings,
    database: Database,
    account: Credentials,
    replica: Replica,
    caplog: pytest.LogCaptureFixture,
) -> None:
    own = _routed_database(database, replica.url, max_lag=3600)
    app: FastAPI = create_app(settings, own)
    with TestClient(app, raise_server_exceptions=False) as http:
        api = ApiClient(http, (account.api_key, account.api_secret))
        new_customer(api, "Stopped Ltd")
        replica.catch_up(database.url)
        assert _names(api) == {"Stopped Ltd"}
        replica.stop()
        try:
            with caplog.at_level(logging.WARNING, ROUTER_LOG):
                assert _names(api) == {"Stopped Ltd"}
            assert any("unreachable" in r.getMessage() for r in caplog.records)
        finally:
            replica.start()
    own.dispose()
