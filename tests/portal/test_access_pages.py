"""The access rules on the real portal pages: a link or a cookie opens its customer's pages,
with the portal's headers, names escaped; a dead credential gets the clear page."""

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tally.core.clock import utcnow
from tally.db import Database
from tests.factories import new_customer
from tests.portal.helpers import (
    issue_session,
    link_path,
    portal_client,
    put_settings,
    rotate_link,
    set_session_expiry,
    signed_in_client,
)
from tests.support.api_client import ApiClient

HOSTILE = '<script>alert("pwned")</script> & <b>Sons</b>'
PAGES = ("", "/invoices", "/usage")


def test_a_link_opens_the_pages_with_the_customer_name(api: ApiClient, portal: TestClient) -> None:
    customer = new_customer(api, legalName="Globex Corporation")
    for page in PAGES:
        response = portal.get(link_path(customer) + page)
        assert response.status_code == 200, (page, response.text[:500])
        assert "Globex Corporation" in response.text
        assert response.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["referrer-policy"] == "no-referrer"


def test_names_with_html_are_escaped(api: ApiClient, portal: TestClient) -> None:
    customer = new_customer(
        api,
        legalName=HOSTILE,
        address={
            "line1": '<img src=x onerror="alert(1)">',
            "town": "London",
            "postcode": "AB1 2EF",
            "country": "GB",
        },
    )
    for page in PAGES:
        response = portal.get(link_path(customer) + page)
        assert response.status_code == 200
        assert "<script>alert" not in response.text
        assert "<b>Sons</b>" not in response.text
        assert "<img src=x" not in response.text
        assert "&lt;script&gt;alert(" in response.text


def test_a_cookie_opens_its_own_customer_only(
    api: ApiClient, other_api: ApiClient, app: FastAPI
) -> None:
    mine = new_customer(api, legalName="Mine Ltd")
    neighbour = new_customer(api, legalName="Neighbour Ltd")
    foreign = new_customer(other_api, legalName="Foreign Ltd")
    for owner, customer, others in (
        (api, mine, ("Neighbour Ltd", "Foreign Ltd")),
        (api, neighbour, ("Mine Ltd", "Foreign Ltd")),
        (other_api, foreign, ("Mine Ltd", "Neighbour Ltd")),
    ):
        browser = signed_in_client(app, owner, customer["id"])
        for page in PAGES:
            response = browser.get("/portal/s" + page)
            assert response.status_code == 200, (page, response.text[:500])
            assert customer["legalName"] in response.text
            for name in others:
                assert name not in response.text
            # Links on the page stay in the session's space, never the permanent link.
            assert customer["portalUrl"] not in response.text


def test_dead_credentials_show_no_data_on_the_pages(
    api: ApiClient, app: FastAPI, database: Database
) -> None:
    customer = new_customer(api, legalName="Globex Hidden")
    session = issue_session(api, customer["id"])
    browser = portal_client(app)
    assert browser.get(session["url"].split("8000", 1)[1]).status_code == 303
    set_session_expiry(database, session["token"], utcnow() - timedelta(minutes=1))
    for page in PAGES:
        response = browser.get("/portal/s" + page)
        assert response.status_code == 401
        assert "This link has expired" in response.text
        assert "Globex Hidden" not in response.text

    old_link = link_path(customer)
    rotate_link(api, customer["id"])
    for page in PAGES:
        response = browser.get(old_link + page)
        assert response.status_code == 404
        assert "Globex Hidden" not in response.text


def test_a_portal_turned_off_hides_every_page(api: ApiClient, app: FastAPI) -> None:
    customer = new_customer(api, legalName="Switched Off Ltd")
    browser = signed_in_client(app, api, customer["id"])
    put_settings(api, enabled=False)
    visitor = portal_client(app)
    for page in (*PAGES, "/credits"):
        for client, url in ((visitor, link_path(customer) + page), (browser, "/portal/s" + page)):
            response = client.get(url)
            assert response.status_code == 404, url
            assert "Switched Off Ltd" not in response.text
