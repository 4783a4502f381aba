"""Billing schedule bodies in Sequence's shapes.

Discount and minimum `amount`s are JSON numbers in Sequence's schema. The endpoints parse the
body with `Decimal` for every number with a fraction (see `tally.api.raw.exact_body`), so an
amount keeps every digit it was sent with, and answer it as a number again.
"""

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, WithJsonSchema, field_validator

from tally.api.schemas import Schema
from tally.api.types import Currency, DecimalString
from tally.attachments.schemas import AssetOut
from tally.catalog.price_schemas import PriceOut
from tally.models import (
    BillingSchedule,
    BillingSchedulePhase,
    CreditUnitType,
    DiscountType,
    GrantRefreshFrequency,
    PhaseCreditGrant,
    PhaseDiscount,
    PhaseMinimum,
    Price,
    RecurrencePreference,
    RolloverMode,
    ScheduleStatus,
    SeatDiscountType,
)
from tally.settings import get_settings

MAX_PHASES = 100
MAX_PRICES_PER_PHASE = 100
MAX_LIST = 100


class PaymentProvider(StrEnum):
    STRIPE = "STRIPE"
    GOCARDLESS = "GOCARDLESS"
    NONE = "NONE"


class ArrCalculation(StrEnum):
    INCLUDE = "INCLUDE"
    EXCLUDE = "EXCLUDE"


# A JSON number, held exactly.
ExactNumber = Annotated[
    Decimal,
    Field(allow_inf_nan=False, max_digits=30, decimal_places=12),
    WithJsonSchema({"type": "number"}),
]
# An answered amount: schedules are answered with Decimals as JSON numbers (`json_response`).
AnsweredNumber = Annotated[Decimal, WithJsonSchema({"type": "number"})]
PriceIds = Annotated[list[str], Field(max_length=MAX_PRICES_PER_PHASE)]
# Billing dates within reason (and far enough from date.max for period arithmetic).
Day = Annotated[date, Field(ge=date(1970, 1, 1), le=date(2999, 12, 31))]


def _plain(value: Decimal) -> Decimal:
    # 1E+2 -> 100: stored and answered in plain digits.
    return Decimal(format(value, "f"))


class TaxRateRef(Schema):
    """Sequence's ProductTaxRateRepresentation: the tax rate one price is taxed at."""

    price_id: str = Field(min_length=1, max_length=36)
    tax_rate_id: str = Field(min_length=1, max_length=36)


class DiscountIn(Schema):
    restrict_to_prices: PriceIds | None = Field(
        default=None, description="Prices of the phase it applies to; empty: all of them."
    )
    type: DiscountType
    amount: ExactNumber = Field(description="PERCENTAGE: 10 is 10 %; NOMINAL: money.")
    message: str = Field(max_length=500, description="Shown on the invoice.")
    separate_line_item: bool
    seat_discount_type: SeatDiscountType | None = None

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        if value <= 0:
            raise ValueError("a discount is more than 0")
        if info.data.get("type") is DiscountType.PERCENTAGE and value > 100:
            raise ValueError("a PERCENTAGE discount is at most 100")
        return _plain(value)

    @field_validator("message")
    @classmethod
    def _message(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a discount needs a message, shown on the invoice")
        return value


class MinimumIn(Schema):
    restrict_to_prices: PriceIds | None = Field(
        default=None, description="Prices of the phase it covers; empty: all of them."
    )
    amount: ExactNumber

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("a minimum is more than 0")
        return _plain(value)


class ThresholdInvoicing(Schema):
    """Tally's extension: progressive billing. As soon as a period's charges not yet invoiced
    reach `amount` (before tax and credits, after discounts; minimum true-ups wait for the
    period's end), billing issues an invoice for them; the period's own invoice deducts it."""

    amount: DecimalString = Field(
        description='More than 0, in the schedule currency\'s minor unit ("500.00").'
    )

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("a threshold is more than 0")
        return _plain(value)


class PhasePriceMetadata(Schema):
    price_id: str = Field(min_length=1, max_length=36)
    arr_calculation: ArrCalculation


class PhaseListPriceMetadata(Schema):
    list_price_id: str = Field(min_length=1, max_length=36)
    arr_calculation: ArrCalculation


class PhaseCreditGrantIn(Schema):
    """Sequence's EmbeddableCreditGrantRequest: credits the phase hands out, once or every
    refresh period, plus `id` (a grant re-sent with its id is kept) and `metricId`."""

    id: str | None = Field(
        default=None, max_length=36, description="Tally: an existing grant of this schedule."
    )
    name: str = Field(min_length=1, max_length=500)
    credit_unit_type: CreditUnitType
    currency: Currency | None = Field(
        default=None, description="CURRENCY grants; default: the schedule's prices' currency."
    )
    metric_id: str | None = Field(
        default=None,
        max_length=36,
        description="Tally: METRIC grants' metric; default: the one usage metric of the "
        "prices it is restricted to (or of the phase).",
    )
    amount: ExactNumber
    cost_of_credit: ExactNumber | None = None
    tax_rate_id: str | None = Field(default=None, max_length=36)
    grant_refresh_frequency: GrantRefreshFrequency
    rollover_mode: RolloverMode
    restrict_to_prices: PriceIds | None = None

    @field_validator("amount")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("a grant is of more than 0 credits")
        return _plain(value)

    @field_validator("cost_of_credit")
    @classmethod
    def _not_negative(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value < 0:
            raise ValueError("a cost is 0 or more")
        return None if value is None else _plain(value)


class PhaseIn(Schema):
    """Sequence's PhaseRequest. Each of `listPriceIds` becomes a price of the schedule (a
    variant of the list price, made once per schedule), billed as if named in `priceIds`."""

    name: str | None = Field(default=None, max_length=500)
    external_contract_ref: str | None = Field(default=None, max_length=500)
    price_ids: PriceIds
    start_date: Day
    end_date: Day | None = Field(
        default=None, description="Inclusive. Only the last phase may leave it out."
    )
    discounts: list[DiscountIn] | None = Field(default=None, max_length=MAX_LIST)
    minimums: list[MinimumIn] | None = Field(default=None, max_length=MAX_LIST)
    credit_grants: list[PhaseCreditGrantIn] | None = Field(default=None, max_length=MAX_LIST)
    list_price_ids: PriceIds | None = Field(
        default=None,
        description="List prices the phase bills: each becomes a price of this schedule, "
        "answered in priceIds with its listPriceId. Other fields of the request may name a "
        "list price given here where they name a price (taxRates, restrictToPrices).",
    )
    phase_list_price_metadata: list[PhaseListPriceMetadata] | None = Field(
        default=None, max_length=MAX_PRICES_PER_PHASE
    )
    recurrence_preference: RecurrencePreference | None = None
    phase_price_metadata: list[PhasePriceMetadata] | None = Field(
        default=None, max_length=MAX_PRICES_PER_PHASE
    )
    threshold_invoicing: ThresholdInvoicing | None = Field(
        default=None,
        description="Tally's extension: invoice a period's charges as soon as they reach an "
        "amount (progressive billing); null or left out: only at the period's end.",
    )

    @field_validator("external_contract_ref")
    @classmethod
    def _trimmed(cls, value: str | None) -> str | None:
        # Sequence trims it; a blank reference is no reference.
        return (value.strip() or None) if value is not None else None


class _ScheduleTerms(Schema):
    """What create and update share."""

    start_date: Day
    end_date: Day | None = Field(
        default=None, description="Inclusive; null or left out on create: open-ended."
    )
    recurrence_day_of_month: int | None = Field(
        default=None, ge=1, le=31, description="The billing day; defaults to startDate's day."
    )
    tax_rates: list[TaxRateRef] | None = Field(default=None, max_length=MAX_LIST)
    auto_issue_invoices: bool | None = None
    purchase_order_number: str | None = Field(default=None, max_length=200)
    roll_up_billing: bool | None = Field(
        default=None, description="On a parent's schedule: bill its children's usage too."
    )
    phases: list[PhaseIn] = Field(max_length=MAX_PHASES)
    attachment_asset_ids: list[str] | None = Field(
        default=None,
        max_length=10,
        description="Uploaded attachments (POST /api/attachments) its invoices are sent "
        "with; on update, replaces them when given.",
    )
    default_due_date_days: int | None = Field(default=None, ge=0, le=3650)
    memo: str | None = Field(default=None, max_length=5000)
    custom_fields: dict[str, str] | None = Field(default=None, max_length=MAX_LIST)


class ScheduleCreate(_ScheduleTerms):
    """Sequence's CreateBillingScheduleRequest.

    `autoIssueInvoices`, `isDraft`, `rollUpBilling` and `taxRates` default to false/empty
    (seed 002 leaves `autoIssueInvoices` out). Older guides send `"type": "PHASES"`, the only
    kind of schedule there is: accepted, and any other kind refused.
    """

    type: Literal["PHASES"] | None = Field(
        default=None, description="Older guides' schedule kind: PHASES, the only one."
    )
    customer_id: str = Field(min_length=1, max_length=36)
    is_draft: bool = False
    reference: str | None = Field(default=None, max_length=500)
    label: str | None = Field(default=None, max_length=500)
    payment_provider: PaymentProvider | None = None
    auto_charge: bool | None = None


class ScheduleUpdate(_ScheduleTerms):
    """Sequence's UpdateBillingScheduleRequest: replaces the phases and the tax rates.

    Other fields left out keep their values; `null` clears them (`endDate: null` makes the
    schedule open-ended, `recurrenceDayOfMonth: null` moves billing to startDate's day).
    `taxRates` left out keeps the schedule's tax rates.
    """


class DiscountOut(Schema):
    id: str
    restrict_to_prices: list[str]
    type: DiscountType
    amount: ExactNumber
    message: str
    separate_line_item: bool
    seat_discount_type: SeatDiscountType | None = None

    @classmethod
    def build(cls, discount: PhaseDiscount) -> "DiscountOut":
        return cls(
            id=discount.id,
            restrict_to_prices=discount.restrict_to_prices,
            type=discount.type,
            amount=discount.amount,
            message=discount.message,
            separate_line_item=discount.separate_line_item,
            seat_discount_type=discount.seat_discount_type,
        )


class MinimumOut(Schema):
    id: str
    sequence_account_id: str
    billing_schedule_id: str
    phase_id: str
    amount: ExactNumber
    restrict_to_prices: list[str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def build(cls, minimum: PhaseMinimum) -> "MinimumOut":
        return cls(
            id=minimum.id,
            sequence_account_id=minimum.account_id,
            billing_schedule_id=minimum.billing_schedule_id,
            phase_id=minimum.phase_id,
            amount=minimum.amount,
            restrict_to_prices=minimum.restrict_to_prices,
            created_at=minimum.created_at,
            updated_at=minimum.updated_at,
        )


class PhaseCreditGrantOut(Schema):
    """Sequence's EmbeddableCreditGrant."""

    id: str
    name: str
    credit_unit_type: CreditUnitType
    currency: str | None = None
    amount: AnsweredNumber
    cost_of_credit: AnsweredNumber | None = None
    tax_rate_id: str | None = None
    grant_refresh_frequency: GrantRefreshFrequency
    rollover_mode: RolloverMode
    restrict_to_prices: list[str]
    metric_id: str | None = Field(default=None, description="Tally: METRIC grants' metric.")

    @classmethod
    def build(cls, grant: PhaseCreditGrant) -> "PhaseCreditGrantOut":
        return cls(
            id=grant.id,
            name=grant.name,
            credit_unit_type=grant.credit_unit_type,
            currency=grant.currency,
            amount=grant.amount,
            cost_of_credit=grant.cost_of_credit,
            tax_rate_id=grant.tax_rate_id,
            grant_refresh_frequency=grant.grant_refresh_frequency,
            rollover_mode=grant.rollover_mode,
            restrict_to_prices=list(grant.restrict_to_prices),
            metric_id=grant.metric_id,
        )


class PhaseOut(Schema):
    id: str
    name: str | None = None
    external_contract_ref: str | None = None
    created_at: datetime
    billing_schedule_id: str
    price_ids: list[str]
    start_date: date
    end_date: date | None = None
    discounts: list[DiscountOut]
    minimums: list[MinimumOut]
    credit_grants: list[PhaseCreditGrantOut] = Field(default_factory=list)
    recurrence_preference: RecurrencePreference
    phase_price_metadata: list[PhasePriceMetadata]
    threshold_invoicing: ThresholdInvoicing | None = None  # Tally's extension

    @classmethod
    def build(
        cls, phase: BillingSchedulePhase, credit_grants: Sequence[PhaseCreditGrant] = ()
    ) -> "PhaseOut":
        return cls(
            id=phase.id,
            name=phase.name,
            external_contract_ref=phase.external_contract_ref,
            created_at=phase.created_at,
            billing_schedule_id=phase.billing_schedule_id,
            price_ids=[link.price_id for link in phase.prices],
            start_date=phase.start_date,
            end_date=phase.end_date,
            discounts=[DiscountOut.build(discount) for discount in phase.discounts],
            minimums=[MinimumOut.build(minimum) for minimum in phase.minimums],
            credit_grants=[PhaseCreditGrantOut.build(grant) for grant in credit_grants],
            recurrence_preference=phase.recurrence_preference,
            phase_price_metadata=[
                PhasePriceMetadata.model_validate(item) for item in phase.phase_price_metadata
            ],
            threshold_invoicing=(
                None
                if phase.invoice_threshold is None
                else ThresholdInvoicing(amount=phase.invoice_threshold)
            ),
        )


class IntegrationIdOut(Schema):
    service: str
    id: str
    last_synced: datetime | None = None
    url: str | None = None
    is_pending: bool = False


class BillingScheduleOut(Schema):
    """Sequence's BillingScheduleResponse."""

    id: str
    customer_id: str
    status: ScheduleStatus
    start_date: date
    end_date: date | None = None
    tax_rates: list[TaxRateRef]
    first_billing_date: date | None = None
    auto_issue_invoices: bool
    purchase_order_number: str | None = None
    reference: str | None = None
    label: str | None = None
    recurrence_day_of_month: int | None = None
    prices: list[PriceOut]
    created_at: datetime
    updated_at: datetime
    phases: list[PhaseOut]
    archived_at: datetime | None = None
    roll_up_billing: bool
    integration_ids: list[IntegrationIdOut]
    attachment_assets: list[AssetOut] = Field(default_factory=list)
    default_due_date_days: int | None = None
    memo: str | None = None
    custom_fields: dict[str, str]
    payment_provider: PaymentProvider | None = None
    auto_charge: bool

    @classmethod
    def build(
        cls,
        schedule: BillingSchedule,
        prices: Mapping[str, Price],
        first_billing_date: date | None,
        credit_grants: Mapping[str, Sequence[PhaseCreditGrant]] | None = None,
    ) -> "BillingScheduleOut":
        """`prices` holds at least every price of the schedule's phases, by id."""
        # Every price of every phase once, in the order the phases first list them.
        price_ids = list(
            dict.fromkeys(link.price_id for phase in schedule.phases for link in phase.prices)
        )
        order = {price_id: index for index, price_id in enumerate(price_ids)}
        tax_rates = sorted(schedule.tax_rates, key=lambda item: order.get(item.price_id, 0))
        payment = schedule.payment_settings
        return cls(
            id=schedule.id,
            customer_id=schedule.customer_id,
            status=schedule.status,
            start_date=schedule.start_date,
            end_date=schedule.end_date,
            tax_rates=[
                TaxRateRef(price_id=item.price_id, tax_rate_id=item.tax_rate_id)
                for item in tax_rates
            ],
            first_billing_date=first_billing_date,
            auto_issue_invoices=schedule.auto_issue_invoices,
            purchase_order_number=schedule.purchase_order_number,
            reference=schedule.reference,
            label=schedule.label,
            recurrence_day_of_month=schedule.recurrence_day_of_month,
            prices=[PriceOut.build(prices[price_id]) for price_id in price_ids],
            created_at=schedule.created_at,
            updated_at=schedule.updated_at,
            phases=[
                PhaseOut.build(phase, (credit_grants or {}).get(phase.id, ()))
                for phase in schedule.phases
            ],
            archived_at=schedule.archived_at,
            roll_up_billing=schedule.roll_up_billing,
            integration_ids=[IntegrationIdOut.model_validate(i) for i in schedule.integration_ids],
            attachment_assets=[
                AssetOut.build(asset, get_settings().public_url)
                for asset in schedule.attachment_assets
            ],
            default_due_date_days=schedule.default_due_date_days,
            memo=schedule.memo,
            custom_fields=schedule.custom_fields,
            # Its live payment settings row (`/payments/settings/billing-schedules`).
            payment_provider=payment.payment_provider.value if payment else None,
            auto_charge=payment.auto_charge if payment else False,
        )
