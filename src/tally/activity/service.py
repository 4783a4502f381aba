"""Recording destructive and financial actions in the activity log, in the caller's
transaction: the entry commits exactly when the change does.

Who acted comes from the session: the API key or dashboard user of the request that opened it
(`api/deps.get_session` hands the request's state over in `session.info`), else the system
(billing runs, the background loop).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from tally.db import REQUEST_STATE, TRACE_ID
from tally.models import ActivityLog, ActivityOrigin, ActorType


@dataclass(frozen=True)
class Actor:
    origin: ActivityOrigin
    actor_type: ActorType
    actor_id: str | None = None
    email: str | None = None


SYSTEM = Actor(ActivityOrigin.SYSTEM, ActorType.SYSTEM)


def actor_of(session: Session) -> Actor:
    state = session.info.get(REQUEST_STATE)
    viewer = getattr(state, "dashboard_viewer", None)
    if viewer is not None:
        return Actor(ActivityOrigin.DASHBOARD, ActorType.USER, viewer.user_id, viewer.email)
    principal = getattr(state, "principal", None)
    if principal is not None:
        return Actor(ActivityOrigin.API, ActorType.API_KEY, principal.api_key_id)
    return SYSTEM


def plain(value: Any) -> Any:
    """A value as the log keeps it: JSON, decimals exact as strings."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def number(value: Decimal | None) -> str | None:
    """A quantity or rate as the log compares it: by value, whatever scale it was stored
    with ("12000.000" and "12000" are one value; `plain` would see two)."""
    return None if value is None else f"{value.normalize():f}"


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The fields whose value differs, as `{"field", "before", "after"}`."""
    return [
        {"field": name, "before": plain(before.get(name)), "after": plain(after.get(name))}
        for name in dict.fromkeys([*before, *after])
        if plain(before.get(name)) != plain(after.get(name))
    ]


@dataclass(frozen=True)
class Entry:
    """One action on one object."""

    verb: str
    object_type: str
    object_id: str
    name: str
    summary: str
    reason: str | None = None
    changes: tuple[dict[str, Any], ...] = ()
    target_type: str | None = None
    target_id: str | None = None


def record_all(session: Session, account_id: str, entries: Iterable[Entry]) -> None:
    actor = actor_of(session)
    trace_id = session.info.get(TRACE_ID)
    session.add_all(
        ActivityLog(
            account_id=account_id,
            origin=actor.origin,
            trace_id=trace_id,
            verb=entry.verb,
            name=entry.name,
            summary=entry.summary[:2000],
            reason=entry.reason[:2000] if entry.reason else None,
            actor_type=actor.actor_type,
            actor_id=actor.actor_id,
            actor_email=actor.email,
            object_type=entry.object_type,
            object_id=entry.object_id,
            target_type=entry.target_type,
            target_id=entry.target_id,
            changes=list(entry.changes),
        )
        for entry in entries
    )


def record(
    session: Session,
    account_id: str,
    *,
    verb: str,
    object_type: str,
    object_id: str,
    name: str,
    summary: str,
    reason: str | None = None,
    changes: Iterable[dict[str, Any]] = (),
    target_type: str | None = None,
    target_id: str | None = None,
) -> None:
    record_all(
        session,
        account_id,
        [
            Entry(
                verb,
                object_type,
                object_id,
                name,
                summary,
                reason,
                tuple(changes),
                target_type,
                target_id,
            )
        ],
    )
