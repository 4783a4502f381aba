"""A real `tally serve` process, for tests and benchmarks that talk to it over the network;
and an app served from a thread of the test's own process (`served_app`), for servers that
call the app back (localstripe's webhooks)."""

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

TALLY = Path(sys.executable).parent / "tally"

# TALLY_SECRET_KEY of the whole test run: tests connect Stripe in the databases that servers
# and workers started by other tests open, and those refuse to start without the key.
TEST_SECRET_KEY = "tally-tests-secret-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def tally_serve(
    env: dict[str, str], *args: str, cwd: str | Path | None = None, ready_within: float = 60
) -> Iterator[tuple[str, int]]:
    """`tally serve ARGS` with `env` on a free port until the block ends: (base URL, pid)."""
    port = free_port()
    process = subprocess.Popen([str(TALLY), "serve", "--port", str(port), *args], env=env, cwd=cwd)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_within
        while True:
            try:
                # /healthz: answering is enough (/openapi.json would build the whole document).
                httpx.get(f"{base_url}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield base_url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any TALLY_ setting, plus the test run's
    TALLY_SECRET_KEY and `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    env["TALLY_SECRET_KEY"] = TEST_SECRET_KEY
    env.update(settings)
    return env


@contextmanager
def served_app(app: FastAPI, ready_within: float = 30) -> Iterator[str]:
    """`app` served over HTTP by uvicorn in a thread of this process, on a free port, until the
    block ends: its base URL. The app's lifespan is not run (the test owns the database)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    thread = threading.Thread(target=server.run, name=f"served-app-{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + ready_within
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not start serving on port {port}")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
