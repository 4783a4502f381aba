"""Bodies of the invoice operations beyond the lifecycle, in Sequence's shapes: a draft's
update (`Stable20240101UpdateInvoiceRequest`, `...PatchInvoiceRequest`), merging drafts
(`MergeInvoicesEndpointRequestBody`), the list summary (`InvoiceListSummaryResponse`), currency
conversions, reconciliation with an integration, and the account's render settings."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import EmailStr, Field, model_validator

from tally.api.schemas import Schema
from tally.api.types import Address, Currency, Name
from tally.core.wire import money
from tally.invoices.schemas import (
    MAX_ATTACHMENTS,
    Day,
    InclusiveDateRange,
    KeyValueIn,
    PaymentOption,
    PeriodIn,
)
from tally.models import (
    CurrencyConversionDisplay,
    DueDateSource,
    Invoice,
    InvoiceRenderSettings,
    InvoiceStatus,
    PaymentLinkDisplay,
    PaymentStatus,
)

# What a draft must keep: it is printed on the invoice and sent to.
_NOT_CLEARABLE = ("customerLegalCompanyName", "customerBillingAddress", "customerEmails")


class DraftInvoicePatch(Schema):
    """Sequence's Stable20240101PatchInvoiceRequest, for a DRAFT: the fields given change,
    the others stay. An explicit null clears an optional field (a due date so cleared is
    calculated again from the payment terms at finalization)."""

    due_date: Day | None = Field(
        default=None, description="A fixed due date (dueDateSource MANUAL); null: calculated."
    )
    purchase_order_number: str | None = Field(default=None, max_length=200)
    reference: str | None = Field(default=None, max_length=500)
    customer_emails: list[EmailStr] | None = Field(default=None, max_length=100)
    customer_legal_company_name: Name | None = None
    customer_billing_address: Address | None = None
    customer_shipping_address: Address | None = None
    memo: str | None = Field(default=None, max_length=5000)
    payment_options: list[PaymentOption] | None = Field(default=None, max_length=2)
    billing_period: PeriodIn | None = None
    metadata: list[KeyValueIn] | None = Field(default=None, max_length=100)
    credit_balances: str | None = Field(
        default=None,
        max_length=2000,
        description="The credit balances statement the invoice prints; null: none.",
    )
    billing_run_id: str | None = Field(
        default=None,
        max_length=36,
        description="A billing run of the invoice's billing schedule.",
    )
    accounting_date: Day | None = None
    attachment_asset_ids: list[str] | None = Field(
        default=None,
        max_length=MAX_ATTACHMENTS,
        description="Uploaded attachments to send with the invoice, in place of those it has; "
        "null or []: none.",
    )

    @model_validator(mode="before")
    @classmethod
    def _kept(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in (*_NOT_CLEARABLE, "accountingDate", "billingRunId"):
                if key in data and data[key] is None:
                    raise ValueError(f"{key} cannot be cleared, only changed")
        return data

    def changes(self) -> dict[str, Any]:
        """The fields given (snake_case), addresses and lists as the invoice keeps them."""
        changes: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if isinstance(value, Address):
                value = value.model_dump(mode="json", exclude_none=True)
            elif name == "customer_emails":
                value = [str(email) for email in value]
            elif name == "payment_options":
                value = [option.value for option in value or []]
            elif name in ("metadata", "attachment_asset_ids") and value is None:
                value = []
            elif name == "metadata":
                value = [item.model_dump() for item in value or []]
            elif isinstance(value, Currency):
                value = value.value
            changes[name] = value
        return changes


class DraftInvoiceUpdate(DraftInvoicePatch):
    """Sequence's Stable20240101UpdateInvoiceRequest: the patch's fields, and `currency`
    (the draft's lines are recalculated in it)."""

    currency: Currency | None = None

    @model_validator(mode="before")
    @classmethod
    def _currency_kept(cls, data: Any) -> Any:
        if isinstance(data, dict) and "currency" in data and data["currency"] is None:
            raise ValueError("currency cannot be cleared, only changed")
        return data


class MergeInvoicesIn(Schema):
    """Sequence's MergeInvoicesEndpointRequestBody: DRAFT invoices of one customer and one
    currency."""

    invoice_ids: list[str] = Field(
        max_length=100, description="At least two, each once; the first gives the references."
    )


class LinkOut(Schema):
    external_id: str
    external_service: str
    sync_time: str
    external_url: str | None = None


class InvoiceListSummaryItem(Schema):
    """Sequence's InvoiceListSummaryResponseItem: the fields an invoice table shows."""

    id: str
    invoice_number: str | None = None
    status: InvoiceStatus
    payment_status: PaymentStatus
    currency: str
    gross_total: str
    customer_id: str
    customer_legal_company_name: str
    billing_schedule_id: str | None = None
    billing_period: InclusiveDateRange | None = None
    due_date: date | None = None
    due_date_source: DueDateSource
    accounting_date: date
    links: list[LinkOut] = Field(
        default_factory=list, description="Integrations' records of it: none in Tally."
    )

    @classmethod
    def build(cls, invoice: Invoice) -> InvoiceListSummaryItem:
        start, end = invoice.billing_period_start, invoice.billing_period_end
        return cls(
            id=invoice.id,
            invoice_number=invoice.invoice_number,
            status=invoice.status,
            payment_status=invoice.payment_status,
            currency=invoice.currency,
            gross_total=money(invoice.gross_total, invoice.currency),
            customer_id=invoice.customer_id,
            customer_legal_company_name=invoice.customer_legal_company_name,
            billing_schedule_id=invoice.billing_schedule_id,
            billing_period=(
                InclusiveDateRange(start=start, end_inclusive=end) if start and end else None
            ),
            due_date=invoice.due_date,
            due_date_source=invoice.due_date_source,
            accounting_date=invoice.accounting_date,
        )


class CurrencyConversionOut(Schema):
    """Sequence's InvoiceCurrencyConversionResponse."""

    id: str
    invoice_id: str
    currency: str
    total_tax: str
    net_total: str
    gross_total: str
    exchange_rate: str
    updated_at: str


class CurrencyConversionsOut(Schema):
    """Sequence's InvoiceCurrencyConversionsListResponse (not paginated)."""

    items: list[CurrencyConversionOut]


class IntegrationService(StrEnum):
    Xero = "Xero"


class PropertyToCompare(StrEnum):
    INVOICE_NUMBER = "INVOICE_NUMBER"
    STATUS = "STATUS"


class ReconcileWithIntegrationIn(Schema):
    """Sequence's ReconcileInvoicesWithIntegrationEndpoint...Request: which invoices,
    compared with which integration, on what."""

    integration_service: IntegrationService
    invoice_ids: list[str] = Field(max_length=1000)
    properties_to_compare: list[PropertyToCompare] = Field(max_length=2)


class RenderSettingsOut(Schema):
    """Sequence's invoice render settings (get-or-create and update answer this shape)."""

    id: str
    payment_link_display: PaymentLinkDisplay
    currency_conversion_display: CurrencyConversionDisplay

    @classmethod
    def build(cls, settings: InvoiceRenderSettings) -> RenderSettingsOut:
        return cls(
            id=settings.id,
            payment_link_display=settings.payment_link_display,
            currency_conversion_display=settings.currency_conversion_display,
        )


class RenderSettingsIn(Schema):
    """Sequence's UpdateInvoiceRenderSettingsEndpointUpdateInvoiceRenderSettingsRequestModel:
    `currencyConversionDisplay` left out stays as it is."""

    payment_link_display: PaymentLinkDisplay
    currency_conversion_display: CurrencyConversionDisplay | None = None
