"""/healthz answers while the process lives; /readyz only when the database answers and its
schema is the code's."""

from pathlib import Path

from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient

from tally import migrations
from tally.app import create_app
from tally.db import Database
from tally.ops.health import head_revision
from tally.settings import Settings
from tests.ops.conftest import scratch_database
from tests.support.serving import free_port


def test_healthz_and_readyz_on_a_migrated_database(http: TestClient) -> None:
    health = http.get("/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "revision": head_revision()}
    assert ready.headers["x-request-id"]


def test_readyz_is_503_on_a_database_one_migration_behind(
    settings: Settings, tmp_path: Path
) -> None:
    previous = ScriptDirectory(migrations.SCRIPT_LOCATION).get_revision(head_revision())
    assert previous is not None and isinstance(previous.down_revision, str)
    with scratch_database(tmp_path) as scratch:
        migrations.upgrade(scratch.engine, previous.down_revision)
        app = create_app(settings.model_copy(update={"database_url": scratch.url}), scratch)
        with TestClient(app) as client:
            behind = client.get("/readyz")
            assert behind.status_code == 503
            assert behind.json() == {
                "status": "unavailable",
                "reason": f"database schema at {previous.down_revision}, "
                f"code expects {head_revision()}",
            }
            assert client.get("/healthz").status_code == 200  # alive all the same

            migrations.upgrade(scratch.engine)
            assert client.get("/readyz").status_code == 200


def test_readyz_is_503_on_a_database_never_migrated(settings: Settings, tmp_path: Path) -> None:
    with scratch_database(tmp_path) as scratch, TestClient(create_app(settings, scratch)) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert "no revision" in answer.json()["reason"]


def test_readyz_is_503_when_the_database_is_unreachable(settings: Settings, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there: a database server that is down
    gone = Database(f"postgresql+psycopg://tally:pw@127.0.0.1:{port}/tally")
    with TestClient(create_app(settings, gone)) as client:
        answer = client.get("/readyz")
        assert client.get("/healthz").status_code == 200
    gone.dispose()
    assert answer.status_code == 503
    assert answer.json()["reason"].startswith("database unavailable (")
    assert str(port) not in answer.text  # no details for unauthenticated callers


def test_operations_routes_stay_out_of_the_api_document(http: TestClient) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    assert not {"/healthz", "/readyz", "/metrics"} & set(paths)
