"""Price bodies in Sequence's shapes: the request of every pricing type and `PriceOut`.

`structure` is a union discriminated by `structure.pricingType`. The same structure models
describe what a price stores (`Price.structure`, their camelCase JSON with decimal strings)
and what it answers, so a price reads back exactly as it was accepted ("15.0" stays "15.0").
`parse_structure` turns a stored structure back into these models, with `Decimal`s.
"""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from tally.api.schemas import Schema
from tally.api.types import Currency, DecimalString, PlainText
from tally.models import (
    USAGE_PRICING,
    BillingFrequency,
    BillingType,
    Price,
    PriceStatus,
    PricingType,
)

# --- decimals --------------------------------------------------------------------------------


def _no_float(value: object) -> object:
    # The body was parsed with `json.loads`, so a JSON number with a fraction is already a
    # binary float here: its digits are no longer the ones the client sent.
    if isinstance(value, bool | float):
        raise PydanticCustomError(
            "decimal_string",
            'give decimals as strings, e.g. "0.25" (a JSON number with a fraction is inexact)',
        )
    return value


def _positive_zero(value: Decimal) -> Decimal:
    return value.copy_abs() if value.is_zero() else value


# An exact decimal: a string ("15.0") or a JSON integer in, the same digits out.
WireDecimal = Annotated[
    DecimalString,
    BeforeValidator(_no_float),
    Field(max_digits=30, decimal_places=12),
    AfterValidator(_positive_zero),
]
# Prices, fees, minimums and maximums; percentages as fractions ("0.02" is 2 %).
Amount = Annotated[WireDecimal, Field(ge=0)]

# --- errors at the field they are about -------------------------------------------------------


def _invalid(loc: tuple[str | int, ...], message: str, value: Any) -> ValidationError:
    """An error located at `loc` (relative to the model raising it) with a plain message.

    Pydantic prepends the location of the model, so the client reads e.g.
    `structure.tiers.1.upperBound` rather than the whole structure being blamed.
    """
    detail: InitErrorDetails = {
        "type": PydanticCustomError("value_error", message),
        "loc": loc,
        "input": value,
    }
    return ValidationError.from_exception_data("Price", [detail])


def _check_percentage(loc: tuple[str | int, ...], value: Decimal, is_percentage: bool) -> None:
    if is_percentage and value > 1:
        raise _invalid(loc, 'a percentage is a fraction: "0.02" is 2 %, "1" is 100 %', str(value))


# --- tiers -----------------------------------------------------------------------------------

UpperBound = Annotated[
    WireDecimal,
    Field(
        gt=0,
        description="Inclusive. The lower bound is the previous tier's upperBound (exclusive), "
        "0 for the first tier. Omitted on the last, open-ended tier.",
    ),
]


class SeatUsageTier(Schema):
    upper_bound: UpperBound | None = None
    price: Amount
    fee: Amount | None = Field(default=None, description="A flat fee for reaching the tier.")


class GraduatedUsageTier(SeatUsageTier):
    is_price_percentage: bool = False


class VolumeUsageTier(GraduatedUsageTier):
    min_price: Amount | None = Field(
        default=None, description="Per event, on percentage tiers only."
    )
    max_price: Amount | None = Field(
        default=None, description="Per event, on percentage tiers only."
    )


def _check_tiers(tiers: list[Any], *, allow_empty: bool = False) -> None:
    """Contiguous tiers: ascending upper bounds, the last one open-ended."""
    if not tiers:
        if allow_empty:
            return
        raise _invalid(("tiers",), "at least one tier is needed", [])
    previous: Decimal | None = None
    last = len(tiers) - 1
    for index, tier in enumerate(tiers):
        where = ("tiers", index, "upperBound")
        bound = tier.upper_bound
        if index == last:
            if bound is not None:
                message = "the last tier is open-ended: leave out its upperBound"
                raise _invalid(where, message, str(bound))
            continue
        if bound is None:
            raise _invalid(where, "every tier but the last needs an upperBound", None)
        if previous is not None and bound <= previous:
            raise _invalid(
                where, f"upper bounds must rise strictly: {bound} follows {previous}", str(bound)
            )
        previous = bound


# --- structures ------------------------------------------------------------------------------


class OneTimePricingStructure(Schema):
    pricing_type: Literal["ONE_TIME"]
    price: Amount = Field(description="Charged once.")


class FixedPricingStructure(Schema):
    pricing_type: Literal["FIXED"]
    price: Amount = Field(description="Charged every billing period.")


class LinearPricingStructure(Schema):
    pricing_type: Literal["LINEAR"]
    price_per_unit: Amount
    usage_metric_id: str = Field(min_length=1, max_length=36)
    is_price_percentage: bool = False

    @model_validator(mode="after")
    def _fraction(self) -> "LinearPricingStructure":
        _check_percentage(("pricePerUnit",), self.price_per_unit, self.is_price_percentage)
        return self


class PackagePricingStructure(Schema):
    pricing_type: Literal["PACKAGE"]
    package_size: Annotated[WireDecimal, Field(gt=0)]
    price_per_package: Amount
    usage_metric_id: str = Field(min_length=1, max_length=36)


class VolumePricingStructure(Schema):
    pricing_type: Literal["VOLUME"]
    usage_metric_id: str = Field(min_length=1, max_length=36)
    tiers: list[VolumeUsageTier]

    @model_validator(mode="after")
    def _tiers(self) -> "VolumePricingStructure":
        _check_tiers(self.tiers)
        for index, tier in enumerate(self.tiers):
            _check_percentage(("tiers", index, "price"), tier.price, tier.is_price_percentage)
            for name, value in (("minPrice", tier.min_price), ("maxPrice", tier.max_price)):
                if value is not None and not tier.is_price_percentage:
                    raise _invalid(
                        ("tiers", index, name),
                        "only percentage tiers (isPricePercentage: true) take a minPrice or "
                        "maxPrice",
                        str(value),
                    )
            if (
                tier.min_price is not None
                and tier.max_price is not None
                and tier.min_price > tier.max_price
            ):
                raise _invalid(
                    ("tiers", index, "minPrice"),
                    f"minPrice {tier.min_price} is above maxPrice {tier.max_price}",
                    str(tier.min_price),
                )
        return self


class GraduatedPricingStructure(Schema):
    pricing_type: Literal["GRADUATED"]
    usage_metric_id: str = Field(min_length=1, max_length=36)
    usage_calculation_mode: Literal["BILLING_PERIOD", "CUMULATIVE", "PERIODIC"] = Field(
        default="BILLING_PERIOD",
        description="BILLING_PERIOD: the tiers count the period's usage; CUMULATIVE: the "
        "usage since the schedule started; PERIODIC: the usage since the start of the "
        "price's `usageCalculationPeriod` (anchored like the billing periods, starting at 0 "
        "again at each new one), each invoice billing the increment of its days.",
    )
    tiers: list[GraduatedUsageTier]

    @model_validator(mode="after")
    def _tiers(self) -> "GraduatedPricingStructure":
        _check_tiers(self.tiers)
        for index, tier in enumerate(self.tiers):
            _check_percentage(("tiers", index, "price"), tier.price, tier.is_price_percentage)
        return self


class ProrationStrategy(StrEnum):
    USE_MAXIMUM = "USE_MAXIMUM"
    PRORATE_INCREMENTS = "PRORATE_INCREMENTS"
    PRORATE_ALL_CHANGES = "PRORATE_ALL_CHANGES"


class OveragesFrequency(StrEnum):
    NONE = "NONE"
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
    HALF_YEARLY = "HALF_YEARLY"
    YEARLY = "YEARLY"


class SeatBasedPricingStructure(Schema):
    pricing_type: Literal["SEAT_BASED"]
    seat_metric_id: str = Field(min_length=1, max_length=36)
    price_per_seat: Amount = Field(description="Per seat per full billing period.")
    proration_strategy: ProrationStrategy
    contracted_minimum_seats: int = Field(default=0, ge=0, le=2**31 - 1)
    tiers: list[SeatUsageTier] = Field(
        default_factory=list, description="Tiers of the seat count; may be empty."
    )
    overages_billing_frequency: OveragesFrequency = OveragesFrequency.NONE
    prorate_flat_fees: bool = False

    @model_validator(mode="after")
    def _tiers(self) -> "SeatBasedPricingStructure":
        _check_tiers(self.tiers, allow_empty=True)
        return self


_TAGS = frozenset(PricingType)
_PRICING_TYPE_MESSAGE = "must be one of " + ", ".join(PricingType)


def _locate_without_tag(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    # A discriminated union puts the tag in every error's location ("structure.VOLUME.tiers");
    # the client's own field path has no such step.
    try:
        return handler(value)
    except ValidationError as exc:
        details: list[InitErrorDetails] = []
        for error in exc.errors():
            loc, message = error["loc"], error["msg"]
            if loc and loc[0] in _TAGS:
                loc = loc[1:]
            if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
                loc, message = ("pricingType",), _PRICING_TYPE_MESSAGE
            detail: InitErrorDetails = {
                "type": PydanticCustomError(error["type"], message),
                "loc": loc,
                "input": error["input"],
            }
            details.append(detail)
        raise ValidationError.from_exception_data(exc.title, details) from None


PricingStructure = Annotated[
    Union[  # noqa: UP007 - a discriminated union of models reads better spelled out
        OneTimePricingStructure,
        FixedPricingStructure,
        LinearPricingStructure,
        PackagePricingStructure,
        VolumePricingStructure,
        GraduatedPricingStructure,
        SeatBasedPricingStructure,
    ],
    Field(discriminator="pricing_type"),
    WrapValidator(_locate_without_tag),
]

_STRUCTURE = TypeAdapter[PricingStructure](PricingStructure)


def parse_structure(structure: dict[str, Any]) -> PricingStructure:
    """A stored `Price.structure` as its model, amounts as `Decimal`s (for the billing engine)."""
    return _STRUCTURE.validate_python(structure)


def structure_document(structure: PricingStructure) -> dict[str, Any]:
    """The camelCase JSON form of a structure that `Price.structure` stores."""
    document: dict[str, Any] = structure.model_dump(mode="json", by_alias=True)
    return document


# --- the rest of a price ---------------------------------------------------------------------


class IntegrationService(StrEnum):
    """Sequence's `IntegrationService` enum."""

    AMAZON_REDSHIFT = "Amazon_Redshift"
    GOCARDLESS = "GoCardless"
    GOOGLE_BIGQUERY = "Google_BigQuery"
    GOOGLE_SHEETS = "Google_Sheets"
    HUBSPOT = "HubSpot"
    NETSUITE = "NetSuite"
    QUICKBOOKS_ONLINE = "QuickBooks_Online"
    SALESFORCE = "Salesforce"
    SLACK = "Slack"
    SNOWFLAKE = "Snowflake"
    STRIPE = "Stripe"
    XERO = "Xero"
    AVALARA = "Avalara"
    ANROK = "Anrok"
    ATTIO = "Attio"
    NUMERAL = "Numeral"
    RILLET = "Rillet"
    SPHERE = "Sphere"


class PriceIntegrationIdIn(Schema):
    service: IntegrationService
    id: str = Field(min_length=1, max_length=500)


class PriceIntegrationIdOut(Schema):
    service: str
    id: str
    is_pending: bool = False


class PriceParameter(Schema):
    parameter_id: str = Field(min_length=1, max_length=36)
    value: str = Field(max_length=500)


class UsageCalculationFrequency(StrEnum):
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
    HALF_YEARLY = "HALF_YEARLY"
    YEARLY = "YEARLY"


class UsageCalculationPeriod(Schema):
    frequency: UsageCalculationFrequency
    interval: int = Field(ge=1, le=1200)


_USAGE_DRIVEN = (BillingFrequency.ON_DEMAND, BillingFrequency.PER_EVENT)
_ONE_TIME_PRICING = ("ONE_TIME", "FIXED")


class PriceIn(Schema):
    """POST /prices: Sequence's OneTimePriceRequest ... VolumePriceRequest."""

    product_id: str = Field(min_length=1, max_length=36)
    name: PlainText = Field(min_length=1, max_length=500, description="The invoice line's title.")
    currency: Currency
    structure: PricingStructure
    billing_frequency: BillingFrequency = Field(
        description="MONTHLY ... YEARLY: billed every period; ONE_TIME: once, when its phase "
        "starts (ONE_TIME and FIXED prices). ON_DEMAND (usage prices): each day with usage is "
        "invoiced the next day, its usage priced on the tiers the phase's running total "
        "reaches. PER_EVENT (LINEAR prices on a COUNT or SUM metric): each day with usage is "
        "invoiced the next day, every event charged and rounded on its own."
    )
    billing_type: BillingType = Field(description="Usage prices are IN_ARREARS only.")
    integration_ids: list[PriceIntegrationIdIn] = Field(default_factory=list, max_length=50)
    external_ids: list[PriceIntegrationIdIn] | None = Field(
        default=None, max_length=50, description="The older name of `integrationIds` (seed 002)."
    )
    custom_metric_parameters: list[PriceParameter] = Field(
        default_factory=list,
        max_length=50,
        description="Values for the parameters of the price's CUSTOM usage metric (by "
        "parameter id, each once, each a value of the parameter's type); parameters left "
        "out take their default. Refused for other prices.",
    )
    list_price_id: str | None = Field(default=None, max_length=36)
    usage_calculation_period: UsageCalculationPeriod | None = Field(
        default=None,
        description="Kept on GRADUATED prices only, as Sequence does; required with, and "
        "read by, usageCalculationMode PERIODIC: the tiers count usage over `interval` x "
        "`frequency` from the schedule's start, then start at 0 again.",
    )
    status: PriceStatus = PriceStatus.ACTIVE

    def _usage_driven(self) -> None:
        """ON_DEMAND and PER_EVENT bill usage the day after it happens: usage prices only."""
        structure, frequency = self.structure, self.billing_frequency
        if frequency is BillingFrequency.PER_EVENT and structure.pricing_type != "LINEAR":
            raise _invalid(
                ("billingFrequency",),
                "PER_EVENT charges every event on its own: it takes a LINEAR price (as "
                f"Sequence's instant charges do), not {structure.pricing_type}",
                str(frequency),
            )
        if structure.pricing_type not in USAGE_PRICING:
            raise _invalid(
                ("billingFrequency",),
                "ON_DEMAND bills usage the day after it happens: it takes a LINEAR, PACKAGE, "
                f"VOLUME or GRADUATED price, not {structure.pricing_type}",
                str(frequency),
            )
        if isinstance(structure, VolumePricingStructure) and any(
            t.min_price is not None or t.max_price is not None for t in structure.tiers
        ):
            raise _invalid(
                ("billingFrequency",),
                "ON_DEMAND VOLUME prices with a per-event minPrice or maxPrice are not "
                "supported; leave the limits out or bill MONTHLY",
                str(frequency),
            )
        mode = getattr(structure, "usage_calculation_mode", "BILLING_PERIOD")
        if mode != "BILLING_PERIOD":
            raise _invalid(
                ("structure", "usageCalculationMode"),
                "ON_DEMAND prices count the phase's usage so far (each day's usage is priced "
                "on the tiers the phase's running total reaches): use BILLING_PERIOD",
                mode,
            )

    @model_validator(mode="after")
    def _consistent(self) -> "PriceIn":
        pricing = self.structure.pricing_type
        frequency = self.billing_frequency
        if frequency in _USAGE_DRIVEN:
            self._usage_driven()
        if frequency is BillingFrequency.ONE_TIME and pricing not in _ONE_TIME_PRICING:
            raise _invalid(
                ("billingFrequency",),
                f"{pricing} prices recur: use MONTHLY, QUARTERLY, HALF_YEARLY or YEARLY "
                "(ONE_TIME is for ONE_TIME and FIXED prices)",
                str(frequency),
            )
        if pricing in USAGE_PRICING and self.billing_type is not BillingType.IN_ARREARS:
            raise _invalid(
                ("billingType",),
                "usage prices are billed IN_ARREARS; to have usage paid in advance, "
                "sell credits and let usage draw them down",
                str(self.billing_type),
            )
        if pricing != "GRADUATED":
            self.usage_calculation_period = None
        elif (
            getattr(self.structure, "usage_calculation_mode", None) == "PERIODIC"
            and self.usage_calculation_period is None
        ):
            raise _invalid(
                ("usageCalculationPeriod",),
                "a PERIODIC usageCalculationMode needs the period usage is counted over, "
                'e.g. {"frequency": "YEARLY", "interval": 1}',
                None,
            )
        if self.external_ids is not None:
            given = "integration_ids" in self.model_fields_set
            if given and self.integration_ids != self.external_ids:
                raise _invalid(
                    ("externalIds",),
                    "the older name of integrationIds: give one of them, or both the same",
                    "",
                )
            self.integration_ids, self.external_ids = self.external_ids, None
        return self


class PriceUpdate(Schema):
    """PUT /prices/{id}: Sequence's UpdatePriceRequest. Nothing else of a price changes."""

    name: PlainText = Field(min_length=1, max_length=500)
    status: PriceStatus | None = Field(default=None, description="Unchanged when left out.")


class PriceOut(Schema):
    """Sequence's PriceResponse, plus `sequenceAccountId` as in seed 002."""

    id: str
    sequence_account_id: str
    product_id: str
    name: str
    currency: Currency
    structure: PricingStructure
    billing_frequency: BillingFrequency
    billing_type: BillingType
    created_at: datetime
    updated_at: datetime
    integration_ids: list[PriceIntegrationIdOut]
    custom_metric_parameters: list[PriceParameter]
    list_price_id: str | None = None
    usage_calculation_period: UsageCalculationPeriod | None = None
    status: PriceStatus

    @classmethod
    def build(cls, price: Price) -> "PriceOut":
        return cls(
            id=price.id,
            sequence_account_id=price.account_id,
            product_id=price.product_id,
            name=price.name,
            currency=Currency(price.currency),
            structure=parse_structure(price.structure),
            billing_frequency=price.billing_frequency,
            billing_type=price.billing_type,
            created_at=price.created_at,
            updated_at=price.updated_at,
            integration_ids=[
                PriceIntegrationIdOut.model_validate(item) for item in price.integration_ids
            ],
            custom_metric_parameters=[
                PriceParameter.model_validate(item) for item in price.custom_metric_parameters
            ],
            list_price_id=price.list_price_id,
            usage_calculation_period=(
                UsageCalculationPeriod.model_validate(price.usage_calculation_period)
                if price.usage_calculation_period is not None
                else None
            ),
            status=price.status,
        )
