"""The portal's page cache (`portal/cache.py`): a page is served again only while its data
version is unchanged; new usage, invoices, grants and settings show at once; entries are never
shared between customers or accounts; the size is bounded; every response has its own nonce."""

from __future__ import annotations

import re
import threading
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tally.db import Database
from tally.portal import cache
from tests.factories import new_customer
from tests.metering.helpers import event, send
from tests.portal.helpers import (
    issue_session,
    link_path,
    portal_client,
    put_settings,
    signed_in_client,
)
from tests.portal.portal_scenario import Seed000, build_seed_000, utc_today
from tests.portal.test_pages import _grant, api_customer, get_page, sent_invoice, text_of
from tests.support.api_client import ApiClient


@pytest.fixture
def seed(api: ApiClient, app: FastAPI, account: Credentials) -> Seed000:
    return build_seed_000(api, app, account.account_id)


@pytest.fixture
def portal(app: FastAPI) -> TestClient:
    return portal_client(app)


def without_nonce(page: str) -> str:
    return re.sub(r'nonce="[^"]*"', 'nonce=""', page)


def hits() -> int:
    return cache.PAGES.hits


def test_an_unchanged_page_is_served_from_the_cache_with_a_fresh_nonce(
    portal: TestClient, api: ApiClient, seed: Seed000
) -> None:
    assert put_settings(api, brandColor="#123abc").status_code == 200  # a nonce'd <style>
    first = portal.get(seed.link + "/usage")
    before = hits()
    second = portal.get(seed.link + "/usage")
    assert hits() == before + 1
    assert without_nonce(second.text) == without_nonce(first.text)
    nonces = [re.search(r'nonce="([^"]+)"', r.text) for r in (first, second)]
    assert nonces[0] and nonces[1] and nonces[0][1] != nonces[1][1]
    assert cache.NONCE_PLACEHOLDER not in second.text
    assert f"'nonce-{nonces[1][1]}'" in second.headers["content-security-policy"]
    assert "no-store" in second.headers["cache-control"]


def test_new_usage_shows_at_once(portal: TestClient, api: ApiClient, seed: Seed000) -> None:
    path = seed.link + "/usage"
    get_page(portal, path)
    before = text_of(get_page(portal, path))
    send(api, *(event("globex", f"{utc_today().isoformat()}T00:00:00Z") for _ in range(7)))
    after = text_of(get_page(portal, path))
    assert after != before
    calls = seed.calls_this_period
    assert f"{calls + 7:,}" in after or str(calls + 7) in after


def test_the_json_usage_shows_new_usage_at_once(
    portal: TestClient, api: ApiClient, seed: Seed000
) -> None:
    headers = {"X-Session-Token": issue_session(api, seed.customer_id)["token"]}

    def calls() -> int:
        response = portal.get("/portal/api/usage", headers=headers)
        assert response.status_code == 200, response.text
        return int(
            next(
                metric["eventCount"]
                for group in response.json()["groups"]
                for metric in group["metrics"]
                if metric["metricId"] == seed.calls_metric_id
            )
        )

    first = calls()
    assert calls() == first
    send(api, *(event("globex", f"{utc_today().isoformat()}T00:00:00Z") for _ in range(3)))
    assert calls() == first + 3


def test_new_usage_leaves_the_pages_without_usage_cached(
    portal: TestClient, api: ApiClient, seed: Seed000
) -> None:
    """Streaming usage changes the usage pages' version with every batch; the invoice list
    and Credits show no usage and stay cached (`versions.without_usage`), the Usage page
    shows the new usage at once."""
    quiet = [seed.link + "/invoices", seed.link + "/credits"]
    first = {path: text_of(get_page(portal, path)) for path in quiet}
    usage = text_of(get_page(portal, seed.link + "/usage"))
    send(api, *(event("globex", f"{utc_today().isoformat()}T00:00:00Z") for _ in range(5)))
    before = hits()
    assert {path: text_of(get_page(portal, path)) for path in quiet} == first
    assert hits() == before + len(quiet)
    assert text_of(get_page(portal, seed.link + "/usage")) != usage
    assert hits() == before + len(quiet)  # rendered again


def test_concurrent_misses_render_a_page_once() -> None:
    """The requests that find a page missing at the same version wait for the first one's
    render and serve its body; another version renders apart."""
    pages = cache.PageCache()
    renders: list[str] = []
    started = threading.Event()

    def request(version: int) -> str:
        found = pages.get(("page",), (version,))
        if found is None:
            with pages.rendering(("page",), (version,)) as first:
                if not first:
                    found = pages.get(("page",), (version,))
                if found is None:
                    renders.append(f"v{version}")
                    started.set()
                    time.sleep(0.2)  # the other requests arrive meanwhile
                    found = f"body v{version}"
                    pages.put(("page",), (version,), found)
        return found

    bodies: list[str] = []
    first = threading.Thread(target=lambda: bodies.append(request(1)))
    first.start()
    assert started.wait(5)
    others = [threading.Thread(target=lambda: bodies.append(request(1))) for _ in range(4)]
    for thread in others:
        thread.start()
    for thread in [first, *others]:
        thread.join(10)
    assert renders == ["v1"]
    assert bodies == ["body v1"] * 5
    assert pages.waits == 4
    assert request(2) == "body v2"  # new data: rendered, never the old body
    assert renders == ["v1", "v2"]


def test_a_failed_render_lets_the_waiting_requests_render() -> None:
    pages = cache.PageCache()
    inside = threading.Event()
    release = threading.Event()
    outcome: list[bool] = []

    def failing() -> None:
        try:
            with pages.rendering(("page",), (1,)):
                inside.set()
                release.wait(5)
                raise RuntimeError("render failed")
        except RuntimeError:
            pass

    def waiting() -> None:
        with pages.rendering(("page",), (1,)) as first:
            outcome.append(first)
            outcome.append(pages.get(("page",), (1,)) is None)  # nothing stored: renders

    renderer = threading.Thread(target=failing)
    renderer.start()
    assert inside.wait(5)
    waiter = threading.Thread(target=waiting)
    waiter.start()
    time.sleep(0.1)
    release.set()
    for thread in (renderer, waiter):
        thread.join(10)
    assert outcome == [False, True]
    with pages.rendering(("page",), (1,)) as first:  # nothing left registered
        assert first


def test_a_sent_invoice_shows_at_once(
    portal: TestClient, api: ApiClient, database: Database, account: Credentials, seed: Seed000
) -> None:
    path = seed.link + "/invoices"
    assert "INV-FRESH" not in get_page(portal, path)
    get_page(portal, path)
    customer = api_customer(api, seed.customer_id)
    sent_invoice(database, account.account_id, customer, "INV-FRESH")
    assert "INV-FRESH" in get_page(portal, path)
    assert "INV-FRESH" in get_page(portal, seed.link)  # the overview's recent invoices


def test_a_new_grant_shows_at_once(
    portal: TestClient, database: Database, account: Credentials, seed: Seed000
) -> None:
    path = seed.link + "/credits"
    assert "Fresh grant" not in get_page(portal, path)
    _grant(database, account.account_id, seed.customer_id, "Fresh grant", None)
    assert "Fresh grant" in get_page(portal, path)


def test_a_settings_change_shows_at_once(portal: TestClient, api: ApiClient, seed: Seed000) -> None:
    assert "#123abc" not in get_page(portal, seed.link)
    assert put_settings(api, brandColor="#123abc").status_code == 200
    assert "#123abc" in get_page(portal, seed.link)
    assert put_settings(api, tabs=["OVERVIEW", "USAGE"]).status_code == 200
    assert portal.get(seed.link + "/invoices").status_code == 404


def test_a_rotated_link_stops_at_once(portal: TestClient, api: ApiClient, seed: Seed000) -> None:
    get_page(portal, seed.link + "/usage")
    rotated = api.post(f"/api/customers/{seed.customer_id}/portal-link/rotate")
    assert rotated.status_code == 200, rotated.text
    assert portal.get(seed.link + "/usage").status_code == 404


def test_pages_are_never_shared_between_customers_or_accounts(
    portal: TestClient, api: ApiClient, other_api: ApiClient
) -> None:
    mine = new_customer(api, legalName="Mine Ltd")
    theirs = new_customer(api, legalName="Theirs Ltd")
    elsewhere = new_customer(other_api, legalName="Elsewhere Ltd")
    for _ in range(2):  # the second round is served from the cache
        for customer, name in ((mine, "Mine Ltd"), (theirs, "Theirs Ltd"),
                               (elsewhere, "Elsewhere Ltd")):  # fmt: skip
            for path in ("", "/invoices", "/usage"):
                page = get_page(portal, link_path(customer) + path)
                assert name in page
                others = {"Mine Ltd", "Theirs Ltd", "Elsewhere Ltd"} - {name}
                assert not any(other in page for other in others)


def test_a_session_page_is_not_the_link_page(
    app: FastAPI, api: ApiClient, portal: TestClient, seed: Seed000
) -> None:
    get_page(portal, seed.link)
    by_session = get_page(signed_in_client(app, api, seed.customer_id), "/portal/s")
    assert seed.portal_key not in by_session


def test_the_cache_is_bounded_and_least_recently_used_goes_first() -> None:
    pages = cache.PageCache(max_entries=2)
    pages.put(("a",), (1,), "A")
    pages.put(("b",), (1,), "B")
    assert pages.get(("a",), (1,)) == "A"  # a is now the most recent
    pages.put(("c",), (1,), "C")
    assert len(pages) == 2
    assert pages.get(("b",), (1,)) is None
    assert pages.get(("a",), (1,)) == "A"
    assert pages.get(("a",), (2,)) is None  # another data version: not served


def test_error_pages_are_not_cached(portal: TestClient) -> None:
    before = len(cache.PAGES)
    assert portal.get("/portal/c/unknown-key/usage").status_code == 404
    assert len(cache.PAGES) == before
