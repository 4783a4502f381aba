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

Pages that show no usage (the invoice list, an invoice, Credits: `reads_usage=False`) keep
the usage parts out of their version (`versions.without_usage`): while usage streams in,
every batch changes the rollups, and those pages would be rendered again for nothing. The
coverage test fails if such a page reads usage (rollups, their values or events).

While usage streams in, a usage page's version changes with every batch, and the concurrent
requests that find it changed would all render the same page at once. Only the first renders
(`PageCache.rendering`): the others, holding the same key and the same version (read in
their own lookup, before they asked), wait for it and serve its body; data read after their
version was, so never older than what they would have rendered. If the first fails or renders
nothing storable (an error page), each renders its own, as before; a waiter gives up after
`RENDER_WAIT_SECONDS`.

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tally.core.clock import local_today, utcnow
from tally.portal.access import Viewer
from tally.portal.security import csp_nonce
from tally.portal.versions import without_usage

_T = TypeVar("_T")

MAX_ENTRIES = 1024
# How long a request waits for another's render of the same page and version before it
# renders its own (a render is milliseconds; this bounds a stuck one).
RENDER_WAIT_SECONDS = 5.0
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
        self._rendering: dict[tuple[Any, ...], threading.Event] = {}
        self.hits = 0
        self.misses = 0
        self.waits = 0  # requests that waited for another's render

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

    def versions(self) -> list[tuple[Any, ...]]:
        """The stored entries' versions (for tests)."""
        with self._lock:
            return [entry.version for entry in self._entries.values()]

    @contextmanager
    def rendering(self, key: tuple[Any, ...], version: tuple[Any, ...]) -> Iterator[bool]:
        """Around the render of a page missing at `version`: yields True to the first request
        (it renders), False to the others once the first has finished (they `get` again)."""
        turn = (key, version)
        with self._lock:
            running = self._rendering.get(turn)
            if running is None:
                mine = self._rendering[turn] = threading.Event()
        if running is not None:
            self.waits += 1
            running.wait(RENDER_WAIT_SECONDS)
            yield False
            return
        try:
            yield True
        finally:
            with self._lock:
                del self._rendering[turn]
            mine.set()


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


def page_version(viewer: Viewer, reads_usage: bool) -> tuple[Any, ...]:
    """The data version a page is stored at: all of it, or without the usage parts."""
    return viewer.data_version if reads_usage else without_usage(viewer.data_version)


def cached_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    render: Callable[[], Response],
    cache: PageCache = PAGES,
    *,
    reads_usage: bool = True,
) -> Response:
    """The page `render` makes, or the stored copy when its data version is unchanged.

    `render` must render its body with `NONCE_PLACEHOLDER` as the nonce when
    `request.state.portal_nonce_placeholder` is true and put the rendered body in
    `request.state.portal_body` (`pages._page` does); the response gets the request's own
    nonce either way. `reads_usage=False` only for a page that shows no usage."""
    key = page_key(request, viewer)
    version = page_version(viewer, reads_usage)
    body: str | None = cache.get(key, version)
    if body is None:
        with cache.rendering(key, version) as first:
            if not first:
                body = cache.get(key, version)
            if body is None:
                return _render(request, cache, key, version, render)
    return HTMLResponse(body.replace(NONCE_PLACEHOLDER, csp_nonce(request)))


def _render(
    request: Request,
    cache: PageCache,
    key: tuple[Any, ...],
    version: tuple[Any, ...],
    render: Callable[[], Response],
) -> Response:
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
    if found is None:
        with cache.rendering(key, version) as first:
            if not first:
                found = cache.get(key, version)
            if found is None:
                found = work()
                cache.put(key, version, found)
    return cast(_T, found)
