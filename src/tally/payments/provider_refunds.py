"""Refunds the provider reports (a webhook, or a refund made in Stripe's own dashboard):
recorded once per provider refund id.

Whoever records a provider refund first writes its `PaymentRefund` row under the payment's row
lock; a refund Tally asked for (`payments/refunds.py`) writes the same row when the provider
answers, so its webhook, arriving later, finds the row and records nothing twice."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tally.models import Payment, PaymentRefund
from tally.models.scoped import scoped
from tally.payments import records
from tally.payments.providers import ProviderRefund

SUCCEEDED = "succeeded"


def known_refund(
    session: Session, account_id: str, provider_refund_id: str
) -> PaymentRefund | None:
    return session.scalars(
        scoped(PaymentRefund, account_id).where(
            PaymentRefund.provider_refund_id == provider_refund_id
        )
    ).one_or_none()


def record_provider_refund(
    session: Session, account_id: str, payment_id: str, refund: ProviderRefund
) -> PaymentRefund | None:
    """Record a refund of the payment the provider reports: the new row, or None when it is
    known already, not (yet) succeeded, or not of this payment's currency."""
    payment = session.scalars(
        scoped(Payment, account_id).where(Payment.id == payment_id).with_for_update()
    ).one()
    if refund.status != SUCCEEDED or refund.currency != payment.currency:
        return None
    # Read under the payment's lock: a concurrent recorder of the same refund has committed
    # (its row is seen) or waits behind us.
    if known_refund(session, account_id, refund.id) is not None:
        return None
    row = PaymentRefund(
        account_id=account_id,
        payment_id=payment.id,
        provider_refund_id=refund.id,
        amount=refund.amount,
    )
    session.add(row)
    records.record_refund(session, account_id, payment.id, refund.amount)
    session.flush()
    return row
