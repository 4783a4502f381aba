"""List prices: catalog templates of prices. A billing schedule phase that names one bills a
price variant made from it (a `Price` with `list_price_id`), so a later change to the
template never changes what an existing schedule bills."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tally.models.base import Base, TenantMixin
from tally.models.price import BillingFrequency, BillingType, PricingType


class ListPrice(TenantMixin, Base):
    __tablename__ = "list_prices"
    __table_args__ = (Index("ix_list_prices_account_product", "account_id", "product_id"),)

    product_id: Mapped[str] = mapped_column(String(36), ForeignKey("products.id"))
    name: Mapped[str] = mapped_column(String(500))
    currency: Mapped[str] = mapped_column(String(3))
    billing_frequency: Mapped[BillingFrequency]
    billing_type: Mapped[BillingType]
    pricing_type: Mapped[PricingType]
    # Sequence's `structure` object, validated, in its camelCase wire form (as `Price`'s).
    structure: Mapped[dict[str, Any]]
    usage_metric_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("usage_metrics.id"), default=None
    )
    seat_metric_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("seat_metrics.id"), default=None
    )
    usage_calculation_period: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    integration_ids: Mapped[list[Any]] = mapped_column(default=list)
    custom_metric_parameters: Mapped[list[Any]] = mapped_column(default=list)
    # Archived: new phases can no longer name it; variants made from it keep billing.
    archived_at: Mapped[datetime | None] = mapped_column(default=None)
