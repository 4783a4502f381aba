"""Products: what a merchant sells; prices hang on them and they group invoice lines."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from tally.models.base import Base, TenantMixin


class Product(TenantMixin, Base):
    __tablename__ = "products"

    name: Mapped[str] = mapped_column(String(500))
    label: Mapped[str | None] = mapped_column(String(500), default=None)
    tax_category_id: Mapped[str | None] = mapped_column(String(36), default=None)
    archived_at: Mapped[datetime | None] = mapped_column(default=None)
