"""Reading invoices, their line items and groups, always within one account: lists with
Sequence's filters (and Tally's `overdue`), the per-currency summary, one invoice. Billing
and people write them (`lifecycle`, `drafts`)."""

import operator
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, exists, func, not_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from tally.billed import lines
from tally.core.sql import exact_compare, exact_sum
from tally.engine.money import ZERO, round_money
from tally.exceptions import NotFound
from tally.invoices.queries import overdue_condition
from tally.invoices.sorting import InvoiceSort
from tally.models import (
    Customer,
    Invoice,
    InvoiceLineItem,
    InvoiceStatus,
    LineKind,
    PaymentStatus,
)


@dataclass(frozen=True)
class InvoiceFilters:
    """Sequence's list filters. Lists match any of their values; `excluded_*` any of none.
    Dates compare strictly (`due_before` 2024-05-01: due on 2024-04-30 or earlier)."""

    statuses: list[InvoiceStatus] | None = None
    excluded_statuses: list[InvoiceStatus] | None = None
    payment_statuses: list[PaymentStatus] | None = None
    excluded_payment_statuses: list[PaymentStatus] | None = None
    customer_ids: list[str] | None = None
    excluded_customer_ids: list[str] | None = None
    billing_schedule_ids: list[str] | None = None
    excluded_billing_schedule_ids: list[str] | None = None
    currencies: list[str] | None = None
    excluded_currencies: list[str] | None = None
    due_before: date | None = None
    due_after: date | None = None
    invoice_before: date | None = None  # on the invoice date
    invoice_after: date | None = None
    sent_before: date | None = None  # on the issue date
    sent_after: date | None = None
    invoice_number: str | None = None
    excluded_invoice_numbers: list[str] | None = None
    search: str | None = None  # part of the invoice number, any case
    exclude_search: str | None = None  # not with this in the number (any case); unnumbered stay
    overdue: bool | None = None  # Tally: `queries.overdue_condition` (or its complement)
    net_total: Decimal | None = None  # exactly this net total ("150" matches 150.00)
    excluded_net_total: Decimal | None = None
    exclude_zero_quantity: bool = False  # leave out invoices no line of which has a quantity
    sort: InvoiceSort | None = None  # lists only: `sorting`

    @property
    def compares_amounts(self) -> bool:
        return (
            self.net_total is not None
            or self.excluded_net_total is not None
            or self.exclude_zero_quantity
        )


def invoice_query(account_id: str) -> Select[Invoice]:
    return select(Invoice).where(Invoice.account_id == account_id)


def _contains(column: InstrumentedAttribute[str | None], text: str) -> ColumnElement[bool]:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped.lower()}%", escape="\\")


def _none_of(column: InstrumentedAttribute[str | None], values: list[str]) -> ColumnElement[bool]:
    return or_(column.is_(None), column.not_in(values))


def _before_after(
    column: InstrumentedAttribute[date | None], before: date | None, after: date | None
) -> list[ColumnElement[bool]]:
    conditions = []
    if before is not None:
        conditions.append(column < before)
    if after is not None:
        conditions.append(column > after)
    return conditions


def _amount_conditions(bind: Session, f: InvoiceFilters) -> list[ColumnElement[bool]]:
    """netTotal, excludeNetTotal, excludeZeroQuantity: amounts compared exactly."""
    conditions: list[ColumnElement[bool]] = []
    if f.net_total is not None:
        conditions.append(exact_compare(bind, Invoice.net_total, operator.eq, f.net_total))
    if f.excluded_net_total is not None:
        conditions.append(exact_compare(bind, Invoice.net_total, operator.ne, f.excluded_net_total))
    if f.exclude_zero_quantity:
        counted = select(InvoiceLineItem.id).where(
            InvoiceLineItem.account_id == Invoice.account_id,
            InvoiceLineItem.invoice_id == Invoice.id,
            exact_compare(bind, InvoiceLineItem.quantity, operator.ne, ZERO),
        )
        conditions.append(exists(counted))
    return conditions


def _conditions(
    filters: InvoiceFilters, today: date, bind: Session | None = None
) -> list[ColumnElement[bool]]:
    f = filters
    conditions: list[ColumnElement[bool]] = []
    for column, wanted, unwanted in (
        (Invoice.status, f.statuses, f.excluded_statuses),
        (Invoice.payment_status, f.payment_statuses, f.excluded_payment_statuses),
        (Invoice.customer_id, f.customer_ids, f.excluded_customer_ids),
        (Invoice.currency, f.currencies, f.excluded_currencies),
    ):
        if wanted:
            conditions.append(column.in_(wanted))
        if unwanted:
            conditions.append(column.not_in(unwanted))
    if f.billing_schedule_ids:
        conditions.append(Invoice.billing_schedule_id.in_(f.billing_schedule_ids))
    if f.excluded_billing_schedule_ids:
        # One-off invoices have no schedule, so no excluded one (NOT IN alone drops NULLs).
        conditions.append(_none_of(Invoice.billing_schedule_id, f.excluded_billing_schedule_ids))
    conditions += _before_after(Invoice.due_date, f.due_before, f.due_after)
    conditions += _before_after(Invoice.invoice_date, f.invoice_before, f.invoice_after)
    conditions += _before_after(Invoice.issue_date, f.sent_before, f.sent_after)
    if f.invoice_number is not None:
        conditions.append(Invoice.invoice_number == f.invoice_number)
    if f.excluded_invoice_numbers:
        # Invoices without a number yet have none of the excluded ones.
        conditions.append(_none_of(Invoice.invoice_number, f.excluded_invoice_numbers))
    if f.search:
        conditions.append(_contains(Invoice.invoice_number, f.search))
    if f.exclude_search:
        conditions.append(
            or_(
                Invoice.invoice_number.is_(None),
                not_(_contains(Invoice.invoice_number, f.exclude_search)),
            )
        )
    if f.overdue is not None:
        overdue = overdue_condition(today)  # never NULL: NOT of it is exactly the rest
        conditions.append(overdue if f.overdue else not_(overdue))
    if f.compares_amounts:
        if bind is None:
            raise ValueError("amount filters compare exactly through the session: give `bind`")
        conditions += _amount_conditions(bind, f)
    return conditions


def filtered_invoices(
    account_id: str, filters: InvoiceFilters, today: date, bind: Session | None = None
) -> Select[Invoice]:
    """`today`: the account's local date, which `overdue` compares due dates with; `bind`:
    the session, which the amount filters need (they compare exact decimals)."""
    return invoice_query(account_id).where(*_conditions(filters, today, bind))


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    invoice_count: int
    gross_total: Decimal


def summary(
    session: Session, account_id: str, filters: InvoiceFilters, today: date
) -> list[CurrencyTotals]:
    """How many invoices match the filters and their gross total, per currency, in one
    grouped query over the whole matching set."""
    gross = exact_sum(session, Invoice.gross_total)
    rows = session.execute(
        select(Invoice.currency, func.count(), gross)
        .where(Invoice.account_id == account_id, *_conditions(filters, today, session))
        .group_by(Invoice.currency)
        .order_by(Invoice.currency)
    )
    return [
        CurrencyTotals(currency, count, round_money(total or ZERO, currency))
        for currency, count, total in rows
    ]


@dataclass(frozen=True)
class StatusTotals:
    status: InvoiceStatus
    currency: str
    invoice_count: int
    gross_total: Decimal


def summary_by_status(
    session: Session, account_id: str, filters: InvoiceFilters, today: date
) -> list[StatusTotals]:
    """`summary` split by status (the dashboard's list): per status and currency, in the
    lifecycle's order, in one grouped query."""
    gross = exact_sum(session, Invoice.gross_total)
    rows = session.execute(
        select(Invoice.status, Invoice.currency, func.count(), gross)
        .where(Invoice.account_id == account_id, *_conditions(filters, today, session))
        .group_by(Invoice.status, Invoice.currency)
    )
    order = {status: index for index, status in enumerate(InvoiceStatus)}
    totals = [
        StatusTotals(status, currency, count, round_money(total or ZERO, currency))
        for status, currency, count, total in rows
    ]
    return sorted(totals, key=lambda t: (order[t.status], t.currency))


def get_invoice(session: Session, account_id: str, invoice_id: str) -> Invoice:
    """The invoice with its line items and groups loaded (three queries)."""
    invoice = session.scalar(
        invoice_query(account_id)
        .where(Invoice.id == invoice_id)
        .options(selectinload(Invoice.line_items), selectinload(Invoice.groups))
        .execution_options(populate_existing=True)
    )
    if invoice is None:
        raise NotFound.resource("Invoice", invoice_id)
    return invoice


def archived_customers(session: Session, account_id: str, invoices: Iterable[Invoice]) -> set[str]:
    """Which of the invoices' customers are archived, in one query."""
    customer_ids = {invoice.customer_id for invoice in invoices}
    if not customer_ids:
        return set()
    return set(
        session.scalars(
            select(Customer.id).where(
                Customer.account_id == account_id,
                Customer.id.in_(customer_ids),
                Customer.archived_at.is_not(None),
            )
        )
    )


def currency_of(session: Session, account_id: str, invoice_id: str) -> str:
    """The invoice's currency (its amounts are shown in it); 404 if not in the account."""
    return lines.currency_of(session, Invoice, account_id, invoice_id)


def credit_lines(
    session: Session, account_id: str, invoice_ids: Collection[str]
) -> dict[str, list[InvoiceLineItem]]:
    """The invoices' CREDIT lines (what `appliedCreditGrants` sums), by invoice: one query."""
    lines: dict[str, list[InvoiceLineItem]] = {invoice_id: [] for invoice_id in invoice_ids}
    if not invoice_ids:
        return lines
    for line in session.scalars(
        select(InvoiceLineItem)
        .where(
            InvoiceLineItem.account_id == account_id,
            InvoiceLineItem.invoice_id.in_(list(invoice_ids)),
            InvoiceLineItem.kind == LineKind.CREDIT,
        )
        .order_by(InvoiceLineItem.index)
    ):
        lines[line.invoice_id].append(line)
    return lines
