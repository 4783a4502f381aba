"""What each export holds: its columns, named as the API names the fields (nested ones
flattened: `billingPeriod.endInclusive` is `billingPeriodEndInclusive`), and each row's
values as the API answers them.

Values by kind, the same in both formats:
- MONEY: the API's amount (rounded to the currency's minor unit) as a `Decimal`. Parquet
  stores it as decimal128(38, 4): exact, and 4 places hold every ISO 4217 currency's minor
  unit, so one schema serves every currency; CSV writes the API's text ("150.00", JPY "1500").
- NUMBER: quantities and rates as the API's exact text ("10", "0.0125"): they may have any
  number of places, which no fixed decimal scale holds. Never a float, in either format.
- INSTANT: a UTC timestamp (Parquet: microseconds, UTC); CSV "2024-05-01T10:00:00Z".
- DATE: a calendar date; JSON: an object or list as JSON text (event properties exactly as
  stored, every digit kept).
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from tally.core.wire import money, plain, rate_text


class Kind(Enum):
    TEXT = "text"
    JSON = "json"
    MONEY = "money"
    NUMBER = "number"
    INTEGER = "integer"
    DATE = "date"
    INSTANT = "instant"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = Kind.TEXT
    required: bool = False


Values = tuple[Any, ...]


@dataclass(frozen=True)
class Dataset:
    name: str  # as the API's path and the CLI name it
    label: str  # for people: "usage events"
    columns: tuple[Column, ...]
    values: Callable[[Any], Values]  # one query row -> the columns' values


def _money(amount: Decimal | None, currency: str) -> Decimal | None:
    return None if amount is None else Decimal(money(amount, currency))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _present(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """An object as the API answers it: empty optional fields left out."""
    return None if document is None else {k: v for k, v in document.items() if v is not None}


def _enum(value: Enum | str | None) -> str | None:
    return value.value if isinstance(value, Enum) else value


USAGE_EVENTS = Dataset(
    name="usage-events",
    label="usage events",
    columns=(
        Column("id", required=True),
        Column("customerEventId", required=True),
        Column("customerAlias", required=True),
        Column("eventType", required=True),
        Column("eventTimestamp", Kind.INSTANT, required=True),
        Column("eventProperties", Kind.JSON, required=True),
        Column("sequenceAccountId", required=True),
    ),
    values=lambda row: (
        str(row.id),
        row.customer_event_id,
        row.customer_alias,
        row.event_type,
        row.event_timestamp,
        row.properties_json,  # the stored JSON text: numbers keep every digit
        row.account_id,
    ),
)


def _invoice_values(row: Any) -> Values:
    currency = row.currency
    ledger = row.finalized_at is not None  # a balance exists once finalized (as the API)
    shipping = row.customer_shipping_address or row.customer_billing_address
    return (
        row.id,
        row.account_id,
        row.customer_id,
        row.billing_schedule_id,
        row.billing_run_id,
        _enum(row.status),
        _enum(row.payment_status),
        currency,
        row.invoice_number,
        row.invoice_date,
        row.issue_date,
        row.due_date,
        row.billing_period_start if row.billing_period_end else None,
        row.billing_period_end if row.billing_period_start else None,
        row.accounting_date,
        row.payment_term_days,
        _money(row.net_total, currency),
        _money(row.total_tax, currency),
        _money(row.gross_total, currency),
        _money(row.balance, currency) if ledger else None,
        row.customer_legal_company_name,
        _json(list(row.customer_emails)),
        _json(_present(row.customer_billing_address)),
        _json(_present(shipping)),
        row.customer_tax_status,
        row.purchase_order_number,
        row.reference,
        row.memo,
        _json(list(row.metadata_items)),
        row.created_at,
        row.updated_at,
        row.calculated_at,
        row.finalized_at,
        row.sent_at,
        row.voided_at,
    )


INVOICES = Dataset(
    name="invoices",
    label="invoices",
    columns=(
        Column("id", required=True),
        Column("sequenceAccountId", required=True),
        Column("customerId", required=True),
        Column("billingScheduleId"),
        Column("billingRunId"),
        Column("status", required=True),
        Column("paymentStatus", required=True),
        Column("currency", required=True),
        Column("invoiceNumber"),
        Column("invoiceDate", Kind.DATE),
        Column("issueDate", Kind.DATE),
        Column("dueDate", Kind.DATE),
        Column("billingPeriodStart", Kind.DATE),
        Column("billingPeriodEndInclusive", Kind.DATE),
        Column("accountingDate", Kind.DATE, required=True),
        Column("paymentTermDays", Kind.INTEGER),
        Column("netTotal", Kind.MONEY, required=True),
        Column("totalTax", Kind.MONEY, required=True),
        Column("grossTotal", Kind.MONEY, required=True),
        Column("balance", Kind.MONEY),
        Column("customerLegalCompanyName", required=True),
        Column("customerEmails", Kind.JSON, required=True),
        Column("customerBillingAddress", Kind.JSON, required=True),
        Column("customerShippingAddress", Kind.JSON, required=True),
        Column("customerTaxStatus", required=True),
        Column("purchaseOrderNumber"),
        Column("reference"),
        Column("memo"),
        Column("metadata", Kind.JSON, required=True),
        Column("createdAt", Kind.INSTANT, required=True),
        Column("updatedAt", Kind.INSTANT, required=True),
        Column("calculatedAt", Kind.INSTANT),
        Column("finalizedAt", Kind.INSTANT),
        Column("sentAt", Kind.INSTANT),
        Column("voidedAt", Kind.INSTANT),
    ),
    values=_invoice_values,
)


def _line_values(row: Any) -> Values:
    currency = row.currency
    start, end = row.service_period_start, row.service_period_end
    return (
        row.id,
        row.invoice_id,
        row.group_id,
        row.line_index,
        _enum(row.kind),
        row.title,
        row.description,
        plain(row.quantity),
        rate_text(row.rate, currency, row.rate_display),
        row.rate_display,
        plain(row.tax_rate),
        _money(row.net_total, currency),
        _money(row.total_tax, currency),
        _money(row.gross_total, currency),
        currency,
        row.price_id,
        row.product_id,
        row.credit_grant_id,
        start if start and end else None,
        end if start and end else None,
        row.revenue_classification,
        row.revenue_recognition_method,
    )


INVOICE_LINES = Dataset(
    name="invoice-lines",
    label="invoice lines",
    columns=(
        Column("id", required=True),
        Column("invoiceId", required=True),
        Column("groupId"),
        Column("index", Kind.INTEGER, required=True),
        Column("kind", required=True),
        Column("title", required=True),
        Column("description"),
        Column("quantity", Kind.NUMBER, required=True),
        Column("rate", Kind.NUMBER, required=True),
        Column("rateDisplay", required=True),
        Column("taxRate", Kind.NUMBER, required=True),
        Column("netTotal", Kind.MONEY, required=True),
        Column("totalTax", Kind.MONEY, required=True),
        Column("grossTotal", Kind.MONEY, required=True),
        Column("currency", required=True),  # the invoice's: what the amounts are in
        Column("priceId"),
        Column("productId"),
        Column("creditGrantId"),
        Column("servicePeriodStartDate", Kind.DATE),
        Column("servicePeriodEndDate", Kind.DATE),
        Column("revenueClassification"),
        Column("revenueRecognitionMethod"),
    ),
    values=_line_values,
)

DATASETS = {dataset.name: dataset for dataset in (USAGE_EVENTS, INVOICES, INVOICE_LINES)}


def instant_text(moment: datetime) -> str:
    """A UTC timestamp as the API writes it: 2024-05-01T10:00:00Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def csv_cell(kind: Kind, value: Any) -> str:
    """A value as CSV text: the API's, exactly."""
    if value is None:
        return ""
    if kind is Kind.INSTANT:
        return instant_text(value)
    if kind is Kind.DATE:
        assert isinstance(value, date)
        return value.isoformat()
    if kind is Kind.MONEY:
        return format(value, "f")
    return str(value)


def csv_row(columns: Sequence[Column], values: Values) -> list[str]:
    return [csv_cell(column.kind, value) for column, value in zip(columns, values, strict=True)]
