"""The "Activity" section of the customer and invoice pages: the newest entries of the activity
log about the object (a customer's also about what belongs to it: its invoices, credit notes,
grants, schedules, contacts), read with one query (`tally.activity.queries.about`); and the
whole log about it, a page at a time (`/dashboard/customers/{id}/activity`,
`/dashboard/invoices/{id}/activity`), newest first.

Values are turned into short plain text here; the template escapes them like anything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from tally.activity import queries
from tally.dashboard.sessions import Viewer
from tally.dashboard.web import render
from tally.models import ActorType

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


def _text(value: Any) -> str:
    if value is None or value in ("", []):
        return "\u2014"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "\u2026"


def _who(logged: queries.Logged) -> str:
    entry = logged.entry
    if entry.actor_type is ActorType.USER:
        return entry.actor_email or "A dashboard user"
    if entry.actor_type is ActorType.API_KEY:
        return f"API key {logged.api_key_name or entry.actor_id}"
    return "Tally"


def _row(logged: queries.Logged) -> ActivityRow:
    return ActivityRow(
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
    )


def recent(session: Session, account_id: str, entity_id: str) -> list[ActivityRow]:
    """The newest `SHOWN` entries about `entity_id`, newest first."""
    return [_row(logged) for logged in queries.about(session, account_id, entity_id, limit=SHOWN)]


@dataclass(frozen=True)
class ActivityPage:
    rows: list[ActivityRow]
    older: str | None  # the `before` of the next (older) page, if there is one
    first: bool  # the newest page


def page(
    session: Session, account_id: str, entity_id: str, before: str | None = None
) -> ActivityPage:
    """A page of `PAGE_SIZE` entries about `entity_id`, newest first, older than the entry
    `before` when given: one query (one entry more than shown says whether more follow)."""
    found = queries.about(session, account_id, entity_id, limit=PAGE_SIZE + 1, before=before)
    rows = [_row(logged) for logged in found[:PAGE_SIZE]]
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
