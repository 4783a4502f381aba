"""Reading the activity log."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, or_, select, true
from sqlalchemy.orm import Session

from tally.exceptions import NotFound
from tally.models import ActivityLog, ActorType, ApiKey


def logs(account_id: str, *, object_id: str | None = None) -> Select[ActivityLog]:
    query = select(ActivityLog).where(ActivityLog.account_id == account_id)
    if object_id is not None:
        query = query.where(ActivityLog.object_id == object_id)
    return query


def get_log(session: Session, account_id: str, log_id: str) -> ActivityLog:
    found = session.scalars(logs(account_id).where(ActivityLog.id == log_id)).first()
    if found is None:
        raise NotFound.resource("Activity log", log_id)
    return found


@dataclass(frozen=True)
class Logged:
    entry: ActivityLog
    api_key_name: str | None  # the acting API key's name (entries keep only its id)


def about(
    session: Session, account_id: str, entity_id: str, limit: int = 50, before: str | None = None
) -> list[Logged]:
    """The newest entries on an object or on what belongs to it (a customer's invoices), with
    the names of the API keys that acted: one query. `before`: only entries older than that
    entry (ids are time-ordered), for the next page."""
    query = (
        select(ActivityLog, ApiKey.name)
        .outerjoin(
            ApiKey,
            (ApiKey.account_id == ActivityLog.account_id)
            & (ApiKey.id == ActivityLog.actor_id)
            & (ActivityLog.actor_type == ActorType.API_KEY),
        )
        .where(
            ActivityLog.account_id == account_id,
            or_(ActivityLog.object_id == entity_id, ActivityLog.target_id == entity_id),
            ActivityLog.id < before if before is not None else true(),
        )
        .order_by(ActivityLog.id.desc())
        .limit(limit)
    )
    return [Logged(entry, name) for entry, name in session.execute(query)]


def logged_objects(session: Session, account_id: str, object_ids: list[str], verb: str) -> set[str]:
    """Which of the objects already have an entry with `verb`: one query."""
    if not object_ids:
        return set()
    rows = session.scalars(
        select(ActivityLog.object_id).where(
            ActivityLog.account_id == account_id,
            ActivityLog.object_id.in_(object_ids),
            ActivityLog.verb == verb,
        )
    )
    return set(rows)
