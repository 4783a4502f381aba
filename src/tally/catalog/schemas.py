"""Product bodies in Sequence's shapes, and billing products (products with their prices)."""

from datetime import datetime

from pydantic import Field

from tally.api.schemas import Schema
from tally.api.types import PlainText
from tally.catalog.price_schemas import PriceOut
from tally.catalog.queries import RecognitionMethod
from tally.models import Price, Product


class ProductIn(Schema):
    name: PlainText = Field(min_length=1, max_length=500, description="Shown on invoices.")
    label: str | None = Field(default=None, max_length=500)
    tax_category_id: str | None = Field(default=None, max_length=36)


class ProductOut(Schema):
    id: str
    name: str
    label: str | None = None
    tax_category_id: str | None = None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None = None


class BillingProductOut(Schema):
    """Sequence's BillingProduct: a product with its live prices and the name of its tax
    category (left out when it has none)."""

    id: str
    name: str
    label: str
    sequence_account_id: str
    created_at: datetime
    updated_at: datetime
    prices: list[PriceOut]
    recognition_method: RecognitionMethod
    tax_category_name: str | None = None

    @classmethod
    def build(
        cls,
        product: Product,
        prices: list[Price],
        method: RecognitionMethod,
        tax_category_name: str | None = None,
    ) -> "BillingProductOut":
        return cls(
            id=product.id,
            name=product.name,
            label=product.label or product.name,  # Sequence requires one; the name is its label
            sequence_account_id=product.account_id,
            created_at=product.created_at,
            updated_at=product.updated_at,
            prices=[PriceOut.build(price) for price in prices],
            recognition_method=method,
            tax_category_name=tax_category_name,
        )
