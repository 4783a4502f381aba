"""The portal cache's data version covers every table a cached page reads.

`portal/cache.py` serves a stored page while the data version (`portal/versions.py`, a
hand-kept list of what pages read) is unchanged, so a table a page reads and the version
misses shows stale data (it happened once). This renders every portal page and JSON endpoint
for a customer with data in every table they read, records the tables each statement names
(at the cursor: ORM, Core and literal SQL alike), and fails naming any table a response the
cache stored read without the version (or the cache key) covering it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import Base
from tally.portal import cache, versions
from tests.alerts.helpers import drain
from tests.portal.helpers import issue_session, portal_client, put_settings
from tests.portal.portal_scenario import Seed000, build_seed_000
from tests.support.api_client import ApiClient

TABLES = frozenset(Base.metadata.tables)

# Part of the cache key (`cache.page_key`): their rows' `updated_at`.
IN_THE_KEY = {"accounts", "customers"}

# Read by a cached response, covered through another table the version reads: a change to
# them always changes that one in the same transaction.
THROUGH = {
    "usage_events": "ingestion writes the events' rollups (usage_rollups) in its transaction",
    "invoice_line_items": "written with their invoice, which is stamped (invoices)",
    "invoice_line_item_groups": "written with their invoice, which is stamped (invoices)",
    "billing_schedule_phase_prices": (
        "written only with their phase (an update rewrites a schedule's phases, new rows)"
    ),
    "tax_rate_versions": "immutable: a change is a new version, an invoice names the one it used",
    # Who is looking, checked on every request before the cache is asked: not page data.
    "portal_sessions": "the viewer's session, checked before the cache (access.py)",
}


def _named(sql: str) -> set[str]:
    """The tables a statement reads: names after FROM, JOIN or a FROM list's comma."""
    found = re.findall(r'(?:\bFROM|\bJOIN|,)\s+"?(\w+)"?(?![.\w])', sql, flags=re.IGNORECASE)
    return {name for name in found if name in TABLES}


# Covered only through the usage parts of the version (`versions.USAGE_PARTS`).
THROUGH_USAGE = {"usage_events"}


def covered(reads_usage: bool = True) -> set[str]:
    """What the data version reads, from its own SQL, and what the key holds; for a page
    stored without the usage parts (`versions.without_usage`), without what only they read."""
    parts = (
        versions._VERSION_PARTS if reads_usage else versions._VERSION_PARTS[versions.USAGE_PARTS :]
    )
    version = set().union(*(_named(part) for part in parts))
    through = THROUGH.keys() if reads_usage else THROUGH.keys() - THROUGH_USAGE
    return version | IN_THE_KEY | through


class Recorder:
    def __init__(self) -> None:
        self.tables: set[str] = set()

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # The viewer's lookup carries the version itself: what the version reads is not
        # what the page reads.
        for part in versions._VERSION_PARTS:
            statement = statement.replace(part, "NULL")
        self.tables |= _named(statement)


@pytest.fixture
def recorder(database: Database) -> Iterator[Recorder]:
    recording = Recorder()
    event.listen(database.engine, "before_cursor_execute", recording)
    yield recording
    event.remove(database.engine, "before_cursor_execute", recording)


@pytest.fixture
def seed(api: ApiClient, app: FastAPI, account: Credentials, database: Database) -> Seed000:
    found = build_seed_000(api, app, account.account_id)
    assert put_settings(api, brandColor="#123abc").status_code == 200
    # An alert, fired (a balance below its level): the Overview reads alerts and firings.
    alert = {
        "name": "Low credits", "type": "CREDIT_BALANCE", "customerId": found.customer_id,
        "metricId": found.verification_metric_id, "threshold": "1000000",
    }  # fmt: skip
    assert api.post("/api/alerts", json=alert).status_code == 201
    drain(database)
    return found


def _stored() -> int:
    return len(cache.PAGES) + len(cache.RESULTS) + cache.PAGES.hits + cache.RESULTS.hits


def _reads(
    client: TestClient, recorder: Recorder, path: str, **kwargs: Any
) -> tuple[set[str], bool] | None:
    """The tables `path` read, when the cache stored (or served) its response, and whether
    it was stored with the usage parts of the version; else None."""
    cache.PAGES.clear()
    cache.RESULTS.clear()
    before = _stored()
    recorder.tables = set()
    response = client.get(path, **kwargs)
    assert response.status_code == 200, (path, response.text[:500])
    if _stored() == before:
        return None
    [version] = cache.PAGES.versions() + cache.RESULTS.versions()
    return recorder.tables, versions.reads_usage(version)


def test_every_table_a_cached_response_reads_is_in_its_version(
    app: FastAPI, api: ApiClient, seed: Seed000, recorder: Recorder
) -> None:
    portal = portal_client(app)
    link = seed.link
    pages = [
        link,
        *(f"{link}?range={r}" for r in ("1d", "7d", "30d", "period")),
        f"{link}/invoices",
        f"{link}/invoices?status=paid",
        f"{link}/invoices/{seed.sent_invoice_id}",
        f"{link}/usage",
        f"{link}/usage?period={seed.last_period_start.isoformat()}",
        *(f"{link}/usage?range={r}" for r in ("1d", "7d", "30d")),
        f"{link}/credits",
    ]
    token = {"X-Session-Token": issue_session(api, seed.customer_id)["token"]}
    endpoints = [
        "/portal/api/profile",
        "/portal/api/subscriptions",
        "/portal/api/invoices",
        "/portal/api/wallet",
        "/portal/api/alerts",
        "/portal/api/usage",
        *(f"/portal/api/usage?range={r}" for r in ("1d", "7d", "30d")),
        f"/portal/api/usage?period={seed.last_period_start.isoformat()}",
    ]
    read: dict[str, tuple[set[str], bool]] = {}
    for path in pages:
        if (found := _reads(portal, recorder, path)) is not None:
            read[path] = found
    for path in endpoints:
        if (found := _reads(portal, recorder, path, headers=token)) is not None:
            read[path] = found
    assert f"{link}/invoices/{seed.sent_invoice_id}" in read, "the cached pages were recorded"
    assert "/portal/api/usage" in read
    # The pages that show no usage are stored without the usage parts (so streaming usage
    # leaves them cached); everything else with them.
    without_usage = {f"{link}/invoices", f"{link}/invoices?status=paid", f"{link}/credits"}
    without_usage.add(f"{link}/invoices/{seed.sent_invoice_id}")
    assert {path for path, (_, usage) in read.items() if not usage} == without_usage
    missed = {path: sorted(tables - covered(usage)) for path, (tables, usage) in read.items()}
    gaps = [f"{path}: {', '.join(tables)}" for path, tables in missed.items() if tables]
    assert not gaps, "read by cached portal responses, not in portal/versions.py:\n" + "\n".join(
        gaps
    )


def test_the_recorder_sees_the_tables_of_a_statement() -> None:
    sql = (
        'SELECT invoices.id, customers.legal_name FROM invoices JOIN "customers" ON x '
        "LEFT OUTER JOIN prices AS p ON y, products WHERE invoices.id IN "
        "(SELECT r.id FROM usage_rollups r)"
    )
    assert _named(sql) == {"invoices", "customers", "prices", "products", "usage_rollups"}
    assert {"invoices", "usage_rollups", "portal_settings"} <= covered()


def test_a_renamed_product_shows_at_once(app: FastAPI, api: ApiClient, seed: Seed000) -> None:
    """A gap the coverage test found: subscriptions are named after their prices' products."""
    portal = portal_client(app)
    assert "Verification API" in portal.get(seed.link).text
    products = api.get("/api/products", params={"limit": 100}).json()["items"]
    [product] = [p for p in products if p["name"] == "Verification API"]
    renamed = {"name": "Identity checks", "label": product["label"]}
    assert api.put(f"/api/products/{product['id']}", json=renamed).status_code == 200
    page = portal.get(seed.link).text
    assert "Identity checks" in page
    assert "Verification API" not in page
