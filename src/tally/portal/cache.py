"""A per-process cache of rendered portal pages, checked against the database on every request.

A portal page costs milliseconds of Python (statements built, rows loaded, Babel, Jinja) for
data that rarely changes between two looks. Each worker process keeps the last
`MAX_ENTRIES` page bodies it rendered (LRU), and serves one again only when nothing it shows
can have changed.

The key: account id, customer id, how the viewer came in (`via`) and its `base_path` (links
differ per access path; a session page never prints the permanent link), the request's path
and query string, the account's local date (pages show "today"-relative data: open periods,
overdue invoices, usable credits) and the current UTC hour (the 1d graph is the last 24 hours).
The account and customer rows' `updated_at` are part of it too (names, logo, time zone,
currency, address): the viewer lookup loaded them already. So one customer's page is never
served to another customer or account: the key says whose it is.

The check: every request, hit or miss, reads the "data version" of what the pages show for
this customer in the same query that looks the viewer up (`version_columns`: correlated
subqueries beside the customer's row, so no round trip of its own):

- usage: the newest rollup id (and the number of rollups) of the account's metrics for the
  customer's names (its id and live aliases), the same for the UNIQUE metrics' value rows,
  the metrics' and the aliases' latest `updated_at` and counts. Rollups are append-only and a
  recomputed bucket gets new rows, so new usage always raises the newest id. Every lookup
  walks the rollups' (metric, alias, day) index and the other tables' (account, customer)
  indexes (EXPLAIN on PostgreSQL: index-only or index scans, no table scan);
- invoices, credit grants, credit ledger entries, billing schedules and their phases: the
  latest `updated_at` and the count (a deletion lowers the count);
- the account's prices and products, the same (subscriptions are named after their prices'
  products, usage costs come from the prices);
- the account's portal settings: `updated_at`.

`tests/portal/test_cache_coverage.py` renders every page and JSON endpoint and fails naming a
table a cached response reads that this version (or the key) does not cover.

The stored body is served only when the version equals the one it was rendered at;
otherwise the page is rendered again and replaces the entry.

Limits, by design:
- it trusts `updated_at`: a write that changes a row without stamping it (raw SQL outside
  the ORM's flush hook; every bulk `update()` in Tally sets it) is not seen until the entry
  is evicted or the day or hour changes; so is a change to what the version does not cover:
  tax rates and contacts (an invoice page shows them as the document was built; the list
  pages do not show them);
- the 1d graph reads usage events by hour; it is seen as changed because ingestion writes the
  events' rollups in the same transaction;
- per process: each worker renders its own first copy; memory is bounded by the entry count
  (pages are a few tens of kB: about 30-60 MB at 1,024 entries at worst);
- error pages, redirects and PDFs are never stored: only a page rendered whole with status 200.
  The JSON usage endpoint keeps its response model the same way (`cached_result`, `RESULTS`).

Browsers still get `Cache-Control: no-store` and a fresh CSP nonce on every response: the body
is stored with `NONCE_PLACEHOLDER` (a random per-process value, never sent to anyone) where the
nonce goes, replaced with the request's nonce on the way out.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tally.core.clock import local_today, utcnow
from tally.portal.access import Viewer
from tally.portal.security import csp_nonce

_T = TypeVar("_T")

MAX_ENTRIES = 1024
# Rendered in place of the CSP nonce in stored bodies; unguessable, so no customer data or
# query string can carry it.
NONCE_PLACEHOLDER = "n" + secrets.token_hex(16)


@dataclass(frozen=True)
class _Entry:
    version: tuple[Any, ...]
    body: Any


class PageCache:
    """An LRU of page bodies, thread-safe (pages render on the thread pool)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def get(self, key: tuple[Any, ...], version: tuple[Any, ...]) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.version != version:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry.body

    def put(self, key: tuple[Any, ...], version: tuple[Any, ...], body: Any) -> None:
        with self._lock:
            self._entries[key] = _Entry(version, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


PAGES = PageCache()  # page bodies (str)
RESULTS = PageCache()  # the JSON API's response models, serialized per response by FastAPI


def page_key(request: Request, viewer: Viewer) -> tuple[Any, ...]:
    account, customer = viewer.account, viewer.customer
    now = utcnow()
    return (
        account.id,
        customer.id,
        viewer.via,
        viewer.base_path,
        request.url.path,
        str(request.query_params),
        local_today(account.timezone, now),
        now.replace(minute=0, second=0, microsecond=0),
        account.updated_at,
        customer.updated_at,
        viewer.has_grants,
    )


def cached_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    render: Callable[[], Response],
    cache: PageCache = PAGES,
) -> Response:
    """The page `render` makes, or the stored copy when its data version is unchanged.

    `render` must render its body with `NONCE_PLACEHOLDER` as the nonce when
    `request.state.portal_nonce_placeholder` is true and put the rendered body in
    `request.state.portal_body` (`pages._page` does); the response gets the request's own
    nonce either way."""
    key = page_key(request, viewer)
    version = viewer.data_version
    body: str | None = cache.get(key, version)
    if body is not None:
        return HTMLResponse(body.replace(NONCE_PLACEHOLDER, csp_nonce(request)))
    request.state.portal_nonce_placeholder = True
    request.state.portal_body = None
    response = render()
    stored: str | None = request.state.portal_body
    if stored is not None and response.status_code == 200 and isinstance(response, HTMLResponse):
        cache.put(key, version, stored)
    return response


def cached_result(
    request: Request,
    session: Session,
    viewer: Viewer,
    work: Callable[[], _T],
    cache: PageCache = RESULTS,
) -> _T:
    """For the JSON API: what `work` returns (a response model, never mutated afterwards), or
    the stored one when its data version is unchanged. Errors `work` raises are not stored."""
    key = page_key(request, viewer)
    version = viewer.data_version
    found = cache.get(key, version)
    if found is not None:
        return cast(_T, found)
    result = work()
    cache.put(key, version, result)
    return result
