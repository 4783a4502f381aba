"""The customer page's balances: credits, seats and usage this period, each read through the
service its API endpoint uses (`GET /api/credits/{customer}/balances`, `GET /api/seat-balances`,
`GET /api/usage-metrics/{id}/calculate`)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from tally.credits import presenters as credit_presenters
from tally.credits import service as credits
from tally.credits.schemas import CreditBalanceOut
from tally.metering import queries
from tally.models import Customer, UsageMetric
from tally.seats import service as seats
from tally.seats.queries import LatestSeatTotal

MAX_METRICS = 20  # the page shows the account's first metrics


@dataclass(frozen=True)
class Usage:
    metric: UsageMetric
    value: Decimal
    event_count: int


@dataclass
class Balances:
    credits: list[CreditBalanceOut] = field(default_factory=list)
    seats: list[LatestSeatTotal] = field(default_factory=list)
    usage: list[Usage] = field(default_factory=list)
    period_start: date | None = None
    period_end: date | None = None


def balances(session: Session, account_id: str, customer: Customer, today: date) -> Balances:
    held = credits.customer_credits(session, account_id, customer.id)
    seat_totals = seats.customer_seats(session, account_id, [customer])[0].balances
    # This period: the calendar month of the account's today (a customer may have several
    # schedules with different periods; the month is the one period they all overlap).
    start = today.replace(day=1)
    end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    account_metrics = queries.metrics(session, account_id, MAX_METRICS)
    usage: list[Usage] = []
    if account_metrics:
        aliases = queries.expand_aliases(session, account_id, [customer.id])
        totals = queries.period_totals(session, account_metrics, aliases, [(start, end)])
        for metric in account_metrics:  # every metric at once: one grouped query
            total = totals.get((metric.id, 0), queries.ZERO)
            if total.event_count:
                usage.append(Usage(metric, total.value, total.event_count))
    return Balances(
        credits=credit_presenters.balances_out(held).items,
        seats=list(seat_totals),
        usage=usage,
        period_start=start,
        period_end=end,
    )
