"""The customer's sent invoices: filtered, searched and paged in the database."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from sqlalchemy import (
    case,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from tally.core.sql import exact_compare
from tally.invoices.queries import OWING, is_overdue, overdue_condition
from tally.models import (
    Invoice,
    InvoiceStatus,
    PaymentStatus,
)
from tally.portal.data._common import ZERO


class InvoiceFilter(StrEnum):
    ALL = "all"
    OUTSTANDING = "outstanding"  # not paid yet (overdue ones included)
    OVERDUE = "overdue"  # `invoices.queries.overdue_condition`: owing, past the due date
    PAID = "paid"


@dataclass(frozen=True)
class InvoiceSearch:
    """What the invoice list is narrowed to: every field optional."""

    status: InvoiceFilter = InvoiceFilter.ALL
    text: str | None = None  # the search box: a part of the number, or the total exactly
    number: str | None = None  # a part of the invoice number, any case
    issued_from: date | None = None
    issued_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    amount: Decimal | None = None  # this total exactly

    @property
    def narrowed(self) -> bool:
        return any(
            value is not None
            for value in (
                self.text,
                self.number,
                self.issued_from,
                self.issued_to,
                self.amount_min,
                self.amount_max,
                self.amount,
            )
        )


@dataclass(frozen=True)
class InvoiceRow:
    id: str
    number: str | None
    issue_date: date | None
    due_date: date | None
    period_start: date | None
    period_end: date | None
    currency: str
    total: Decimal
    amount_due: Decimal
    status: str  # PAID, OVERDUE, OUTSTANDING, UNCOLLECTIBLE
    payment_status: str


@dataclass(frozen=True)
class InvoicePage:
    rows: list[InvoiceRow]
    total: int  # matching the search
    page: int
    pages: int
    per_page: int
    counts: dict[str, int]  # every SENT invoice by filter: all, outstanding, overdue, paid


def parse_amount(text: str | None) -> Decimal | None:
    """A typed amount ("1,250.00", "£90") as a Decimal; None when it is not one."""
    if not text:
        return None
    cleaned = "".join(ch for ch in text if ch.isdigit() or ch in ".-")
    if not cleaned or not any(ch.isdigit() for ch in cleaned):
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def _unpaid() -> ColumnElement[bool]:
    return Invoice.payment_status.in_(OWING)


def _status_of(payment: PaymentStatus, due: date | None, today: date) -> str:
    if payment is PaymentStatus.PAID:
        return "PAID"
    if payment is PaymentStatus.UNCOLLECTIBLE:
        return "UNCOLLECTIBLE"
    # Every row here is SENT: the API's and the dashboard's rule, for one row.
    if is_overdue(InvoiceStatus.SENT, payment, due, today):
        return "OVERDUE"
    return "OUTSTANDING"


def sent_invoices(
    session: Session,
    account_id: str,
    customer_id: str,
    today: date,
    search: InvoiceSearch | None = None,
    *,
    page: int = 1,
    per_page: int = 20,
) -> InvoicePage:
    """The customer's SENT invoices (seed 000: only those show), newest first, narrowed by
    `search` in the database over all of them, one page at a time. Two queries (three when
    the search is narrowed): the counts per filter, the number matching, and the page."""
    search = search or InvoiceSearch()
    base = [
        Invoice.account_id == account_id,
        Invoice.customer_id == customer_id,
        Invoice.status == InvoiceStatus.SENT,
    ]
    overdue = overdue_condition(today)
    count_row = session.execute(
        select(
            func.count(),
            func.sum(case((_unpaid(), 1), else_=0)),
            func.sum(case((overdue, 1), else_=0)),
            func.sum(case((Invoice.payment_status == PaymentStatus.PAID, 1), else_=0)),
        ).where(*base)
    ).one()
    counts = {
        InvoiceFilter.ALL.value: int(count_row[0] or 0),
        InvoiceFilter.OUTSTANDING.value: int(count_row[1] or 0),
        InvoiceFilter.OVERDUE.value: int(count_row[2] or 0),
        InvoiceFilter.PAID.value: int(count_row[3] or 0),
    }
    where = [*base, *_filters(session, search, overdue)]
    if search.narrowed:
        total = int(session.scalar(select(func.count()).select_from(Invoice).where(*where)) or 0)
    else:  # a status tab alone: its count is already known
        total = counts[search.status.value]
    per_page = max(1, min(per_page, 100))
    pages = max(1, -(-total // per_page))
    page = max(1, min(page, pages))
    rows = session.execute(
        select(
            Invoice.id,
            Invoice.invoice_number,
            Invoice.issue_date,
            Invoice.due_date,
            Invoice.billing_period_start,
            Invoice.billing_period_end,
            Invoice.currency,
            Invoice.gross_total,
            Invoice.balance,
            Invoice.payment_status,
        )
        .where(*where)
        .order_by(
            Invoice.issue_date.desc().nulls_last(),
            Invoice.invoice_number.desc(),
            Invoice.id.desc(),
        )
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return InvoicePage(
        rows=[
            InvoiceRow(
                id=row.id,
                number=row.invoice_number,
                issue_date=row.issue_date,
                due_date=row.due_date,
                period_start=row.billing_period_start,
                period_end=row.billing_period_end,
                currency=row.currency,
                total=row.gross_total,
                amount_due=ZERO if row.payment_status is PaymentStatus.PAID else row.balance,
                status=_status_of(row.payment_status, row.due_date, today),
                payment_status=row.payment_status.value,
            )
            for row in rows
        ],
        total=total,
        page=page,
        pages=pages,
        per_page=per_page,
        counts=counts,
    )


def _filters(
    session: Session, search: InvoiceSearch, overdue: ColumnElement[bool]
) -> list[ColumnElement[bool]]:
    """The conditions `search` adds to the customer's SENT invoices."""
    where: list[ColumnElement[bool]] = []
    total = Invoice.gross_total
    if search.status is InvoiceFilter.OUTSTANDING:
        where.append(_unpaid())
    elif search.status is InvoiceFilter.OVERDUE:
        where.append(overdue)
    elif search.status is InvoiceFilter.PAID:
        where.append(Invoice.payment_status == PaymentStatus.PAID)
    if search.number:
        where.append(_number_like(search.number))
    if search.text:
        either = [_number_like(search.text)]
        typed = parse_amount(search.text) if _amount_like(search.text) else None
        if typed is not None:
            either.append(exact_compare(session, total, operator.eq, typed))
        where.append(or_(*either))
    if search.issued_from is not None:
        where.append(Invoice.issue_date >= search.issued_from)
    if search.issued_to is not None:
        where.append(Invoice.issue_date <= search.issued_to)
    if search.amount_min is not None:
        where.append(exact_compare(session, total, operator.ge, search.amount_min))
    if search.amount_max is not None:
        where.append(exact_compare(session, total, operator.le, search.amount_max))
    if search.amount is not None:
        where.append(exact_compare(session, total, operator.eq, search.amount))
    return where


def _number_like(text: str) -> ColumnElement[bool]:
    """The invoice number contains `text`, in any case (LIKE's wildcards taken literally)."""
    cleaned = text.lower().replace("\\", "").replace("%", "").replace("_", "")
    return func.lower(func.coalesce(Invoice.invoice_number, "")).like(f"%{cleaned}%")


def _amount_like(text: str) -> bool:
    """ "120", "£1,250.00": what may be an amount as well as a part of a number."""
    digits = text.strip().lstrip("£$€¥").replace(",", "").replace(".", "", 1)
    return digits.isdigit()


def sent_invoice_id(session: Session, account_id: str, customer_id: str, invoice_id: str) -> bool:
    """Whether the invoice is one of the customer's SENT invoices (the only ones shown)."""
    found = session.scalar(
        select(Invoice.id).where(
            Invoice.account_id == account_id,
            Invoice.customer_id == customer_id,
            Invoice.id == invoice_id,
            Invoice.status == InvoiceStatus.SENT,
        )
    )
    return found is not None


def sent_invoice_status(
    session: Session, account_id: str, customer_id: str, invoice_id: str, today: date
) -> str | None:
    """The status the invoice list shows (PAID, OVERDUE, OUTSTANDING, UNCOLLECTIBLE) of one of
    the customer's SENT invoices; None when it is not one of them."""
    row = session.execute(
        select(Invoice.payment_status, Invoice.due_date).where(
            Invoice.account_id == account_id,
            Invoice.customer_id == customer_id,
            Invoice.id == invoice_id,
            Invoice.status == InvoiceStatus.SENT,
        )
    ).one_or_none()
    return None if row is None else _status_of(row.payment_status, row.due_date, today)
