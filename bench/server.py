"""A real `tally serve` process on a scratch database, for benchmarks to measure."""

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.serving import TALLY, tally_serve


@dataclass(frozen=True)
class Server:
    base_url: str
    auth: tuple[str, str]
    pid: int


def _environment(data_dir: str, database_url: str | None) -> dict[str, str]:
    env = {**os.environ, "TALLY_DATA_DIR": data_dir, "TALLY_LOG_LEVEL": "warning"}
    # One API key sends far more than Sequence's 1,500 requests a minute here: no rate limits.
    env.update(TALLY_RATE_LIMIT_PER_MINUTE="0", TALLY_INGESTION_RATE_LIMIT_PER_MINUTE="0")
    env.pop("TALLY_DATABASE_URL", None)
    if database_url:
        env["TALLY_DATABASE_URL"] = database_url
    return env


@contextmanager
def serving(
    auth: tuple[str, str], database_url: str | None = None, workers: int = 1
) -> Iterator[Server]:
    """`tally serve` on the given database until the block ends."""
    with tempfile.TemporaryDirectory(prefix="tally-bench-") as data_dir:
        env = _environment(data_dir, database_url)
        with tally_serve(env, "--workers", str(workers)) as (base_url, pid):
            yield Server(base_url, auth, pid)


@contextmanager
def running_server(database_url: str | None = None) -> Iterator[Server]:
    """A server with a fresh account of its own (created through the CLI)."""
    with tempfile.TemporaryDirectory(prefix="tally-bench-") as data_dir:
        created = subprocess.run(
            [TALLY, "accounts", "create", "Bench", "--json"],
            env=_environment(data_dir, database_url),
            check=True,
            capture_output=True,
            text=True,
        )
        credentials = json.loads(created.stdout)
        auth = (credentials["apiKey"], credentials["apiSecret"])
        if database_url is None:
            database_url = f"sqlite:///{Path(data_dir) / 'tally.db'}"
        with serving(auth, database_url) as server:
            yield server


def resident_memory(pid: int) -> int:
    """Bytes of memory the process and its children hold (RSS), from /proc."""
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                pids.append(int(entry.name))
    total = 0
    for each in pids:
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total
