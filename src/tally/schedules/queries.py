"""Reads of billing schedules the dashboard's pages ask for, one function per question, each
one query (the schedules with what their representation needs loaded in bulk).

They compose the service's statement (`filtered_schedules`, the API's filters on the
tenant-scoped schedules), so a page lists what the API would."""

from collections.abc import Collection
from datetime import date

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from tally.models import (
    BillingSchedule,
    BillingSchedulePhase,
    Customer,
    PhaseDiscount,
    PhasePrice,
    Price,
    Product,
)
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


def name_of(label: str | None, customer: str, products: list[str]) -> str:
    """A schedule as people name it: its label, else "<customer> — <products it bills>"."""
    if label:
        return label
    return f"{customer} \u2014 {', '.join(products)}" if products else customer


def schedule_names(
    session: Session, account_id: str, schedule_ids: Collection[str | None]
) -> dict[str, str]:
    """Each schedule's name (`name_of`), by id, in one query however many: its label, its
    customer's name and the products its phases' prices belong to, in phase and price order."""
    wanted = {schedule_id for schedule_id in schedule_ids if schedule_id}
    if not wanted:
        return {}
    query = (
        scoped(BillingSchedule, account_id)
        .with_only_columns(
            BillingSchedule.id, BillingSchedule.label, Customer.legal_name, Product.name
        )
        .join(
            Customer,
            (Customer.id == BillingSchedule.customer_id)
            & (Customer.account_id == BillingSchedule.account_id),
        )
        .outerjoin(
            BillingSchedulePhase,
            (BillingSchedulePhase.billing_schedule_id == BillingSchedule.id)
            & (BillingSchedulePhase.account_id == BillingSchedule.account_id),
        )
        .outerjoin(PhasePrice, PhasePrice.phase_id == BillingSchedulePhase.id)
        .outerjoin(
            Price,
            (Price.id == PhasePrice.price_id) & (Price.account_id == BillingSchedule.account_id),
        )
        .outerjoin(
            Product, (Product.id == Price.product_id) & (Product.account_id == Price.account_id)
        )
        .where(BillingSchedule.id.in_(wanted))
        .order_by(BillingSchedule.id, BillingSchedulePhase.start_date, PhasePrice.position)
    )
    labels: dict[str, tuple[str | None, str]] = {}
    products: dict[str, list[str]] = {}
    for schedule_id, label, customer, product in session.execute(query):
        labels[schedule_id] = (label, customer)
        named = products.setdefault(schedule_id, [])
        if product and product not in named:
            named.append(product)
    return {
        schedule_id: name_of(label, customer, products[schedule_id])
        for schedule_id, (label, customer) in labels.items()
    }
