"""The Usage section's metric values: a usage metric per calendar month (local to the
account) for one customer, or every customer's value for one month.

The numbers are the API's: a customer's months are `queries.period_totals` over its every
name (`expand_aliases`), one grouped query equal, month by month, to what
`GET /api/usage-metrics/{id}/calculate` computes for that month's first and last day; the
month's customers are `queries.totals_by_customer`, one grouped query. Values are plain
decimals with the metric's unit.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tally.api.deps import DbSession
from tally.core.clock import local_today
from tally.core.wire import plain
from tally.customers import queries as customer_queries
from tally.dashboard import sessions
from tally.dashboard.usage_common import (
    METRIC_VALUES,
    USAGE,
    customer_choices,
    metric_choices,
    query_fields,
    require_customer,
)
from tally.dashboard.web import DashboardPageError, SignedInViewer, render
from tally.documents.render import Formatter
from tally.exceptions import NotFound
from tally.metering import metrics, queries
from tally.metering.queries import UsageTotal
from tally.models import UsageMetric
from tally.models.scoped import get_account

DEFAULT_MONTHS = 6
MAX_MONTHS = 12
# What <input type=month> sends, in years whose neighbouring months are dates too.
MONTH = re.compile(r"(19|2[0-9])[0-9]{2}-[0-9]{2}")
FILTERS = ("metricId", "customerId", "fromMonth", "toMonth", "month")
LABELS = {"fromMonth": "From month", "toMonth": "To month", "month": "Month"}

router = APIRouter(prefix=METRIC_VALUES.removeprefix(USAGE), include_in_schema=False)


class FilterErrors(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Value:
    """A metric's total as the page shows it."""

    value: str
    event_count: int
    skipped_event_count: int

    @classmethod
    def of(cls, total: UsageTotal) -> Value:
        return cls(plain(total.value), total.event_count, total.skipped_event_count)


@dataclass(frozen=True)
class MonthRow:
    key: str  # 2024-05
    label: str  # May 2024
    period: str
    total: Value
    events_url: str


@dataclass(frozen=True)
class CustomerRow:
    customer_id: str
    name: str
    total: Value


# --- months ----------------------------------------------------------------------------------


def _add_months(first: date, count: int) -> date:
    index = first.year * 12 + first.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _last_day(first: date) -> date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _month(query: Mapping[str, str], name: str, default: date, errors: dict[str, str]) -> date:
    raw = query.get(name, "").strip()
    if not raw:
        return default
    try:
        if not MONTH.fullmatch(raw):
            raise ValueError(raw)
        return date(int(raw[:4]), int(raw[5:]), 1)
    except ValueError:
        errors[name] = f"{raw!r} is not a month (YYYY-MM)"
        return default


def month_range(query: Mapping[str, str], this_month: date) -> list[date]:
    """The first days of the chosen months: the last six up to this one by default."""
    errors: dict[str, str] = {}
    last = _month(query, "toMonth", this_month, errors)
    first = _month(query, "fromMonth", _add_months(last, 1 - DEFAULT_MONTHS), errors)
    if not errors:
        span = (last.year - first.year) * 12 + last.month - first.month + 1
        if span < 1:
            errors["toMonth"] = "must not be before From month"
        elif span > MAX_MONTHS:
            errors["fromMonth"] = f"at most {MAX_MONTHS} months at once"
    if errors:
        raise FilterErrors(errors)
    return [_add_months(first, index) for index in range(span)]


def one_month(query: Mapping[str, str], this_month: date) -> date:
    errors: dict[str, str] = {}
    month = _month(query, "month", this_month, errors)
    if errors:
        raise FilterErrors(errors)
    return month


# --- values ----------------------------------------------------------------------------------


def _events_url(metric: UsageMetric, customer_id: str, first: date) -> str:
    """The explorer showing the month's events of the metric's type for the customer."""
    following = _add_months(first, 1)
    return (
        USAGE
        + "?"
        + urlencode(
            {
                "customerId": customer_id,
                "eventType": metric.event_type,
                "from": f"{first.isoformat()}T00:00",
                "to": f"{following.isoformat()}T00:00",
            }
        )
    )


def customer_months(
    session: Session,
    metric: UsageMetric,
    customer_id: str,
    months: list[date],
    fmt: Formatter,
) -> list[MonthRow]:
    aliases = queries.expand_aliases(session, metric.account_id, [customer_id])
    periods = [(first, _last_day(first)) for first in months]
    # Every month in one grouped query, each equal to `totals` for that month alone.
    totals = queries.period_totals(session, [metric], aliases, periods)
    return [
        MonthRow(
            key=first.strftime("%Y-%m"),
            label=format_date(first, "MMMM y", locale=fmt.locale),
            period=fmt.period(first, last) or "",
            total=Value.of(totals.get((metric.id, index), queries.ZERO)),
            events_url=_events_url(metric, customer_id, first),
        )
        for index, (first, last) in reversed(list(enumerate(periods)))  # the newest first
    ]


def customers_in_month(session: Session, metric: UsageMetric, first: date) -> list[CustomerRow]:
    totals = queries.totals_by_customer(session, metric, first, _last_day(first))
    if not totals:
        return []
    names = customer_queries.customer_names(session, metric.account_id, totals)
    rows = [
        CustomerRow(customer_id, names.get(customer_id, customer_id), Value.of(total))
        for customer_id, total in totals.items()
    ]
    # The biggest users first; ties by name.
    by_name = sorted(rows, key=lambda row: row.name.lower())
    return sorted(by_name, key=lambda row: totals[row.customer_id].value, reverse=True)


# --- the page --------------------------------------------------------------------------------


def _metric(session: Session, account_id: str, metric_id: str) -> UsageMetric:
    try:
        return metrics.get_metric(session, account_id, metric_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing


@router.get("")
def metric_values(request: Request, viewer: SignedInViewer, session: DbSession) -> Response:
    query = query_fields(request)
    account = get_account(session, viewer.account_id)
    this_month = local_today(account.timezone).replace(day=1)
    choices = metric_choices(session, viewer.account_id)
    customer_id = query.get("customerId", "").strip()
    context: dict[str, Any] = {
        "query": {name: query.get(name, "") for name in FILTERS},
        "metrics": choices,
        "customers": customer_choices(session, viewer.account_id),
        "customer_id": customer_id,
        "customer_name": None,
        "labels": LABELS,
        "zone": account.timezone,
        "metric": None,
        "months": [],
        "month_label": None,
        "customer_rows": [],
        "errors": {},
    }
    if not choices:
        return _page(request, viewer, context)
    metric = _metric(session, viewer.account_id, query.get("metricId") or choices[0].id)
    context["metric"] = metric
    if customer_id:
        require_customer(session, viewer.account_id, customer_id)
        context["customer_name"] = dict(context["customers"])[customer_id]
    fmt = Formatter(account.currency, viewer.locale)  # days as the account reads them
    try:
        if customer_id:
            months = month_range(query, this_month)
            context["months"] = customer_months(session, metric, customer_id, months, fmt)
            context["query"]["fromMonth"] = months[0].strftime("%Y-%m")
            context["query"]["toMonth"] = months[-1].strftime("%Y-%m")
        else:
            month = one_month(query, this_month)
            context["customer_rows"] = customers_in_month(session, metric, month)
            context["month_label"] = format_date(month, "MMMM y", locale=fmt.locale)
            context["query"]["month"] = month.strftime("%Y-%m")
    except FilterErrors as invalid:
        context["errors"] = invalid.errors
        return _page(request, viewer, context, status=422)
    return _page(request, viewer, context)


def _page(
    request: Request, viewer: sessions.Viewer, context: dict[str, Any], status: int = 200
) -> Response:
    return render(
        request,
        "dashboard/usage/metrics.html",
        viewer=viewer,
        active=USAGE,
        status_code=status,
        **context,
    )
