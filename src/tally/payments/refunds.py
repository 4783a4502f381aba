"""Refunds: money returned on a payment. Through the provider for a provider's payment (a
Stripe refund), recorded as it is for one recorded by hand (the merchant sent it back).

Everything is checked and written first (`records.record_refund` refuses more than is left to
refund; the credit note's caps), and the provider is asked last, in the same transaction: a
refusal changes nothing and moves no money, and a provider failure rolls the records back.
The provider's idempotency key is the payment and what had been refunded of it before, so a
request retried after the provider refunded but before the commit (a crash, a lost answer)
gets the same refund back, never a second one."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from tally.core.money import minor_unit
from tally.core.wire import money
from tally.credit_notes import refund_notes
from tally.models import (
    CreditNote,
    Invoice,
    Payment,
    PaymentOrigin,
    PaymentProviderName,
    PaymentRefund,
)
from tally.models.scoped import get_account
from tally.payments import connections, provider_refunds, queries, records
from tally.payments.providers import ProviderRefund
from tally.settings import Settings

ZERO = Decimal(0)


@dataclass(frozen=True)
class Refunded:
    payment: Payment
    credit_note: CreditNote | None
    provider_refund: ProviderRefund | None


def idempotency_key(account_id: str, payment: Payment, refunded_before: Decimal) -> str:
    before = int(refunded_before / minor_unit(payment.currency))
    return f"tally-{account_id}-payment-{payment.id}-refund-after-{before}"


def refund(
    session: Session,
    settings: Settings,
    account_id: str,
    payment_id: str,
    amount: Decimal,
    reason: str | None,
) -> Refunded:
    queries.get_payment(session, account_id, payment_id)  # 404 before any lock
    notes: list[CreditNote] = []

    def document(payment: Payment, invoice: Invoice) -> str | None:
        # The part of the refund that reopened the amount due is credit the customer keeps:
        # a credit note documents it and closes it again. What returned an overpayment (the
        # invoice owed nothing, or less than was paid) reopens nothing and needs none.
        credit = min(amount, max(invoice.balance, ZERO))
        if credit <= 0:
            return None
        what = f"{money(amount, payment.currency)} {payment.currency}"
        note = refund_notes.issue_for_refund(
            session,
            get_account(session, account_id),
            invoice,
            credit,
            title=f"Refund of payment {payment.reference or payment.id}",
            memo=reason or f"Refund of {what} on invoice {invoice.invoice_number or invoice.id}",
        )
        notes.append(note)
        return f"documented by credit note {note.credit_note_number}"

    payment, _ = records.record_refund(session, account_id, payment_id, amount, document=document)
    refunded_before = payment.refunded_amount - amount
    provider_refund = None
    if payment.origin is PaymentOrigin.STRIPE and payment.provider_payment_id:
        provider = connections.provider_for(
            session, settings, account_id, PaymentProviderName.STRIPE
        )
        provider_refund = provider.refund(
            payment.provider_payment_id,
            amount=amount,
            currency=payment.currency,
            idempotency_key=idempotency_key(account_id, payment, refunded_before),
        )
        # Known by its id from now on: the provider's webhook about it, waiting behind the
        # payment's row lock, finds it and records nothing twice (provider_refunds.py).
        if provider_refunds.known_refund(session, account_id, provider_refund.id) is None:
            session.add(
                PaymentRefund(
                    account_id=account_id,
                    payment_id=payment.id,
                    provider_refund_id=provider_refund.id,
                    amount=provider_refund.amount,
                )
            )
    session.flush()
    return Refunded(payment, notes[0] if notes else None, provider_refund)
