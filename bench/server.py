"""A real `tally serve` process on a scratch database, for benchmarks to measure."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

TALLY = Path(sys.executable).parent / "tally"


@dataclass(frozen=True)
class Server:
    base_url: str
    auth: tuple[str, str]
    pid: int


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _environment(data_dir: str, database_url: str | None) -> dict[str, str]:
    env = {**os.environ, "TALLY_DATA_DIR": data_dir, "TALLY_LOG_LEVEL": "warning"}
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
        port = _free_port()
        command = [TALLY, "serve", "--port", str(port), "--workers", str(workers)]
        process = subprocess.Popen(command, env=env)
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{base_url}/openapi.json", timeout=2)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            yield Server(base_url, auth, process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)


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
