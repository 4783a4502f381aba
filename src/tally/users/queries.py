"""Reads of the merchant's dashboard users, on the tenant-scoped base."""

from sqlalchemy import Select
from sqlalchemy.orm import Session

from tally.models import MerchantUser
from tally.models.scoped import scoped


def active_users_query(account_id: str) -> Select[MerchantUser]:
    """The account's users who can sign in."""
    return scoped(MerchantUser, account_id).where(MerchantUser.deactivated_at.is_(None))


def user(session: Session, account_id: str, user_id: str) -> MerchantUser | None:
    """One of the account's users, deactivated ones too (history names them)."""
    return session.scalar(scoped(MerchantUser, account_id).where(MerchantUser.id == user_id))


def lock_active_users(session: Session, account_id: str) -> list[MerchantUser]:
    """The account's active users, locked until commit: two deactivations at once queue here,
    so they cannot both see another active user and leave none."""
    query = active_users_query(account_id).order_by(MerchantUser.id).with_for_update()
    return list(session.scalars(query.execution_options(populate_existing=True)))
