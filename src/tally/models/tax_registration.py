"""Tax registrations: the merchant's and its customers' tax identifiers (VAT numbers, GST and
sales tax registrations), printed on invoices and, later, written into e-invoices.

A registration belongs to exactly one party: a customer (`customer_id`) or the merchant
itself (`merchant_id`, which is the account's id: in Tally the account is the merchant).
`scheme` says what kind of identifier it is (`VAT`, `GST`, `SALES_TAX`, `TAX_ID`), derived
from the country when written, so documents and e-invoices label it without guessing again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tally.models.base import Base, TenantMixin


class TaxRegistration(TenantMixin, Base):
    __tablename__ = "tax_registrations"

    customer_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("customers.id"), index=True, default=None
    )
    merchant_id: Mapped[str | None] = mapped_column(String(36), default=None)
    tax_identifier: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))
    # A US state or Canadian province (Sequence's `State`), for sales tax registrations.
    state: Mapped[str | None] = mapped_column(String(2), default=None)
    scheme: Mapped[str] = mapped_column(String(16))
    # Deleted registrations stay: invoices printed with them may be asked for again.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
