"""Shared portal test helpers: customers with portal links, session tokens, a browser-less
client with its own cookie jar. Additive: other portal tests import these."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from tally.core.hashing import hash_token
from tally.db import Database
from tally.models import PortalSession
from tests.support.api_client import ApiClient

COOKIE = "tally_portal"


def portal_client(app: FastAPI, *, base_url: str = "http://testserver") -> TestClient:
    """An anonymous client, as a customer's browser: no API key, its own cookies, redirects
    not followed (tests look at them)."""
    return TestClient(app, base_url=base_url, raise_server_exceptions=False, follow_redirects=False)


def link_path(customer: dict[str, Any]) -> str:
    """`/portal/c/{portalKey}` from the customer's `portalUrl`."""
    return urlsplit(customer["portalUrl"]).path


def portal_key(customer: dict[str, Any]) -> str:
    return link_path(customer).rsplit("/", 1)[-1]


def issue_session(api: ApiClient, customer_id: str) -> dict[str, Any]:
    """`{token, url, expires_at}` for a customer of `api`'s account."""
    response = api.post(f"/api/customers/{customer_id}/portal-sessions")
    assert response.status_code == 201, response.text
    return dict(response.json())


def session_path(session: dict[str, Any]) -> str:
    """The path and query of a session's URL (`/portal/session?token=...`)."""
    parts = urlsplit(session["url"])
    return f"{parts.path}?{parts.query}"


def open_session(client: TestClient, session: dict[str, Any]) -> httpx.Response:
    """Exchange the token for the portal cookie (the response is the 303)."""
    return client.get(session_path(session))


def signed_in_client(app: FastAPI, api: ApiClient, customer_id: str) -> TestClient:
    """A client holding a live portal cookie for the customer."""
    client = portal_client(app)
    response = open_session(client, issue_session(api, customer_id))
    assert response.status_code == 303, response.text
    return client


def rotate_link(api: ApiClient, customer_id: str) -> dict[str, Any]:
    response = api.post(f"/api/customers/{customer_id}/portal-link/rotate")
    assert response.status_code == 200, response.text
    return dict(response.json())


def put_settings(api: ApiClient, **fields: Any) -> httpx.Response:
    return api.put("/api/portal-settings", json=fields)


def set_session_expiry(database: Database, token: str, expires_at: datetime) -> None:
    """Move a session's expiry (to make it expired without waiting)."""
    with database.transaction() as session:
        session.execute(
            update(PortalSession)
            .where(PortalSession.token_hash == hash_token(token))
            .values(expires_at=expires_at)
        )


def revoke_session(database: Database, token: str, at: datetime) -> None:
    with database.transaction() as session:
        session.execute(
            update(PortalSession)
            .where(PortalSession.token_hash == hash_token(token))
            .values(revoked_at=at)
        )
