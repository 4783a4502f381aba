"""Billing schedules as the API shows them, for responses and notification events.

Discount and minimum amounts are JSON numbers in Sequence's schema: they are kept as
Decimals here and written out as exact numbers (msgspec), never through floats.
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from tally.credits import phase_grants
from tally.models import BillingSchedule
from tally.notifications.events import BILLING_SCHEDULE, presents
from tally.schedules import service
from tally.schedules.schemas import BillingScheduleOut


def wire(out: BillingScheduleOut) -> dict[str, Any]:
    """The JSON form, with discount and minimum amounts as exact numbers."""
    data: dict[str, Any] = out.model_dump(mode="json", by_alias=True)
    for phase in data["phases"]:
        for item in (*phase["discounts"], *phase["minimums"], *phase["creditGrants"]):
            item["amount"] = Decimal(item["amount"])
        for item in phase["creditGrants"]:
            if item.get("costOfCredit") is not None:
                item["costOfCredit"] = Decimal(item["costOfCredit"])
    return data


def schedule_views(
    session: Session, account_id: str, schedules: list[BillingSchedule]
) -> list[dict[str, Any]]:
    """Each schedule's answer; the prices they bill loaded for all of them at once."""
    prices = service.prices_of(session, account_id, schedules)
    grants = phase_grants.by_phase(session, account_id, [s.id for s in schedules])
    return [
        wire(
            BillingScheduleOut.build(
                schedule, prices, service.first_billing_date(schedule, prices), grants
            )
        )
        for schedule in schedules
    ]


@presents(BILLING_SCHEDULE)
def schedules_by_id(
    session: Session, account_id: str, schedule_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """GET /api/billing-schedules/{id}'s answer for each id, in a fixed number of queries."""
    schedules = list(
        session.scalars(
            service.schedule_query(account_id)
            .where(BillingSchedule.id.in_(schedule_ids))
            .execution_options(populate_existing=True)
        )
    )
    return {view["id"]: view for view in schedule_views(session, account_id, schedules)}
