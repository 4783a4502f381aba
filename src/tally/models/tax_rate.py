"""Tax rates and their immutable versions.

An update never changes a version: it adds the next one. Invoices keep the version id they
were calculated with, so a finalized invoice stays reproducible after the rate changes.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tally.models.base import Base, TenantMixin


class TaxRate(TenantMixin, Base):
    __tablename__ = "tax_rates"

    current_version: Mapped[int] = mapped_column(default=0)
    archived_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    versions: Mapped[list[TaxRateVersion]] = relationship(
        back_populates="tax_rate", order_by="TaxRateVersion.version", lazy="raise"
    )
    current: Mapped[TaxRateVersion] = relationship(
        primaryjoin="and_(TaxRateVersion.tax_rate_id == TaxRate.id,"
        " TaxRateVersion.version == TaxRate.current_version)",
        viewonly=True,
        lazy="raise",
    )


class TaxRateVersion(TenantMixin, Base):
    __tablename__ = "tax_rate_versions"
    __table_args__ = (UniqueConstraint("tax_rate_id", "version"),)

    tax_rate_id: Mapped[str] = mapped_column(String(36), ForeignKey("tax_rates.id"), index=True)
    version: Mapped[int]
    is_published: Mapped[bool]
    name: Mapped[str] = mapped_column(String(500))
    invoice_name: Mapped[str] = mapped_column(String(500))
    invoice_short_name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(2000), default=None)
    # A fraction: 0.2 is 20 %.
    amount: Mapped[Decimal]
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(200), default=None)
    tax_category_id: Mapped[str | None] = mapped_column(String(36), default=None)

    tax_rate: Mapped[TaxRate] = relationship(back_populates="versions", lazy="raise")


class TaxCategory(TenantMixin, Base):
    """What kind of supply a line is for tax (Sequence's tax categories: "SaaS", "Services"):
    tax rates and products name one (`taxCategoryId`); a rate is chosen by category and the
    customer's country and region."""

    __tablename__ = "tax_categories"

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000), default=None)
