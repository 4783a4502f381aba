"""The customer portal: each account's settings, and the session tokens that open it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tally.core.clock import utcnow
from tally.models.base import Base, TenantMixin


class PortalTab(StrEnum):
    OVERVIEW = "OVERVIEW"
    INVOICES = "INVOICES"
    USAGE = "USAGE"
    CREDITS = "CREDITS"


def _every_tab() -> list[Any]:
    return [tab.value for tab in PortalTab]


class PortalSettings(Base):
    """An account's portal; no row means the defaults (on, every tab, not embeddable)."""

    __tablename__ = "portal_settings"

    account_id: Mapped[str] = mapped_column(String(36), ForeignKey("accounts.id"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    logo_url: Mapped[str | None] = mapped_column(String(2000), default=None)  # else the account's
    brand_color: Mapped[str | None] = mapped_column(String(7), default=None)  # "#1a2b3c"
    application_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    tabs: Mapped[list[Any]] = mapped_column(default=_every_tab)
    # Origins allowed to embed the portal in an iframe (CSP frame-ancestors); none by default.
    frame_ancestors: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PortalSession(TenantMixin, Base):
    """A session token for one customer's portal. Only its SHA-256 is kept. It dies at
    `expires_at`, when revoked, or when the customer's portal secret changes (rotation):
    `portal_secret_digest` is the SHA-256 of the secret it was issued under."""

    __tablename__ = "portal_sessions"

    customer_id: Mapped[str] = mapped_column(String(36), ForeignKey("customers.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    portal_secret_digest: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
