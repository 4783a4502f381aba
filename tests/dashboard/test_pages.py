"""The dashboard over HTTP: signing in and out, pages that need a session, cookies and
headers, the password page."""

from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tally.app import create_app
from tally.dashboard.security import secure_cookies
from tally.dashboard.web import SECTIONS
from tally.db import Database
from tally.settings import Settings
from tests.dashboard.helpers import (
    PASSWORD,
    Merchant,
    browser,
    csrf_token,
    live_sessions,
    page_token,
    sign_in,
    signed_in,
)
from tests.support.api_client import ApiClient

PAGES = ["/dashboard", "/dashboard/api-keys", "/dashboard/password"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_a_session(visitor: TestClient, path: str) -> None:
    answer = visitor.get(path)
    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    assert location.path == "/dashboard/sign-in"
    if path != "/dashboard":  # back where they were going, once signed in
        assert parse_qs(location.query) == {"next": [path]}


def test_sign_in_sets_a_session_cookie_and_opens_the_home_page(
    visitor: TestClient, database: Database, merchant: Merchant
) -> None:
    answer = sign_in(visitor, merchant.email.upper(), PASSWORD)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard"
    cookies = answer.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("tally_dashboard="))
    attributes = {part.strip().split("=")[0].lower() for part in session_cookie.split(";")}
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "Path=/dashboard" in session_cookie and "SameSite=lax" in session_cookie
    assert "Max-Age=43200" in session_cookie  # 12 hours by default
    assert "secure" not in attributes  # the test app's public URL is plain http on 127.0.0.1
    # The pre-session CSRF cookie has done its job.
    assert any(c.startswith("tally_dashboard_csrf=") and "Max-Age=0" in c for c in cookies)

    home = visitor.get("/dashboard")
    assert home.status_code == 200
    assert merchant.email in home.text
    assert 'href="/dashboard/api-keys"' in home.text
    assert live_sessions(database, merchant.user_id) == 1


def test_sign_in_goes_back_to_a_dashboard_page_only(app: FastAPI, merchant: Merchant) -> None:
    for next_path, destination in [
        ("/dashboard/api-keys", "/dashboard/api-keys"),
        ("https://evil.example/", "/dashboard"),
        ("//evil.example/dashboard", "/dashboard"),
        ("/api/customers", "/dashboard"),
    ]:
        with browser(app) as client:
            answer = sign_in(client, merchant.email, PASSWORD, next=next_path)
        assert answer.headers["location"] == destination


def test_a_wrong_password_signs_nobody_in(
    visitor: TestClient, database: Database, merchant: Merchant
) -> None:
    answer = sign_in(visitor, merchant.email, PASSWORD + "?")
    assert answer.status_code == 401
    assert "Wrong email or password." in answer.text
    assert "tally_dashboard=" not in answer.headers.get("set-cookie", "")
    unknown = sign_in(visitor, "nobody-" + merchant.email, PASSWORD)
    assert unknown.status_code == 401
    assert unknown.text.count("Wrong email or password.") == 1  # the same answer
    assert live_sessions(database, merchant.user_id) == 0
    assert visitor.get("/dashboard").status_code == 303


@pytest.mark.parametrize("token", [None, "", "forged"])
def test_sign_in_without_the_forms_csrf_token_is_refused(
    visitor: TestClient, database: Database, merchant: Merchant, token: str | None
) -> None:
    visitor.get("/dashboard/sign-in")  # the CSRF cookie is set; the form field is missing
    data = {"email": merchant.email, "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    answer = visitor.post("/dashboard/sign-in", data=data)
    assert answer.status_code == 403
    assert "Nothing was changed" in answer.text
    assert live_sessions(database, merchant.user_id) == 0


def test_sign_in_without_the_csrf_cookie_is_refused(
    app: FastAPI, database: Database, merchant: Merchant
) -> None:
    # A cross-site post carries a token it saw on its own copy of the form, not the cookie.
    with browser(app) as attacker:
        token = csrf_token(attacker.get("/dashboard/sign-in").text)
    with browser(app) as victim:
        answer = victim.post(
            "/dashboard/sign-in",
            data={"csrf_token": token, "email": merchant.email, "password": PASSWORD},
        )
    assert answer.status_code == 403
    assert live_sessions(database, merchant.user_id) == 0


def test_sign_out_ends_the_session(
    dashboard: TestClient, database: Database, merchant: Merchant
) -> None:
    token = page_token(dashboard)
    refused = dashboard.post("/dashboard/sign-out", data={})
    assert refused.status_code == 403
    assert live_sessions(database, merchant.user_id) == 1

    answer = dashboard.post("/dashboard/sign-out", data={"csrf_token": token})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/sign-in"
    assert live_sessions(database, merchant.user_id) == 0
    assert dashboard.get("/dashboard").status_code == 303


def test_a_stolen_cookie_dies_with_sign_out(
    app: FastAPI, dashboard: TestClient, merchant: Merchant
) -> None:
    cookie = dashboard.cookies.get("tally_dashboard")
    assert cookie
    dashboard.post("/dashboard/sign-out", data={"csrf_token": page_token(dashboard)})
    with browser(app) as thief:
        thief.cookies.set("tally_dashboard", cookie, path="/dashboard")
        assert thief.get("/dashboard").status_code == 303


def test_changing_the_password_signs_other_browsers_out(
    app: FastAPI, dashboard: TestClient, database: Database, merchant: Merchant
) -> None:
    other_browser = signed_in(app, merchant)
    new = "a brand new passphrase"
    form = {"current_password": PASSWORD, "new_password": new, "confirm_password": new}

    refused = dashboard.post("/dashboard/password", data=form)  # no CSRF token
    assert refused.status_code == 403
    assert other_browser.get("/dashboard").status_code == 200

    token = page_token(dashboard, "/dashboard/password")
    mismatch = dashboard.post(
        "/dashboard/password", data={**form, "confirm_password": "else", "csrf_token": token}
    )
    assert mismatch.status_code == 422
    wrong = dashboard.post(
        "/dashboard/password", data={**form, "current_password": "nope", "csrf_token": token}
    )
    assert wrong.status_code == 422
    assert "Current password is wrong." in wrong.text
    assert live_sessions(database, merchant.user_id) == 2

    changed = dashboard.post("/dashboard/password", data={**form, "csrf_token": token})
    assert changed.status_code == 200
    assert "Your password was changed" in changed.text
    assert dashboard.get("/dashboard").status_code == 200
    assert other_browser.get("/dashboard").status_code == 303
    other_browser.close()
    with browser(app) as fresh:
        assert sign_in(fresh, merchant.email, PASSWORD).status_code == 401
        assert sign_in(fresh, merchant.email, new).status_code == 303


def test_dashboard_responses_are_locked_down(dashboard: TestClient) -> None:
    for path in ("/dashboard", "/dashboard/sign-in", "/dashboard/api-keys"):
        headers = dashboard.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src 'self';" in csp  # nothing inline
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-store"
    stylesheet = dashboard.get("/dashboard/static/dashboard.css")
    assert stylesheet.status_code == 200
    assert "cache-control" not in stylesheet.headers
    assert dashboard.get("/portal/static/portal.css").status_code == 200  # the shared styles


@pytest.mark.parametrize(
    ("public_url", "configured", "secure"),
    [
        ("http://127.0.0.1:8000", None, False),
        ("http://localhost:8000", None, False),
        ("http://[::1]:8000", None, False),
        ("https://billing.example.com", None, True),
        ("http://billing.example.com", None, True),
        ("http://10.0.0.5:8000", None, True),
        ("http://127.0.0.1:8000", True, True),
        ("https://billing.example.com", False, False),
    ],
)
def test_cookies_are_secure_except_on_plain_local_http(
    public_url: str, configured: bool | None, secure: bool
) -> None:
    settings = Settings(public_url=public_url, dashboard_secure_cookies=configured)
    assert secure_cookies(settings) is secure


def test_a_secure_app_marks_its_cookies_secure(
    settings: Settings, database: Database, merchant: Merchant
) -> None:
    app = create_app(settings.model_copy(update={"dashboard_secure_cookies": True}), database)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        form = client.get("/dashboard/sign-in")
        assert "; Secure" in form.headers["set-cookie"]
        answer = sign_in(client, merchant.email, PASSWORD)
        assert answer.status_code == 303
        session_cookie = next(
            c for c in answer.headers.get_list("set-cookie") if c.startswith("tally_dashboard=")
        )
        assert "; Secure" in session_cookie
        assert client.get("/dashboard").status_code == 200


def test_a_signed_in_browser_skips_the_sign_in_form(dashboard: TestClient) -> None:
    answer = dashboard.get("/dashboard/sign-in", params={"next": "/dashboard/api-keys"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/api-keys"


def test_the_navigation_shows_only_sections_that_have_a_page(dashboard: TestClient) -> None:
    home = dashboard.get("/dashboard").text
    assert 'href="/dashboard/api-keys"' in home
    for _, path in SECTIONS:  # sections others build appear once their page exists
        exists = dashboard.get(path).status_code != 404
        assert (f'href="{path}"' in home) is exists, path


def test_nul_characters_are_refused_everywhere_and_change_nothing(
    dashboard: TestClient, api: ApiClient
) -> None:
    # PostgreSQL refuses NUL in text and SQLite keeps it: refused up front, both answer 400.
    for _, path in SECTIONS:
        answer = dashboard.get(path, params={"search": "a\x00b", "name": "\x00"})
        assert answer.status_code == 400, path
        assert "NUL characters" in answer.text
    token = page_token(dashboard, "/dashboard/customers/new")
    form = {"csrf_token": token, "legal_name": "Nul\x00 Ltd", "address_country": "GB"}
    refused = dashboard.post("/dashboard/customers/new", data=form)
    assert refused.status_code == 400 and "NUL characters" in refused.text
    assert api.get("/api/customers").json()["items"] == []


def test_the_servers_address_leads_to_the_dashboards_sign_in(visitor: TestClient) -> None:
    home = visitor.get("/")
    assert home.status_code == 307
    assert home.headers["location"] == "/dashboard"
    dashboard = visitor.get("/dashboard")
    assert dashboard.status_code == 303
    assert dashboard.headers["location"].startswith("/dashboard/sign-in")
