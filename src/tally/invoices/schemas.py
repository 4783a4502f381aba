"""Invoice bodies in Sequence's shapes (`InvoiceResponse`, `Stable20240101LineItemResponse`,
`LineItemGroupResponseModel`), plus Tally's extensions: an invoice's `lineItems` and
`lineItemGroups`, a line's `kind` and roll-up `breakdown`, a group's `productId`.

Amounts of money are strings with the currency's minor-unit places ("150.00", JPY "1500");
quantities and rates are plain decimal strings ("10", "0.2").
"""

from collections.abc import Collection
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import Field

from tally.api.schemas import Schema
from tally.engine.money import minor_unit, round_money
from tally.models import (
    Invoice,
    InvoiceLineItem,
    InvoiceLineItemGroup,
    InvoiceStatus,
    LineKind,
    PaymentStatus,
    TaxStatus,
)


def money(amount: Decimal, currency: str) -> str:
    """An amount with the currency's minor-unit places: "150.00" in GBP, "1500" in JPY."""
    rounded = round_money(amount, currency)
    return format(rounded if rounded else abs(rounded), "f")  # never "-0.00"


def plain(value: Decimal) -> str:
    """A decimal without trailing zeros or exponent: 10.000 -> "10", 0.20 -> "0.2".

    Not `Decimal.normalize`, which rounds to the context's 28 digits."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def rate_text(rate: Decimal, currency: str, rate_display: str) -> str:
    """An absolute rate is money, at least to the minor unit ("15.00"), and keeps any finer
    places it has ("0.0125"); a percentage rate is a plain number."""
    if rate_display == RateDisplay.ABSOLUTE:
        places = minor_unit(currency)
        if rate == rate.quantize(places):
            return money(rate, currency)
    return plain(rate)


def midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


class RateDisplay(StrEnum):
    ABSOLUTE = "ABSOLUTE"
    PERCENTAGE = "PERCENTAGE"


class DueDateSource(StrEnum):
    MANUAL = "MANUAL"
    CALCULATED = "CALCULATED"


class PaymentLinkDisplay(StrEnum):
    SHOW_PAYMENT_LINK = "SHOW_PAYMENT_LINK"
    HIDE_PAYMENT_LINK = "HIDE_PAYMENT_LINK"


class InclusiveDateRange(Schema):
    start: date
    end_inclusive: date


class DateRange(Schema):
    start_date: date
    end_date: date


class KeyValue(Schema):
    key: str
    value: str


class AddressOut(Schema):
    """The address as the invoice keeps it (already validated when the customer was saved)."""

    line1: str
    line2: str | None = None
    town: str
    state: str | None = None
    postcode: str
    country: str


class RenderSettings(Schema):
    payment_link_display: PaymentLinkDisplay = PaymentLinkDisplay.SHOW_PAYMENT_LINK


class IntegrationPaymentStatuses(Schema):
    """Per payment integration; none yet, so always empty."""

    stripe: str | None = None
    go_cardless: str | None = None


class CustomerShare(Schema):
    """One customer's part of a roll-up line's quantity."""

    customer_id: str
    quantity: str


class LineItemOut(Schema):
    """Sequence's Stable20240101LineItemResponse, plus `kind` and `breakdown`."""

    id: str
    invoice_id: str
    title: str
    description: str | None = None
    quantity: str
    rate: str
    tax_rate: str
    service_period_start: datetime | None = None
    service_period_end: datetime | None = None
    service_period: DateRange | None = None
    index: int
    group_id: str | None = None
    net_total: str
    total_tax: str
    gross_total: str
    price_id: str | None = None
    product_id: str | None = None
    rate_display: RateDisplay
    external_ids: list[KeyValue] = Field(default_factory=list)
    kind: LineKind = Field(description="Tally: PRICE, DISCOUNT, MINIMUM, CREDIT or MANUAL.")
    breakdown: list[CustomerShare] | None = Field(
        default=None, description="Tally: each customer's quantity on a roll-up line."
    )

    @classmethod
    def build(cls, line: InvoiceLineItem, currency: str) -> "LineItemOut":
        start, end = line.service_period_start, line.service_period_end
        return cls(
            id=line.id,
            invoice_id=line.invoice_id,
            title=line.title,
            description=line.description,
            quantity=plain(line.quantity),
            rate=rate_text(line.rate, currency, line.rate_display),
            tax_rate=plain(line.tax_rate),
            service_period_start=midnight_utc(start) if start else None,
            service_period_end=midnight_utc(end) if end else None,
            service_period=DateRange(start_date=start, end_date=end) if start and end else None,
            index=line.index,
            group_id=line.group_id,
            net_total=money(line.net_total, currency),
            total_tax=money(line.total_tax, currency),
            gross_total=money(line.gross_total, currency),
            price_id=line.price_id,
            product_id=line.product_id,
            rate_display=RateDisplay(line.rate_display),
            kind=line.kind,
            breakdown=[CustomerShare.model_validate(s) for s in line.breakdown] or None,
        )


class LineItemGroupOut(Schema):
    """Sequence's LineItemGroupResponseModel, plus `productId`."""

    id: str
    invoice_id: str
    title: str
    description: str | None = None
    index: int
    net_total: str
    total_tax: str
    gross_total: str
    product_id: str | None = Field(default=None, description="Tally: the product it groups.")

    @classmethod
    def build(cls, group: InvoiceLineItemGroup, currency: str) -> "LineItemGroupOut":
        return cls(
            id=group.id,
            invoice_id=group.invoice_id,
            title=group.title,
            description=group.description,
            index=group.index,
            net_total=money(group.net_total, currency),
            total_tax=money(group.total_tax, currency),
            gross_total=money(group.gross_total, currency),
            product_id=group.product_id,
        )


class InvoiceOut(Schema):
    """Sequence's InvoiceResponse (the list's items are this shape too).

    Credit notes, credit grants, payments and integrations do not exist in Tally yet: their
    fields are present, as the schema requires, and empty.
    """

    id: str
    sequence_account_id: str
    billing_schedule_id: str | None = None
    billing_run_id: str | None = None
    status: InvoiceStatus
    currency: str
    invoice_number: str | None = None
    issue_date: date | None = None
    due_date: date | None = None
    purchase_order_number: str | None = None
    reference: str | None = None
    customer_emails: list[str]
    customer_legal_company_name: str
    customer_billing_address: AddressOut
    customer_shipping_address: AddressOut = Field(description="Tally: the billing address.")
    memo: str | None = None
    billing_period: InclusiveDateRange | None = None
    customer_id: str
    total_tax: str
    net_total: str
    gross_total: str
    metadata: list[KeyValue]
    payment_status: PaymentStatus
    created_at: datetime
    updated_at: datetime
    credit_note_ids: list[str] = Field(default_factory=list)
    linked_services: list[Any] = Field(default_factory=list)
    accounting_date: date
    calculated_at: datetime | None = None
    customer_tax_status: TaxStatus
    render_settings: RenderSettings = Field(default_factory=RenderSettings)
    is_customer_archived: bool
    integration_payment_statuses: IntegrationPaymentStatuses = Field(
        default_factory=IntegrationPaymentStatuses
    )
    applied_credit_notes: list[Any] = Field(default_factory=list)
    applied_credit_grants: list[Any] = Field(default_factory=list)
    projected_credit_grants: list[Any] = Field(default_factory=list)
    payment_allocations: list[Any] = Field(default_factory=list)
    payment_term_days: int | None = None
    due_date_source: DueDateSource = DueDateSource.CALCULATED
    invoice_date: date | None = Field(
        default=None,
        description="Tally: the day billing issues (or issued) this invoice; for an "
        "IN_PROGRESS invoice, when its period closes.",
    )

    @classmethod
    def fields_of(cls, invoice: Invoice, archived_customers: Collection[str]) -> dict[str, Any]:
        currency = invoice.currency
        address = AddressOut.model_validate(invoice.customer_billing_address)
        start, end = invoice.billing_period_start, invoice.billing_period_end
        return {
            "id": invoice.id,
            "sequence_account_id": invoice.account_id,
            "billing_schedule_id": invoice.billing_schedule_id,
            "billing_run_id": invoice.billing_run_id,
            "status": invoice.status,
            "currency": currency,
            "invoice_number": invoice.invoice_number,
            "issue_date": invoice.issue_date,
            "due_date": invoice.due_date,
            "purchase_order_number": invoice.purchase_order_number,
            "reference": invoice.reference,
            "customer_emails": list(invoice.customer_emails),
            "customer_legal_company_name": invoice.customer_legal_company_name,
            "customer_billing_address": address,
            "customer_shipping_address": address,
            "memo": invoice.memo,
            "billing_period": (
                InclusiveDateRange(start=start, end_inclusive=end) if start and end else None
            ),
            "customer_id": invoice.customer_id,
            "total_tax": money(invoice.total_tax, currency),
            "net_total": money(invoice.net_total, currency),
            "gross_total": money(invoice.gross_total, currency),
            "metadata": [KeyValue.model_validate(item) for item in invoice.metadata_items],
            "payment_status": invoice.payment_status,
            "created_at": invoice.created_at,
            "updated_at": invoice.updated_at,
            "accounting_date": invoice.accounting_date,
            "calculated_at": invoice.calculated_at,
            "customer_tax_status": TaxStatus(invoice.customer_tax_status),
            "is_customer_archived": invoice.customer_id in archived_customers,
            "payment_term_days": invoice.payment_term_days,
            "invoice_date": invoice.invoice_date,
        }

    @classmethod
    def build(cls, invoice: Invoice, archived_customers: Collection[str]) -> "InvoiceOut":
        """`archived_customers`: ids of archived customers, at least those of this invoice."""
        return cls(**cls.fields_of(invoice, archived_customers))


class InvoiceDetailOut(InvoiceOut):
    """One invoice with its lines and groups, in their order (Tally's extension)."""

    line_items: list[LineItemOut] = Field(description="Tally: the invoice's lines, by index.")
    line_item_groups: list[LineItemGroupOut] = Field(
        description="Tally: the invoice's line groups, by index."
    )

    @classmethod
    def build_detail(
        cls, invoice: Invoice, archived_customers: Collection[str]
    ) -> "InvoiceDetailOut":
        """`invoice` with its `line_items` and `groups` loaded."""
        return cls(
            **cls.fields_of(invoice, archived_customers),
            line_items=[LineItemOut.build(line, invoice.currency) for line in invoice.line_items],
            line_item_groups=[
                LineItemGroupOut.build(group, invoice.currency) for group in invoice.groups
            ],
        )
