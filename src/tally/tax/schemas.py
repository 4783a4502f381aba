"""Tax rate bodies in Sequence's shapes."""

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from tally.api.schemas import Schema
from tally.api.types import CountryCode, DecimalString, PlainText
from tally.models import TaxCategory, TaxRate, TaxRateVersion


class TaxRateIn(Schema):
    is_published: bool
    name: PlainText = Field(min_length=1, max_length=500)
    invoice_name: PlainText = Field(min_length=1, max_length=500)
    invoice_short_name: PlainText = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    amount: Decimal = Field(
        ge=0,
        le=1,
        max_digits=12,
        decimal_places=8,
        allow_inf_nan=False,
        description='A fraction, as a decimal string: "0.2" is 20 %.',
        examples=["0.2"],
    )
    country: CountryCode
    region: str | None = Field(default=None, max_length=200)
    tax_category_id: str | None = Field(default=None, max_length=36)


class TaxRateUpdate(TaxRateIn):
    id: str = Field(description="Must match the id in the path.")


class TaxRateOut(Schema):
    id: str
    version_id: str
    sequence_account_id: str
    version: int
    is_published: bool
    name: str
    invoice_name: str
    invoice_short_name: str
    description: str | None = None
    amount: DecimalString
    country: str
    region: str | None = None
    tax_category_id: str | None = None
    is_archived: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def build(cls, tax_rate: TaxRate, version: TaxRateVersion | None = None) -> "TaxRateOut":
        shown = version or tax_rate.current
        return cls(
            id=tax_rate.id,
            version_id=shown.id,
            sequence_account_id=tax_rate.account_id,
            version=shown.version,
            is_published=shown.is_published,
            name=shown.name,
            invoice_name=shown.invoice_name,
            invoice_short_name=shown.invoice_short_name,
            description=shown.description,
            amount=shown.amount,
            country=shown.country,
            region=shown.region,
            tax_category_id=shown.tax_category_id,
            is_archived=tax_rate.archived_at is not None,
            created_at=tax_rate.created_at,
            updated_at=shown.created_at,
        )


class ArchivedTaxRateOut(TaxRateOut):
    sub_rates: list[TaxRateOut] = Field(default_factory=list)


class TaxCategoryIn(Schema):
    name: PlainText = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class TaxCategoryOut(Schema):
    """A tax category: name it as a tax rate's, a product's or an invoice group's
    `taxCategoryId`."""

    id: str
    name: str
    description: str | None = None
    created_at: datetime

    @classmethod
    def build(cls, category: TaxCategory) -> "TaxCategoryOut":
        return cls(
            id=category.id,
            name=category.name,
            description=category.description,
            created_at=category.created_at,
        )
