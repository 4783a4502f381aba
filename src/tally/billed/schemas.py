"""What both kinds of billed document take and answer for their lines and groups: shared
request shapes, and the fields every line and group response has."""

from typing import Any

from pydantic import Field

from tally.api.schemas import Schema
from tally.api.types import PlainText
from tally.core.wire import money, plain, rate_text
from tally.models.billed import BilledLine, BilledLineGroup


class GroupHeading(Schema):
    """A group's heading: its title, and a description under it."""

    title: PlainText = Field(min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=2000)


def line_fields(line: BilledLine, currency: str) -> dict[str, Any]:
    """The response fields every billed line has, as the wire writes them: amounts with the
    currency's minor-unit places, quantity and tax rate plain, the rate as `rate_text` says.
    Each kind adds its parent, its `rateDisplay` enum and what only it has."""
    return {
        "id": line.id,
        "group_id": line.group_id,
        "title": line.title,
        "description": line.description,
        "quantity": plain(line.quantity),
        "rate": rate_text(line.rate, currency, line.rate_display),
        "tax_rate": plain(line.tax_rate),
        "index": line.index,
        "net_total": money(line.net_total, currency),
        "total_tax": money(line.total_tax, currency),
        "gross_total": money(line.gross_total, currency),
        "price_id": line.price_id,
        "product_id": line.product_id,
    }


def group_fields(group: BilledLineGroup, currency: str) -> dict[str, Any]:
    """The response fields every billed line group has (its totals as money text)."""
    return {
        "id": group.id,
        "title": group.title,
        "description": group.description,
        "index": group.index,
        "net_total": money(group.net_total, currency),
        "total_tax": money(group.total_tax, currency),
        "gross_total": money(group.gross_total, currency),
    }
