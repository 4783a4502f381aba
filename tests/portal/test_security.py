"""Headers on every /portal answer: CSP (frame-ancestors, nonces), no referrer, no caching,
no sniffing; and the error page escapes what it prints."""

from typing import Any

import pytest
from fastapi import FastAPI
from starlette.requests import Request

from tally.portal.access import PortalPageError, error_page
from tally.portal.security import content_security_policy, security_headers
from tally.portal.settings import PortalSettingsView
from tests.factories import new_customer
from tests.portal.helpers import link_path, portal_client, put_settings
from tests.support.api_client import ApiClient


def _directives(response: Any) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))  # type: ignore[misc]


def test_a_portal_page_is_locked_down_by_default(api: ApiClient, probe_app: FastAPI) -> None:
    customer = new_customer(api)
    response = portal_client(probe_app).get(link_path(customer) + "/_probe")
    assert response.status_code == 200
    csp = _directives(response)
    assert csp["default-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"  # no nonce used here
    assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"


def test_allowed_origins_may_embed_the_portal(api: ApiClient, probe_app: FastAPI) -> None:
    customer = new_customer(api)
    origins = ["https://app.example.com", "https://*.example.org"]
    put_settings(api, frameAncestors=origins, logoUrl="https://cdn.example.net/l.png")
    response = portal_client(probe_app).get(link_path(customer) + "/_probe")
    csp = _directives(response)
    assert csp["frame-ancestors"] == "https://app.example.com https://*.example.org"
    assert csp["img-src"] == "'self' data: https://cdn.example.net"
    assert "x-frame-options" not in response.headers  # it would contradict the allowed origins


def test_failures_carry_the_strict_headers_too(probe_app: FastAPI) -> None:
    response = portal_client(probe_app).get("/portal/c/unknown/_probe")
    assert response.status_code == 404
    assert _directives(response)["frame-ancestors"] == "'none'"
    assert response.headers["cache-control"] == "no-store"
    # The error page's inline style is allowed by this response's nonce, and only by it.
    nonce = _directives(response)["style-src"].split("'nonce-")[1].rstrip("'")
    assert f'<style nonce="{nonce}">' in response.text
    again = portal_client(probe_app).get("/portal/c/unknown/_probe")
    assert nonce not in again.headers["content-security-policy"]


def test_the_api_keeps_its_own_headers(api: ApiClient) -> None:
    response = api.get("/api/portal-settings")
    assert "content-security-policy" not in response.headers
    assert "cache-control" not in response.headers


def test_static_assets_may_be_cached() -> None:
    headers = security_headers("/portal/static/portal.css", None, None)
    assert "Cache-Control" not in headers
    assert headers["Content-Security-Policy"].endswith("frame-ancestors 'none'")


@pytest.mark.parametrize("logo", ["data:image/png;base64,AAAA", "/files/logo.png", None])
def test_only_a_web_logo_adds_an_image_origin(logo: str | None) -> None:
    policy = content_security_policy(PortalSettingsView(logo_url=logo), "n0nce")
    assert "img-src 'self' data:;" in policy
    assert "script-src 'self' 'nonce-n0nce'" in policy


def test_the_error_page_escapes_what_it_prints() -> None:
    request = Request({"type": "http", "method": "GET", "path": "/portal/x", "headers": []})
    page = error_page(request, PortalPageError(404, "<script>alert(1)</script>", "a & <b>"))
    body = bytes(page.body).decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "a &amp; &lt;b&gt;" in body
