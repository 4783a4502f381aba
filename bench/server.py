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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_server(database_url: str | None = None) -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix="tally-bench-") as data_dir:
        env = {**os.environ, "TALLY_DATA_DIR": data_dir, "TALLY_LOG_LEVEL": "warning"}
        env.pop("TALLY_DATABASE_URL", None)
        if database_url:
            env["TALLY_DATABASE_URL"] = database_url
        created = subprocess.run(
            [TALLY, "accounts", "create", "Bench", "--json"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        credentials = json.loads(created.stdout)
        port = _free_port()
        process = subprocess.Popen([TALLY, "serve", "--port", str(port)], env=env)
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
            yield Server(base_url, (credentials["apiKey"], credentials["apiSecret"]))
        finally:
            process.terminate()
            process.wait(timeout=20)
