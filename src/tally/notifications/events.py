"""Announcing changes: `emit` records an event and, in the same transaction, queues it for
every policy that listens (a webhook delivery per URL, an email per EMAIL policy). Nothing is
sent here; the outbox workers send after commit, so a rolled-back change announces nothing.

The event carries the resource as the API shows it at that moment, rendered by the
presenter its domain registers for the resource type (`presents`), and kept as JSON text
(decimals exactly as given: numbers where Sequence's schema has numbers). Domains register
when their `presenters` module is imported; `tally.workflows.presenters` imports them all, and
every entry point that may emit imports it (the app, the worker's jobs, so the CLI too). An
event for a type no presenter was registered for fails at once, saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.core.clock import utcnow
from tally.db import bulk_insert, new_id, table_of
from tally.models import (
    DeliveryStatus,
    EmailMessage,
    NotificationChannel,
    NotificationEvent,
    NotificationPolicy,
    WebhookDelivery,
)


class NotificationType(StrEnum):
    """Sequence's notification types (those Tally emits, and the rest, accepted on policies),
    and Tally's payment events after them."""

    CUSTOMER_CREATED = "CUSTOMER_CREATED"
    CUSTOMER_UPDATED = "CUSTOMER_UPDATED"
    CUSTOMER_ARCHIVED = "CUSTOMER_ARCHIVED"
    INVOICE_CREATED = "INVOICE_CREATED"
    INVOICE_ISSUED = "INVOICE_ISSUED"
    INVOICE_UPDATED = "INVOICE_UPDATED"
    INTEGRATION_SYNC_COMPLETED = "INTEGRATION_SYNC_COMPLETED"
    INTEGRATION_WEBHOOK_HANDLED = "INTEGRATION_WEBHOOK_HANDLED"
    MERCHANT_UPDATED = "MERCHANT_UPDATED"
    BILLING_SCHEDULE_CREATED = "BILLING_SCHEDULE_CREATED"
    BILLING_SCHEDULE_UPDATED = "BILLING_SCHEDULE_UPDATED"
    BILLING_SCHEDULE_ARCHIVED = "BILLING_SCHEDULE_ARCHIVED"
    CREDIT_NOTE_CREATED = "CREDIT_NOTE_CREATED"
    CREDIT_NOTE_UPDATED = "CREDIT_NOTE_UPDATED"
    CREDIT_NOTE_ISSUED = "CREDIT_NOTE_ISSUED"
    QUOTE_PUBLISHED = "QUOTE_PUBLISHED"
    QUOTE_ACCEPTED = "QUOTE_ACCEPTED"
    QUOTE_SIGNED = "QUOTE_SIGNED"
    INVOICE_REMINDER_SENT = "INVOICE_REMINDER_SENT"
    WATCHTOWER_TASK_ASSIGNED = "WATCHTOWER_TASK_ASSIGNED"
    # Tally's own (not in Sequence's schema): automatic collection of an invoice, the invoice
    # as the resource. A charge that succeeded, one that failed (another may follow), and
    # the last retry failed: the invoice is UNCOLLECTIBLE.
    PAYMENT_SUCCEEDED = "PAYMENT_SUCCEEDED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    INVOICE_UNCOLLECTIBLE = "INVOICE_UNCOLLECTIBLE"
    # Auto-recharge (the recharge as the resource): credits bought and charged, or not (a
    # declined card, no saved method, the monthly cap reached).
    CREDIT_RECHARGED = "CREDIT_RECHARGED"
    CREDIT_RECHARGE_FAILED = "CREDIT_RECHARGE_FAILED"
    # A spend-control alert crossed its threshold (the firing as the resource).
    ALERT_TRIGGERED = "ALERT_TRIGGERED"


# Tally's extensions to Sequence's NotificationType (documented as Tally's).
TALLY_NOTIFICATION_TYPES = (
    NotificationType.PAYMENT_SUCCEEDED,
    NotificationType.PAYMENT_FAILED,
    NotificationType.INVOICE_UNCOLLECTIBLE,
    NotificationType.CREDIT_RECHARGED,
    NotificationType.CREDIT_RECHARGE_FAILED,
    NotificationType.ALERT_TRIGGERED,
)


# Resource types, as Sequence names them in the envelope's `resourceType`.
CUSTOMER = "CustomerResponse"
BILLING_SCHEDULE = "BillingScheduleResponse"
INVOICE = "InvoiceResponse"
CREDIT_NOTE = "CreditNote"
CREDIT_RECHARGE = "CreditRecharge"  # Tally's: an auto-recharge's recharge

MERCHANT = "SequenceAccount"  # Sequence's name unknown: its public schema's
ALERT_FIRING = "AlertFiring"  # Tally's: an alert's crossing (alerts/presenters.py)

RESOURCE_TYPES = (
    CUSTOMER,
    BILLING_SCHEDULE,
    INVOICE,
    CREDIT_NOTE,
    MERCHANT,
    CREDIT_RECHARGE,
    ALERT_FIRING,
)

# (session, account id, resource ids) -> {id: the resource as the API answers it, as JSON:
# plain values, or Decimals for JSON numbers, datetimes and dates for their ISO form}
Presenter = Callable[[Session, str, Sequence[str]], dict[str, dict[str, Any]]]
_PRESENTERS: dict[str, Presenter] = {}


# Decimals as JSON numbers, exactly as held (strings are already strings).
_encoder = msgspec.json.Encoder(decimal_format="number")


def presents(resource_type: str) -> Callable[[Presenter], Presenter]:
    """Register the decorated function as the presenter of `resource_type`: one per type."""

    def register(presenter: Presenter) -> Presenter:
        registered = _PRESENTERS.setdefault(resource_type, presenter)
        if registered is not presenter:
            raise ValueError(f"{resource_type} has a presenter already: {registered.__module__}")
        return presenter

    return register


def presenter(resource_type: str) -> Presenter:
    """The presenter registered for `resource_type`; LookupError, naming it, when none is."""
    try:
        return _PRESENTERS[resource_type]
    except KeyError:
        raise LookupError(
            f"no presenter is registered for {resource_type!r}: the process did not import "
            "tally.workflows.presenters (tally.app and tally.jobs do)"
        ) from None


def _json_text(resource: dict[str, Any] | None) -> str | None:
    return None if resource is None else _encoder.encode(resource).decode()


def listening(
    session: Session, account_id: str, notification_type: NotificationType
) -> list[NotificationPolicy]:
    """The account's live policies that match the type (no types listed: every type)."""
    policies = session.scalars(
        select(NotificationPolicy).where(
            NotificationPolicy.account_id == account_id, NotificationPolicy.deleted_at.is_(None)
        )
    )
    return [
        p
        for p in policies
        if not p.notification_types or notification_type.value in p.notification_types
    ]


def emit(
    session: Session,
    account_id: str,
    notification_type: NotificationType,
    resource_type: str,
    resource_ids: Sequence[str],
    *,
    marker: Mapping[str, Any] | None = None,
) -> None:
    """Announce that `notification_type` happened to each resource. Costs one query when no
    policy listens, so callers emit freely, billing runs included. `marker`: fields added to
    every resource, for what its own shape cannot say (an invoice about to be deleted)."""
    if not resource_ids:
        return
    policies = listening(session, account_id, notification_type)
    if not policies:
        return
    resources = presenter(resource_type)(session, account_id, resource_ids)
    if marker:
        resources = {key: {**resource, **marker} for key, resource in resources.items()}
    now = utcnow()
    events, deliveries, emails = [], [], []
    for resource_id in resource_ids:
        event_id = new_id()
        events.append(
            {
                "id": event_id,
                "account_id": account_id,
                "created_at": now,
                "updated_at": now,
                "notification_type": notification_type.value,
                "resource_type": resource_type,
                "resource_id": resource_id,
                "resource": _json_text(resources.get(resource_id)),
            }
        )
        for policy in policies:
            if policy.channel is NotificationChannel.WEBHOOK:
                deliveries += [
                    {
                        "id": new_id(),
                        "account_id": account_id,
                        "created_at": now,
                        "updated_at": now,
                        "event_id": event_id,
                        "policy_id": policy.id,
                        "url": url,
                        "status": DeliveryStatus.PENDING,
                        "next_attempt_at": now,
                        "attempt_log": [],
                    }
                    for url in policy.recipients
                ]
            elif policy.recipients:
                subject = f"{notification_type.value.replace('_', ' ').capitalize()}"
                emails.append(
                    {
                        "id": new_id(),
                        "account_id": account_id,
                        "created_at": now,
                        "updated_at": now,
                        "kind": "NOTIFICATION",
                        "to_addresses": list(policy.recipients),
                        "subject": f"{subject}: {resource_id}",
                        "text_body": f"{subject} ({resource_type} {resource_id}).",
                        "status": DeliveryStatus.PENDING,
                        "next_attempt_at": now,
                    }
                )
    bulk_insert(session, table_of(NotificationEvent), events)
    bulk_insert(session, table_of(WebhookDelivery), deliveries)
    bulk_insert(session, table_of(EmailMessage), emails)
