"""Product bodies in Sequence's shapes."""

from datetime import datetime

from pydantic import Field

from tally.api.schemas import Schema
from tally.api.types import PlainText


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
