"""The customer's billing schedules as subscriptions: plan, status, current period."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    and_,
    select,
)
from sqlalchemy.orm import Session

from tally.models import (
    BillingSchedule,
    BillingSchedulePhase,
    Invoice,
    InvoiceStatus,
    PhasePrice,
    Price,
    Product,
    ScheduleStatus,
)


@dataclass(frozen=True)
class Subscription:
    id: str
    plan_name: str
    status: str  # the schedule's: ACTIVE, PENDING, COMPLETED ...
    start_date: date
    end_date: date | None
    current_period_start: date | None
    current_period_end: date | None
    next_billing_date: date | None


def subscriptions(
    session: Session, account_id: str, customer_id: str, today: date, *, past: bool = False
) -> list[Subscription]:
    """The customer's billing schedules: active and upcoming ones (and ended ones when `past`).

    The plan name is the label of the schedule, else its current phase's name, else the
    products it bills; the current period and next billing date come from the schedule's
    IN_PROGRESS invoice. Three queries at most, whatever the number of schedules."""
    shown = [ScheduleStatus.ACTIVE, ScheduleStatus.PENDING]
    if past:
        shown += [ScheduleStatus.COMPLETED, ScheduleStatus.CANCELLED, ScheduleStatus.SUSPENDED]
    # Each schedule with its IN_PROGRESS invoice (the current period), the earliest first.
    rows = session.execute(
        select(
            BillingSchedule,
            Invoice.id.label("invoice_id"),
            Invoice.billing_period_start,
            Invoice.billing_period_end,
            Invoice.invoice_date,
        )
        .outerjoin(
            Invoice,
            and_(
                Invoice.billing_schedule_id == BillingSchedule.id,
                Invoice.account_id == account_id,
                Invoice.customer_id == customer_id,
                Invoice.status == InvoiceStatus.IN_PROGRESS,
            ),
        )
        .where(
            BillingSchedule.account_id == account_id,
            BillingSchedule.customer_id == customer_id,
            BillingSchedule.archived_at.is_(None),
            BillingSchedule.status.in_(shown),
        )
        .order_by(BillingSchedule.start_date, BillingSchedule.id, Invoice.invoice_date)
    ).all()
    schedules: list[BillingSchedule] = []
    current: dict[str, Any] = {}
    for row in rows:
        schedule = row[0]
        if schedule.id not in current:
            schedules.append(schedule)
            current[schedule.id] = row if row.invoice_id is not None else None
    if not schedules:
        return []
    ids = [schedule.id for schedule in schedules]
    phases = session.execute(
        select(
            BillingSchedulePhase.id,
            BillingSchedulePhase.billing_schedule_id,
            BillingSchedulePhase.name,
            BillingSchedulePhase.start_date,
            BillingSchedulePhase.end_date,
        )
        .where(
            BillingSchedulePhase.account_id == account_id,
            BillingSchedulePhase.billing_schedule_id.in_(ids),
        )
        .order_by(BillingSchedulePhase.start_date)
    ).all()
    current_phase: dict[str, Any] = {}
    phase: Any
    for phase in phases:  # the last one started by today, else the first
        started = phase.start_date <= today
        if phase.billing_schedule_id not in current_phase or started:
            current_phase[phase.billing_schedule_id] = phase
    # Products name the plan only when neither the schedule nor its phase has a name.
    labels = {schedule.id: schedule.label for schedule in schedules}
    phase_ids = [
        phase.id
        for schedule_id, phase in current_phase.items()
        if not labels.get(schedule_id) and not phase.name
    ]
    products: dict[str, list[str]] = defaultdict(list)
    for phase_id, name in (
        ()
        if not phase_ids
        else session.execute(
            select(PhasePrice.phase_id, Product.name)
            .join(Price, Price.id == PhasePrice.price_id)
            .join(Product, Product.id == Price.product_id)
            .where(PhasePrice.phase_id.in_(phase_ids), Price.account_id == account_id)
            .order_by(PhasePrice.phase_id, PhasePrice.position)
        )
    ):
        if name not in products[phase_id]:
            products[phase_id].append(name)
    result = []
    for schedule in schedules:
        phase = current_phase.get(schedule.id)
        plan = schedule.label or (phase.name if phase is not None else None)
        if not plan and phase is not None:
            plan = ", ".join(products.get(phase.id, []))
        invoice = current.get(schedule.id)
        result.append(
            Subscription(
                id=schedule.id,
                plan_name=plan or "Subscription",
                status=schedule.status.value,
                start_date=schedule.start_date,
                end_date=schedule.end_date,
                current_period_start=invoice.billing_period_start if invoice else None,
                current_period_end=invoice.billing_period_end if invoice else None,
                next_billing_date=invoice.invoice_date if invoice else None,
            )
        )
    return result
