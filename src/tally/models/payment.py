"""Payments: money received against invoices, the attempts to collect it through a provider,
the provider's events, and each merchant account's provider connection."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tally.models.base import Base, TenantMixin


class PaymentProviderName(StrEnum):
    """Sequence's `PaymentProvider`: NONE means the invoice is paid outside any provider."""

    STRIPE = "STRIPE"
    GOCARDLESS = "GOCARDLESS"
    NONE = "NONE"


class PaymentOrigin(StrEnum):
    """Sequence's `paymentAllocations[].origin`."""

    MANUAL = "MANUAL"  # recorded by a person: a bank transfer, a cheque
    STRIPE = "STRIPE"
    GOCARDLESS = "GOCARDLESS"


class PaymentMethod(StrEnum):
    """How money a person records arrived (Tally); provider payments have none."""

    BANK_TRANSFER = "BANK_TRANSFER"
    CHEQUE = "CHEQUE"
    CASH = "CASH"
    OTHER = "OTHER"


class AttemptStatus(StrEnum):
    PENDING = "PENDING"  # claimed; the provider was (or is being) asked
    REQUIRES_ACTION = "REQUIRES_ACTION"  # the customer must act (3-D Secure, a new card)
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class CollectionStatus(StrEnum):
    """Sequence's invoice `dunningStatus`."""

    SCHEDULED = "SCHEDULED"  # another attempt is due on next_attempt_on
    OVERDUE_CHECK_SCHEDULED = "OVERDUE_CHECK_SCHEDULED"
    COMPLETED = "COMPLETED"  # paid
    FAILED = "FAILED"  # the last retry failed: the invoice is UNCOLLECTIBLE
    NOT_REQUIRED = "NOT_REQUIRED"


class PaymentProviderConnection(TenantMixin, Base):
    """A merchant account's credentials at one provider, encrypted with a key derived from
    TALLY_SECRET_KEY (`payments/secrets.py`); the API never answers them."""

    __tablename__ = "payment_provider_connections"
    __table_args__ = (UniqueConstraint("account_id", "provider"),)
    account_id_leads_a_key = True

    provider: Mapped[PaymentProviderName]
    secret_key_encrypted: Mapped[str] = mapped_column(String(2000))
    webhook_secret_encrypted: Mapped[str | None] = mapped_column(String(2000), default=None)
    # Public by design: Stripe.js needs it in the customer's browser.
    publishable_key: Mapped[str | None] = mapped_column(String(255), default=None)
    # The last characters of the secret key, so a person can tell which key is stored.
    secret_key_hint: Mapped[str] = mapped_column(String(8))
    connected_at: Mapped[datetime]
    disconnected_at: Mapped[datetime | None] = mapped_column(default=None)


class ProviderCustomer(TenantMixin, Base):
    """A Tally customer's customer object at a provider (Stripe's `cus_...`), and the saved
    payment method automatic collection charges."""

    __tablename__ = "provider_customers"
    __table_args__ = (UniqueConstraint("account_id", "provider", "customer_id"),)
    account_id_leads_a_key = True

    provider: Mapped[PaymentProviderName]
    customer_id: Mapped[str] = mapped_column(String(36), ForeignKey("customers.id"))
    provider_customer_id: Mapped[str] = mapped_column(String(255))
    default_payment_method_id: Mapped[str | None] = mapped_column(String(255), default=None)


class PaymentAttempt(TenantMixin, Base):
    """One try at collecting an invoice through a provider. The row is claimed (committed)
    before the provider is asked, under a unique (invoice, number): two finalizes, two
    workers or a retried request find the same attempt, and its `idempotency_key` makes the
    provider answer a repeated call with the same PaymentIntent instead of a second charge."""

    __tablename__ = "payment_attempts"
    __table_args__ = (
        UniqueConstraint("account_id", "invoice_id", "number"),
        Index("ix_payment_attempts_account_intent", "account_id", "provider_payment_id"),
        # The reconciliation job's question, across accounts: which attempts are still open?
        Index("ix_payment_attempts_open", "status", "created_at"),
    )
    account_id_leads_a_key = True

    invoice_id: Mapped[str] = mapped_column(String(36), ForeignKey("invoices.id"))
    number: Mapped[int]  # 1, 2, ... per invoice
    provider: Mapped[PaymentProviderName]
    idempotency_key: Mapped[str] = mapped_column(String(255))
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    off_session: Mapped[bool]  # automatic collection (True) or the customer paying (False)
    status: Mapped[AttemptStatus] = mapped_column(default=AttemptStatus.PENDING)
    provider_payment_id: Mapped[str | None] = mapped_column(String(255), default=None)
    failure_message: Mapped[str | None] = mapped_column(String(1000), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)


class Payment(TenantMixin, Base):
    """Money received against an invoice: the invoice's amount due is its gross total less
    the credit notes applied and these payments (less their refunds)."""

    __tablename__ = "payments"
    __table_args__ = (
        Index("ix_payments_account_invoice", "account_id", "invoice_id"),
        # One payment per provider payment: a webhook and the reconciliation job applying the
        # same PaymentIntent find the first one's row.
        UniqueConstraint("account_id", "origin", "provider_payment_id"),
    )
    account_id_leads_a_key = True

    invoice_id: Mapped[str] = mapped_column(String(36), ForeignKey("invoices.id"))
    customer_id: Mapped[str] = mapped_column(String(36), ForeignKey("customers.id"))
    origin: Mapped[PaymentOrigin]
    method: Mapped[PaymentMethod | None] = mapped_column(default=None)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    paid_on: Mapped[date]
    reference: Mapped[str | None] = mapped_column(String(500), default=None)
    provider_payment_id: Mapped[str | None] = mapped_column(String(255), default=None)
    attempt_id: Mapped[str | None] = mapped_column(String(36), default=None)
    refunded_amount: Mapped[Decimal] = mapped_column(default=Decimal(0))
    recorded_by: Mapped[str | None] = mapped_column(String(36), default=None)


class PaymentRefund(TenantMixin, Base):
    """Money a provider returned on a payment, kept by the provider's refund id: a refund made
    in the provider's own dashboard (learned of by webhook) and one Tally asked for (reported
    back by webhook) are each recorded once, whoever writes the row first."""

    __tablename__ = "payment_refunds"
    __table_args__ = (UniqueConstraint("account_id", "provider_refund_id"),)
    account_id_leads_a_key = True

    payment_id: Mapped[str] = mapped_column(String(36), ForeignKey("payments.id"))
    provider_refund_id: Mapped[str] = mapped_column(String(255))
    amount: Mapped[Decimal]


class ProviderEvent(TenantMixin, Base):
    """A provider's webhook event, kept by its id: the unique key applies each event once,
    however often the provider (or an attacker replaying a signed body) delivers it."""

    __tablename__ = "provider_events"
    __table_args__ = (UniqueConstraint("account_id", "provider", "event_id"),)
    account_id_leads_a_key = True

    provider: Mapped[PaymentProviderName]
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(100))
    # The provider's own creation time: an older event never overwrites a newer state.
    occurred_at: Mapped[datetime]
    object_id: Mapped[str | None] = mapped_column(String(255), default=None)
    outcome: Mapped[str] = mapped_column(String(255), default="applied")


class InvoiceCollection(TenantMixin, Base):
    """Automatic collection (dunning) of one invoice: what was tried, what comes next."""

    __tablename__ = "invoice_collections"
    __table_args__ = (
        UniqueConstraint("account_id", "invoice_id"),
        Index("ix_invoice_collections_due", "status", "next_attempt_on"),
    )
    account_id_leads_a_key = True

    invoice_id: Mapped[str] = mapped_column(String(36), ForeignKey("invoices.id"))
    status: Mapped[CollectionStatus] = mapped_column(default=CollectionStatus.SCHEDULED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_on: Mapped[date | None] = mapped_column(default=None)
    paused_at: Mapped[datetime | None] = mapped_column(default=None)
    last_failure: Mapped[str | None] = mapped_column(String(1000), default=None)


class CustomerDunningPause(TenantMixin, Base):
    """A customer whose invoices are not collected automatically until the pause is lifted
    (deleted rows would lose who paused and when: lifting stamps `resumed_at`)."""

    __tablename__ = "customer_dunning_pauses"
    __table_args__ = (Index("ix_customer_dunning_pauses_customer", "account_id", "customer_id"),)
    account_id_leads_a_key = True

    customer_id: Mapped[str] = mapped_column(String(36), ForeignKey("customers.id"))
    paused_at: Mapped[datetime]
    resumed_at: Mapped[datetime | None] = mapped_column(default=None)
