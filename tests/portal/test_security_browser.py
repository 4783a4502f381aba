"""Embedding, in a real browser: another origin framing the portal is refused by Chromium
(CSP frame-ancestors), unless the account lists that origin.

Two local origins: the portal (the test app served by uvicorn on 127.0.0.1) and an
"embedder" (a small HTTP server on another port whose page holds an iframe of the portal).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page

from tests.factories import new_customer
from tests.portal.browser import LiveServer, browser, live_server, page  # noqa: F401
from tests.portal.helpers import link_path, put_settings
from tests.support.api_client import ApiClient
from tests.support.serving import free_port


class Embedder:
    """An origin of its own serving `/embed?src=URL`: a page with that URL in an iframe."""

    def __init__(self) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                src = self.path.split("src=", 1)[1] if "src=" in self.path else ""
                body = (
                    "<!doctype html><title>Merchant app</title><h1>Merchant app</h1>"
                    f'<iframe id="portal" src="{src}" width="800" height="600"></iframe>'
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url_for(self, src: str) -> str:
        return f"{self.origin}/embed?src={src}"


@pytest.fixture(scope="module")
def embedder() -> Iterator[Embedder]:
    server = Embedder()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _embed(tab: Page, embedder: Embedder, portal_url: str) -> tuple[str | None, list[str]]:
    """Open the embedder's page framing `portal_url`: the frame's text (None when the frame
    shows no portal) and the console messages."""
    messages: list[str] = []
    tab.on("console", lambda message: messages.append(message.text))
    tab.goto(embedder.url_for(portal_url))
    tab.wait_for_load_state("load")
    tab.wait_for_timeout(300)
    frame = tab.frame_locator("#portal")
    try:
        text: str | None = frame.locator("body").inner_text(timeout=2000)
    except Exception:  # the frame never shows a document we may read
        text = None
    return text, messages


def _refused(text: str | None, messages: list[str], name: str) -> bool:
    return (text is None or name not in text) and any("frame-ancestors" in m for m in messages)


def test_a_non_allowed_origin_cannot_frame_the_portal(
    api: ApiClient,
    live_server: LiveServer,  # noqa: F811
    page: Page,  # noqa: F811
    embedder: Embedder,
) -> None:
    customer = new_customer(api, legalName="Framed Globex")
    portal_url = live_server.url + link_path(customer)

    # Default: embeddable by nobody.
    text, messages = _embed(page, embedder, portal_url)
    assert _refused(text, messages, "Framed Globex"), (text, messages)

    # Allowed origins that are not the embedder's: still refused.
    put_settings(api, frameAncestors=["https://app.example.com"])
    text, messages = _embed(page, embedder, portal_url)
    assert _refused(text, messages, "Framed Globex"), (text, messages)


def test_an_allowed_origin_frames_the_portal(
    api: ApiClient,
    live_server: LiveServer,  # noqa: F811
    page: Page,  # noqa: F811
    embedder: Embedder,
) -> None:
    customer = new_customer(api, legalName="Framed Initech")
    put_settings(api, frameAncestors=[embedder.origin])
    text, messages = _embed(page, embedder, live_server.url + link_path(customer))
    assert text is not None and "Framed Initech" in text, (text, messages)
    assert not any("frame-ancestors" in m for m in messages)
