"""Accounts (tenants) and the API keys that authenticate as them."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tally.models.base import Base, RecordMixin


class Account(RecordMixin, Base):
    """A merchant using Tally; Sequence calls it a "sequence account"."""

    __tablename__ = "accounts"

    name: Mapped[str] = mapped_column(String(200))
    company_number: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2), default="GB")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    invoice_number_prefix: Mapped[str] = mapped_column(String(20), default="INV")
    credit_note_number_prefix: Mapped[str] = mapped_column(String(20), default="CN")
    payment_terms_days: Mapped[int] = mapped_column(default=30)
    address: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    logo_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    send_customer_notifications: Mapped[bool] = mapped_column(default=True)
    alert_email_addresses: Mapped[list[Any]] = mapped_column(default=list)
    # The language (`core.i18n.LANGUAGES`) of the documents, emails and portal of customers
    # that have none of their own.
    language: Mapped[str] = mapped_column(String(8), default="en")


class ApiKey(RecordMixin, Base):
    """An API credential: the public key identifies it, the secret is kept only as a hash."""

    __tablename__ = "api_keys"

    account_id: Mapped[str] = mapped_column(String(36), ForeignKey("accounts.id"), index=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class DocumentKind(StrEnum):
    INVOICE = "INVOICE"
    CREDIT_NOTE = "CREDIT_NOTE"


class NumberSequence(Base):
    """The last number an account gave a kind of document. Taking numbers updates this row,
    which stays locked until the transaction ends: concurrent finalizations queue here, and a
    rolled-back one gives its numbers back, so numbers are gapless."""

    __tablename__ = "number_sequences"

    account_id: Mapped[str] = mapped_column(String(36), ForeignKey("accounts.id"), primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)
