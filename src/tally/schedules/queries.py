"""Reads of billing schedules the dashboard's pages ask for, one function per question, each
one query (the schedules with what their representation needs loaded in bulk).

They compose the service's statement (`filtered_schedules`, the API's filters on the
tenant-scoped schedules), so a page lists what the API would."""

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from tally.models import BillingSchedule, Customer
from tally.schedules.service import ScheduleFilters, filtered_schedules


def recent_schedules(
    session: Session, account_id: str, *, archived: bool, limit: int
) -> list[BillingSchedule]:
    """The account's newest schedules (live ones only unless `archived`)."""
    query = filtered_schedules(account_id, ScheduleFilters(include_archived=archived))
    order = (BillingSchedule.created_at.desc(), BillingSchedule.id)
    return list(session.scalars(query.order_by(*order).limit(limit)))


def customer_schedules(
    session: Session,
    account_id: str,
    customer_id: str,
    *,
    archived: bool = False,
    limit: int | None = None,
) -> list[BillingSchedule]:
    """One customer's schedules (live ones only unless `archived`)."""
    filters = ScheduleFilters(customer_id=customer_id, include_archived=archived)
    return list(session.scalars(filtered_schedules(account_id, filters).limit(limit)))


def has_live_schedule(account_id: str) -> ColumnElement[bool]:
    """A condition on `Customer`: it has a live (not archived) schedule."""
    scheduled = filtered_schedules(account_id, ScheduleFilters()).subquery().c.customer_id
    return Customer.id.in_(select(scheduled))
