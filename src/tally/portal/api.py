"""The portal's JSON API, for merchants who build their own portal (seed 004, "Direct API
access"): the customer's profile, subscriptions, invoices, wallet and usage, authenticated
by the `X-Session-Token` header of a portal session (`token_viewer`). Read-only: GETs only.
Each request runs whole in one transaction on one worker thread (`access.as_viewer`).

The answers are `data`'s read models (validated from their attributes where the names are
the same) in the API's wire style: camelCase, decimals as strings (money rounded to the
currency's minor unit), dates as ISO 8601.
"""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import Field
from sqlalchemy.orm import Session

from tally.api.guards import reject_unknown_query_parameters
from tally.api.schemas import Schema
from tally.api.types import DecimalString
from tally.core.clock import local_today, utcnow
from tally.engine.money import round_money
from tally.exceptions import NotFound
from tally.portal import data
from tally.portal.access import Viewer, as_viewer, token_viewer_of
from tally.portal.cache import cached_result


async def _session_token(
    x_session_token: Annotated[
        str | None, Header(alias="X-Session-Token", description="A portal session's token")
    ] = None,
) -> None:
    """Documents the header (`token_viewer_of` reads it); async, so it costs no thread hop."""


router = APIRouter(
    prefix="/portal/api",
    tags=["Customer portal API"],
    dependencies=[Depends(_session_token), Depends(reject_unknown_query_parameters)],
)


def _money(amount: Decimal | None, currency: str | None) -> Decimal | None:
    if amount is None or currency is None:
        return None
    return round_money(amount, currency)


# --- shapes ----------------------------------------------------------------------------------


class ProfileOut(Schema):
    id: str
    name: str
    email: str | None = None
    telephone: str | None = None
    url: str | None = None
    address: dict[str, Any]


class SubscriptionOut(Schema):
    id: str
    plan_name: str
    status: str
    start_date: date
    end_date: date | None = None
    current_period_start: date | None = None
    current_period_end: date | None = None
    next_billing_date: date | None = None


class SubscriptionList(Schema):
    items: list[SubscriptionOut]


class InvoiceOut(Schema):
    id: str
    invoice_number: str | None = None
    issue_date: date | None = None
    due_date: date | None = None
    billing_period_start: date | None = None
    billing_period_end: date | None = None
    currency: str
    total: Decimal
    amount_due: Decimal
    status: str  # PAID, OUTSTANDING, OVERDUE, UNCOLLECTIBLE
    payment_status: str


class InvoicePagination(Schema):
    page: int
    pages: int
    limit: int
    total_result_size: int


class InvoiceCounts(Schema):
    all: int
    outstanding: int
    overdue: int
    paid: int


class InvoiceList(Schema):
    items: list[InvoiceOut]
    pagination: InvoicePagination
    counts: InvoiceCounts


class PocketOut(Schema):
    id: str  # the currency code, or the metric id
    name: str
    type: str  # CURRENCY or METRIC
    currency: str
    unit: str | None = None
    balance: Decimal
    value: Decimal | None = None
    pending: Decimal
    status: str


class TransactionOut(Schema):
    type: str
    description: str
    date: dt.date
    grant_id: str
    grant_name: str
    expiry_date: dt.date | None = None
    priority: int | None = None
    credits: Decimal
    amount: Decimal | None = None
    currency: str
    pending: bool
    invoice_id: str | None = None
    invoice_number: str | None = None


class WalletOut(Schema):
    currency: str
    balance: Decimal
    value: Decimal | None = None
    status: str
    pockets: list[PocketOut]
    transactions: list[TransactionOut]


class PeriodOut(Schema):
    start: date
    end: date
    current: bool
    invoice_status: str


class MetricUsageOut(Schema):
    metric_id: str
    name: str
    unit: str | None = None
    total: Decimal
    event_count: int
    cost: Decimal | None = None
    currency: str | None = None


class UsageGroupOut(Schema):
    title: str
    cost: Decimal | None = None
    metrics: list[MetricUsageOut]


class SeriesOut(Schema):
    metric_id: str
    name: str
    unit: str | None = None
    color: str
    values: list[Decimal]
    total: Decimal


class UsageGraphOut(Schema):
    range: str
    granularity: str  # HOUR or DAY
    buckets: list[datetime | date]
    series: list[SeriesOut]


class UsageOut(Schema):
    periods: list[PeriodOut]
    period: PeriodOut | None = None
    currency: str | None = None
    cost: Decimal | None = None
    groups: list[UsageGroupOut]
    graph: UsageGraphOut


class AlertOut(Schema):
    """One alert applying to the customer, and how close it is (as the Overview shows it)."""

    id: str
    type: str
    metric_name: str | None = None
    unit: str | None = None
    currency: str | None = None
    value: DecimalString
    threshold: DecimalString
    period_start: date | None = None
    period_end: date | None = None
    fired: bool
    progress: DecimalString = Field(description="towards the crossing, 0 to 1 (1: reached)")


class AlertList(Schema):
    items: list[AlertOut]


# --- endpoints -------------------------------------------------------------------------------


@router.get("/profile", response_model=ProfileOut, summary="The customer's profile")
async def get_profile(request: Request) -> ProfileOut:
    return await as_viewer(request, token_viewer_of, _profile)


def _open(viewer: Viewer) -> None:
    """An archived customer's account is closed: its invoices only, as its portal pages."""
    if viewer.closed:
        raise NotFound("This customer's account is closed: only its invoices are shown.")


def _profile(session: Session, viewer: Viewer) -> ProfileOut:
    return ProfileOut.model_validate(data.profile(session, viewer.customer), from_attributes=True)


@router.get(
    "/subscriptions", response_model=SubscriptionList, summary="Active and past subscriptions"
)
async def get_subscriptions(request: Request) -> SubscriptionList:
    return await as_viewer(request, token_viewer_of, _subscriptions)


def _subscriptions(session: Session, viewer: Viewer) -> SubscriptionList:
    _open(viewer)
    today = local_today(viewer.account.timezone)
    found = data.subscriptions(session, viewer.account.id, viewer.customer.id, today, past=True)
    return SubscriptionList(
        items=[SubscriptionOut.model_validate(s, from_attributes=True) for s in found]
    )


@router.get("/invoices", response_model=InvoiceList, summary="Sent invoices, searched")
async def get_invoices(
    request: Request,
    status: data.InvoiceFilter = data.InvoiceFilter.ALL,
    number: Annotated[str | None, Query(max_length=100)] = None,
    issued_from: Annotated[date | None, Query(alias="issuedFrom")] = None,
    issued_to: Annotated[date | None, Query(alias="issuedTo")] = None,
    amount: Decimal | None = None,
    amount_min: Annotated[Decimal | None, Query(alias="amountMin")] = None,
    amount_max: Annotated[Decimal | None, Query(alias="amountMax")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> InvoiceList:
    search = data.InvoiceSearch(
        status=status,
        number=number or None,
        issued_from=issued_from,
        issued_to=issued_to,
        amount=amount,
        amount_min=amount_min,
        amount_max=amount_max,
    )
    return await as_viewer(
        request,
        token_viewer_of,
        lambda session, viewer: _invoices(session, viewer, search, page, limit),
    )


def _invoices(
    session: Session, viewer: Viewer, search: data.InvoiceSearch, page: int, limit: int
) -> InvoiceList:
    today = local_today(viewer.account.timezone)
    found = data.sent_invoices(
        session, viewer.account.id, viewer.customer.id, today, search, page=page, per_page=limit
    )
    return InvoiceList(
        items=[
            InvoiceOut(
                id=row.id,
                invoice_number=row.number,
                issue_date=row.issue_date,
                due_date=row.due_date,
                billing_period_start=row.period_start,
                billing_period_end=row.period_end,
                currency=row.currency,
                total=round_money(row.total, row.currency),
                amount_due=round_money(row.amount_due, row.currency),
                status=row.status,
                payment_status=row.payment_status,
            )
            for row in found.rows
        ],
        pagination=InvoicePagination(
            page=found.page, pages=found.pages, limit=found.per_page, total_result_size=found.total
        ),
        counts=InvoiceCounts(**found.counts),
    )


@router.get("/alerts", response_model=AlertList, summary="The customer's alerts, how close each is")
async def get_alerts(request: Request) -> AlertList:
    return await as_viewer(request, token_viewer_of, _alerts)


def _alerts(session: Session, viewer: Viewer) -> AlertList:
    _open(viewer)
    found = data.alert_progress(session, viewer.account, viewer.customer.id)
    return AlertList(
        items=[
            AlertOut.model_validate({**vars(a), "type": a.type.value}, from_attributes=False)
            for a in found
        ]
    )


@router.get("/wallet", response_model=WalletOut, summary="Credit balances and transactions")
async def get_wallet(request: Request) -> WalletOut:
    return await as_viewer(request, token_viewer_of, _wallet)


def _wallet(session: Session, viewer: Viewer) -> WalletOut:
    _open(viewer)
    today = local_today(viewer.account.timezone)
    view = data.credits(
        session, viewer.account.id, viewer.customer.id, today, viewer.account.currency
    )
    if view is None:
        raise NotFound("This customer has no credits.")
    wallet = view.wallet
    return WalletOut(
        currency=wallet.currency,
        balance=wallet.credits,
        value=_money(wallet.value, wallet.currency),
        status=wallet.status,
        pockets=[
            PocketOut(
                id=p.key,
                name=p.name,
                type=p.unit_type.value,
                currency=p.currency,
                unit=p.unit,
                balance=p.balance,
                value=_money(p.value, p.currency),
                pending=p.pending,
                status=p.status,
            )
            for p in wallet.pockets
        ],
        transactions=[
            TransactionOut(
                type=t.kind,
                description=t.label,
                date=t.day,
                grant_id=t.grant_id,
                grant_name=t.grant_name,
                expiry_date=t.expiry_date,
                priority=t.priority,
                credits=t.credits,
                amount=_money(t.money, t.currency),
                currency=t.currency,
                pending=t.pending,
                invoice_id=t.invoice_id,
                invoice_number=t.invoice_number,
            )
            for t in view.transactions
        ],
    )


def _period(period: data.BillingPeriod) -> PeriodOut:
    return PeriodOut(
        start=period.start,
        end=period.end,
        current=period.current,
        invoice_status=period.invoice_status,
    )


@router.get("/usage", response_model=UsageOut, summary="Usage and cost per metric, and a graph")
async def get_usage(
    request: Request,
    period: Annotated[
        date | None, Query(description="The billing period starting on this day")
    ] = None,
    usage_range: Annotated[data.UsageRange, Query(alias="range")] = data.UsageRange.PERIOD,
) -> UsageOut:
    return await as_viewer(
        request,
        token_viewer_of,
        lambda session, viewer: cached_result(
            request, session, viewer, lambda: _usage(session, viewer, period, usage_range)
        ),
    )


def _usage(
    session: Session, viewer: Viewer, period: date | None, usage_range: data.UsageRange
) -> UsageOut:
    _open(viewer)
    account, customer = viewer.account, viewer.customer
    today = local_today(account.timezone)
    periods = data.billing_periods(session, account.id, customer.id, today)
    chosen = data.pick_period(periods, period.isoformat() if period else None)
    if period is not None and (chosen is None or chosen.start != period):
        raise NotFound(f"No billing period starts on {period.isoformat()}.")
    breakdown, series = data.period_usage(
        session, account.id, customer.id, chosen, usage_range, today=today, now=utcnow()
    )
    currency = breakdown.currency if breakdown else None
    return UsageOut(
        periods=[_period(p) for p in periods],
        period=_period(chosen) if chosen else None,
        currency=currency,
        cost=_money(breakdown.cost, currency) if breakdown else None,
        groups=[
            UsageGroupOut(
                title=group.title,
                cost=_money(group.cost, currency),
                metrics=[
                    MetricUsageOut(
                        metric_id=row.metric.id,
                        name=row.metric.name,
                        unit=row.metric.unit,
                        total=row.total,
                        event_count=row.events,
                        cost=_money(row.cost, row.currency),
                        currency=row.currency,
                    )
                    for row in group.rows
                ],
            )
            for group in (breakdown.groups if breakdown else [])
        ],
        graph=UsageGraphOut(
            range=series.range.value,
            granularity="HOUR" if series.hourly else "DAY",
            buckets=list(series.buckets) if series.hourly else [b.date() for b in series.buckets],
            series=[
                SeriesOut(
                    metric_id=s.metric.id,
                    name=s.metric.name,
                    unit=s.metric.unit,
                    color=s.metric.color,
                    values=s.values,
                    total=s.total,
                )
                for s in series.series
            ],
        ),
    )
