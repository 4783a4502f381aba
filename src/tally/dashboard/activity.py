"""The "Activity" section of the customer and invoice pages: the newest entries of the activity
log about the object (a customer's also about what belongs to it: its invoices, credit notes,
grants, schedules, contacts), read with one query (`tally.activity.queries.about`).

Values are turned into short plain text here; the template escapes them like anything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tally.activity import queries
from tally.models import ActorType

SHOWN = 20
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


def recent(session: Session, account_id: str, entity_id: str) -> list[ActivityRow]:
    """The newest `SHOWN` entries about `entity_id`, newest first."""
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
        )
        for logged in queries.about(session, account_id, entity_id, limit=SHOWN)
    ]
