"""The billing periods the customer's schedules have billed or are billing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from tally.invoices.queries import billed_periods
from tally.models import InvoiceStatus


@dataclass(frozen=True)
class BillingPeriod:
    start: date
    end: date
    current: bool
    invoice_status: str  # the period's invoice: IN_PROGRESS, DRAFT, SENT ...

    @property
    def key(self) -> str:
        return self.start.isoformat()


def billing_periods(
    session: Session, account_id: str, customer_id: str, today: date
) -> list[BillingPeriod]:
    """The periods the customer's schedules have billed or are billing, newest first (one
    query): the current one is the period containing today, else the newest open one."""
    seen: dict[tuple[date, date], str] = {}
    for start, end, status in billed_periods(session, account_id, customer_id):
        seen.setdefault((start, end), status.value)
    ordered = sorted(seen.items(), key=lambda item: item[0], reverse=True)
    containing = next((key for key, _ in ordered if key[0] <= today <= key[1]), None)
    if containing is None:
        containing = next(
            (key for key, status in ordered if status == InvoiceStatus.IN_PROGRESS), None
        )
    return [
        BillingPeriod(start=start, end=end, current=(start, end) == containing, invoice_status=s)
        for (start, end), s in ordered
    ]


def pick_period(periods: Sequence[BillingPeriod], key: str | None) -> BillingPeriod | None:
    """The period named by `key` (its start date), else the current one, else the newest."""
    if key:
        for period in periods:
            if period.key == key:
                return period
    return next((p for p in periods if p.current), periods[0] if periods else None)
