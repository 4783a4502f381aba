"""The dashboard's home: what needs the finance team's attention, as the invoice list's own
filters (each card links to the list so filtered) and totals (`invoices.service.summary`,
one grouped query per card); then the analytics figures (`dashboard/analytics.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from tally.accounts import seller
from tally.core.clock import local_today
from tally.dashboard import analytics
from tally.documents import render as documents
from tally.invoices import service
from tally.invoices.endpoints import invoice_filters
from tally.models.scoped import get_account

INVOICES = "/dashboard/invoices"

# (title, what it means, the invoice list's query parameters)
CARDS = (
    ("Drafts to review", "Closed periods awaiting finalizing.", {"invoiceStatus": "DRAFT"}),
    (
        "Awaiting payment",
        "Sent to customers, not paid yet.",
        {"invoiceStatus": "SENT", "invoicePaymentStatus": "UNPAID,PARTIALLY_PAID"},
    ),
    (
        "Overdue",
        "Sent, unpaid or partly paid, past the due date.",
        {"overdue": "true"},  # `invoices.queries.overdue_condition`
    ),
)


@dataclass(frozen=True)
class OverviewCard:
    key: str
    title: str
    meaning: str
    url: str
    count: int
    totals: list[str]  # one amount per currency, formatted


def invoice_cards(session: Session, account_id: str) -> list[OverviewCard]:
    today = local_today(get_account(session, account_id).timezone)
    cards = []
    for title, meaning, query in CARDS:
        filters = invoice_filters(
            invoice_status=query.get("invoiceStatus"),
            payment_status=query.get("invoicePaymentStatus"),
            overdue=query.get("overdue") == "true" or None,
        )
        totals = service.summary(session, account_id, filters, today)
        cards.append(
            OverviewCard(
                key=title.lower().replace(" ", "-"),
                title=title,
                meaning=meaning,
                url=f"{INVOICES}?{urlencode(query)}",
                count=sum(total.invoice_count for total in totals),
                totals=[
                    documents.Formatter(total.currency).money(total.gross_total) for total in totals
                ],
            )
        )
    return cards


def seller_missing(session: Session, account_id: str) -> list[str]:
    """What the account lacks to issue invoices (`accounts.seller`): the home page says so,
    since billing keeps its invoices drafts until then."""
    return seller.missing_details(get_account(session, account_id))


def analytics_figures(session: Session, account_id: str) -> list[analytics.Figure]:
    """MRR, billed revenue, cash, aging, overdue invoices, top customers and usage, each
    with its charts, table and CSV link (`analytics.service`'s figures)."""
    return analytics.home_figures(session, account_id)
