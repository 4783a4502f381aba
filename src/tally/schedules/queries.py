"""Reads of billing schedules the dashboard's pages ask for, one function per question, each
one query (the schedules with what their representation needs loaded in bulk).

They compose the service's statement (`filtered_schedules`, the API's filters on the
tenant-scoped schedules), so a page lists what the API would."""

from collections.abc import Collection
from datetime import date

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from tally.models import BillingSchedule, BillingSchedulePhase, Customer, PhaseDiscount
from tally.models.scoped import scoped
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


def discount_query(account_id: str) -> Select[PhaseDiscount]:
    """The account's live discounts (deleted ones are gone from every answer)."""
    return scoped(PhaseDiscount, account_id).where(PhaseDiscount.deleted_at.is_(None))


def phase_dates(
    session: Session, account_id: str, phase_ids: Collection[str]
) -> dict[str, tuple[date, date | None]]:
    """Each phase's first and last day (None: open-ended), by id."""
    if not phase_ids:
        return {}
    query = (
        scoped(BillingSchedulePhase, account_id)
        .with_only_columns(
            BillingSchedulePhase.id, BillingSchedulePhase.start_date, BillingSchedulePhase.end_date
        )
        .where(BillingSchedulePhase.id.in_(list(phase_ids)))
    )
    return {row.id: (row.start_date, row.end_date) for row in session.execute(query)}
