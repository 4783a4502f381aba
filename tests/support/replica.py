"""A real PostgreSQL streaming replica of the test server, for tests of read routing.

`pg_basebackup -R` copies the server the run uses (`TALLY_TEST_DATABASE_URL`) into a temporary
directory, and `pg_ctl` starts that copy as a hot standby on a free port, streaming from the
server. The server must accept replication connections from this machine (a pg_hba.conf line
such as `host replication all 127.0.0.1/32 trust`); where it does not, or the binaries are
missing, `start_replica` raises `ReplicaUnavailable` with the reason and the tests skip.

Run as root (CI), the cluster belongs to the `postgres` user: the commands run as it.
"""

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from tests.support.serving import free_port

BINARIES = Path(os.environ.get("TALLY_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
# A hot standby refuses to start with less of these than its primary has.
_MATCHED = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


class ReplicaUnavailable(Exception):
    pass


class Replica:
    """A running standby: `url` names the same database as the primary's URL, on its port."""

    def __init__(self, directory: Path, port: int, url: str, started_in: float) -> None:
        self.directory = directory
        self.port = port
        self.url = url
        self.started_in = started_in  # seconds: base backup plus start
        self.engine = create_engine(url, isolation_level="AUTOCOMMIT")

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def pg_ctl(self, *args: str) -> None:
        _run([str(BINARIES / "pg_ctl"), "-D", str(self.data), *args])

    def start(self) -> None:
        self.pg_ctl("-l", str(self.directory / "log"), "-w", "-t", "60", "start")

    def stop(self) -> None:
        self.engine.dispose()
        self.pg_ctl("-m", "fast", "-w", "stop")

    def scalar(self, sql: str) -> object:
        with self.engine.connect() as connection:
            return connection.execute(text(sql)).scalar()

    @contextmanager
    def replay_paused(self) -> Iterator[None]:
        """Replay stopped (WAL still received): what the primary commits meanwhile is not on
        the replica, until the block ends."""
        self.scalar("SELECT pg_wal_replay_pause()")
        try:
            yield
        finally:
            self.scalar("SELECT pg_wal_replay_resume()")

    def catch_up(self, primary_url: str, within: float = 30) -> None:
        """Wait until the replica has replayed everything the primary has written so far."""
        primary = create_engine(primary_url, isolation_level="AUTOCOMMIT")
        with primary.connect() as connection:
            target = connection.execute(
                text("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint")
            ).scalar_one()
        primary.dispose()
        deadline = time.monotonic() + within
        replayed_sql = "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint"
        while int(str(self.scalar(replayed_sql))) < target:
            if time.monotonic() > deadline:
                raise AssertionError("the replica did not catch up")
            time.sleep(0.02)


def _as_cluster_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str]) -> None:
    done = subprocess.run(
        _as_cluster_owner(command), capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise ReplicaUnavailable(f"{Path(command[0]).name} failed: {done.stderr.strip()}")


def _base_backup(host: str, port: int, user: str | None, data: Path) -> None:
    """The copy, tried three times: the server is shared, and a session that terminates
    other backends (a test of another run) can cut the copy's stream."""
    command = [
        str(BINARIES / "pg_basebackup"),
        f"--host={host}",
        f"--port={port}",
        f"--username={user or 'postgres'}",
        f"--pgdata={data}",
        "--write-recovery-conf",
        "--wal-method=stream",
        "--checkpoint=fast",
        "--no-sync",  # a throwaway copy need not reach the disk (seconds on a busy one)
    ]
    for attempt in range(3):
        try:
            _run(command)
            return
        except ReplicaUnavailable as failed:
            if attempt == 2 or "pg_hba.conf" in str(failed):  # not allowed: no use trying again
                raise
            shutil.rmtree(data, ignore_errors=True)
            time.sleep(1)


def _primary_settings(server_url: str) -> dict[str, str]:
    engine = create_engine(server_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT name, setting FROM pg_settings WHERE name = ANY(:names)"),
            {"names": list(_MATCHED)},
        ).all()
    engine.dispose()
    return {str(name): str(setting) for name, setting in rows}


@contextmanager
def start_replica(primary_url: str) -> Iterator[Replica]:
    """A streaming replica of the server `primary_url` is on, stopped and removed afterwards."""
    if not (BINARIES / "pg_basebackup").exists():
        raise ReplicaUnavailable(f"no PostgreSQL binaries in {BINARIES}")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        raise ReplicaUnavailable("running as root without runuser")
    parsed = make_url(primary_url)
    started = time.monotonic()
    # Not pytest's tmp_path: the cluster's owner must reach it, and pytest's is root's alone.
    directory = Path(tempfile.mkdtemp(prefix="tally-replica-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    data = directory / "data"
    try:
        _base_backup(parsed.host or "127.0.0.1", parsed.port or 5432, parsed.username, data)
        port = free_port()
        matched = _primary_settings(primary_url)
        settings = {
            "port": str(port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{directory}'",
            "hot_standby": "on",
            "fsync": "off",
            "shared_buffers": "'32MB'",
            **matched,
        }
        conf = "".join(f"{name} = {value}\n" for name, value in settings.items())
        files = {
            "postgresql.conf": conf,
            "pg_hba.conf": "local all all trust\nhost all all 127.0.0.1/32 trust\n",
            "pg_ident.conf": "",
        }
        for name, content in files.items():
            (data / name).write_text(content)
            if os.geteuid() == 0:
                shutil.chown(data / name, "postgres")
        url = parsed.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
        replica = Replica(directory, port, url, 0)
        replica.start()
        replica.started_in = time.monotonic() - started
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    try:
        yield replica
    finally:
        try:
            replica.engine.dispose()
            replica.pg_ctl("-m", "immediate", "-w", "stop")
        except ReplicaUnavailable:
            pass  # already stopped
        shutil.rmtree(directory, ignore_errors=True)
