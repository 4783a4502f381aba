"""`make run` on this checkout: installs, migrates, loads the demo once, serves, and answers
an authenticated `GET /api/customers` from the real server process; the demo's credentials
are the last thing it prints at startup, after the server says it is running."""

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tally.db import Database
from tests.support.databases import postgres_server_url
from tests.support.serving import TEST_SECRET_KEY

STARTUP_SECONDS = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def make_run(repo_root: Path, tmp_path: Path, database: Database) -> Iterator[tuple[int, Path]]:
    port = free_port()
    env = {**os.environ, "TALLY_DATA_DIR": str(tmp_path), "TALLY_PORT": str(port)}
    # Other tests connect Stripe in the shared database: its credentials need the key.
    env["TALLY_SECRET_KEY"] = TEST_SECRET_KEY
    env.pop("TALLY_DATABASE_URL", None)
    if postgres_server_url():  # the PostgreSQL pass serves from PostgreSQL too
        env["TALLY_DATABASE_URL"] = database.url
    log = tmp_path / "make-run.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=repo_root,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield port, log
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def wait_for_credentials(log: Path) -> tuple[str, str]:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        key = re.search(r"API key:\s+(\S+)", text)
        secret = re.search(r"API secret:\s+(\S+)", text)
        if key and secret:
            return key.group(1), secret.group(1)
        time.sleep(0.2)
    raise AssertionError(f"make run printed no credentials:\n{log.read_text()}")


def get_when_up(url: str, auth: tuple[str, str], log: Path) -> httpx.Response:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            return httpx.get(url, auth=auth, timeout=5)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"the server never answered:\n{log.read_text()}")


def test_make_run_serves_the_demo(make_run: tuple[int, Path]) -> None:
    port, log = make_run
    auth = wait_for_credentials(log)
    response = get_when_up(f"http://127.0.0.1:{port}/api/customers", auth, log)

    assert response.status_code == 200, response.text
    names = {customer["legalName"] for customer in response.json()["items"]}
    assert {"Globex Corporation", "Globex Research Ltd", "Initech Inc"} <= names
    assert httpx.get(f"http://127.0.0.1:{port}/api/customers").status_code == 401

    # The banner comes after uvicorn's "running on" line, framed, with all a visitor needs.
    text = log.read_text(errors="replace")
    running = text.index("Uvicorn running on")
    assert text.index("API key:") > running, text
    frame = re.search(r"\n(=+)\n(.*?)\n\1\n", text[running:], re.S)
    assert frame, text
    inside = frame.group(2)
    for label in ("Dashboard:", "email:", "password:", "API key:", "API secret:", "Portal"):
        assert label in inside, inside
    assert f"http://127.0.0.1:{port}/dashboard" in inside
    account = re.search(r"Account id:\s+(\S+)", inside)
    portal = re.search(r"Portal \(Globex Corporation\):\s+(\S+)", inside)
    assert account and portal, inside
    assert httpx.get(portal.group(1)).status_code == 200
    # No third-party chatter on the console (WeasyPrint's CSS warnings, font subsetting).
    assert "weasyprint" not in text.lower() and "fonttools" not in text.lower(), text
