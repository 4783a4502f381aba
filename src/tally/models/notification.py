"""Notifications: webhook and email policies, the events they match, and durable outboxes
for webhook deliveries and emails (written in the transaction of the change they announce,
sent afterwards with retries)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tally.models.base import Base, TenantMixin


class NotificationChannel(StrEnum):
    WEBHOOK = "WEBHOOK"
    EMAIL = "EMAIL"


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"  # waiting for its next attempt
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"  # gave up after the last retry


class NotificationPolicy(TenantMixin, Base):
    __tablename__ = "notification_policies"

    name: Mapped[str] = mapped_column(String(500))
    channel: Mapped[NotificationChannel]
    # Sequence's NotificationType values; empty: every type.
    notification_types: Mapped[list[Any]] = mapped_column(default=list)
    recipients: Mapped[list[Any]] = mapped_column(default=list)  # URLs or email addresses
    webhook_secret: Mapped[str | None] = mapped_column(String(200), default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class NotificationEvent(TenantMixin, Base):
    """Something that happened, with the resource as the API showed it then: Sequence's
    envelope is built from it for every matching policy."""

    __tablename__ = "notification_events"

    notification_type: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str | None] = mapped_column(String(100), default=None)
    resource_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # The resource's JSON text, exactly as sent: a JSON column would turn the decimal numbers
    # of Sequence's schema (discount and minimum amounts) into floats.
    resource: Mapped[str | None] = mapped_column(Text, default=None)


class WebhookDelivery(TenantMixin, Base):
    """One event to one webhook URL of one policy: retried with exponential backoff until
    delivered or out of attempts; its attempts are the policy's delivery log."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "policy_id", "url"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    event_id: Mapped[str] = mapped_column(String(36), ForeignKey("notification_events.id"))
    policy_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("notification_policies.id"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    status: Mapped[DeliveryStatus] = mapped_column(default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    response_status: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(2000), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    # One entry per attempt: {"attempt", "at", "response_status", "error", "duration_ms"}.
    attempt_log: Mapped[list[Any]] = mapped_column(default=list)


class EmailMessage(TenantMixin, Base):
    """An email to send: to customers (invoices, credit notes, reminders) or to a policy's
    recipients. Attachments are named by document and rendered when sent."""

    __tablename__ = "email_messages"
    __table_args__ = (
        # A reminder (or any message with a key) is queued once, however often it is asked.
        UniqueConstraint("account_id", "dedupe_key"),
        Index("ix_email_messages_due", "status", "next_attempt_at"),
    )

    kind: Mapped[str] = mapped_column(String(50))  # INVOICE, CREDIT_NOTE, REMINDER, ...
    to_addresses: Mapped[list[Any]] = mapped_column(default=list)
    cc_addresses: Mapped[list[Any]] = mapped_column(default=list)
    subject: Mapped[str] = mapped_column(String(1000))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text, default=None)
    # [{"document": "invoice" | "credit_note", "id": ...}], rendered as PDFs when sent.
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), default=None)
    status: Mapped[DeliveryStatus] = mapped_column(default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(2000), default=None)
