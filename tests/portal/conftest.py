"""Portal fixtures: an anonymous browser-like client (`portal`), fresh per test, and
`probe_app`: the real app plus probe routes that answer who the access dependencies say is
looking (tests of access, settings and headers need no page layout)."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from tally.app import create_app
from tally.db import Database
from tally.portal.access import LinkViewer, SessionViewer, TokenViewer, Viewer
from tally.settings import Settings
from tests.portal.helpers import portal_client


@pytest.fixture
def portal(app: FastAPI) -> Iterator[TestClient]:
    """A customer's browser: no API key, its own cookie jar, redirects not followed."""
    client = portal_client(app)
    yield client
    client.close()


def _describe(viewer: Viewer) -> dict[str, Any]:
    return {
        "customerId": viewer.customer.id,
        "accountId": viewer.account.id,
        "legalName": viewer.customer.legal_name,
        "via": viewer.via,
        "basePath": viewer.base_path,
        "tabs": [tab.value for tab in viewer.settings.tabs],
    }


@pytest.fixture(scope="module")
def probe_app(settings: Settings, database: Database) -> FastAPI:
    app = create_app(settings, database)
    probes = APIRouter()

    @probes.get("/portal/c/{portal_key}/_probe")
    def by_link(viewer: LinkViewer) -> dict[str, Any]:
        return _describe(viewer)

    @probes.get("/portal/s/_probe")
    def by_cookie(viewer: SessionViewer) -> dict[str, Any]:
        return _describe(viewer)

    @probes.get("/portal/api/_probe")
    def by_token(viewer: TokenViewer) -> dict[str, Any]:
        return _describe(viewer)

    app.include_router(probes)
    return app
