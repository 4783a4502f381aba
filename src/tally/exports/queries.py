"""The reads behind each export: one statement per dataset, always within one account, in a
stable order (so two exports of the same rows are the same file). The service runs them with
a server-side cursor, a batch at a time."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Text, cast, select

from tally.models import Invoice, InvoiceLineItem, UsageEvent

# A statement of columns, as many as the dataset has.
Rows = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class Filters:
    """What to export. `start` is inclusive, `end` exclusive: the event's timestamp for usage
    events, the invoice's `updatedAt` for invoices and their lines (so an export starting
    where the previous one ended picks up every invoice created or changed since)."""

    start: datetime | None = None
    end: datetime | None = None
    customer_aliases: tuple[str, ...] = ()  # usage events only
    event_type: str | None = None  # usage events only
    customer_id: str | None = None  # invoices and invoice lines only


def usage_events(account_id: str, filters: Filters) -> Rows:
    query = select(
        UsageEvent.id,
        UsageEvent.customer_event_id,
        UsageEvent.customer_alias,
        UsageEvent.event_type,
        UsageEvent.event_timestamp,
        cast(UsageEvent.properties, Text).label("properties_json"),
        UsageEvent.account_id,
    ).where(UsageEvent.account_id == account_id)
    if filters.start is not None:
        query = query.where(UsageEvent.event_timestamp >= filters.start)
    if filters.end is not None:
        query = query.where(UsageEvent.event_timestamp < filters.end)
    if filters.customer_aliases:
        query = query.where(UsageEvent.customer_alias.in_(filters.customer_aliases))
    if filters.event_type is not None:
        query = query.where(UsageEvent.event_type == filters.event_type)
    return query.order_by(UsageEvent.event_timestamp, UsageEvent.id)


def _invoice_filters(query: Rows, account_id: str, filters: Filters) -> Rows:
    query = query.where(Invoice.account_id == account_id)
    if filters.start is not None:
        query = query.where(Invoice.updated_at >= filters.start)
    if filters.end is not None:
        query = query.where(Invoice.updated_at < filters.end)
    if filters.customer_id is not None:
        query = query.where(Invoice.customer_id == filters.customer_id)
    return query


_INVOICE_COLUMNS = (
    Invoice.id,
    Invoice.account_id,
    Invoice.customer_id,
    Invoice.billing_schedule_id,
    Invoice.billing_run_id,
    Invoice.status,
    Invoice.payment_status,
    Invoice.currency,
    Invoice.invoice_number,
    Invoice.invoice_date,
    Invoice.issue_date,
    Invoice.due_date,
    Invoice.billing_period_start,
    Invoice.billing_period_end,
    Invoice.accounting_date,
    Invoice.payment_term_days,
    Invoice.net_total,
    Invoice.total_tax,
    Invoice.gross_total,
    Invoice.balance,
    Invoice.customer_legal_company_name,
    Invoice.customer_emails,
    Invoice.customer_billing_address,
    Invoice.customer_shipping_address,
    Invoice.customer_tax_status,
    Invoice.purchase_order_number,
    Invoice.reference,
    Invoice.memo,
    Invoice.metadata_items,
    Invoice.created_at,
    Invoice.updated_at,
    Invoice.calculated_at,
    Invoice.finalized_at,
    Invoice.sent_at,
    Invoice.voided_at,
)


def invoices(account_id: str, filters: Filters) -> Rows:
    query = select(*_INVOICE_COLUMNS)
    return _invoice_filters(query, account_id, filters).order_by(Invoice.id)


def invoice_lines(account_id: str, filters: Filters) -> Rows:
    """The lines of the invoices `invoices` exports, with their invoice's currency."""
    line = InvoiceLineItem
    query = (
        select(
            line.id,
            line.invoice_id,
            line.group_id,
            line.index.label("line_index"),  # a Row's `index` is tuple.index
            line.kind,
            line.title,
            line.description,
            line.quantity,
            line.rate,
            line.rate_display,
            line.tax_rate,
            line.net_total,
            line.total_tax,
            line.gross_total,
            Invoice.currency,
            line.price_id,
            line.product_id,
            line.credit_grant_id,
            line.service_period_start,
            line.service_period_end,
            line.revenue_classification,
            line.revenue_recognition_method,
        )
        .join(Invoice, Invoice.id == line.invoice_id)
        .where(line.account_id == account_id)
    )
    return _invoice_filters(query, account_id, filters).order_by(
        line.invoice_id, line.index, line.id
    )
