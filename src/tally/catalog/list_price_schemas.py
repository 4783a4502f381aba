"""List price bodies in Sequence's shapes: a price's request without `listPriceId` and
`status` (OneTimeListPriceRequest ... VolumeListPriceRequest), checked by the same rules as a
price's, since every list price becomes a price when a billing schedule phase names it."""

from datetime import datetime

from pydantic import Field, model_validator

from tally.api.schemas import Schema
from tally.api.types import Currency, PlainText
from tally.catalog.price_schemas import (
    PriceIn,
    PriceIntegrationIdIn,
    PriceIntegrationIdOut,
    PriceParameter,
    PricingStructure,
    UsageCalculationPeriod,
    parse_structure,
)
from tally.models import BillingFrequency, BillingType, ListPrice


class ListPriceIn(Schema):
    """POST /list-prices and PUT /list-prices/{id} (which replaces the whole template)."""

    product_id: str = Field(min_length=1, max_length=36)
    name: PlainText = Field(
        min_length=1, max_length=500, description="The invoice line's title of its variants."
    )
    currency: Currency
    structure: PricingStructure
    billing_frequency: BillingFrequency
    billing_type: BillingType
    integration_ids: list[PriceIntegrationIdIn] = Field(default_factory=list, max_length=50)
    custom_metric_parameters: list[PriceParameter] = Field(default_factory=list, max_length=50)
    usage_calculation_period: UsageCalculationPeriod | None = Field(
        default=None, description="Kept on GRADUATED list prices only, as on prices."
    )

    @model_validator(mode="after")
    def _billable(self) -> "ListPriceIn":
        # A price's rules, at the same field paths: a template no phase could bill is refused.
        as_price = self.as_price()
        self.usage_calculation_period = as_price.usage_calculation_period
        return self

    def as_price(self, list_price_id: str | None = None) -> PriceIn:
        """The price request a phase naming this list price makes (its variant)."""
        fields = {name: getattr(self, name) for name in type(self).model_fields}
        return PriceIn.model_validate({**fields, "list_price_id": list_price_id})


class ListPriceOut(Schema):
    """Sequence's ListPrice (and OneTimeListPriceResponse ... VolumeListPriceResponse)."""

    id: str
    product_id: str
    name: str
    currency: Currency
    structure: PricingStructure
    billing_frequency: BillingFrequency
    usage_calculation_period: UsageCalculationPeriod | None = None
    billing_type: BillingType
    created_at: datetime
    updated_at: datetime
    integration_ids: list[PriceIntegrationIdOut]
    custom_metric_parameters: list[PriceParameter]

    @classmethod
    def build(cls, list_price: ListPrice) -> "ListPriceOut":
        return cls(
            id=list_price.id,
            product_id=list_price.product_id,
            name=list_price.name,
            currency=Currency(list_price.currency),
            structure=parse_structure(list_price.structure),
            billing_frequency=list_price.billing_frequency,
            usage_calculation_period=(
                UsageCalculationPeriod.model_validate(list_price.usage_calculation_period)
                if list_price.usage_calculation_period is not None
                else None
            ),
            billing_type=list_price.billing_type,
            created_at=list_price.created_at,
            updated_at=list_price.updated_at,
            integration_ids=[
                PriceIntegrationIdOut.model_validate(item) for item in list_price.integration_ids
            ],
            custom_metric_parameters=[
                PriceParameter.model_validate(item) for item in list_price.custom_metric_parameters
            ],
        )
