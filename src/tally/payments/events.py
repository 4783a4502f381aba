"""Truth from the provider: its webhook events, verified, applied once each, out of order safe.

- Verified: the raw body against the account's stored signing secret. An unknown account, one
  not connected, one without a signing secret and a bad signature are refused alike, so the
  answer tells a caller nothing about which accounts exist or are connected.
- Once: each event is a `ProviderEvent` row (unique per account, provider and event id),
  inserted in the same transaction that applies it: a second delivery, even a concurrent one,
  meets the unique key and changes nothing.
- Out of order: an event only says that something changed. What is applied is the payment as
  the provider reports it now (`retrieve_payment`), through `attempts.apply`, which never undoes
  a finished attempt; refunds are read afresh too and recorded once per refund id.
- Not ours: an event about a payment this account never started (localstripe sends every
  event to every registered endpoint; Stripe may send events of payments made outside Tally)
  is stored as ignored and changes nothing.

The provider is called outside any transaction: an SQLite writer holds the whole database."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tally.db import Database, is_unique_violation
from tally.exceptions import TallyError
from tally.models import PaymentAttempt, PaymentProviderName, ProviderEvent
from tally.models.scoped import scoped
from tally.payments import attempts, connections, provider_refunds, records
from tally.payments.providers import (
    InvalidSignature,
    PaymentProvider,
    ProviderEventIn,
    ProviderPayment,
    ProviderRefund,
)
from tally.settings import Settings

log = logging.getLogger(__name__)

PAYMENT_EVENTS = "payment_intent."  # every PaymentIntent event: apply its current state
REFUND_EVENTS = frozenset(
    {
        "charge.refunded",
        "charge.refund.updated",
        "refund.created",
        "refund.updated",
        "refund.failed",
    }
)
REFUSED = (
    "Webhook refused: no signature verifies with this endpoint's signing secret within the "
    "tolerated time."
)

APPLIED = "applied"
DUPLICATE = "duplicate"
IGNORED_TYPE = "ignored: not an event Tally acts on"
IGNORED_PAYMENT = "ignored: not a payment of this account"


@dataclass(frozen=True)
class Received:
    event_id: str
    outcome: str


@dataclass(frozen=True)
class Current:
    """What the provider says now about the event's payment."""

    payment: ProviderPayment
    refunds: list[ProviderRefund]


def receive(
    db: Database,
    settings: Settings,
    account_id: str,
    payload: bytes,
    signature: str,
    provider_name: PaymentProviderName = PaymentProviderName.STRIPE,
) -> Received:
    """Verify, then apply the event once. Raises InvalidSignature (400, nothing stored)."""
    with db.lookup_session() as session:
        provider = _verifying_provider(session, settings, account_id, provider_name)
        try:
            event = provider.parse_webhook(payload, signature) if signature else None
        except InvalidSignature as error:
            log.info("provider webhook refused for account %s: %s", account_id, error)
            event = None
        if event is None:
            raise InvalidSignature(REFUSED)
        if _known(session, account_id, provider_name, event.id):
            return Received(event.id, DUPLICATE)
        ours = event.payment_id is not None and _started_here(session, account_id, event.payment_id)
    current = _current(provider, event) if ours and _acts_on(event) else None
    with db.transaction() as session:
        row = ProviderEvent(
            account_id=account_id,
            provider=provider_name,
            event_id=event.id,
            type=event.type[:100],
            occurred_at=event.created,
            object_id=event.object_id,
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError as error:
            if not is_unique_violation(error):
                raise
            return Received(event.id, DUPLICATE)  # a concurrent delivery won
        if not _acts_on(event):
            row.outcome = IGNORED_TYPE
        elif current is None:
            row.outcome = IGNORED_PAYMENT
        else:
            assert event.payment_id is not None
            row.outcome = apply_current(session, account_id, event.payment_id, current)[:255]
        return Received(event.id, row.outcome)


def _verifying_provider(
    session: Session, settings: Settings, account_id: str, provider_name: PaymentProviderName
) -> PaymentProvider:
    row = connections.connection(session, account_id, provider_name)
    if row is None or not row.webhook_secret_encrypted:
        log.info("provider webhook for account %s: no endpoint configured", account_id)
        raise InvalidSignature(REFUSED)
    return connections.build(settings, row)


def _acts_on(event: ProviderEventIn) -> bool:
    return event.type.startswith(PAYMENT_EVENTS) or event.type in REFUND_EVENTS


def _current(provider: PaymentProvider, event: ProviderEventIn) -> Current:
    assert event.payment_id is not None
    payment = provider.retrieve_payment(event.payment_id)
    refunds = provider.refunds_of(event.payment_id) if event.type in REFUND_EVENTS else []
    return Current(payment, refunds)


def _known(
    session: Session, account_id: str, provider_name: PaymentProviderName, event_id: str
) -> bool:
    found = session.scalar(
        scoped(ProviderEvent, account_id)
        .with_only_columns(ProviderEvent.id)
        .where(ProviderEvent.provider == provider_name, ProviderEvent.event_id == event_id)
    )
    return found is not None


def _started_here(session: Session, account_id: str, provider_payment_id: str) -> bool:
    """Whether one of this account's attempts made the payment."""
    found = session.scalar(
        scoped(PaymentAttempt, account_id)
        .with_only_columns(PaymentAttempt.id)
        .where(PaymentAttempt.provider_payment_id == provider_payment_id)
        .limit(1)
    )
    return found is not None


def apply_current(
    session: Session, account_id: str, provider_payment_id: str, current: Current
) -> str:
    """Bring the attempt, the invoice and the payment's refunds to what the provider reports,
    in a savepoint: a refusal (an invoice voided meanwhile) is the outcome, not an error that
    would make the provider resend the event for days."""
    try:
        with session.begin_nested():
            attempt = attempts.by_provider_payment(session, account_id, provider_payment_id)
            if attempt is None:
                return IGNORED_PAYMENT
            before = attempt.status
            attempts.apply(session, account_id, attempt, current.payment)
            outcome = f"{APPLIED}: {before.value} -> {attempt.status.value}"
            recorded = _record_refunds(session, account_id, provider_payment_id, current.refunds)
            if recorded:
                outcome += f"; refunds recorded: {', '.join(recorded)}"
            return outcome
    except TallyError as error:
        log.warning("provider payment %s not applied: %s", provider_payment_id, error)
        return f"refused: {error}"


def _record_refunds(
    session: Session, account_id: str, provider_payment_id: str, refunds: list[ProviderRefund]
) -> list[str]:
    if not refunds:
        return []
    payment = records.provider_payment(session, account_id, provider_payment_id)
    if payment is None:  # nothing was received: nothing to give back
        return []
    return [
        refund.id
        for refund in refunds
        if provider_refunds.record_provider_refund(session, account_id, payment.id, refund)
    ]
