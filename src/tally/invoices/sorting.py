"""Sequence's `sortBy` for invoice lists: CUSTOMER_LEGAL_COMPANY_NAME, GROSS_TOTAL,
ACCOUNTING_DATE, DUE_DATE, ISSUE_DATE (creation order when absent), in `sortOrder`, ties by
creation. Invoices without a due or issue date yet (drafts) sort after every date ascending,
first descending. Amounts sort by value on both databases (`core.sql.sortable_decimal`)."""

from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, Select, func, literal
from sqlalchemy.orm import Session

from tally.api.pagination import PageParams, PageResult, paginate, paginate_by_key
from tally.core.sql import sortable_decimal
from tally.exceptions import InvalidRequest
from tally.models import Invoice

# After every real date: where an invoice without one sorts.
_NO_DATE_YET = date(9999, 12, 31)


class InvoiceSort(StrEnum):
    CUSTOMER_LEGAL_COMPANY_NAME = "CUSTOMER_LEGAL_COMPANY_NAME"
    GROSS_TOTAL = "GROSS_TOTAL"
    ACCOUNTING_DATE = "ACCOUNTING_DATE"
    DUE_DATE = "DUE_DATE"
    ISSUE_DATE = "ISSUE_DATE"


def parse_sort(raw: str | None) -> InvoiceSort | None:
    if raw is None or not raw.strip():
        return None
    try:
        return InvoiceSort(raw.strip().upper())
    except ValueError as exc:
        raise InvalidRequest.field(
            "sortBy", f"{raw!r} is not one of {', '.join(InvoiceSort)}"
        ) from exc


def _dated(column: Any) -> Any:
    return func.coalesce(column, literal(_NO_DATE_YET, Date))


def sort_key(session: Session, sort: InvoiceSort) -> Any:
    """The sort's SQL expression, never NULL."""
    if sort is InvoiceSort.CUSTOMER_LEGAL_COMPANY_NAME:
        return Invoice.customer_legal_company_name
    if sort is InvoiceSort.GROSS_TOTAL:
        return sortable_decimal(session, Invoice.gross_total)
    if sort is InvoiceSort.ACCOUNTING_DATE:
        return Invoice.accounting_date
    if sort is InvoiceSort.DUE_DATE:
        return _dated(Invoice.due_date)
    return _dated(Invoice.issue_date)


def page_of_invoices(
    session: Session, query: Select[Any], sort: InvoiceSort | None, paging: PageParams
) -> PageResult[Any]:
    """One page of invoices (`query`'s rows) in the sort's order, else by creation."""
    if sort is None:
        return paginate(session, query, Invoice.id, paging)
    return paginate_by_key(session, query, sort_key(session, sort), Invoice.id, paging)
