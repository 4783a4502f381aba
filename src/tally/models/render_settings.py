"""What an account's invoice PDFs show (Sequence's invoice render settings): one row per
account, made with the defaults the first time it is read."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tally.models.base import Base, TenantMixin


class PaymentLinkDisplay(StrEnum):
    SHOW_PAYMENT_LINK = "SHOW_PAYMENT_LINK"
    HIDE_PAYMENT_LINK = "HIDE_PAYMENT_LINK"


class CurrencyConversionDisplay(StrEnum):
    SHOW_CURRENCY_CONVERSION = "SHOW_CURRENCY_CONVERSION"
    HIDE_CURRENCY_CONVERSION = "HIDE_CURRENCY_CONVERSION"


class InvoiceRenderSettings(TenantMixin, Base):
    __tablename__ = "invoice_render_settings"
    # One per account: the unique key on account_id is also its index.
    __table_args__ = (UniqueConstraint("account_id"),)
    account_id_leads_a_key = True

    payment_link_display: Mapped[PaymentLinkDisplay] = mapped_column(
        default=PaymentLinkDisplay.SHOW_PAYMENT_LINK
    )
    currency_conversion_display: Mapped[CurrencyConversionDisplay] = mapped_column(
        default=CurrencyConversionDisplay.SHOW_CURRENCY_CONVERSION
    )
