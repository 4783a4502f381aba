"""/api/portal-settings: defaults, validation (an invalid body changes nothing), and a portal
turned off answering 404 everywhere."""

from typing import Any

import pytest
from fastapi import FastAPI

from tests.factories import new_customer
from tests.portal.helpers import issue_session, link_path, open_session, portal_client, put_settings
from tests.support.api_client import ApiClient

VALID: dict[str, Any] = {
    "enabled": True,
    "logoUrl": "https://cdn.example.com/logo.png",
    "brandColor": "#1A2B3C",
    "applicationUrl": "https://app.example.com/billing",
    "tabs": ["USAGE", "OVERVIEW", "INVOICES", "USAGE"],
    "frameAncestors": [
        "https://app.example.com/",
        "HTTPS://*.Example.org",
        "http://localhost:3000",
    ],
}


def test_an_account_starts_with_the_defaults(api: ApiClient) -> None:
    response = api.get("/api/portal-settings")
    assert response.status_code == 200
    assert response.json() == {
        "enabled": True,
        "tabs": ["OVERVIEW", "INVOICES", "USAGE", "CREDITS"],
        "frameAncestors": [],
    }


def test_settings_are_saved_normalized(api: ApiClient, other_api: ApiClient) -> None:
    saved = put_settings(api, **VALID)
    assert saved.status_code == 200, saved.text
    expected = {
        "enabled": True,
        "logoUrl": "https://cdn.example.com/logo.png",
        "brandColor": "#1a2b3c",
        "applicationUrl": "https://app.example.com/billing",
        "tabs": ["OVERVIEW", "INVOICES", "USAGE"],
        "frameAncestors": [
            "https://app.example.com",
            "https://*.example.org",
            "http://localhost:3000",
        ],
    }
    assert saved.json() == expected
    assert api.get("/api/portal-settings").json() == expected
    # PUT replaces the whole set; omitted fields take their defaults.
    assert put_settings(api, brandColor="#000000").json() == {
        "enabled": True,
        "brandColor": "#000000",
        "tabs": ["OVERVIEW", "INVOICES", "USAGE", "CREDITS"],
        "frameAncestors": [],
    }
    # Another account's settings are its own.
    assert other_api.get("/api/portal-settings").json()["frameAncestors"] == []


def test_a_small_data_url_logo_is_accepted(api: ApiClient) -> None:
    logo = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4="
    assert put_settings(api, logoUrl=logo).json()["logoUrl"] == logo


INVALID: list[tuple[str, Any]] = [
    ("brandColor", "red"),
    ("brandColor", "#12345"),
    ("brandColor", "#12345g"),
    ("brandColor", "#123456; background:url(x)"),
    ("applicationUrl", "javascript:alert(1)"),
    ("applicationUrl", "ftp://files.example.com"),
    ("applicationUrl", "https://"),
    ("applicationUrl", "https://app.example.com/a b"),
    ("applicationUrl", 'https://app.example.com/"><script>'),
    ("logoUrl", "javascript:alert(1)"),
    ("logoUrl", "data:text/html,<script>alert(1)</script>"),
    ("logoUrl", "https://cdn.example.com/" + "x" * 2000),
    ("tabs", []),
    ("tabs", ["OVERVIEW", "BILLING"]),
    ("enabled", "maybe"),
    ("frameAncestors", ["*"]),
    ("frameAncestors", ["https:"]),
    ("frameAncestors", ["'self'"]),
    ("frameAncestors", ["app.example.com"]),
    ("frameAncestors", ["https://app.example.com/embed"]),
    ("frameAncestors", ["https://app.example.com; script-src *"]),
    ("frameAncestors", ["https://app.example.com 'unsafe-inline'"]),
    ("frameAncestors", ["https://*"]),
    ("frameAncestors", ["https://*.com"]),
    ("frameAncestors", ["https://app.*.example.com"]),
    ("frameAncestors", ["https://app.example.com:99999"]),
    ("frameAncestors", ["ws://app.example.com"]),
    ("frameAncestors", ["https://user@app.example.com"]),
    ("frameAncestors", [f"https://a{n}.example.com" for n in range(21)]),
]


@pytest.mark.parametrize(("field", "value"), INVALID)
def test_invalid_settings_change_nothing(api: ApiClient, field: str, value: Any) -> None:
    before = put_settings(api, **VALID).json()
    response = put_settings(api, **{**VALID, field: value})
    assert response.status_code == 400, f"{field}={value!r}: {response.text}"
    error = response.json()["error"]
    assert error["type"] == "ValidationError"
    assert error["details"][0]["field"].startswith(field)
    assert api.get("/api/portal-settings").json() == before


def test_settings_need_the_api_key(portal: Any) -> None:
    assert portal.get("/api/portal-settings").status_code == 401
    assert portal.put("/api/portal-settings", json={"enabled": False}).status_code == 401


def test_a_portal_turned_off_answers_404_everywhere(
    api: ApiClient, other_api: ApiClient, probe_app: FastAPI
) -> None:
    customer = new_customer(api, legalName="Globex")
    neighbour = new_customer(other_api, legalName="Elsewhere")
    session = issue_session(api, customer["id"])
    signed_in = portal_client(probe_app)
    assert open_session(signed_in, session).status_code == 303

    assert put_settings(api, enabled=False).status_code == 200
    visitor = portal_client(probe_app)
    for response in (
        visitor.get(link_path(customer) + "/_probe"),
        signed_in.get("/portal/s/_probe"),
        open_session(portal_client(probe_app), session),
    ):
        assert response.status_code == 404
        assert "Globex" not in response.text
        assert "no billing portal" in response.text
    by_token = visitor.get("/portal/api/_probe", headers={"X-Session-Token": session["token"]})
    assert by_token.status_code == 404
    assert by_token.json()["error"]["type"] == "NotFound"
    # Other accounts keep their portal.
    assert visitor.get(link_path(neighbour) + "/_probe").status_code == 200

    assert put_settings(api, enabled=True).status_code == 200
    assert visitor.get(link_path(customer) + "/_probe").status_code == 200
    assert signed_in.get("/portal/s/_probe").status_code == 200


def test_the_viewer_sees_the_chosen_tabs(api: ApiClient, probe_app: FastAPI) -> None:
    customer = new_customer(api)
    put_settings(api, tabs=["INVOICES", "OVERVIEW"])
    seen = portal_client(probe_app).get(link_path(customer) + "/_probe").json()
    assert seen["tabs"] == ["OVERVIEW", "INVOICES"]
