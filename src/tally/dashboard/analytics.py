"""The dashboard home's analytics (`analytics.service`, the figures `/api/analytics/...`
answers): each figure a table (cells as shown, with the links, and as the CSV writes them),
SVG charts drawn on the server (`core.charts`), and `/dashboard/analytics/<figure>.csv`, which
writes the same table, so the download is what the page shows."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_compact_currency, format_compact_decimal, format_currency
from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tally.analytics import service
from tally.api.deps import DbSession
from tally.api.downloads import download
from tally.core.charts import Chart, chart
from tally.core.formatting import format_money
from tally.core.wire import money, plain
from tally.dashboard.web import HOME, DashboardPageError, SignedInViewer

CSV = HOME + "/analytics"
INVOICE = HOME + "/invoices/"
CUSTOMER = HOME + "/customers/"
OVERDUE_SHOWN = 10
router = APIRouter(prefix=HOME, include_in_schema=False)


@dataclass(frozen=True)
class Cell:
    text: str  # as the page shows it
    value: str  # as the CSV writes it (amounts in the currency's minor unit, dates ISO)
    href: str | None = None
    numeric: bool = False


def text(value: str, href: str | None = None) -> Cell:
    return Cell(value, value, href)


def amount(value: Decimal, currency: str) -> Cell:
    return Cell(format_money(value, currency), money(value, currency), numeric=True)


def number(value: int | Decimal) -> Cell:
    shown = f"{value:,}" if isinstance(value, int) else plain(value)
    return Cell(shown, str(value) if isinstance(value, int) else plain(value), numeric=True)


@dataclass(frozen=True)
class Table:
    caption: str
    columns: list[str]
    rows: list[list[Cell]]


@dataclass(frozen=True)
class Headline:
    label: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    meaning: str
    table: Table
    empty: str  # what the page says when there is nothing to show
    charts: list[Chart] = field(default_factory=list)
    headlines: list[Headline] = field(default_factory=list)
    more: tuple[str, str] | None = None  # (link text, url)

    @property
    def csv_url(self) -> str:
        return f"{CSV}/{self.key}.csv"


# --- labels ------------------------------------------------------------------------------------


def month_label(key: str) -> str:
    """ "2026-03" -> "Mar 2026"."""
    return format_date(date.fromisoformat(key + "-01"), "MMM yyyy", locale="en")


def month_tick(key: str) -> str:
    return format_date(date.fromisoformat(key + "-01"), "MMM ''yy", locale="en")


def day_label(day: date) -> str:
    return format_date(day, "d MMM yyyy", locale="en")


def day_tick(day: date) -> str:
    return format_date(day, "d MMM", locale="en")


def money_ticks(currency: str) -> Callable[[Decimal], str]:
    def write(value: Decimal) -> str:
        if abs(value) < 1000:  # a round tick reads "£500", not "£500.00"
            whole = value == value.to_integral_value()
            return format_money(value, currency) if not whole else whole_money(value, currency)
        return str(format_compact_currency(value, currency, locale="en", fraction_digits=1))

    return write


def whole_money(value: Decimal, currency: str) -> str:
    return str(
        format_currency(value, currency, format="¤#,##0", currency_digits=False, locale="en")
    )


def money_text(currency: str) -> Callable[[Decimal], str]:
    return lambda value: format_money(value, currency)


def quantity_text(value: Decimal) -> str:
    if abs(value) < 10000:
        return f"{value.normalize():,f}" if value == value.to_integral() else plain(value)
    return str(format_compact_decimal(value, locale="en", fraction_digits=1))


# --- the figures -------------------------------------------------------------------------------


def mrr_figure(session: Session, account_id: str, today: date) -> Figure:
    figures = service.mrr(session, account_id, today)
    rows = [
        [text(f.currency), text(month_label(p.month), None), text(p.day.isoformat()),
         amount(p.mrr, f.currency)]
        for f in figures
        for p in f.trend
    ]  # fmt: skip
    charts = [
        chart(
            "lines",
            f"MRR in {f.currency} at each month's end, {month_label(f.trend[0].month)} to "
            f"{month_label(f.trend[-1].month)}",
            [month_tick(p.month) for p in f.trend],
            [(f"MRR ({f.currency})", [p.mrr for p in f.trend])],
            money_ticks(f.currency),
            tips=[month_label(p.month) for p in f.trend],
        )
        for f in figures
    ]
    headlines = []
    for f in figures:
        note = f"{f.schedule_count} schedule{'' if f.schedule_count == 1 else 's'}, " + (
            f"{f.customer_count} customer{'' if f.customer_count == 1 else 's'}"
        )
        headlines.append(Headline(f"MRR ({f.currency})", format_money(f.mrr, f.currency), note))
        headlines.append(Headline(f"ARR ({f.currency})", format_money(f.arr, f.currency)))
    return Figure(
        key="mrr",
        title="Recurring revenue",
        meaning="What active billing schedules' fixed and seat prices charge per month "
        "(yearly prices / 12, quarterly / 3; percentage discounts applied; usage not "
        "included). ARR is 12 x MRR.",
        table=Table("MRR at each month's end", ["Currency", "Month", "On", "MRR"], rows),
        empty="No active billing schedules with recurring prices yet — create a schedule "
        "with a fixed or seat price and its MRR shows here.",
        charts=charts,
        headlines=headlines,
        more=("Billing schedules", HOME + "/billing-schedules"),
    )


def revenue_figure(session: Session, account_id: str, today: date) -> Figure:
    months = service.months_window(today)
    figures = service.revenue(session, account_id, months)
    rows = []
    for f in figures:
        for m in f.months:
            c = f.currency
            rows.append(
                [text(c), text(month_label(m.month)), number(m.invoice_count), amount(m.net, c),
                 amount(m.tax, c), amount(m.gross, c), number(m.credit_note_count),
                 amount(m.credited_net, c), amount(m.net_after_credits, c)]
            )  # fmt: skip
    charts = [
        chart(
            "bars",
            f"Billed revenue in {f.currency} per month: net of issued invoices and of "
            "issued credit notes",
            [month_tick(m.month) for m in f.months],
            [
                ("Invoiced (net)", [m.net for m in f.months]),
                ("Credited (net)", [m.credited_net for m in f.months]),
            ],
            money_ticks(f.currency),
            tips=[month_label(m.month) for m in f.months],
        )
        for f in figures
    ]
    headlines = [
        Headline(
            f"Billed, last 12 months ({f.currency})",
            format_money(f.total.net, f.currency),
            f"net; {format_money(f.total.gross, f.currency)} with tax",
        )
        for f in figures
    ]
    columns = ["Currency", "Month", "Invoices", "Net", "Tax", "Gross", "Credit notes",
               "Credited (net)", "Net after credits"]  # fmt: skip
    return Figure(
        key="revenue",
        title="Billed revenue",
        meaning="Issued invoices (final or sent) by the month of their issue date; issued "
        "credit notes in their own month. Drafts, invoices in progress and voided ones never "
        "count.",
        table=Table("Billed revenue per month", columns, rows),
        empty="No invoices issued in the last 12 months — finalize a draft and its "
        "figures show here.",
        charts=charts,
        headlines=headlines,
        more=("Invoices", HOME + "/invoices"),
    )


def cash_figure(session: Session, account_id: str, today: date) -> Figure:
    months = service.months_window(today)
    figures = service.cash(session, account_id, months)
    rows = [
        [text(f.currency), text(month_label(m.month)), number(m.payment_count),
         amount(m.received, f.currency), amount(m.refunded, f.currency), amount(m.net, f.currency)]
        for f in figures
        for m in f.months
    ]  # fmt: skip
    charts = [
        chart(
            "bars",
            f"Cash collected in {f.currency} per month: payments received and refunded",
            [month_tick(m.month) for m in f.months],
            [
                ("Received", [m.received for m in f.months]),
                ("Refunded", [m.refunded for m in f.months]),
            ],
            money_ticks(f.currency),
            tips=[month_label(m.month) for m in f.months],
        )
        for f in figures
    ]
    headlines = [
        Headline(
            f"Collected, last 12 months ({f.currency})",
            format_money(f.total.net, f.currency),
            "less refunds",
        )
        for f in figures
    ]
    return Figure(
        key="cash",
        title="Cash collected",
        meaning="Payments recorded, by the month they were paid, less what was refunded of "
        "them (counted in the payment's month).",
        table=Table(
            "Cash collected per month",
            ["Currency", "Month", "Payments", "Received", "Refunded", "Net"],
            rows,
        ),
        empty="No payments recorded in the last 12 months — record one on an invoice's "
        "page, or connect Stripe in Settings.",
        charts=charts,
        headlines=headlines,
    )


def aging_figure(session: Session, account_id: str, today: date) -> Figure:
    figures = service.receivables_aging(session, account_id, today)
    rows = []
    for f in figures:
        for b in f.buckets:
            rows.append([text(f.currency), text(b.label), number(b.count),
                         amount(b.amount, f.currency)])  # fmt: skip
        rows.append([text(f.currency), text("Total"), number(f.count),
                     amount(f.total, f.currency)])  # fmt: skip
    charts = [
        chart(
            "bars",
            f"Receivables in {f.currency} by days past due, on {day_label(today)}",
            [b.label for b in f.buckets],
            [(f"Owed ({f.currency})", [b.amount for b in f.buckets])],
            money_ticks(f.currency),
            every=1,
        )
        for f in figures
    ]
    headlines = [
        Headline(
            f"Receivables ({f.currency})",
            format_money(f.total, f.currency),
            f"{f.count} invoice{'' if f.count == 1 else 's'}",
        )
        for f in figures
    ]
    return Figure(
        key="receivables-aging",
        title="Receivables aging",
        meaning="What issued invoices still owe, by days past their due date today: current "
        "(not yet due), 1-30, 31-60, 61-90 and over 90 days.",
        table=Table("Receivables by days past due", ["Currency", "Due", "Invoices", "Owed"], rows),
        empty="Nothing is owed.",
        charts=charts,
        headlines=headlines,
        more=("Receivables by customer", HOME + "/receivables"),
    )


def overdue_figure(session: Session, account_id: str, today: date) -> Figure:
    rows = [
        [
            text(row.invoice_number or row.invoice_id, INVOICE + row.invoice_id),
            text(row.customer_name, CUSTOMER + row.customer_id),
            Cell(day_label(row.due_date), row.due_date.isoformat()),
            number((today - row.due_date).days),
            amount(row.amount_due, row.currency),
            text(row.currency),
        ]
        for row in service.overdue(session, account_id, today, OVERDUE_SHOWN)
    ]
    return Figure(
        key="overdue-invoices",
        title="Overdue invoices",
        meaning=f"Sent, unpaid or partly paid, past the due date; the {OVERDUE_SHOWN} longest "
        "overdue.",
        table=Table(
            "Overdue invoices, longest overdue first",
            ["Invoice", "Customer", "Due", "Days overdue", "Amount due", "Currency"],
            rows,
        ),
        empty="No invoice is overdue.",
        more=("All overdue invoices", HOME + "/invoices?overdue=true"),
    )


def top_revenue_figure(session: Session, account_id: str, today: date) -> Figure:
    first = service.Month.of(today).minus(11).first
    figures = service.top_customers_by_revenue(session, account_id, first, today)
    rows = [
        [text(f.currency), number(rank), text(c.customer_name, CUSTOMER + c.customer_id),
         number(c.invoice_count), amount(c.net, f.currency), amount(c.gross, f.currency)]
        for f in figures
        for rank, c in enumerate(f.customers, 1)
    ]  # fmt: skip
    charts = [
        chart(
            "bars",
            f"Top customers by net billed in {f.currency}, {day_label(first)} to "
            f"{day_label(today)}",
            [_short(c.customer_name) for c in f.customers],
            [("Net billed", [c.net for c in f.customers])],
            money_ticks(f.currency),
            tips=[c.customer_name for c in f.customers],
            every=1,
        )
        for f in figures
    ]
    return Figure(
        key="top-customers-revenue",
        title="Top customers by revenue",
        meaning="Net billed on issued invoices over the last 12 months (this month included).",
        table=Table(
            "Top customers by revenue",
            ["Currency", "Rank", "Customer", "Invoices", "Net", "Gross"],
            rows,
        ),
        empty="No invoices issued in the last 12 months.",
        charts=charts,
    )


def top_usage_figure(session: Session, account_id: str, today: date) -> Figure:
    first = service.Month.of(today).first
    figures = service.top_customers_by_usage(session, account_id, first, today)
    rows = [
        [text(f.metric.name), text(f.measure), number(rank),
         text(c.customer_name, CUSTOMER + c.customer_id), number(c.events), number(c.value)]
        for f in figures
        for rank, c in enumerate(f.customers, 1)
    ]  # fmt: skip
    return Figure(
        key="top-customers-usage",
        title="Top customers by usage",
        meaning=f"This month's usage ({day_label(first)} to {day_label(today)}) per metric: "
        "a COUNT metric by its events, SUM by the sum of its values, MAX by the highest; "
        "others by their events.",
        table=Table(
            "Top customers by usage this month",
            ["Metric", "Measured by", "Rank", "Customer", "Events", "Usage"],
            rows,
        ),
        empty="No usage this month — usage events sent to the API show here.",
        more=("Usage by month", HOME + "/usage/metrics"),
    )


def usage_figure(session: Session, account_id: str, today: date) -> Figure:
    first, last = service.days_window(today, None, None)
    figures = service.usage_over_time(session, account_id, first, last)
    rows = [
        [text(f.metric.name), text(f.measure), Cell(day_label(day), day.isoformat()),
         number(events), number(value)]
        for f in figures
        for day, events, value in zip(f.days, f.events, f.values, strict=True)
    ]  # fmt: skip
    charts = [
        chart(
            "lines",
            f"{f.metric.name} per day ({f.measure}{', ' + f.metric.unit if f.metric.unit else ''}"
            f"), {day_label(first)} to {day_label(last)}",
            [day_tick(day) for day in f.days],
            [(f.metric.name, f.values)],
            quantity_text,
            tips=[day_label(day) for day in f.days],
        )
        for f in figures
    ]
    return Figure(
        key="usage",
        title="Usage per metric",
        meaning="Each metric per day over the last 30 days, every customer together.",
        table=Table(
            "Usage per metric per day",
            ["Metric", "Measured by", "Day", "Events", "Usage"],
            rows,
        ),
        empty="No usage in the last 30 days — usage events sent to the API show here.",
        charts=charts,
        more=("Usage events", HOME + "/usage"),
    )


def _short(name: str, most: int = 14) -> str:
    return name if len(name) <= most else name[: most - 1] + "\u2026"


Builder = Callable[[Session, str, date], Figure]
FIGURES: dict[str, Builder] = {
    "mrr": mrr_figure,
    "revenue": revenue_figure,
    "cash": cash_figure,
    "receivables-aging": aging_figure,
    "overdue-invoices": overdue_figure,
    "top-customers-revenue": top_revenue_figure,
    "top-customers-usage": top_usage_figure,
    "usage": usage_figure,
}


def home_figures(session: Session, account_id: str) -> list[Figure]:
    today = service.today_of(session, account_id)
    return [build(session, account_id, today) for build in FIGURES.values()]


# --- CSV ---------------------------------------------------------------------------------------

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _safe(cell: Cell) -> str:
    """A text cell a spreadsheet would read as a formula gets a leading apostrophe."""
    if not cell.numeric and cell.value.startswith(_FORMULA):
        return "'" + cell.value
    return cell.value


def csv_text(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_safe(cell) for cell in row])
    return out.getvalue()


@router.get("/analytics/{name}.csv")
def figure_csv(name: str, viewer: SignedInViewer, session: DbSession) -> Response:
    build = FIGURES.get(name)
    if build is None:
        raise DashboardPageError.not_found()
    today = service.today_of(session, viewer.account_id)
    figure = build(session, viewer.account_id, today)
    return download(csv_text(figure.table), "text/csv; charset=utf-8", f"{name}-{today}.csv")
