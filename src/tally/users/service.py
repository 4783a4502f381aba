"""Deactivating a dashboard user (Sequence's DELETE /users/{id}).

A user is never erased: the activity log names who did what. Deactivating ends the user's
sessions at once and refuses their sign-ins from then on; an account keeps at least one user
who can sign in, or nobody could manage it from the dashboard again.
"""

from sqlalchemy import update
from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.core.clock import utcnow
from tally.exceptions import InvalidStateTransition, NotFound
from tally.models import DashboardSession, MerchantUser
from tally.users import queries


def get_user(session: Session, account_id: str, user_id: str) -> MerchantUser:
    found = queries.user(session, account_id, user_id)
    if found is None:
        raise NotFound.resource("User", user_id)
    return found


def deactivate_user(session: Session, account_id: str, user_id: str) -> MerchantUser:
    active = queries.lock_active_users(session, account_id)
    user = get_user(session, account_id, user_id)
    if user.deactivated_at is not None:
        return user  # already: nothing changes, nothing to log
    if [other for other in active if other.id != user.id] == []:
        raise InvalidStateTransition(
            f"User {user.email!r} is the account's last active user: an account keeps one "
            "who can sign in"
        )
    now = utcnow()
    user.deactivated_at = now
    session.flush()
    ended = session.execute(
        update(DashboardSession)
        .where(
            DashboardSession.account_id == account_id,
            DashboardSession.user_id == user.id,
            DashboardSession.revoked_at.is_(None),
        )
        .values(revoked_at=now, updated_at=now)
    )
    sessions = int(getattr(ended, "rowcount", 0) or 0)
    activity.record(
        session,
        account_id,
        verb="DEACTIVATED",
        object_type="USER",
        object_id=user.id,
        name="User deactivated",
        summary=f"{user.email} can no longer sign in to the dashboard; {sessions} session(s) ended",
        changes=activity.changed({"state": "ACTIVE"}, {"state": "DEACTIVATED"}),
    )
    return user
