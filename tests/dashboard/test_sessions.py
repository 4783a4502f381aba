"""Dashboard sessions: only the token's hash is stored; a session ends when it expires or is
revoked; CSRF tokens are compared exactly."""

from datetime import datetime, timedelta

from sqlalchemy import select

from tally.core.hashing import hash_token
from tally.dashboard import sessions, users
from tally.db import Database
from tally.models import DashboardSession
from tests.dashboard.helpers import PASSWORD, Merchant


def open_session(database: Database, merchant: Merchant, ttl: int = 3600) -> sessions.SignedIn:
    with database.session(write=False) as session:
        check = users.check_password(session, merchant.email, PASSWORD)
    assert check is not None
    with database.transaction() as session:
        return sessions.sign_in(session, check, ttl_seconds=ttl)


def viewer(database: Database, token: str, now: datetime | None = None) -> sessions.Viewer | None:
    with database.session(write=False) as session:
        return sessions.viewer(session, token, now)


def test_only_the_tokens_hash_is_stored(database: Database, merchant: Merchant) -> None:
    signed_in = open_session(database, merchant)
    with database.session(write=False) as session:
        rows = session.scalars(
            select(DashboardSession).where(DashboardSession.user_id == merchant.user_id)
        ).all()
    assert [row.token_hash for row in rows] == [hash_token(signed_in.token)]
    assert signed_in.token not in {rows[0].token_hash, rows[0].csrf_secret}

    found = viewer(database, signed_in.token)
    assert found is not None
    assert (found.user_id, found.account_id, found.email) == (
        merchant.user_id,
        merchant.account.account_id,
        merchant.email,
    )
    assert found.csrf_token == rows[0].csrf_secret
    assert viewer(database, signed_in.token + "x") is None
    assert viewer(database, "") is None


def test_a_session_ends_when_it_expires(database: Database, merchant: Merchant) -> None:
    signed_in = open_session(database, merchant, ttl=600)
    just_before = signed_in.expires_at - timedelta(seconds=1)
    assert viewer(database, signed_in.token, now=just_before) is not None
    assert viewer(database, signed_in.token, now=signed_in.expires_at) is None


def test_a_revoked_session_opens_nothing(database: Database, merchant: Merchant) -> None:
    signed_in = open_session(database, merchant)
    with database.transaction() as session:
        sessions.sign_out(session, signed_in.token)
    assert viewer(database, signed_in.token) is None
    with database.transaction() as session:  # signing out twice is harmless
        sessions.sign_out(session, signed_in.token)


def test_revoking_other_sessions_keeps_this_one(database: Database, merchant: Merchant) -> None:
    here, there, elsewhere = (open_session(database, merchant) for _ in range(3))
    current = viewer(database, here.token)
    assert current is not None
    with database.transaction() as session:
        assert sessions.revoke_other_sessions(session, current) == 2
    assert viewer(database, here.token) is not None
    assert viewer(database, there.token) is None
    assert viewer(database, elsewhere.token) is None


def test_csrf_tokens_must_match_exactly() -> None:
    assert sessions.csrf_matches("s3cret-token", "s3cret-token")
    assert not sessions.csrf_matches("s3cret-token", None)
    assert not sessions.csrf_matches("s3cret-token", "")
    assert not sessions.csrf_matches("s3cret-token", "s3cret-tokeN")
    assert not sessions.csrf_matches("s3cret-token", "s3cret-token ")
    assert not sessions.csrf_matches("", "")  # no expected token: nothing matches
