"""Bad portal credentials are throttled per client address, like bad API keys and by the same
limiter: past `auth_failure_limit` refused links, cookies or tokens, every portal request from
that address answers 429 with Retry-After; other addresses are unaffected.

Each test has an app of its own with the limit on (the shared test app has it off) and
browsers at made-up client addresses."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tally.app import create_app
from tally.db import Database
from tally.ops.limits import Limits
from tally.settings import Settings
from tests.factories import new_customer
from tests.portal.helpers import COOKIE, issue_session, link_path, open_session
from tests.support.api_client import ApiClient

LIMIT = 3
WINDOW = 60.0  # a failure is forgiven every WINDOW / LIMIT = 20 s
NOISY = "203.0.113.7"  # documentation addresses (RFC 5737)
QUIET = "198.51.100.9"


@pytest.fixture(scope="module")
def limited_app(settings: Settings, database: Database) -> FastAPI:
    limits = {"auth_failure_limit": LIMIT, "auth_failure_window_seconds": WINDOW}
    return create_app(settings.model_copy(update=limits), database)


@pytest.fixture
def throttled_app(limited_app: FastAPI) -> FastAPI:
    """The app with a fresh count: each test starts with no failures anywhere."""
    settings: Settings = limited_app.state.settings
    limited_app.state.limits = Limits(
        per_minute=settings.rate_limit_per_minute,
        ingestion_per_minute=settings.ingestion_rate_limit_per_minute,
        failures=settings.auth_failure_limit,
        failure_window=settings.auth_failure_window_seconds,
    )
    return limited_app


def browser(app: FastAPI, address: str) -> TestClient:
    """A customer's browser at `address`: its own cookies, redirects not followed."""
    return TestClient(
        app, raise_server_exceptions=False, follow_redirects=False, client=(address, 50000)
    )


def _tampered(secret: str) -> str:
    return secret[:-1] + ("A" if secret[-1] != "A" else "B")


# One bad credential of each kind, as a request from a browser.
BadRequest = Callable[[TestClient, dict[str, Any], str], httpx.Response]
BAD: dict[str, BadRequest] = {
    "link": lambda client, customer, token: client.get(_tampered(link_path(customer))),
    "cookie": lambda client, customer, token: client.get(
        "/portal/s/invoices", headers={"Cookie": f"{COOKIE}={_tampered(token)}"}
    ),
    "token": lambda client, customer, token: client.get(
        "/portal/api/profile", headers={"X-Session-Token": _tampered(token)}
    ),
    "exchange": lambda client, customer, token: client.get(
        "/portal/session", params={"token": _tampered(token)}
    ),
}
REFUSED = {"link": 404, "cookie": 401, "token": 401, "exchange": 401}
PAGE_KINDS = ("link", "cookie", "exchange")


def assert_throttled(response: httpx.Response, *hidden: str, page: bool) -> None:
    assert response.status_code == 429, response.text[:300]
    assert 1 <= int(response.headers["retry-after"]) <= WINDOW / LIMIT
    if page:  # the portal's error page, as strict as every portal answer
        assert response.headers["content-type"].startswith("text/html")
        assert "Too many attempts" in response.text
        assert response.headers["cache-control"] == "no-store"
    else:  # the API's error shape
        assert response.json()["error"]["type"] == "TooManyRequests"
    assert "set-cookie" not in response.headers
    for secret in hidden:
        assert secret not in response.text


@pytest.mark.parametrize("kind", sorted(BAD))
def test_repeated_bad_credentials_of_each_kind_get_429(
    throttled_app: FastAPI, api: ApiClient, kind: str
) -> None:
    customer = new_customer(api, legalName="Throttle Target Ltd")
    token = str(issue_session(api, customer["id"])["token"])
    noisy = browser(throttled_app, NOISY)
    for _ in range(LIMIT):
        assert BAD[kind](noisy, customer, token).status_code == REFUSED[kind]
    assert_throttled(BAD[kind](noisy, customer, token), "Throttle Target", page=kind in PAGE_KINDS)


def test_once_throttled_an_address_waits_and_others_are_unaffected(
    throttled_app: FastAPI, api: ApiClient
) -> None:
    customer = new_customer(api, legalName="Shared Office Ltd")
    token = str(issue_session(api, customer["id"])["token"])
    noisy = browser(throttled_app, NOISY)
    # Failures of every kind fill the one count of the address.
    for kind in ("link", "cookie", "token"):
        assert BAD[kind](noisy, customer, token).status_code == REFUSED[kind]
    assert_throttled(BAD["exchange"](noisy, customer, token), page=True)

    # From that address even good credentials wait (as with API keys), and show nothing.
    name = "Shared Office"
    assert_throttled(noisy.get(link_path(customer)), name, page=True)
    assert_throttled(
        noisy.get("/portal/api/profile", headers={"X-Session-Token": token}), name, page=False
    )
    assert_throttled(open_session(noisy, issue_session(api, customer["id"])), page=True)

    # Another address opens the portal with every kind of credential.
    quiet = browser(throttled_app, QUIET)
    assert name in quiet.get(link_path(customer)).text
    profile = quiet.get("/portal/api/profile", headers={"X-Session-Token": token})
    assert profile.status_code == 200 and profile.json()["name"] == "Shared Office Ltd"
    assert open_session(quiet, issue_session(api, customer["id"])).status_code == 303
    assert name in quiet.get("/portal/s").text
    # And its own mistakes are its own: refused, not throttled.
    assert BAD["link"](quiet, customer, token).status_code == 404


def test_good_and_missing_credentials_are_not_counted(
    throttled_app: FastAPI, api: ApiClient
) -> None:
    customer = new_customer(api, legalName="Regular Visitor Ltd")
    token = str(issue_session(api, customer["id"])["token"])
    visitor = browser(throttled_app, NOISY)
    for _ in range(2 * LIMIT):
        assert visitor.get(link_path(customer)).status_code == 200
        api_answer = visitor.get("/portal/api/profile", headers={"X-Session-Token": token})
        assert api_answer.status_code == 200
        # No cookie (a bookmark, an expired cookie the browser dropped) and no header.
        assert visitor.get("/portal/s").status_code == 401
        assert visitor.get("/portal/api/profile").status_code == 401
        assert visitor.get("/portal/session").status_code == 401
    # Not a single failure counted: the limit's worth of bad ones still only gets refusals.
    for _ in range(LIMIT):
        assert BAD["link"](visitor, customer, token).status_code == 404
    assert BAD["link"](visitor, customer, token).status_code == 429


def test_bad_api_keys_and_bad_portal_links_count_apart(
    throttled_app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    customer = new_customer(api, legalName="Two Doors Ltd")
    noisy = browser(throttled_app, NOISY)
    wrong_key = (account.api_key, "not-the-secret")
    right_key = (account.api_key, account.api_secret)
    for _ in range(LIMIT):
        assert noisy.get(_tampered(link_path(customer))).status_code == 404
    assert_throttled(noisy.get(link_path(customer)), "Two Doors", page=True)
    assert noisy.get("/api/customers", auth=right_key).status_code == 200  # another budget
    for _ in range(LIMIT):
        assert noisy.get("/api/customers", auth=wrong_key).status_code == 401
    assert noisy.get("/api/customers", auth=right_key).status_code == 429
