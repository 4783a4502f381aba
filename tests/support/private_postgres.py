"""A PostgreSQL cluster of a test's own (initdb + pg_ctl), for tests that stop or restart
the server: the shared one at TALLY_TEST_DATABASE_URL serves everybody else's tests."""

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.support.serving import free_port

POSTGRES_ROOT = Path("/usr/lib/postgresql")
SERVER_USER = "postgres"  # PostgreSQL refuses to run as root


def server_binaries() -> Path | None:
    """The newest installed server's bin directory (initdb, pg_ctl), if any."""
    versions = sorted(
        (path for path in POSTGRES_ROOT.glob("*/bin") if (path / "initdb").exists()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    return versions[-1] if versions else None


@dataclass
class PrivateCluster:
    bin_dir: Path
    root: Path  # owned by the server's user: data directory, socket and log
    port: int
    as_user: list[str]  # command prefix running a program as the server's user

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def run(self, program: str, *args: str, check: bool = True) -> str:
        """`program` of the server's binaries, as the server's user; its output."""
        result = subprocess.run(
            [*self.as_user, str(self.bin_dir / program), *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.root,  # the server's user may not enter ours
        )
        assert not check or result.returncode == 0, f"{program} {args}: {result.stderr}"
        return result.stdout + result.stderr

    def pg_ctl(self, *args: str, check: bool = True) -> None:
        # -w: return once the server accepts connections (or has stopped).
        data = ["-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60"]
        self.run("pg_ctl", *data, *args, check=check)

    def restart(self, mode: str) -> None:
        """`fast` ends every session cleanly; `immediate` is a crash (recovery from WAL)."""
        self.pg_ctl("restart", "-m", mode)

    def create_database(self, name: str) -> str:
        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url(name)


def _as_server_user() -> tuple[list[str], int | None]:
    if os.geteuid() != 0:
        return [], None
    return ["runuser", "-u", SERVER_USER, "--"], pwd.getpwnam(SERVER_USER).pw_uid


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """A fresh cluster on a free port (TCP on 127.0.0.1, its socket in its own directory),
    trust auth, fsync and synchronous commit on: a commit is on disk before it returns."""
    bin_dir = server_binaries()
    assert bin_dir is not None, "no PostgreSQL server binaries under /usr/lib/postgresql"
    as_user, uid = _as_server_user()
    # Not pytest's tmp_path: the server's user cannot enter root's private directories, and a
    # socket path must stay short (about 100 bytes).
    root = Path(tempfile.mkdtemp(prefix="tally-pg-"))
    if uid is not None:
        os.chown(root, uid, -1)
    cluster = PrivateCluster(bin_dir, root, free_port(), as_user)
    try:
        cluster.run(
            "initdb",
            *("-D", str(cluster.data_dir), "-U", SERVER_USER, "--auth=trust"),
            *("--no-instructions", "-E", "UTF8"),
        )
        settings = {
            "port": str(cluster.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{root}'",
            "fsync": "on",
            "synchronous_commit": "on",
            "full_page_writes": "on",
            "max_connections": "50",
        }
        # In postgresql.conf, not on pg_ctl's command line, so restarts keep them.
        with (cluster.data_dir / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        cluster.pg_ctl("start")
        yield cluster
    finally:
        if (cluster.data_dir / "postmaster.pid").exists():
            cluster.pg_ctl("stop", "-m", "immediate", check=False)
        shutil.rmtree(root, ignore_errors=True)
