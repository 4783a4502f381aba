"""Prices: how a product is charged. The structure is Sequence's, stored as validated JSON."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tally.models.base import Base, TenantMixin


class PricingType(StrEnum):
    ONE_TIME = "ONE_TIME"
    FIXED = "FIXED"
    LINEAR = "LINEAR"
    PACKAGE = "PACKAGE"
    VOLUME = "VOLUME"
    GRADUATED = "GRADUATED"
    SEAT_BASED = "SEAT_BASED"


USAGE_PRICING = (
    PricingType.LINEAR,
    PricingType.PACKAGE,
    PricingType.VOLUME,
    PricingType.GRADUATED,
)


class BillingFrequency(StrEnum):
    ONE_TIME = "ONE_TIME"
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
    HALF_YEARLY = "HALF_YEARLY"
    YEARLY = "YEARLY"
    ON_DEMAND = "ON_DEMAND"  # in Sequence's enum; refused by Tally for now
    PER_EVENT = "PER_EVENT"  # in Sequence's enum; refused by Tally for now

    @property
    def months(self) -> int | None:
        """The length of a recurring frequency's period; None for the others."""
        return _MONTHS.get(self)


_MONTHS = {
    BillingFrequency.MONTHLY: 1,
    BillingFrequency.QUARTERLY: 3,
    BillingFrequency.HALF_YEARLY: 6,
    BillingFrequency.YEARLY: 12,
}


class BillingType(StrEnum):
    IN_ADVANCE = "IN_ADVANCE"
    IN_ARREARS = "IN_ARREARS"


class PriceStatus(StrEnum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"


class Price(TenantMixin, Base):
    __tablename__ = "prices"
    __table_args__ = (Index("ix_prices_account_product", "account_id", "product_id"),)

    product_id: Mapped[str] = mapped_column(String(36), ForeignKey("products.id"))
    name: Mapped[str] = mapped_column(String(500))
    currency: Mapped[str] = mapped_column(String(3))
    billing_frequency: Mapped[BillingFrequency]
    billing_type: Mapped[BillingType]
    pricing_type: Mapped[PricingType]
    # Sequence's `structure` object, validated, in its camelCase wire form.
    structure: Mapped[dict[str, Any]]
    # Kept beside the structure so usage and seat lookups can join on them.
    usage_metric_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("usage_metrics.id"), default=None
    )
    seat_metric_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("seat_metrics.id"), default=None
    )
    usage_calculation_period: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    integration_ids: Mapped[list[Any]] = mapped_column(default=list)
    custom_metric_parameters: Mapped[list[Any]] = mapped_column(default=list)
    list_price_id: Mapped[str | None] = mapped_column(String(36), default=None)
    status: Mapped[PriceStatus] = mapped_column(default=PriceStatus.ACTIVE)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
