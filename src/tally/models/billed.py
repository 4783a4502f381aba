"""What invoices and credit notes share: a billed line and a group of lines under a heading.

Columns only: each kind of document keeps its own tables (`invoice_line_items`,
`credit_note_line_items` ...), adding its parent, its `group_id` and what only it has. Code that
works on either kind of line (rendering, totals, the line and group bodies) takes these types.
"""

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from tally.models.base import TenantMixin


class BilledLineGroup(TenantMixin):
    """Lines under one heading, in the document's order; its totals are its lines' sums."""

    index: Mapped[int]
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(String(2000), default=None)
    net_total: Mapped[Decimal] = mapped_column(default=Decimal(0))
    total_tax: Mapped[Decimal] = mapped_column(default=Decimal(0))
    gross_total: Mapped[Decimal] = mapped_column(default=Decimal(0))


class BilledLine(TenantMixin):
    """quantity x rate, taxed at `tax_rate`: net, tax and gross rounded to the minor unit.
    Each kind declares its `group_id`: a key to its own groups' table."""

    if TYPE_CHECKING:  # for code on either kind of line; not a column of the mixin
        group_id: Mapped[str | None]

    index: Mapped[int]
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(String(5000), default=None)
    quantity: Mapped[Decimal]
    rate: Mapped[Decimal]
    rate_display: Mapped[str] = mapped_column(String(20), default="ABSOLUTE")
    tax_rate: Mapped[Decimal] = mapped_column(default=Decimal(0))
    net_total: Mapped[Decimal]
    total_tax: Mapped[Decimal]
    gross_total: Mapped[Decimal]
    price_id: Mapped[str | None] = mapped_column(String(36), default=None)
    product_id: Mapped[str | None] = mapped_column(String(36), default=None)
    service_period_start: Mapped[date | None] = mapped_column(default=None)
    service_period_end: Mapped[date | None] = mapped_column(default=None)
