"""/api/analytics/...: the dashboard home's figures for a team's own BI (Tally extensions).
Every figure is per currency; the definitions are `service.py`'s (and README's)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query

from tally.analytics import service
from tally.analytics.schemas import (
    AgingOut,
    CashOut,
    CurrencyAgingOut,
    CurrencyMrrOut,
    MetricUsageOut,
    MrrOut,
    OverdueInvoiceOut,
    OverdueOut,
    RevenueOut,
    TopCustomersOut,
    UsageOut,
    top_customers_out,
)
from tally.api.auth import CurrentAccount
from tally.api.deps import ReplicaSession
from tally.api.routing import api_router

router = api_router(tags=["Analytics"])

FromMonth = Annotated[
    str | None,
    Query(alias="from", description="First month, YYYY-MM. Default: 11 months before `to`."),
]
ToMonth = Annotated[
    str | None, Query(alias="to", description="Last month, YYYY-MM. Default: this month.")
]
Currency = Annotated[
    str | None,
    Query(description="Only this currency (ISO 4217).", min_length=3, max_length=3),
]


def _only(figures: list, currency: str | None) -> list:  # type: ignore[type-arg]
    return [f for f in figures if currency is None or f.currency == currency.upper()]


@router.get("/analytics/mrr", summary="Monthly and annual recurring revenue (Tally)")
def mrr(
    account: CurrentAccount,
    session: ReplicaSession,
    currency: Currency = None,
    months: Annotated[int, Query(ge=1, le=service.MONTHS_AT_MOST)] = 12,
) -> MrrOut:
    """MRR and ARR of ACTIVE schedules' recurring prices today, per currency, with MRR at
    each of the last `months` month ends."""
    today = service.today_of(session, account.account_id)
    figures = service.mrr(session, account.account_id, today, months)
    return MrrOut(
        as_of=today, currencies=[CurrencyMrrOut.build(f) for f in _only(figures, currency)]
    )


@router.get("/analytics/revenue", summary="Billed revenue per month (Tally)")
def revenue(
    account: CurrentAccount,
    session: ReplicaSession,
    from_: FromMonth = None,
    to: ToMonth = None,
    currency: Currency = None,
) -> RevenueOut:
    """Issued invoices (FINAL, SENT) by the month of their issue date: net, tax and gross per
    currency, and issued credit notes in their own month."""
    today = service.today_of(session, account.account_id)
    months = service.months_window(today, from_, to)
    figures = service.revenue(session, account.account_id, months)
    return RevenueOut.build(months, _only(figures, currency))


@router.get("/analytics/cash", summary="Cash collected per month (Tally)")
def cash(
    account: CurrentAccount,
    session: ReplicaSession,
    from_: FromMonth = None,
    to: ToMonth = None,
    currency: Currency = None,
) -> CashOut:
    """Payments recorded by the month they were paid, less what was refunded of them."""
    today = service.today_of(session, account.account_id)
    months = service.months_window(today, from_, to)
    figures = service.cash(session, account.account_id, months)
    return CashOut.build(months, _only(figures, currency))


@router.get("/analytics/receivables-aging", summary="Receivables aging totals (Tally)")
def receivables_aging(
    account: CurrentAccount,
    session: ReplicaSession,
    as_of: Annotated[
        date | None,
        Query(alias="asOf", description="Default: today, in the account's time zone."),
    ] = None,
    currency: Currency = None,
) -> AgingOut:
    """What issued invoices still owe per currency, by days past due: current, 1-30, 31-60,
    61-90, over 90; with how many invoices each (per customer: `/api/receivables/aging`)."""
    day = as_of or service.today_of(session, account.account_id)
    figures = service.receivables_aging(session, account.account_id, day)
    return AgingOut(
        as_of=day, currencies=[CurrencyAgingOut.build(f) for f in _only(figures, currency)]
    )


@router.get("/analytics/overdue-invoices", summary="Overdue invoices (Tally)")
def overdue_invoices(
    account: CurrentAccount,
    session: ReplicaSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> OverdueOut:
    """Overdue invoices (SENT, unpaid or partly paid, past due), longest overdue first."""
    today = service.today_of(session, account.account_id)
    rows = service.overdue(session, account.account_id, today, limit)
    return OverdueOut(as_of=today, items=[OverdueInvoiceOut.build(row, today) for row in rows])


@router.get("/analytics/top-customers", summary="Top customers by revenue and usage (Tally)")
def top_customers(
    account: CurrentAccount,
    session: ReplicaSession,
    limit: Annotated[int, Query(ge=1, le=100)] = service.TOP,
) -> TopCustomersOut:
    """By revenue: net billed on issued invoices over the last 12 months (this month
    included), per currency. By usage: this month's usage, per metric."""
    today = service.today_of(session, account.account_id)
    revenue_days = (service.Month.of(today).minus(11).first, today)
    usage_days = (service.Month.of(today).first, today)
    return top_customers_out(
        revenue_days,
        service.top_customers_by_revenue(session, account.account_id, *revenue_days, limit),
        usage_days,
        service.top_customers_by_usage(session, account.account_id, *usage_days, limit),
    )


@router.get("/analytics/usage", summary="Usage per metric per day (Tally)")
def usage(
    account: CurrentAccount,
    session: ReplicaSession,
    from_: Annotated[
        date | None, Query(alias="from", description="First day. Default: 29 days before `to`.")
    ] = None,
    to: Annotated[date | None, Query(description="Last day. Default: today.")] = None,
) -> UsageOut:
    """Each metric's usage per local day, every customer together (at most 366 days)."""
    today = service.today_of(session, account.account_id)
    first, last = service.days_window(today, from_, to)
    figures = service.usage_over_time(session, account.account_id, first, last)
    return UsageOut.model_validate(
        {"from": first, "to": last, "metrics": [MetricUsageOut.build(f) for f in figures]}
    )
