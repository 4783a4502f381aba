"""URLs a merchant sets cannot reach into the portal's Content-Security-Policy (issue 16,
item 4).

`logoUrl: "https://img.example;frame-ancestors *;..."` was stored and copied into the portal's
CSP, so any site could frame the portal; `logoUrl` also took `javascript:` and `file:` URLs
that walk anywhere. One rule now holds for every URL a merchant sets (`core/urls.py`), and the
CSP is built from parsed origins only, so even a value stored before the rule adds nothing.
"""

from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from tally.core import urls
from tally.models import Account, PortalSettings
from tests.factories import new_customer
from tests.portal.helpers import link_path, portal_client, put_settings
from tests.support.api_client import ApiClient

INJECTED = "https://img.example;frame-ancestors *;script-src * 'unsafe-inline'"


def _directives(response: Any) -> list[tuple[str, str]]:
    policy = response.headers["content-security-policy"]
    return [tuple(part.strip().split(" ", 1)) for part in policy.split(";")]  # type: ignore[misc]


def _account_id(api: ApiClient) -> str:
    return str(api.get("/api/sequence-accounts").json()["items"][0]["id"])


@pytest.mark.parametrize(
    "logo",
    [
        INJECTED,
        "https://img.example/logo.png,https://evil.example",
        "https://img.example/ logo.png",
        'https://img.example/"onerror="alert(1)',
        "https://img.example/\r\nSet-Cookie: x=1",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "vbscript:msgbox(1)",
        "ftp://img.example/logo.png",
        "http://img.example/logo.png",  # plain http off this machine
        "https://user:secret@img.example/logo.png",
        "//img.example/logo.png",
        "https:///logo.png",
        "file:///var/lib/tally/../../etc/passwd",
        "https://" + "a" * 2001,
    ],
)
def test_the_account_logo_follows_the_url_rule(api: ApiClient, logo: str) -> None:
    url = f"/api/sequence-accounts/{_account_id(api)}"
    before = api.get(url).json()
    answer = api.put(url, json={"logoUrl": logo})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "logoUrl"
    assert api.get(url).json() == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"logoUrl": INJECTED}, "logoUrl"),
        ({"applicationUrl": "https://app.example;frame-ancestors *"}, "applicationUrl"),
        ({"applicationUrl": "http://app.example.com"}, "applicationUrl"),
        ({"applicationUrl": "https://me:pw@app.example.com"}, "applicationUrl"),
        ({"frameAncestors": ["https://app.example.com;script-src *"]}, "frameAncestors"),
        ({"frameAncestors": ["https://app.example.com https://evil.example"]}, "frameAncestors"),
        ({"frameAncestors": ["http://app.example.com"]}, "frameAncestors"),
        ({"frameAncestors": ["*"]}, "frameAncestors"),
        ({"frameAncestors": ["https:"]}, "frameAncestors"),
        ({"frameAncestors": ["'self'"]}, "frameAncestors"),
    ],
)
def test_portal_settings_urls_follow_the_same_rule(
    api: ApiClient, fields: dict[str, Any], field: str
) -> None:
    before = api.get("/api/portal-settings").json()
    answer = put_settings(api, **fields)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["details"][0]["field"].split(".")[0] == field
    assert api.get("/api/portal-settings").json() == before


def test_loopback_http_and_ordinary_https_are_accepted(api: ApiClient) -> None:
    url = f"/api/sequence-accounts/{_account_id(api)}"
    for logo in (
        "https://cdn.example.com/brand/logo.png?v=2#top",
        "http://127.0.0.1:8000/logo.png",
        "http://localhost/logo.png",
        "http://[::1]:8080/logo.png",
    ):
        assert api.put(url, json={"logoUrl": logo}).status_code == 200, logo
    answer = put_settings(
        api,
        applicationUrl="http://localhost:3000/app",
        frameAncestors=["https://APP.example.com:443/", "http://127.0.0.1:3000"],
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["frameAncestors"] == ["https://app.example.com", "http://127.0.0.1:3000"]


def test_the_csp_takes_the_logos_origin_only(app: FastAPI, api: ApiClient) -> None:
    customer = new_customer(api)
    url = f"/api/sequence-accounts/{_account_id(api)}"
    logo = {"logoUrl": "https://CDN.Example.com:443/a/logo.png"}
    assert api.put(url, json=logo).status_code == 200
    page = portal_client(app).get(link_path(customer))
    assert page.status_code == 200
    directives = dict(_directives(page))
    assert directives["img-src"] == "'self' data: https://cdn.example.com"
    assert directives["frame-ancestors"] == "'none'"


def test_values_stored_before_the_rule_add_nothing_to_the_csp(app: FastAPI, api: ApiClient) -> None:
    """As a database written before this rule holds them: the header is built from parsed
    origins, so an injected directive never reaches it."""
    customer = new_customer(api)
    account_id = _account_id(api)
    assert put_settings(api, frameAncestors=["https://app.example.com"]).status_code == 200
    with app.state.db.transaction() as session:
        session.execute(update(Account).where(Account.id == account_id).values(logo_url=INJECTED))
        session.execute(
            update(PortalSettings)
            .where(PortalSettings.account_id == account_id)
            .values(
                logo_url=None,  # the account's logo applies
                frame_ancestors=["https://app.example.com", "https://x.example;script-src *"],
            )
        )
    page = portal_client(app).get(link_path(customer))
    assert page.status_code == 200
    directives = _directives(page)
    names = [name for name, _ in directives]
    assert len(names) == len(set(names)), names  # no directive added or repeated
    shown = dict(directives)
    assert shown["frame-ancestors"] == "https://app.example.com"
    assert shown["img-src"] == "'self' data:"
    assert shown["script-src"].startswith("'self'") and "*" not in shown["script-src"]


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://img.example/logo.png", "https://img.example"),
        ("https://IMG.example:8443/l.png", "https://img.example:8443"),
        ("https://img.example:443/l.png", "https://img.example"),
        ("http://[::1]:8080/l.png", "http://[::1]:8080"),
        (INJECTED, None),
        ("https://img.example/a;b", None),
        ("http://img.example/l.png", None),
        ("data:image/png;base64,AAAA", None),
        ("https://img.exa_mple/l.png", None),
        ("https://img.example:0/l.png", None),
        ("https://img.example:99999/l.png", None),
    ],
)
def test_an_origin_is_rebuilt_from_its_parts(url: str, origin: str | None) -> None:
    assert urls.origin(url) == origin
