"""Playwright fixtures for portal tests: Debian's Chromium (`/usr/bin/chromium`, installed by
`make install` through scripts/install-system-packages.sh; Playwright's own browser download
is not used) driving the test app served by uvicorn on a free port.

One browser and one server per test session; each test gets a fresh context (its own
cookies) and page. Import the fixtures into a test module or a conftest:

    from tests.portal.browser import browser, live_server, page  # noqa: F401

A fixture imported into several modules is a separate fixture in each, and Playwright's sync
API cannot run two instances in one thread: so the browser and the server are shared by
every importer (counted, and closed when the last one is done).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.serving import free_port

CHROMIUM = os.environ.get("TALLY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str | None:
    """The Chromium to drive, or None when it is not installed (the tests then skip)."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    return shutil.which("chromium")


class LiveServer:
    """The test app served by uvicorn in a thread, on a free port of 127.0.0.1."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the portal test server did not start")
            time.sleep(0.02)
        # /healthz: the cheapest answer (building /openapi.json can take seconds on a busy machine).
        httpx.get(f"{self.url}/healthz", timeout=30).raise_for_status()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class _Shared:
    """One of something for every module that imports the fixture, until the last is done."""

    def __init__(self) -> None:
        self.users = 0
        self.value: Any = None
        self.close: Callable[[], None] = lambda: None

    @contextmanager
    def use(self, open_: Callable[[], tuple[Any, Callable[[], None]]]) -> Iterator[Any]:
        if self.users == 0:
            self.value, self.close = open_()
        self.users += 1
        try:
            yield self.value
        finally:
            self.users -= 1
            if self.users == 0:
                self.close()
                self.value = None


_servers: dict[int, _Shared] = {}
_browser = _Shared()


@pytest.fixture(scope="session")
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    def start() -> tuple[LiveServer, Callable[[], None]]:
        server = LiveServer(app)
        server.start()
        return server, server.stop

    with _servers.setdefault(id(app), _Shared()).use(start) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole session."""
    executable = chromium_path()
    if executable is None:
        # CI must drive the real browser: a skip there would hide the portal's browser tests.
        message = "Chromium is not installed (make install installs Debian's chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)

    def launch() -> tuple[Browser, Callable[[], None]]:
        playwright = sync_playwright().start()
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)

        def close() -> None:
            chromium.close()
            playwright.stop()

        return chromium, close

    with _browser.use(launch) as chromium:
        yield chromium


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh desktop-sized page (its own cookies) for one test."""
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()
