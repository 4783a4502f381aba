"""Who may look at a portal: permanent links, session tokens and cookies, and their failures.

The access dependencies are exercised through probe routes mounted on a second app built
by `create_app` on the same database, so these tests do not depend on any page's layout
(the pages' own tests open them the same way).
"""

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tally.app import create_app
from tally.core.clock import utcnow
from tally.db import Database
from tally.settings import Settings
from tests.factories import new_customer
from tests.portal.helpers import (
    COOKIE,
    issue_session,
    link_path,
    open_session,
    portal_client,
    put_settings,
    revoke_session,
    rotate_link,
    set_session_expiry,
)
from tests.support.api_client import ApiClient


@pytest.fixture
def visitor(probe_app: FastAPI) -> Iterator[TestClient]:
    client = portal_client(probe_app)
    yield client
    client.close()


def _signed_in(probe_app: FastAPI, session: dict[str, Any]) -> TestClient:
    client = portal_client(probe_app)
    assert open_session(client, session).status_code == 303
    return client


def _assert_refused_page(response: Any, status: int, *secrets: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    for secret in secrets:
        assert secret not in response.text


def test_the_customer_answer_carries_its_portal_link(api: ApiClient) -> None:
    customer = new_customer(api, legalName="Globex")
    assert customer["portalUrl"].startswith("http://127.0.0.1:8000/portal/c/")
    key = customer["portalUrl"].rsplit("/", 1)[-1]
    assert len(key) >= 40 and customer["id"] not in customer["portalUrl"]
    assert api.get(f"/api/customers/{customer['id']}").json()["portalUrl"] == customer["portalUrl"]
    listed = {item["id"]: item for item in api.get("/api/customers").json()["items"]}
    assert listed[customer["id"]]["portalUrl"] == customer["portalUrl"]
    archived = api.post(f"/api/customers/{customer['id']}/archive").json()
    # An archived customer's portal still shows its invoices (tests/portal/test_archived.py).
    assert archived["portalUrl"] == customer["portalUrl"]


def test_a_link_opens_its_customer_only(api: ApiClient, visitor: TestClient) -> None:
    globex = new_customer(api, legalName="Globex")
    initech = new_customer(api, legalName="Initech")
    seen = visitor.get(link_path(globex) + "/_probe")
    assert seen.status_code == 200
    assert seen.json()["customerId"] == globex["id"]
    assert seen.json()["via"] == "link"
    assert seen.json()["basePath"] == link_path(globex)
    assert visitor.get(link_path(initech) + "/_probe").json()["customerId"] == initech["id"]


def test_an_unknown_link_is_a_404_page(api: ApiClient, visitor: TestClient) -> None:
    customer = new_customer(api, legalName="Globex")
    unknown = visitor.get("/portal/c/not-a-real-key/_probe")
    _assert_refused_page(unknown, 404)
    assert "no billing portal at this address" in unknown.text
    # An archived customer's link still opens its (closed) portal: test_archived.py.
    api.post(f"/api/customers/{customer['id']}/archive")
    assert visitor.get(link_path(customer) + "/_probe").status_code == 200


def test_the_session_token_becomes_an_http_only_cookie(api: ApiClient, visitor: TestClient) -> None:
    customer = new_customer(api, legalName="Globex")
    session = issue_session(api, customer["id"])
    assert session["url"] == f"http://127.0.0.1:8000/portal/session?token={session['token']}"
    expires = session["expires_at"]
    lifetime = datetime.fromisoformat(expires) - utcnow()
    assert timedelta(minutes=59) < lifetime <= timedelta(hours=1)

    exchanged = open_session(visitor, session)
    assert exchanged.status_code == 303
    assert exchanged.headers["location"] == "/portal/s"
    assert session["token"] not in exchanged.headers["location"]
    cookie = exchanged.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={session['token']};")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/portal" in cookie
    assert "Secure" not in cookie  # plain http here; see the embedding test for Secure
    assert exchanged.headers["referrer-policy"] == "no-referrer"

    seen = visitor.get("/portal/s/_probe")
    assert seen.status_code == 200
    assert seen.json() | {"tabs": None} == {
        "customerId": customer["id"],
        "accountId": seen.json()["accountId"],
        "legalName": "Globex",
        "via": "session",
        "basePath": "/portal/s",
        "tabs": None,
    }
    by_header = visitor.get("/portal/api/_probe", headers={"X-Session-Token": session["token"]})
    assert by_header.json()["customerId"] == customer["id"]
    assert by_header.json()["via"] == "token"


def test_an_embeddable_portal_sets_a_cross_site_cookie(api: ApiClient, probe_app: FastAPI) -> None:
    customer = new_customer(api)
    assert put_settings(api, frameAncestors=["https://app.example.com"]).status_code == 200
    visitor = portal_client(probe_app, base_url="https://testserver")
    exchanged = open_session(visitor, issue_session(api, customer["id"]))
    cookie = exchanged.headers["set-cookie"]
    assert "SameSite=none" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    assert visitor.get("/portal/s/_probe").json()["customerId"] == customer["id"]


@pytest.mark.parametrize("failure", ["expired", "tampered", "revoked", "rotated"])
def test_a_dead_session_gets_a_clear_page_and_no_data(
    api: ApiClient, probe_app: FastAPI, database: Database, failure: str
) -> None:
    customer = new_customer(api, legalName="Globex Secret Corp")
    session = issue_session(api, customer["id"])
    visitor = _signed_in(probe_app, session)
    assert visitor.get("/portal/s/_probe").status_code == 200

    token = session["token"]
    if failure == "expired":
        set_session_expiry(database, token, utcnow() - timedelta(seconds=1))
    elif failure == "tampered":
        token = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
        visitor = portal_client(probe_app)
        visitor.headers["Cookie"] = f"{COOKIE}={token}"
    elif failure == "revoked":
        revoke_session(database, token, utcnow())
    else:
        rotate_link(api, customer["id"])

    page = visitor.get("/portal/s/_probe")
    _assert_refused_page(page, 401, "Globex", customer["id"])
    assert "This link has expired" in page.text and "Ask the company" in page.text
    again = portal_client(probe_app).get("/portal/session", params={"token": token})
    _assert_refused_page(again, 401, "Globex")
    assert "set-cookie" not in again.headers
    by_header = portal_client(probe_app).get(
        "/portal/api/_probe", headers={"X-Session-Token": token}
    )
    assert by_header.status_code == 401
    assert by_header.json()["error"]["type"] == "Unauthorized"
    assert "www-authenticate" not in by_header.headers
    assert "Globex" not in by_header.text


def test_no_credential_at_all_is_refused(visitor: TestClient) -> None:
    _assert_refused_page(visitor.get("/portal/s/_probe"), 401)
    _assert_refused_page(visitor.get("/portal/session"), 401)
    _assert_refused_page(visitor.get("/portal/session?token=" + "x" * 500), 401)
    assert visitor.get("/portal/api/_probe").status_code == 401


def test_rotating_the_link_kills_the_old_link_and_its_sessions(
    api: ApiClient, probe_app: FastAPI, visitor: TestClient
) -> None:
    customer = new_customer(api, legalName="Globex")
    old_session = issue_session(api, customer["id"])
    cookie_holder = _signed_in(probe_app, old_session)

    rotated = rotate_link(api, customer["id"])
    assert rotated["id"] == customer["id"]
    assert rotated["portalUrl"] != customer["portalUrl"]
    assert api.get(f"/api/customers/{customer['id']}").json()["portalUrl"] == rotated["portalUrl"]

    _assert_refused_page(visitor.get(link_path(customer) + "/_probe"), 404, "Globex")
    assert visitor.get(link_path(rotated) + "/_probe").json()["customerId"] == customer["id"]
    _assert_refused_page(cookie_holder.get("/portal/s/_probe"), 401, "Globex")
    _assert_refused_page(open_session(portal_client(probe_app), old_session), 401)
    new_session = _signed_in(probe_app, issue_session(api, customer["id"]))
    assert new_session.get("/portal/s/_probe").json()["customerId"] == customer["id"]


def test_tokens_never_show_another_customer(
    api: ApiClient, other_api: ApiClient, probe_app: FastAPI
) -> None:
    mine = new_customer(api, legalName="Mine")
    neighbour = new_customer(api, legalName="Neighbour")
    foreign = new_customer(other_api, legalName="Foreign")
    for owner, customer in ((api, mine), (api, neighbour), (other_api, foreign)):
        session = issue_session(owner, customer["id"])
        visitor = _signed_in(probe_app, session)
        seen = visitor.get("/portal/s/_probe").json()
        assert seen["customerId"] == customer["id"]
        header = {"X-Session-Token": session["token"]}
        assert visitor.get("/portal/api/_probe", headers=header).json() == seen | {"via": "token"}
    # Another account cannot issue sessions or rotate links for these customers.
    assert other_api.post(f"/api/customers/{mine['id']}/portal-sessions").status_code == 404
    assert other_api.post(f"/api/customers/{mine['id']}/portal-link/rotate").status_code == 404
    assert api.get(f"/api/customers/{mine['id']}").json()["portalUrl"] == mine["portalUrl"]


def test_flexprice_sessions_by_external_id(api: ApiClient, probe_app: FastAPI) -> None:
    customer = new_customer(api, legalName="Globex", customerAliases=["globex-42"])
    response = api.get("/v1/customers/portal/globex-42")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "url", "expires_at"}
    visitor = _signed_in(probe_app, body)
    assert visitor.get("/portal/s/_probe").json()["customerId"] == customer["id"]
    assert api.get(f"/v1/customers/portal/{customer['id']}").status_code == 200
    assert api.get("/v1/customers/portal/nobody").status_code == 404
    assert portal_client(probe_app).get("/v1/customers/portal/globex-42").status_code == 401
    api.post(f"/api/customers/{customer['id']}/archive")
    closed = api.get("/v1/customers/portal/globex-42")
    assert closed.status_code == 400
    assert closed.json()["error"]["type"] == "CustomerArchived"


def test_sessions_last_as_configured(
    api: ApiClient, settings: Settings, database: Database
) -> None:
    short = settings.model_copy(update={"portal_session_ttl_seconds": 60})
    client = ApiClient(
        TestClient(create_app(short, database), raise_server_exceptions=False), api.auth
    )
    customer = new_customer(client)
    session = issue_session(client, customer["id"])
    expires = datetime.fromisoformat(session["expires_at"])
    assert timedelta(seconds=50) < expires - utcnow() <= timedelta(seconds=60)
