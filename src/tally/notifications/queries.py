"""Reads of notification policies and deliveries the dashboard's pages ask for, one function
per question, each one query."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tally.models import DeliveryStatus
from tally.notifications.service import delivery_query


def pending_deliveries(session: Session, account_id: str, policy_id: str) -> int:
    """How many of the policy's deliveries are still to be attempted."""
    pending = delivery_query(account_id, policy_id, DeliveryStatus.PENDING).subquery()
    return session.scalar(select(func.count()).select_from(pending)) or 0
