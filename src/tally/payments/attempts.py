"""Attempts at collecting an invoice through a provider, and applying what the provider says
about them. Shared by the portal's Pay button (on session), automatic collection (off session),
webhooks and the reconciliation job.

Never charge twice: an attempt is claimed under the invoice's row lock and committed before
the provider is called; its idempotency key (invoice and attempt number) makes a repeated call
return the same PaymentIntent; and a provider payment is recorded once, by its id
(`records.record_payment`), whoever reports it first."""

from __future__ import annotations

import operator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tally.billed.locks import lock_document
from tally.core.clock import local_today, utcnow
from tally.core.sql import exact_compare
from tally.exceptions import InvalidStateTransition
from tally.invoices import audit
from tally.models import (
    AttemptStatus,
    Invoice,
    PaymentAttempt,
    PaymentOrigin,
    PaymentProviderName,
    PaymentStatus,
)
from tally.models.scoped import get_account, scoped
from tally.notifications.events import INVOICE, NotificationType, emit
from tally.payments import records
from tally.payments.providers import ProviderPayment

OPEN = (AttemptStatus.PENDING, AttemptStatus.REQUIRES_ACTION)
FINISHED = (AttemptStatus.SUCCEEDED, AttemptStatus.CANCELLED)


def idempotency_key(account_id: str, invoice_id: str, number: int) -> str:
    return f"tally-{account_id}-invoice-{invoice_id}-attempt-{number}"


def by_provider_payment(
    session: Session, account_id: str, provider_payment_id: str
) -> PaymentAttempt | None:
    return session.scalars(
        scoped(PaymentAttempt, account_id)
        .where(PaymentAttempt.provider_payment_id == provider_payment_id)
        .with_for_update()
    ).one_or_none()


def attempts_of(session: Session, account_id: str, invoice_id: str) -> list[PaymentAttempt]:
    return list(
        session.scalars(
            scoped(PaymentAttempt, account_id)
            .where(PaymentAttempt.invoice_id == invoice_id)
            .order_by(PaymentAttempt.number)
        )
    )


def claim(
    session: Session,
    account_id: str,
    invoice_id: str,
    *,
    provider: PaymentProviderName,
    off_session: bool,
) -> tuple[PaymentAttempt, bool]:
    """The invoice's open attempt of this kind, or a new one for its amount due: (attempt,
    whether it is new). The invoice row is locked first, so two claims queue and the second
    finds the first one's attempt. Commit before calling the provider."""
    invoice = lock_document(session, Invoice, account_id, invoice_id)
    if invoice.status not in records.COLLECTABLE or invoice.payment_status is PaymentStatus.PAID:
        raise InvalidStateTransition(
            f"{audit.label(invoice)} is {invoice.status.value} and "
            f"{invoice.payment_status.value}: there is nothing to collect."
        )
    if invoice.balance <= 0:
        raise InvalidStateTransition(f"{audit.label(invoice)} has nothing left to pay.")
    open_attempt = session.scalars(
        scoped(PaymentAttempt, account_id).where(
            PaymentAttempt.invoice_id == invoice.id,
            PaymentAttempt.status.in_(OPEN),
            PaymentAttempt.off_session.is_(off_session),
            # Numerically, never as text: "50.0" and "50.00" are one amount due.
            exact_compare(session, PaymentAttempt.amount, operator.eq, invoice.balance),
        )
    ).first()
    if open_attempt is not None:
        return open_attempt, False
    last = session.scalar(
        select(func.max(PaymentAttempt.number)).where(
            PaymentAttempt.account_id == account_id, PaymentAttempt.invoice_id == invoice.id
        )
    )
    number = (last or 0) + 1
    attempt = PaymentAttempt(
        account_id=account_id,
        invoice_id=invoice.id,
        number=number,
        provider=provider,
        idempotency_key=idempotency_key(account_id, invoice.id, number),
        amount=invoice.balance,
        currency=invoice.currency,
        off_session=off_session,
    )
    session.add(attempt)
    session.flush()
    return attempt, True


def apply(
    session: Session, account_id: str, attempt: PaymentAttempt, payment: ProviderPayment
) -> PaymentAttempt:
    """Bring the attempt (and the invoice) to what the provider reports. A finished attempt
    stays finished: a stale report (an old event arriving late) never undoes a payment."""
    if payment.id and attempt.provider_payment_id is None:
        attempt.provider_payment_id = payment.id
    if attempt.status in FINISHED:
        return attempt
    failed_now = (
        payment.status is AttemptStatus.FAILED and attempt.status is not AttemptStatus.FAILED
    )
    if payment.status is AttemptStatus.SUCCEEDED:
        account = get_account(session, account_id)
        records.record_payment(
            session,
            account_id,
            attempt.invoice_id,
            amount=payment.amount_received or payment.amount,
            origin=PaymentOrigin(attempt.provider.value),
            paid_on=local_today(account.timezone),
            reference=payment.id,
            provider_payment_id=payment.id,
            attempt_id=attempt.id,
        )
    attempt.status = payment.status
    attempt.failure_message = payment.failure_message
    if payment.status not in OPEN:
        attempt.completed_at = utcnow()
    if failed_now:  # once per attempt, whoever reports it (the charge, a webhook, the job)
        emit(session, account_id, NotificationType.PAYMENT_FAILED, INVOICE, [attempt.invoice_id])
    session.flush()
    return attempt
