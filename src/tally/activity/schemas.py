"""Sequence's activity log shapes (ActivityLogResponse): one item per logged action."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tally.api.schemas import Schema
from tally.models import ActivityLog


class ActorOut(Schema):
    id: str
    entity_type: str  # API_KEY, USER or SYSTEM
    entity_id: str | None = None
    email: str | None = None


class ObjectOut(Schema):
    id: str
    entity_type: str
    entity_id: str


class ActivityLogItemOut(Schema):
    id: str
    activity_log_id: str
    verb: str
    name: str
    summary: str
    reason: str | None = None
    metadata: list[dict[str, Any]]  # the changed fields: {"field", "before", "after"}
    activity_log_actor: ActorOut
    activity_log_object: ObjectOut
    activity_log_target: ObjectOut | None = None


class ActivityLogOut(Schema):
    id: str
    sequence_account_id: str
    activity_type: str
    api_version: str = "V1"
    origin: str
    trace_id: str | None = None
    created_at: datetime
    activity_log_items: list[ActivityLogItemOut]

    @classmethod
    def build(cls, log: ActivityLog) -> ActivityLogOut:
        target = (
            ObjectOut(id=log.target_id, entity_type=log.target_type, entity_id=log.target_id)
            if log.target_id and log.target_type
            else None
        )
        item = ActivityLogItemOut(
            id=log.id,
            activity_log_id=log.id,
            verb=log.verb,
            name=log.name,
            summary=log.summary,
            reason=log.reason,
            metadata=list(log.changes),
            activity_log_actor=ActorOut(
                id=log.actor_id or log.actor_type.value,
                entity_type=log.actor_type.value,
                entity_id=log.actor_id,
                email=log.actor_email,
            ),
            activity_log_object=ObjectOut(
                id=log.object_id, entity_type=log.object_type, entity_id=log.object_id
            ),
            activity_log_target=target,
        )
        return cls(
            id=log.id,
            sequence_account_id=log.account_id,
            activity_type=log.object_type,
            origin=log.origin.value,
            trace_id=log.trace_id,
            created_at=log.created_at,
            activity_log_items=[item],
        )
