"""Invoice bodies in Sequence's shapes (`InvoiceResponse`, `Stable20240101LineItemResponse`,
`LineItemGroupResponseModel`, and the requests that create and change them), plus Tally's
extensions: an invoice's `lineItems` and `lineItemGroups`, `isOverdue` and lifecycle moments,
a line's `kind` and roll-up `breakdown`, a group's `productId`.

Amounts of money are strings with the currency's minor-unit places ("150.00", JPY "1500");
quantities and rates are plain decimal strings ("10", "0.2").

Request fields of Sequence's that Tally cannot keep are refused when given, never silently
dropped.
"""

from collections.abc import Collection
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    EmailStr,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from tally.api.schemas import Schema
from tally.api.types import Address, Currency, Name, PlainText
from tally.attachments.schemas import AssetOut
from tally.billed.revenue import RevenueClassification, RevenueRecognitionMethod
from tally.billed.schemas import GroupHeading, group_fields, line_fields
from tally.catalog.price_schemas import IntegrationService
from tally.core.clock import midnight_utc
from tally.core.wire import money
from tally.invoices.queries import PaymentFacts, invoice_is_overdue
from tally.models import (
    EDITABLE_STATUSES,
    CollectionStatus,
    DueDateSource,
    Invoice,
    InvoiceLineItem,
    InvoiceLineItemGroup,
    InvoiceStatus,
    LineKind,
    PaymentOrigin,
    PaymentStatus,
    TaxStatus,
)
from tally.settings import get_settings


class RateDisplay(StrEnum):
    ABSOLUTE = "ABSOLUTE"
    PERCENTAGE = "PERCENTAGE"


class PaymentOption(StrEnum):
    BANK_TRANSFER = "BANK_TRANSFER"
    LINK = "LINK"


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


class ExternalIdOut(Schema):
    key: IntegrationService
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


class IntegrationPaymentStatus(StrEnum):
    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    PAID = "PAID"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    REFUNDED = "REFUNDED"


class IntegrationPaymentStatuses(Schema):
    """Per payment integration: Stripe's is its latest attempt's (none before one)."""

    stripe: IntegrationPaymentStatus | None = None
    go_cardless: IntegrationPaymentStatus | None = None


class PaymentAllocationOut(Schema):
    """Sequence's PaymentAllocationResponse: a payment and what of it the invoice keeps (its
    amount less what was refunded of it)."""

    payment_id: str
    amount: str
    allocated_at: datetime = Field(description="When the payment was recorded.")
    paid_at: datetime = Field(description="The day it was paid, at midnight UTC.")
    origin: PaymentOrigin


def payment_fields(invoice: Invoice, facts: PaymentFacts | None) -> dict[str, Any]:
    """`paymentAllocations`, `integrationPaymentStatuses` and `dunningStatus` from the
    invoice's payments and automatic collection."""
    if facts is None:
        return {}
    return {
        "dunning_status": facts.dunning_status,
        "payment_allocations": [
            PaymentAllocationOut(
                payment_id=payment.id,
                amount=money(payment.amount - payment.refunded_amount, invoice.currency),
                allocated_at=payment.created_at,
                paid_at=midnight_utc(payment.paid_on),
                origin=payment.origin,
            )
            for payment in facts.payments
        ],
        "integration_payment_statuses": IntegrationPaymentStatuses(
            stripe=IntegrationPaymentStatus(facts.stripe_status) if facts.stripe_status else None
        ),
    }


class CustomerShare(Schema):
    """One customer's part of a roll-up line's quantity."""

    customer_id: str
    quantity: str


class TierOut(Schema):
    """What one tier of a tiered price charged on the line (before discounts); the amounts
    of a line's tiers add up to its amount before rounding."""

    tier: int
    lower_bound: str = Field(description="Exclusive: the previous tier's upper bound.")
    upper_bound: str | None = Field(default=None, description="Inclusive; none on the last.")
    quantity: str
    rate: str
    flat_fee: str
    amount: str
    all_units: bool = Field(description="VOLUME: the tier prices every unit of the line.")


class LineItemOut(Schema):
    """Sequence's Stable20240101LineItemResponse, plus `kind`, `breakdown` and `tiers`."""

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
    external_ids: list[ExternalIdOut] = Field(default_factory=list)
    credit_grant_id: str | None = Field(
        default=None,
        description="The credit grant the line draws on (CREDIT lines) or is about.",
    )
    revenue_classification: RevenueClassification | None = None
    revenue_recognition_method: RevenueRecognitionMethod | None = None
    kind: LineKind = Field(
        description="Tally: PRICE, DISCOUNT, MINIMUM, CREDIT, MANUAL or THRESHOLD (deducts "
        "a threshold invoice of the period)."
    )
    breakdown: list[CustomerShare] | None = Field(
        default=None, description="Tally: each customer's quantity on a roll-up line."
    )
    tiers: list[TierOut] | None = Field(
        default=None, description="Tally: what each tier of a tiered price charged."
    )

    @classmethod
    def build(cls, line: InvoiceLineItem, currency: str) -> "LineItemOut":
        start, end = line.service_period_start, line.service_period_end
        return cls(
            **line_fields(line, currency),
            invoice_id=line.invoice_id,
            service_period_start=midnight_utc(start) if start else None,
            service_period_end=midnight_utc(end) if end else None,
            service_period=DateRange(start_date=start, end_date=end) if start and end else None,
            rate_display=RateDisplay(line.rate_display),
            credit_grant_id=line.credit_grant_id,
            external_ids=[ExternalIdOut.model_validate(item) for item in line.external_ids],
            revenue_classification=line.revenue_classification,
            revenue_recognition_method=line.revenue_recognition_method,
            kind=line.kind,
            breakdown=[CustomerShare.model_validate(s) for s in line.breakdown] or None,
            tiers=[TierOut.model_validate(tier) for tier in line.tiers] or None,
        )


class TaxCategoryRef(Schema):
    """Sequence's TaxCategoryResponse."""

    id: str
    name: str


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
    tax_category: TaxCategoryRef | None = None
    revenue_recognition_method: RevenueRecognitionMethod | None = Field(
        default=None, description="Tally: what its lines take unless they say otherwise."
    )
    revenue_classification: RevenueClassification | None = Field(
        default=None, description="Tally: what its lines take unless they say otherwise."
    )
    service_period: InclusiveDateRange | None = Field(
        default=None, description="Tally: the service period of lines that give none."
    )

    @classmethod
    def build(cls, group: InvoiceLineItemGroup, currency: str) -> "LineItemGroupOut":
        start, end = group.service_period_start, group.service_period_end
        return cls(
            **group_fields(group, currency),
            invoice_id=group.invoice_id,
            product_id=group.product_id,
            tax_category=(
                TaxCategoryRef(id=group.tax_category_id, name=group.tax_category_name or "")
                if group.tax_category_id
                else None
            ),
            revenue_recognition_method=group.revenue_recognition_method,
            revenue_classification=group.revenue_classification,
            service_period=(
                InclusiveDateRange(start=start, end_inclusive=end) if start and end else None
            ),
        )


class CreditGrantStatus(StrEnum):
    APPLIED = "APPLIED"  # debited: the invoice was finalized
    PROJECTED = "PROJECTED"  # a pending debit on a DRAFT or IN_PROGRESS invoice


class AppliedCreditGrantOut(Schema):
    credit_grant_id: str | None = None
    credit_grant_name: str | None = None
    amount: str = Field(description="Net of tax.")
    tax_amount: str | None = None
    status: CreditGrantStatus


class ProjectedCreditGrantOut(Schema):
    credit_grant_id: str | None = None
    credit_grant_name: str | None = None
    amount: str = Field(description="Net of tax.")


def credit_grant_fields(
    invoice: Invoice, credit_lines: Collection[InvoiceLineItem]
) -> dict[str, Any]:
    """`appliedCreditGrants` and `projectedCreditGrants` from the invoice's CREDIT lines, one
    entry per grant (named as on its lines). Projected while the invoice is open; applied
    (debited) from finalization on; `projectedCreditGrants` is empty once finalized."""
    per_grant: dict[str, list[Any]] = {}
    for line in credit_lines:
        if line.kind is not LineKind.CREDIT or line.credit_grant_id is None:
            continue
        entry = per_grant.setdefault(line.credit_grant_id, [line.title, Decimal(0), Decimal(0)])
        entry[1] -= line.net_total
        entry[2] -= line.total_tax
    currency = invoice.currency
    projected = invoice.status in EDITABLE_STATUSES
    status = CreditGrantStatus.PROJECTED if projected else CreditGrantStatus.APPLIED
    return {
        "applied_credit_grants": [
            AppliedCreditGrantOut(
                credit_grant_id=grant_id,
                credit_grant_name=name,
                amount=money(amount, currency),
                tax_amount=money(tax, currency),
                status=status,
            )
            for grant_id, (name, amount, tax) in per_grant.items()
        ],
        "projected_credit_grants": [
            ProjectedCreditGrantOut(
                credit_grant_id=grant_id, credit_grant_name=name, amount=money(amount, currency)
            )
            for grant_id, (name, amount, _) in per_grant.items()
        ]
        if projected
        else [],
    }


class InvoiceOut(Schema):
    """Sequence's InvoiceResponse (the list's items are this shape too), plus `invoiceDate`,
    `isOverdue` and the moments of the invoice's lifecycle.

    Credit grants come from the invoice's CREDIT lines (`credit_grant_fields`), payment
    allocations and the Stripe status from its payments and attempts (`payment_fields`).
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
    customer_shipping_address: AddressOut = Field(
        description="As given; the billing address when none was."
    )
    memo: str | None = None
    payment_options: list[PaymentOption] = Field(default_factory=list)
    billing_period: InclusiveDateRange | None = None
    customer_id: str
    total_tax: str
    net_total: str
    gross_total: str
    metadata: list[KeyValue]
    payment_status: PaymentStatus
    dunning_status: CollectionStatus = Field(
        default=CollectionStatus.NOT_REQUIRED,
        description="Automatic collection: SCHEDULED while a charge or a retry is to come, "
        "COMPLETED once collected, FAILED after the last retry (the invoice is then "
        "UNCOLLECTIBLE); NOT_REQUIRED when it is not collected automatically.",
    )
    created_at: datetime
    updated_at: datetime
    credit_note_ids: list[str] = Field(default_factory=list)
    linked_services: list[Any] = Field(default_factory=list)
    accounting_date: date
    calculated_at: datetime | None = None
    customer_tax_status: TaxStatus
    render_settings: RenderSettings = Field(default_factory=RenderSettings)
    is_customer_archived: bool
    balance: str | None = Field(
        default=None,
        description="What is still owed: the gross total from finalization on, less credit "
        "notes applied; absent before finalization.",
    )
    balance_version: int | None = Field(
        default=None, description="Advances each time the balance changes."
    )
    integration_payment_statuses: IntegrationPaymentStatuses = Field(
        default_factory=IntegrationPaymentStatuses
    )
    applied_credit_notes: list[Any] = Field(default_factory=list)
    applied_credit_grants: list[AppliedCreditGrantOut] = Field(
        default_factory=list,
        description="Credit grants on the invoice: PROJECTED (pending debits) while it is "
        "open, APPLIED (debited) once finalized.",
    )
    projected_credit_grants: list[ProjectedCreditGrantOut] = Field(
        default_factory=list, description="While open: what each grant is expected to take."
    )
    payment_allocations: list[PaymentAllocationOut] = Field(
        default_factory=list,
        description="Payments received against it, oldest first; each amount less what was "
        "refunded of it.",
    )
    credit_balances: str | None = Field(
        default=None,
        description="The statement of the customer's credit balances the invoice prints: "
        "as given, or written from the credits ledger when the invoice was created.",
    )
    attachment_assets: list[AssetOut] = Field(
        default_factory=list, description="Files sent with the invoice."
    )
    payment_term_days: int | None = None
    due_date_source: DueDateSource = DueDateSource.CALCULATED
    invoice_date: date | None = Field(
        default=None,
        description="Tally: the day billing issues (or issued) this invoice; for an "
        "IN_PROGRESS invoice, when its period closes.",
    )
    is_overdue: bool | None = Field(
        default=None,
        description="Tally: SENT, UNPAID or PARTIALLY_PAID (never PAID or UNCOLLECTIBLE), "
        "and due before today in the account's time zone.",
    )
    finalized_at: datetime | None = Field(default=None, description="Tally: when finalized.")
    sent_at: datetime | None = Field(default=None, description="Tally: when sent.")
    voided_at: datetime | None = Field(default=None, description="Tally: when voided.")
    edited_at: datetime | None = Field(
        default=None,
        description="Tally: when a person last changed its lines; billing no longer "
        "recalculates it from then on.",
    )

    @classmethod
    def fields_of(
        cls, invoice: Invoice, archived_customers: Collection[str], today: date | None = None
    ) -> dict[str, Any]:
        currency = invoice.currency
        address = AddressOut.model_validate(invoice.customer_billing_address)
        shipping = invoice.customer_shipping_address
        start, end = invoice.billing_period_start, invoice.billing_period_end
        # A balance exists once the invoice was finalized (a voided draft never had one).
        ledger = invoice.finalized_at is not None
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
            "customer_shipping_address": (
                AddressOut.model_validate(shipping) if shipping else address
            ),
            "memo": invoice.memo,
            "payment_options": [PaymentOption(option) for option in invoice.payment_options],
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
            "balance": money(invoice.balance, currency) if ledger else None,
            "balance_version": invoice.balance_version if ledger else None,
            "payment_term_days": invoice.payment_term_days,
            "credit_balances": invoice.credit_balances,
            "attachment_assets": [
                AssetOut.build(asset, get_settings().public_url)
                for asset in invoice.attachment_assets
            ],
            "due_date_source": invoice.due_date_source,
            "invoice_date": invoice.invoice_date,
            "is_overdue": invoice_is_overdue(invoice, today) if today is not None else None,
            "finalized_at": invoice.finalized_at,
            "sent_at": invoice.sent_at,
            "voided_at": invoice.voided_at,
            "edited_at": invoice.edited_at,
        }

    @classmethod
    def build(
        cls,
        invoice: Invoice,
        archived_customers: Collection[str],
        today: date | None = None,
        credit_lines: Collection[InvoiceLineItem] = (),
        payments: PaymentFacts | None = None,
    ) -> "InvoiceOut":
        """`archived_customers`: ids of archived customers, at least those of this invoice;
        `today`: the account's local date, to tell whether it is overdue; `credit_lines`:
        the invoice's CREDIT lines; `payments`: its `queries.payment_facts`."""
        return cls(
            **cls.fields_of(invoice, archived_customers, today),
            **credit_grant_fields(invoice, credit_lines),
            **payment_fields(invoice, payments),
        )


class InvoiceDetailOut(InvoiceOut):
    """One invoice with its lines and groups, in their order (Tally's extension)."""

    line_items: list[LineItemOut] = Field(description="Tally: the invoice's lines, by index.")
    line_item_groups: list[LineItemGroupOut] = Field(
        description="Tally: the invoice's line groups, by index."
    )

    @classmethod
    def build_detail(
        cls,
        invoice: Invoice,
        archived_customers: Collection[str],
        today: date | None = None,
        payments: PaymentFacts | None = None,
    ) -> "InvoiceDetailOut":
        """`invoice` with its `line_items` and `groups` loaded."""
        return cls(
            **cls.fields_of(invoice, archived_customers, today),
            **credit_grant_fields(invoice, invoice.line_items),
            **payment_fields(invoice, payments),
            line_items=[LineItemOut.build(line, invoice.currency) for line in invoice.line_items],
            line_item_groups=[
                LineItemGroupOut.build(group, invoice.currency) for group in invoice.groups
            ],
        )


# ---- Requests ----------------------------------------------------------------------------

MAX_ATTACHMENTS = 10  # per invoice and per schedule

# A quantity, rate or tax rate: a decimal string ("2", "20000.10"), at most 12 places.
Amount = Annotated[
    Decimal,
    Field(allow_inf_nan=False, max_digits=30, decimal_places=12),
    WithJsonSchema({"type": "string", "example": "2"}),
]
TaxRateFraction = Annotated[
    Decimal,
    Field(ge=0, le=1, allow_inf_nan=False, max_digits=16, decimal_places=12),
    WithJsonSchema({"type": "string", "example": "0.2"}),
]
# Dates within reason (and far enough from date.max for payment-term arithmetic).
Day = Annotated[date, Field(ge=date(1970, 1, 1), le=date(2999, 12, 31))]


class KeyValueIn(Schema):
    key: str = Field(min_length=1, max_length=200)
    value: str = Field(max_length=2000)


class PeriodIn(Schema):
    """Sequence's InclusiveDateRange."""

    start: Day
    end_inclusive: Day

    @model_validator(mode="after")
    def _ordered(self) -> "PeriodIn":
        if self.end_inclusive < self.start:
            raise ValueError("endInclusive is before start")
        return self


class DateRangeIn(Schema):
    """Sequence's DateRange (a line's `servicePeriod`), both days included."""

    start_date: Day
    end_date: Day

    @model_validator(mode="after")
    def _ordered(self) -> "DateRangeIn":
        if self.end_date < self.start_date:
            raise ValueError("endDate is before startDate")
        return self


class InvoiceCreate(Schema):
    """Sequence's Stable20240101CreateInvoiceRequest: a one-off invoice, created as a DRAFT.

    The customer fields default to the customer's: legal name, billing contacts' emails
    (the primary contact first), address and tax status."""

    currency: Currency
    customer_id: str = Field(min_length=1, max_length=36)
    billing_schedule_id: str | None = Field(default=None, max_length=36)
    due_date: Day | None = Field(
        default=None, description="A fixed due date (dueDateSource MANUAL)."
    )
    purchase_order_number: str | None = Field(default=None, max_length=200)
    reference: str | None = Field(default=None, max_length=500)
    customer_emails: list[EmailStr] | None = Field(default=None, max_length=100)
    customer_legal_company_name: Name | None = None
    customer_billing_address: Address | None = None
    customer_shipping_address: Address | None = None
    memo: str | None = Field(default=None, max_length=5000)
    payment_options: list[PaymentOption] = Field(default_factory=list, max_length=2)
    billing_period: PeriodIn | None = None
    metadata: list[KeyValueIn] = Field(default_factory=list, max_length=100)
    accounting_date: Day | None = Field(
        default=None, description="Default: today, in the account's time zone."
    )
    credit_balances: str | None = Field(
        default=None,
        max_length=2000,
        description="The credit balances statement to print; left out, Tally writes it from "
        "the customer's credit grants (name, balance/original amount, expiry).",
    )
    billing_run_id: str | None = Field(
        default=None,
        max_length=36,
        description="The billing run this invoice belongs to: a run of billingScheduleId "
        "(required with it) that has no other live invoice.",
    )
    attachment_asset_ids: list[str] | None = Field(
        default=None,
        max_length=MAX_ATTACHMENTS,
        description="Uploaded attachments (POST /api/attachments) to send with the invoice.",
    )


class ExternalIdIn(Schema):
    """Sequence's IntegrationExternalIdentifier: the line's id in an integration."""

    key: IntegrationService
    value: str = Field(min_length=1, max_length=500)


class LineItemIn(Schema):
    """Sequence's Stable20240101CreateOrUpdateLineItem. A line's amounts are calculated:
    net = quantity x rate and tax = net x taxRate, each rounded half up to the currency's
    minor unit."""

    title: PlainText = Field(min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=5000)
    quantity: Amount
    rate: Amount
    tax_rate: TaxRateFraction = Field(description='A fraction: "0.2" is 20 %.')
    service_period_start: datetime | None = None
    service_period_end: datetime | None = None
    service_period: DateRangeIn | None = Field(
        default=None, description="Takes precedence over servicePeriodStart/End."
    )
    group_id: str | None = Field(default=None, max_length=36)
    price_id: str | None = Field(default=None, max_length=36)
    rate_display: RateDisplay = RateDisplay.ABSOLUTE
    external_ids: list[ExternalIdIn] = Field(
        default_factory=list,
        max_length=20,
        description="The line's ids in integrations, kept and answered as given; one per service.",
    )
    revenue_classification: RevenueClassification | None = Field(
        default=None, description="Left out: the group's, if it has one."
    )
    credit_grant_id: str | None = Field(
        default=None,
        max_length=36,
        description="A credit grant of the invoice's customer this line is about (the "
        "grant's purchase, for instance).",
    )
    revenue_recognition_method: RevenueRecognitionMethod | None = Field(
        default=None, description="Left out: the group's, if it has one."
    )

    @model_validator(mode="after")
    def _check(self) -> "LineItemIn":
        services = [item.key for item in self.external_ids]
        if len(set(services)) != len(services):
            raise ValueError("externalIds names a service more than once")
        if self.service_period is None and (self.service_period_start or self.service_period_end):
            start, end = self.service_period_start, self.service_period_end
            if start is None or end is None:
                raise ValueError("give both servicePeriodStart and servicePeriodEnd, or neither")
            self.service_period = DateRangeIn(
                start_date=start.astimezone(UTC).date(), end_date=end.astimezone(UTC).date()
            )
        return self

    @field_validator("service_period_start", "service_period_end")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("a timestamp needs a time zone (Z or an offset)")
        return value


class LineItemGroupIn(GroupHeading):
    """Sequence's CreateLineItemGroupRequestModel."""

    tax_category_id: str | None = Field(
        default=None,
        max_length=36,
        description="A tax category (POST /api/tax-categories): its lines are taxed at the "
        "category's published rate for the invoice's billing country (and state), whatever "
        "taxRate they give.",
    )
    revenue_recognition_method: RevenueRecognitionMethod | None = Field(
        default=None, description="For all its lines: set on them as well."
    )
    revenue_classification: RevenueClassification | None = Field(
        default=None, description="For all its lines: set on them as well."
    )
    service_period: PeriodIn | None = Field(
        default=None, description="The service period of its lines that give none."
    )


class LineItemGroupUpdate(LineItemGroupIn):
    """Sequence's UpdateLineItemGroupRequestModel: `index` moves the group."""

    index: int | None = Field(default=None, ge=0, le=10_000)


class PaymentStatusIn(Schema):
    payment_status: PaymentStatus


# Invoice fields a sent invoice keeps as they are (Sequence's PatchInvoiceRequest has them).
_FROZEN_WHEN_SENT = (
    "customerEmails",
    "customerLegalCompanyName",
    "customerShippingAddress",
    "paymentOptions",
    "billingPeriod",
    "metadata",
    "creditBalances",
    "billingRunId",
    "accountingDate",
    "attachmentAssetIds",
    "currency",
)


class SentInvoicePatch(Schema):
    """What a SENT invoice still allows changing (Sequence's PatchSentInvoiceRequest and
    its documentation): purchase order number, billing address, memo, reference, due date.
    A due date makes it MANUAL and clears the payment terms; it can move, not be cleared."""

    purchase_order_number: str | None = Field(default=None, max_length=200)
    customer_billing_address: Address | None = None
    memo: str | None = Field(default=None, max_length=5000)
    reference: str | None = Field(default=None, max_length=500)
    due_date: Day | None = None

    @model_validator(mode="before")
    @classmethod
    def _only_changeable(cls, data: Any) -> Any:
        if isinstance(data, dict):
            frozen = [key for key in _FROZEN_WHEN_SENT if key in data]
            if frozen:
                raise ValueError(f"{', '.join(frozen)} cannot change once an invoice is sent")
            for key in ("dueDate", "customerBillingAddress"):
                if key in data and data[key] is None:
                    raise ValueError(f"{key} cannot be cleared, only changed")
        return data


class CurrencyTotal(Schema):
    currency: str
    invoice_count: int
    gross_total: Annotated[Decimal, WithJsonSchema({"type": "number"})]


class InvoiceSummaryOut(Schema):
    """Sequence's InvoiceSummaryResponse: `grossTotal` is a JSON number, written exactly."""

    totals_by_currency: list[CurrencyTotal]
