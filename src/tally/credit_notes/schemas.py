"""Credit note bodies in Sequence's shapes: `CreditNote`, its create and update requests, the
credit note line item and line item group models, and the credit note application
(`CreditNoteApplicationResponse`, `BalanceResponse`, `VersionConflictResponse`).

Amounts of money are strings with the currency's minor-unit places ("150.00", JPY "1500"),
except where Sequence's schema has numbers: an application's `amount` and the balances it
answers, which the endpoints read and write as exact JSON numbers.
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

from tally.api.schemas import Schema
from tally.api.types import Address, Currency, Name, PlainText
from tally.billed.schemas import GroupHeading, group_fields, line_fields
from tally.catalog.price_schemas import IntegrationService
from tally.core.clock import midnight_utc
from tally.core.wire import money
from tally.invoices.schemas import (
    AddressOut,
    KeyValue,
    RateDisplay,
)
from tally.models import (
    CreditNote,
    CreditNoteApplication,
    CreditNoteLineItem,
    CreditNoteLineItemGroup,
    InvoiceStatus,
)


class SettingPreference(StrEnum):
    ENABLED = "ENABLED"
    DISABLED = "DISABLED"


class ApplicationStatus(StrEnum):
    UNAPPLIED = "UNAPPLIED"
    PARTIALLY_APPLIED = "PARTIALLY_APPLIED"
    FULLY_APPLIED = "FULLY_APPLIED"
    UNKNOWN = "UNKNOWN"


class RevenueRecognitionMethod(StrEnum):
    STRAIGHT_LINE = "STRAIGHT_LINE"
    USAGE = "USAGE"
    MILESTONE = "MILESTONE"
    POINT_IN_TIME = "POINT_IN_TIME"


class RevenueClassification(StrEnum):
    PREPAYMENT = "PREPAYMENT"
    EARNED = "EARNED"
    BURNDOWN = "BURNDOWN"


# The statuses whose credit notes hold a balance that applications draw on.
ISSUED_STATUSES = (InvoiceStatus.FINAL, InvoiceStatus.SENT)


def _day(value: object) -> object:
    """Sequence writes billing periods as timestamps ("2022-10-01T00:00:00Z"); a plain date
    is read too. A timestamp stands for its UTC calendar day."""
    if isinstance(value, str) and "T" in value:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (moment.astimezone(UTC) if moment.tzinfo else moment).date()
    return value


Day = Annotated[
    date,
    BeforeValidator(_day),
    Field(ge=date(1970, 1, 1), le=date(2999, 12, 31)),
    WithJsonSchema({"type": "string", "example": "2022-10-01T00:00:00Z"}),
]
# Decimal strings held exactly, within what the columns and rounding handle.
Quantity = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=30, decimal_places=12)]
TaxRate = Annotated[
    Decimal,
    Field(allow_inf_nan=False, ge=0, le=1, max_digits=13, decimal_places=12),
    Field(description='A fraction: "0.2" is 20 %.'),
]
# A JSON number, held exactly (the endpoint parses the body without floats).
ExactNumber = Annotated[
    Decimal,
    Field(allow_inf_nan=False, max_digits=30, decimal_places=12),
    WithJsonSchema({"type": "number"}),
]
Id = Annotated[str, Field(min_length=1, max_length=36)]


class ExternalId(Schema):
    key: IntegrationService
    value: str = Field(min_length=1, max_length=500)


class ServicePeriod(Schema):
    start: date
    end_inclusive: date


class CreditNoteSettings(Schema):
    generate_cash_credit_grant: SettingPreference = SettingPreference.DISABLED


# --- requests --------------------------------------------------------------------------------


class CreditNoteCreate(Schema):
    """Sequence's CreateCreditNoteEndpointCreateCreditNoteRequestModel. With `invoiceId`, a
    credit note against that SENT invoice, the customer details copied from it unless given;
    without, a standalone credit note for the customer, with the customer's details."""

    invoice_id: Id | None = Field(
        default=None, description="A SENT invoice of the customer it corrects, if any."
    )
    currency: Currency
    customer_id: Id
    billing_period_start: Day | None = None
    billing_period_end: Day | None = None
    purchase_order_number: str | None = Field(default=None, max_length=200)
    customer_emails: list[str] | None = Field(default=None, max_length=100)
    customer_legal_company_name: Name | None = None
    customer_billing_address: Address | None = None
    customer_shipping_address: Address | None = None
    memo: str | None = Field(default=None, max_length=5000)
    metadata: list[KeyValue] | None = Field(default=None, max_length=100)
    customer_tax_id: str | None = Field(default=None, max_length=100)
    accounting_date: Day | None = None


class CreditNoteUpdate(Schema):
    """Sequence's UpdateCreditNoteEndpointUpdateCreditNoteRequestModel: the fields sent are
    changed, the others kept; `null` clears an optional one."""

    billing_period_start: Day | None = None
    billing_period_end: Day | None = None
    purchase_order_number: str | None = Field(default=None, max_length=200)
    customer_emails: list[str] | None = Field(default=None, max_length=100)
    customer_legal_company_name: Name | None = None
    customer_billing_address: Address | None = None
    customer_shipping_address: Address | None = None
    memo: str | None = Field(default=None, max_length=5000)
    metadata: list[KeyValue] | None = Field(default=None, max_length=100)
    customer_tax_id: str | None = Field(default=None, max_length=100)
    settings: CreditNoteSettings | None = None
    accounting_date: Day | None = None


class LineItemUpdate(Schema):
    """Sequence's UpdateCreditNoteLineItemEndpointUpdateCreditNoteLineItemRequestModel."""

    title: PlainText = Field(min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=5000)
    quantity: Quantity
    rate: Quantity
    tax_rate: TaxRate
    rate_display: RateDisplay = RateDisplay.ABSOLUTE
    external_ids: list[ExternalId] = Field(default_factory=list, max_length=20)
    service_period: ServicePeriod | None = None
    revenue_recognition_method: RevenueRecognitionMethod | None = None
    revenue_classification: RevenueClassification | None = None
    product_id: Id | None = None


class LineItemCreate(LineItemUpdate):
    """Sequence's Stable20240101CreateCreditNoteLineItemRequestModel. `lineItemId` names the
    invoice line this one credits; `invoiceLineItemIds`, when given, must name that one line
    (Tally credits one invoice line per credit note line)."""

    credit_note_id: Id | None = Field(default=None, description="The path's, if given.")
    group_id: Id | None = None
    line_item_id: Id | None = None
    invoice_line_item_ids: list[Id] | None = Field(default=None, max_length=100)


class GroupUpdate(GroupHeading):
    pass


class GroupCreate(GroupUpdate):
    line_item_group_id: Id | None = Field(
        default=None, description="The invoice's line item group this one credits."
    )


class ApplicationCreate(Schema):
    """Sequence's CreateCreditNoteApplicationEndpointCreateCreditNoteApplicationRequestModel."""

    credit_note_id: Id
    invoice_id: Id
    amount: ExactNumber = Field(description="Money, in the currency's minor unit at most.")
    currency: Currency
    credit_note_balance_version: int = Field(ge=0)
    invoice_balance_version: int = Field(ge=0)


# --- responses -------------------------------------------------------------------------------


class LinkInfo(Schema):
    external_id: str
    external_service: str
    sync_time: datetime


class AppliedTo(Schema):
    """Sequence's CreditNoteApplication: one amount of the credit note applied to an invoice."""

    invoice_id: str
    invoice_number: str | None = None
    amount: str
    applied_at: datetime


class LineItemOut(Schema):
    """Sequence's credit note line item response (the create, update, list and delete ones
    are the same shape)."""

    id: str
    credit_note_id: str
    group_id: str | None = None
    line_item_id: str | None = None
    title: str
    description: str | None = None
    quantity: str
    rate: str
    tax_rate: str
    index: int
    price_id: str | None = None
    net_total: str
    total_tax: str
    gross_total: str
    rate_display: RateDisplay
    external_ids: list[ExternalId]
    service_period: ServicePeriod | None = None
    revenue_recognition_method: RevenueRecognitionMethod | None = None
    revenue_classification: RevenueClassification | None = None
    product_id: str | None = None

    @classmethod
    def build(cls, line: CreditNoteLineItem, currency: str) -> "LineItemOut":
        start, end = line.service_period_start, line.service_period_end
        method, classification = line.revenue_recognition_method, line.revenue_classification
        return cls(
            **line_fields(line, currency),
            credit_note_id=line.credit_note_id,
            line_item_id=line.invoice_line_item_id,
            rate_display=RateDisplay(line.rate_display),
            external_ids=[ExternalId.model_validate(item) for item in line.external_ids],
            service_period=(
                ServicePeriod(start=start, end_inclusive=end) if start and end else None
            ),
            revenue_recognition_method=RevenueRecognitionMethod(method) if method else None,
            revenue_classification=(
                RevenueClassification(classification) if classification else None
            ),
        )


class GroupOut(Schema):
    """Sequence's credit note line item group response."""

    id: str
    credit_note_id: str
    line_item_group_id: str | None = None
    title: str
    description: str | None = None
    index: int
    net_total: str
    total_tax: str
    gross_total: str

    @classmethod
    def build(cls, group: CreditNoteLineItemGroup, currency: str) -> "GroupOut":
        return cls(
            **group_fields(group, currency),
            credit_note_id=group.credit_note_id,
            line_item_group_id=group.invoice_line_item_group_id,
        )


def application_status(note: CreditNote) -> ApplicationStatus | None:
    """Derived from the balance, for issued credit notes only (Sequence omits it otherwise)."""
    if note.status not in ISSUED_STATUSES:
        return None
    if note.balance == note.gross_total:
        return ApplicationStatus.UNAPPLIED
    if note.balance == 0:
        return ApplicationStatus.FULLY_APPLIED
    return ApplicationStatus.PARTIALLY_APPLIED


class CreditNoteOut(Schema):
    """Sequence's CreditNote. `applicationStatus`, `balance` and `balanceVersion` are there
    once it is issued (FINAL or SENT), as Sequence's are."""

    id: str
    sequence_account_id: str
    status: InvoiceStatus
    invoice_id: str | None = None
    invoice_number: str | None = None
    billing_schedule_id: str | None = None
    currency: str
    issue_date: date | None = None
    billing_period_start: datetime | None = None
    billing_period_end: datetime | None = None
    credit_note_number: str | None = None
    purchase_order_number: str | None = None
    customer_id: str
    customer_emails: list[str]
    customer_legal_company_name: str
    customer_billing_address: AddressOut
    customer_shipping_address: AddressOut = Field(
        description="The billing address when none was given."
    )
    memo: str | None = None
    total_tax: str
    net_total: str
    gross_total: str
    metadata: list[KeyValue]
    customer_tax_id: str | None = None
    linked_services: list[LinkInfo] = Field(default_factory=list)
    application_status: ApplicationStatus | None = None
    balance: str | None = None
    balance_version: int | None = None
    applications: list[AppliedTo]
    settings: CreditNoteSettings
    accounting_date: date | None = None
    created_at: datetime = Field(description="Tally: when it was created.")
    updated_at: datetime = Field(description="Tally: when it last changed.")

    @classmethod
    def fields_of(
        cls,
        note: CreditNote,
        invoice_numbers: Mapping[str, str | None],
        applications: Sequence[CreditNoteApplication],
    ) -> dict[str, Any]:
        """`invoice_numbers`: invoice id -> number, for the note's invoice and those it was
        applied to; `applications`: the note's, in the order they were made."""
        currency = note.currency
        billing = AddressOut.model_validate(note.customer_billing_address)
        shipping = note.customer_shipping_address
        start, end = note.billing_period_start, note.billing_period_end
        issued = note.status in ISSUED_STATUSES
        return {
            "id": note.id,
            "sequence_account_id": note.account_id,
            "status": note.status,
            "invoice_id": note.invoice_id,
            "invoice_number": invoice_numbers.get(note.invoice_id) if note.invoice_id else None,
            "billing_schedule_id": note.billing_schedule_id,
            "currency": currency,
            "issue_date": note.issue_date,
            "billing_period_start": midnight_utc(start) if start else None,
            "billing_period_end": midnight_utc(end) if end else None,
            "credit_note_number": note.credit_note_number,
            "purchase_order_number": note.purchase_order_number,
            "customer_id": note.customer_id,
            "customer_emails": list(note.customer_emails),
            "customer_legal_company_name": note.customer_legal_company_name,
            "customer_billing_address": billing,
            "customer_shipping_address": (
                AddressOut.model_validate(shipping) if shipping else billing
            ),
            "memo": note.memo,
            "total_tax": money(note.total_tax, currency),
            "net_total": money(note.net_total, currency),
            "gross_total": money(note.gross_total, currency),
            "metadata": [KeyValue.model_validate(item) for item in note.metadata_items],
            "customer_tax_id": note.customer_tax_id,
            "application_status": application_status(note),
            "balance": money(note.balance, currency) if issued else None,
            "balance_version": note.balance_version if issued else None,
            "applications": [
                AppliedTo(
                    invoice_id=application.invoice_id,
                    invoice_number=invoice_numbers.get(application.invoice_id),
                    amount=money(application.amount, currency),
                    applied_at=application.applied_at,
                )
                for application in applications
            ],
            "settings": CreditNoteSettings(
                generate_cash_credit_grant=SettingPreference(note.generate_cash_credit_grant)
            ),
            "accounting_date": note.accounting_date,
            "created_at": note.created_at,
            "updated_at": note.updated_at,
        }


class CreditNoteDetailOut(CreditNoteOut):
    """One credit note with its lines and groups, in their order (Tally's extension)."""

    line_items: list[LineItemOut] = Field(description="Tally: the credit note's lines.")
    line_item_groups: list[GroupOut] = Field(description="Tally: its line groups.")

    @classmethod
    def build(
        cls,
        note: CreditNote,
        invoice_numbers: Mapping[str, str | None],
        applications: Sequence[CreditNoteApplication],
    ) -> "CreditNoteDetailOut":
        """`note` with its `line_items` and `groups` loaded."""
        return cls(
            **cls.fields_of(note, invoice_numbers, applications),
            line_items=[LineItemOut.build(line, note.currency) for line in note.line_items],
            line_item_groups=[GroupOut.build(group, note.currency) for group in note.groups],
        )


class BalanceOut(Schema):
    """Sequence's BalanceResponse; `value` is an exact JSON number."""

    value: Annotated[Decimal, WithJsonSchema({"type": "number"})]
    currency: str
    version: int


class ApplicationOut(Schema):
    """Sequence's CreditNoteApplicationResponse; `amount` is an exact JSON number."""

    ledger_transaction_id: str
    credit_note_id: str
    invoice_id: str
    amount: Annotated[Decimal, WithJsonSchema({"type": "number"})]
    currency: str
    applied_at: datetime
    invoice_balance: BalanceOut
    credit_note_balance: BalanceOut


class VersionConflictOut(Schema):
    """Sequence's VersionConflictResponse, inside Tally's error shape: both are there."""

    error: dict[str, str]
    message: str
    current_invoice_balance: BalanceOut
    current_credit_note_balance: BalanceOut
