"""The activity log: who did what to which object, and what it was before and after.

Written in the transaction of the change it records, so an entry exists exactly when the change
does. Entries are never updated or deleted.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tally.models.base import Base, TenantMixin


class ActivityOrigin(StrEnum):
    API = "API"
    DASHBOARD = "DASHBOARD"
    SYSTEM = "SYSTEM"  # billing runs, expiry, the background loop


class ActorType(StrEnum):
    API_KEY = "API_KEY"
    USER = "USER"  # a merchant user of the dashboard
    SYSTEM = "SYSTEM"


class ActivityLog(TenantMixin, Base):
    __tablename__ = "activity_logs"
    __table_args__ = (
        Index("ix_activity_logs_account_object", "account_id", "object_id"),
        Index("ix_activity_logs_account_target", "account_id", "target_id"),
    )
    account_id_leads_a_key = True

    origin: Mapped[ActivityOrigin]
    trace_id: Mapped[str | None] = mapped_column(String(128), default=None)
    verb: Mapped[str] = mapped_column(String(64))  # CREATED, UPDATED, DELETED, VOIDED ...
    name: Mapped[str] = mapped_column(String(200))  # "Invoice voided"
    summary: Mapped[str] = mapped_column(String(2000))
    reason: Mapped[str | None] = mapped_column(String(2000), default=None)
    actor_type: Mapped[ActorType]
    actor_id: Mapped[str | None] = mapped_column(String(36), default=None)
    actor_email: Mapped[str | None] = mapped_column(String(320), default=None)
    object_type: Mapped[str] = mapped_column(String(64))  # INVOICE, CUSTOMER ...
    object_id: Mapped[str] = mapped_column(String(36))
    # What the object belongs to (an invoice's customer), so a customer's page lists both.
    target_type: Mapped[str | None] = mapped_column(String(64), default=None)
    target_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # [{"field", "before", "after"}]: plain JSON values (decimals as strings).
    changes: Mapped[list[Any]] = mapped_column(default=list)
