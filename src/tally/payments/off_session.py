"""Charging a saved payment method off session: what the provider is asked for one attempt,
decided in the claiming transaction and sent after it commits (automatic collection,
auto-recharge)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tally.payments.providers import PaymentProvider, ProviderPayment


@dataclass(frozen=True)
class OffSessionCharge:
    provider: PaymentProvider
    attempt_id: str
    invoice_id: str
    account_id: str
    provider_customer_id: str
    payment_method_id: str
    idempotency_key: str  # the attempt's: a retry after a crash is the same charge
    amount: Decimal
    currency: str
    known_payment_id: str | None  # ask for it back instead of charging

    def metadata(self) -> dict[str, str]:
        """What the payment carries back to Tally (reconciliation reads it)."""
        return {
            "tally_account_id": self.account_id,
            "tally_invoice_id": self.invoice_id,
            "tally_attempt_id": self.attempt_id,
        }


def ask(charge: OffSessionCharge) -> ProviderPayment:
    """The payment for the attempt: the one already made, else a new charge (idempotent)."""
    if charge.known_payment_id:
        return charge.provider.retrieve_payment(charge.known_payment_id)
    return charge.provider.create_payment(
        amount=charge.amount,
        currency=charge.currency,
        provider_customer_id=charge.provider_customer_id,
        idempotency_key=charge.idempotency_key,
        metadata=charge.metadata(),
        off_session=True,
        payment_method_id=charge.payment_method_id,
    )
