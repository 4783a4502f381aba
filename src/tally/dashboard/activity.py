"""The "Activity" section of the customer and invoice pages: the newest entries of the activity
log about the object (a customer's also about what belongs to it: its invoices, credit notes,
grants, schedules, contacts), read with one query (`tally.activity.queries.about`); and the
whole log about it, a page at a time (`/dashboard/customers/{id}/activity`,
`/dashboard/invoices/{id}/activity`), newest first.

Values are turned into short plain text here; the template escapes them like anything else.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from tally.activity import queries
from tally.dashboard.labels import label
from tally.dashboard.sessions import Viewer
from tally.dashboard.web import render
from tally.models import ActorType
from tally.schedules.queries import schedule_names

SHOWN = 20
PAGE_SIZE = 50  # entries on a page of the full log
MAX_VALUE = 160  # characters of one value before it is cut


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class ActivityRow:
    when: datetime
    who: str
    name: str
    summary: str
    reason: str | None
    changes: list[Change]
    # What the entry is about, as a link to its page (None: a thing without a page).
    link: str | None = None
    link_text: str = ""


# The pages of what entries are about: object type -> (words, path of object id, target id).
PAGES: dict[str, tuple[str, Callable[[str, str | None], str | None]]] = {
    "INVOICE": ("Invoice", lambda id_, _: f"/dashboard/invoices/{id_}"),
    "CUSTOMER": ("Customer", lambda id_, _: f"/dashboard/customers/{id_}"),
    "BILLING_SCHEDULE": ("Billing schedule", lambda id_, _: f"/dashboard/billing-schedules/{id_}"),
    "PRODUCT": ("Product", lambda id_, _: f"/dashboard/catalog/products/{id_}"),
    "PRICE": (
        "Price",
        lambda id_, product: (
            f"/dashboard/catalog/products/{product}#price-{id_}" if product else None
        ),
    ),
    "CREDIT_GRANT": (
        "Credit grant",
        lambda id_, customer: (
            f"/dashboard/credits/customers/{customer}#grant-{id_}" if customer else None
        ),
    ),
    "TAX_RATE": ("Tax rate", lambda id_, _: f"/dashboard/catalog/tax-rates/{id_}"),
    "CREDIT_TOP_UP": (
        "Credit top-up",
        lambda id_, customer: (
            f"/dashboard/credits/customers/{customer}#top-up-{id_}" if customer else None
        ),
    ),
    "CREDIT_AUTO_RECHARGE": (
        "Auto-recharge",
        lambda _, customer: (
            f"/dashboard/credits/customers/{customer}#auto-recharge" if customer else None
        ),
    ),
    "CREDIT_RECHARGE": (
        "Recharge",
        lambda id_, customer: (
            f"/dashboard/credits/customers/{customer}#recharge-{id_}" if customer else None
        ),
    ),
}


def _text(value: Any) -> str:
    if value is None or value in ("", []):
        return "\u2014"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value.isupper() and value.replace("_", "").isalpha():
        return label(value)  # a code (status, frequency ...) in words, when it reads one way
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "\u2026"


def _who(logged: queries.Logged) -> str:
    entry = logged.entry
    if entry.actor_type is ActorType.USER:
        return entry.actor_email or "A dashboard user"
    if entry.actor_type is ActorType.API_KEY:
        return f"API key {logged.api_key_name or entry.actor_id}"
    return "Tally"


def _link(entry: Any, names: dict[str, str]) -> dict[str, Any]:
    page = PAGES.get(entry.object_type)
    if page is None:
        return {}
    words, path = page
    return {
        "link": path(entry.object_id, entry.target_id),
        "link_text": names.get(entry.object_id, words),
    }


def _rows(session: Session, account_id: str, entries: list[queries.Logged]) -> list[ActivityRow]:
    """Each entry as shown, linking to the page of what it is about (schedules by name: one
    more query for all of them)."""
    names = schedule_names(
        session,
        account_id,
        [e.entry.object_id for e in entries if e.entry.object_type == "BILLING_SCHEDULE"],
    )
    return [
        ActivityRow(
            when=logged.entry.created_at,
            who=_who(logged),
            name=logged.entry.name,
            summary=logged.entry.summary,
            reason=logged.entry.reason,
            changes=[
                Change(
                    str(change.get("field")),
                    _text(change.get("before")),
                    _text(change.get("after")),
                )
                for change in logged.entry.changes
                if isinstance(change, dict)
            ],
            **_link(logged.entry, names),
        )
        for logged in entries
    ]


def recent(session: Session, account_id: str, entity_id: str) -> list[ActivityRow]:
    """The newest `SHOWN` entries about `entity_id`, newest first."""
    return _rows(session, account_id, queries.about(session, account_id, entity_id, limit=SHOWN))


@dataclass(frozen=True)
class ActivityPage:
    rows: list[ActivityRow]
    older: str | None  # the `before` of the next (older) page, if there is one
    first: bool  # the newest page


def page(
    session: Session, account_id: str, entity_id: str, before: str | None = None
) -> ActivityPage:
    """A page of `PAGE_SIZE` entries about `entity_id`, newest first, older than the entry
    `before` when given: one query (one entry more than shown says whether more follow), and
    one for the schedules' names among them."""
    found = queries.about(session, account_id, entity_id, limit=PAGE_SIZE + 1, before=before)
    rows = _rows(session, account_id, found[:PAGE_SIZE])
    older = found[PAGE_SIZE - 1].entry.id if len(found) > PAGE_SIZE else None
    return ActivityPage(rows=rows, older=older, first=before is None)


def page_response(
    request: Request,
    viewer: Viewer,
    *,
    active: str,
    what: str,
    back: str,
    path: str,
    shown: ActivityPage,
) -> HTMLResponse:
    """The full log's page about one object (`what`, whose page is `back`)."""
    return render(
        request,
        "dashboard/activity.html",
        viewer=viewer,
        active=active,
        what=what,
        back=back,
        path=path,
        activity=shown.rows,
        older=shown.older,
        first=shown.first,
    )
