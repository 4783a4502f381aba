"""Discounts as their own resource (/discounts): the ones billing schedule phases give.

Changing or deleting one changes its schedule's terms: the schedule is locked first (as a
schedule update locks it), refused once it is over, and billed afresh (its open invoices are
recalculated; issued ones keep what they say). A deleted discount stays as a row, marked, so
the activity log and anyone holding its id still find what it was: its id is never reused.
"""

from typing import Any

from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.api import references
from tally.core.clock import utcnow
from tally.exceptions import InvalidRequest, NotFound
from tally.models import BillingSchedule, PhaseDiscount, Price
from tally.notifications import events
from tally.notifications.events import NotificationType
from tally.schedules.discount_schemas import DiscountUpdate
from tally.schedules.queries import discount_query
from tally.schedules.service import check_editable, get_schedule


def get_discount(session: Session, account_id: str, discount_id: str) -> PhaseDiscount:
    discount = session.scalar(discount_query(account_id).where(PhaseDiscount.id == discount_id))
    if discount is None:
        raise NotFound.resource("Discount", discount_id)
    return discount


def _locked(
    session: Session, account_id: str, discount_id: str
) -> tuple[PhaseDiscount, BillingSchedule]:
    """The discount and its schedule, the schedule's row locked until commit (a schedule
    update replacing the phases meanwhile waits, or went first and took the discount)."""
    found = get_discount(session, account_id, discount_id)
    schedule = get_schedule(session, account_id, found.billing_schedule_id, for_update=True)
    discount = session.scalar(
        discount_query(account_id)
        .where(PhaseDiscount.id == discount_id)
        .execution_options(populate_existing=True)
    )
    if discount is None:
        raise NotFound.resource("Discount", discount_id)
    return discount, schedule


def _audited(discount: PhaseDiscount) -> dict[str, Any]:
    return {
        "priceIds": list(discount.restrict_to_prices),
        "separateLineItem": discount.separate_line_item,
        "amount": activity.number(discount.amount),
        "discountCalculationType": discount.type,
        "message": discount.message,
        "validFrom": discount.valid_from,
        "validTo": discount.valid_to,
        "deletedAt": discount.deleted_at,
    }


def _changed(
    session: Session,
    schedule: BillingSchedule,
    discount: PhaseDiscount,
    verb: str,
    before: dict[str, Any],
) -> None:
    """Record a change, and have the schedule billed afresh and announced (none of it when
    the request restated the discount as it was)."""
    changes = activity.changed(before, _audited(discount))
    if not changes:
        return
    schedule.billed_at = None  # new terms: the scheduler recalculates its invoices first
    schedule.updated_at = utcnow()
    session.flush()
    activity.record(
        session,
        discount.account_id,
        verb=verb,
        object_type="DISCOUNT",
        object_id=discount.id,
        name=f"Discount {verb.lower()}",
        summary=f"Discount {discount.message!r} of billing schedule {schedule.id}: "
        + ", ".join(change["field"] for change in changes),
        changes=changes,
        target_type="CUSTOMER",
        target_id=schedule.customer_id,
    )
    events.emit(
        session,
        discount.account_id,
        NotificationType.BILLING_SCHEDULE_UPDATED,
        events.BILLING_SCHEDULE,
        [schedule.id],
    )


def update_discount(
    session: Session, account_id: str, discount_id: str, data: DiscountUpdate
) -> PhaseDiscount:
    """Replace what Sequence lets change. The discount stays on its schedule and phase, and
    applies to prices of that phase, on days of that phase."""
    references.resolve_one(
        session, account_id, BillingSchedule, "billingScheduleId", data.billing_schedule_id
    )
    references.resolve(
        session, account_id, Price, references.fields("priceIds", data.price_ids), deleted=True
    )
    discount, schedule = _locked(session, account_id, discount_id)
    if data.billing_schedule_id != discount.billing_schedule_id:
        raise InvalidRequest.field(
            "billingScheduleId",
            f"the discount is of billing schedule {discount.billing_schedule_id!r}; "
            "it cannot move to another",
        )
    check_editable(schedule)
    phase = next(phase for phase in schedule.phases if phase.id == discount.phase_id)
    billed = {link.price_id for link in phase.prices}
    for index, price_id in enumerate(data.price_ids):
        if price_id not in billed:
            raise InvalidRequest.field(
                f"priceIds.{index}", f"price {price_id!r} is not billed by the discount's phase"
            )
    if len(set(data.price_ids)) != len(data.price_ids):
        raise InvalidRequest.field("priceIds", "a price appears at most once")
    for field, day in (("validFrom", data.valid_from), ("validTo", data.valid_to)):
        outside = day is not None and (
            day < phase.start_date or (phase.end_date is not None and day > phase.end_date)
        )
        if outside:
            raise InvalidRequest.field(
                field,
                f"{day} is outside the discount's phase ({phase.start_date} to "
                f"{phase.end_date or 'open-ended'})",
            )
    before = _audited(discount)
    discount.restrict_to_prices = list(data.price_ids)
    discount.separate_line_item = data.separate_line_item
    discount.amount = data.amount
    discount.type = data.discount_calculation_type
    discount.message = data.message
    discount.valid_from = data.valid_from
    discount.valid_to = data.valid_to
    _changed(session, schedule, discount, "UPDATED", before)
    return discount


def delete_discount(session: Session, account_id: str, discount_id: str) -> PhaseDiscount:
    """Stop the discount: later and open invoices no longer take it; issued ones keep it."""
    discount, schedule = _locked(session, account_id, discount_id)
    check_editable(schedule)
    before = _audited(discount)
    discount.deleted_at = utcnow()
    _changed(session, schedule, discount, "DELETED", before)
    return discount
