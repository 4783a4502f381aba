"""Dashboard sessions: what a signed-in browser's cookie stands for.

A session token is 256 random bits; the database keeps only its SHA-256, so reading the table
gives no way in. Each session has its own CSRF secret, which every form it posts must carry
back (`csrf_matches`, constant time). A session ends at `expires_at`, fixed at sign-in (the
lifetime is not sliding), or when revoked: signing out, or the user changing their password
in another browser.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tally.core.clock import utcnow
from tally.core.formatting import DEFAULT_LOCALE
from tally.core.hashing import hash_token
from tally.core.i18n import language_of, locale_for
from tally.dashboard.users import PasswordCheck
from tally.models import Account, DashboardSession, MerchantUser


def csrf_matches(expected: str, given: str | None) -> bool:
    """Whether a posted CSRF token is the expected one, in constant time."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


@dataclass(frozen=True)
class SignedIn:
    """A new session: the token goes in the cookie, shown nowhere else."""

    token: str
    expires_at: datetime


@dataclass(frozen=True)
class Viewer:
    """Who a live session is: what every dashboard page needs, plain values."""

    session_id: str
    user_id: str
    account_id: str
    email: str
    account_name: str
    csrf_token: str
    expires_at: datetime
    # How the account reads dates: its language in its country's conventions, its time zone.
    locale: str = DEFAULT_LOCALE
    timezone: str = "UTC"


def sign_in(
    session: Session, check: PasswordCheck, *, ttl_seconds: int, now: datetime | None = None
) -> SignedIn:
    """Open a session for a user whose password was checked, storing an upgraded hash."""
    now = now or utcnow()
    # Bulk UPDATEs: updated_at is set here, as the ORM flush that stamps it is bypassed.
    values: dict[str, object] = {"last_sign_in_at": now, "updated_at": now}
    if check.new_hash is not None:
        values["password_hash"] = check.new_hash
    session.execute(
        update(MerchantUser)
        .where(MerchantUser.account_id == check.account_id, MerchantUser.id == check.user_id)
        .values(**values)
    )
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=ttl_seconds)
    session.add(
        DashboardSession(
            account_id=check.account_id,
            user_id=check.user_id,
            token_hash=hash_token(token),
            csrf_secret=secrets.token_urlsafe(32),
            expires_at=expires_at,
        )
    )
    session.flush()
    return SignedIn(token=token, expires_at=expires_at)


def viewer(session: Session, token: str, now: datetime | None = None) -> Viewer | None:
    """The live session this cookie token opens, or None (unknown, expired or revoked)."""
    if not token:
        return None
    row = session.execute(
        select(
            DashboardSession,
            MerchantUser.email,
            Account.name,
            Account.language,
            Account.country,
            Account.timezone,
        )
        .join(MerchantUser, MerchantUser.id == DashboardSession.user_id)
        .join(Account, Account.id == DashboardSession.account_id)
        .where(
            DashboardSession.token_hash == hash_token(token),
            DashboardSession.revoked_at.is_(None),
            DashboardSession.expires_at > (now or utcnow()),
            MerchantUser.deactivated_at.is_(None),
        )
    ).one_or_none()
    if row is None:
        return None
    found, email, account_name, language, country, timezone = row
    return Viewer(
        session_id=found.id,
        user_id=found.user_id,
        account_id=found.account_id,
        email=email,
        account_name=account_name,
        csrf_token=found.csrf_secret,
        expires_at=found.expires_at,
        locale=locale_for(language_of(None, language), country),
        timezone=timezone,
    )


def sign_out(session: Session, token: str) -> None:
    """Revoke the session of this token, if it is live; anything else is already signed out."""
    now = utcnow()
    session.execute(
        update(DashboardSession)
        .where(
            DashboardSession.token_hash == hash_token(token), DashboardSession.revoked_at.is_(None)
        )
        .values(revoked_at=now, updated_at=now)
    )


def revoke_other_sessions(session: Session, current: Viewer) -> int:
    """Sign the user out everywhere but here (after a password change); how many ended."""
    now = utcnow()
    result = session.execute(
        update(DashboardSession)
        .where(
            DashboardSession.account_id == current.account_id,
            DashboardSession.user_id == current.user_id,
            DashboardSession.id != current.session_id,
            DashboardSession.revoked_at.is_(None),
        )
        .values(revoked_at=now, updated_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
