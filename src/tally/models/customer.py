"""Customers, their contacts and aliases, and the organizations that group them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tally.models.base import Base, TenantMixin


class TaxStatus(StrEnum):
    TAXED = "TAXED"
    TAX_EXEMPT = "TAX_EXEMPT"
    REVERSE_CHARGED = "REVERSE_CHARGED"


class CustomerStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DRAFT = "DRAFT"


class BillingPreference(StrEnum):
    """Who receives invoices: the one PRIMARY contact, STANDARD contacts in copy, NONE never."""

    PRIMARY = "PRIMARY"
    STANDARD = "STANDARD"
    NONE = "NONE"


class Customer(TenantMixin, Base):
    __tablename__ = "customers"
    __table_args__ = (
        # Usage ingestion asks, for every batch, whether any of its aliases names an archived
        # customer: with this index, an account without archived customers answers at once.
        Index(
            "ix_customers_account_archived",
            "account_id",
            sqlite_where=text("archived_at IS NOT NULL"),
            postgresql_where=text("archived_at IS NOT NULL"),
        ),
    )

    legal_name: Mapped[str] = mapped_column(String(500))
    address: Mapped[dict[str, Any]]
    url: Mapped[str | None] = mapped_column(String(2000), default=None)
    label: Mapped[str | None] = mapped_column(String(500), default=None)
    telephone: Mapped[str | None] = mapped_column(String(100), default=None)
    # The reference the customer quotes when paying (Sequence's older `paymentReference`).
    payment_reference: Mapped[str | None] = mapped_column(String(500), default=None)
    tax_status: Mapped[TaxStatus] = mapped_column(default=TaxStatus.TAXED)
    status: Mapped[CustomerStatus] = mapped_column(default=CustomerStatus.ACTIVE)
    integration_ids: Mapped[list[Any]] = mapped_column(default=list)
    custom_properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The single source of truth for the hierarchy; organizations only give it Sequence's ids.
    parent_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("customers.id"), index=True, default=None
    )
    archived_at: Mapped[datetime | None] = mapped_column(default=None)
    # The random secret in the customer's portal links (never the id); made when first needed.
    portal_secret: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    # The customer's language (`core.i18n.LANGUAGES`); None reads the account's.
    language: Mapped[str | None] = mapped_column(String(8), default=None)

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="customer", order_by="Contact.id", lazy="raise"
    )
    aliases: Mapped[list[CustomerAlias]] = relationship(
        primaryjoin="and_(CustomerAlias.customer_id == Customer.id,"
        " CustomerAlias.deleted_at.is_(None))",
        order_by="CustomerAlias.id",
        viewonly=True,
        lazy="raise",
    )
    parent: Mapped[Customer | None] = relationship(
        remote_side="Customer.id", back_populates="children", lazy="raise"
    )
    children: Mapped[list[Customer]] = relationship(
        back_populates="parent", order_by="Customer.id", lazy="raise"
    )

    @property
    def active_contacts(self) -> list[Contact]:
        return [contact for contact in self.contacts if contact.archived_at is None]


class Contact(TenantMixin, Base):
    __tablename__ = "contacts"

    customer_id: Mapped[str] = mapped_column(String(36), ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    email: Mapped[str] = mapped_column(String(320))
    billing_preference: Mapped[BillingPreference]
    archived_at: Mapped[datetime | None] = mapped_column(default=None)

    customer: Mapped[Customer] = relationship(back_populates="contacts", lazy="raise")


class CustomerAlias(TenantMixin, Base):
    """An identifier of the merchant's own that usage events may name instead of our id."""

    __tablename__ = "customer_aliases"
    __table_args__ = (
        # Unique among live aliases of an account; a deleted alias frees its value.
        Index(
            "uq_customer_aliases_account_value",
            "account_id",
            "value",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    customer_id: Mapped[str] = mapped_column(String(36), ForeignKey("customers.id"), index=True)
    value: Mapped[str] = mapped_column(String(500))
    label: Mapped[str | None] = mapped_column(String(500), default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class CustomerOrganization(TenantMixin, Base):
    """A parent customer (owner) and its children, under the id Sequence's API exposes."""

    __tablename__ = "customer_organizations"

    owner_id: Mapped[str] = mapped_column(String(36), ForeignKey("customers.id"), unique=True)
