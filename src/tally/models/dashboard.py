"""The merchant dashboard: the people of an account who sign in, and their sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tally.models.base import Base, TenantMixin


class MerchantUser(TenantMixin, Base):
    """A person of a merchant's finance team. The email is unique across every account, not
    per account: the sign-in form asks for an email and a password only, so an email must
    name one person in one account (someone working for two merchants uses two addresses).
    Stored lower-cased, as typed addresses differ only by case in practice."""

    __tablename__ = "merchant_users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, parameters included
    last_sign_in_at: Mapped[datetime | None] = mapped_column(default=None)
    # Deactivated (Sequence's DELETE /users/{id}): can no longer sign in; the row stays, as
    # the activity log names it.
    deactivated_at: Mapped[datetime | None] = mapped_column(default=None)


class DashboardSession(TenantMixin, Base):
    """A signed-in browser. Only the SHA-256 of its cookie's token is kept, so the table leaks
    nothing usable; `csrf_secret` is the token every form of the session must carry. It dies
    at `expires_at` (fixed at sign-in: not sliding) or when revoked (sign-out, a password
    change elsewhere)."""

    __tablename__ = "dashboard_sessions"

    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("merchant_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_secret: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
