"""What Tally asks of a payment provider, whatever the provider. Stripe is the first
(`stripe.py`); a second (GoCardless direct debit) is a new module implementing
`PaymentProvider`, and an entry in `connections.PROVIDERS`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from tally.exceptions import TallyError
from tally.models import AttemptStatus, PaymentProviderName


class InvalidSignature(TallyError):
    """A webhook whose signature does not verify with the stored signing secret."""

    status_code = 400
    error_type = "InvalidSignature"


@dataclass(frozen=True)
class ProviderPayment:
    """One payment (Stripe's PaymentIntent) as the provider reports it now."""

    id: str
    status: AttemptStatus
    amount: Decimal  # asked for, in the currency's major unit
    amount_received: Decimal
    currency: str  # upper case, ISO 4217
    metadata: dict[str, str] = field(default_factory=dict)
    failure_message: str | None = None
    client_secret: str | None = None  # handed to the customer's browser, never stored
    payment_method_id: str | None = None
    amount_refunded: Decimal = Decimal(0)


@dataclass(frozen=True)
class ProviderRefund:
    id: str
    payment_id: str
    amount: Decimal
    currency: str
    status: str  # succeeded, pending, failed


@dataclass(frozen=True)
class SavedMethod:
    id: str
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None


@dataclass(frozen=True)
class ProviderEventIn:
    """A verified webhook event: its id (applied once), type, the provider's creation time
    (ordering) and the payment or refund it carries, as the provider saw it then."""

    id: str
    type: str
    created: datetime
    object_id: str | None
    # The payment the event is about: the PaymentIntent itself, or a charge's or a refund's.
    payment_id: str | None = None
    payment: ProviderPayment | None = None
    refund: ProviderRefund | None = None


class PaymentProvider(Protocol):
    name: PaymentProviderName

    def ensure_customer(
        self, provider_customer_id: str | None, *, customer_id: str, name: str, email: str | None
    ) -> str:
        """The provider's customer for this Tally customer: the given one, or a new one."""
        ...

    def create_payment(
        self,
        *,
        amount: Decimal,
        currency: str,
        provider_customer_id: str,
        idempotency_key: str,
        metadata: dict[str, str],
        off_session: bool,
        payment_method_id: str | None = None,
    ) -> ProviderPayment:
        """With `payment_method_id`: charge it now, the customer away (`off_session`,
        automatic collection) or at the portal; a decline is a FAILED payment, not an error,
        and a payment needing the customer (3-D Secure) comes back REQUIRES_ACTION with a
        `client_secret` for their browser. Without: a payment their browser completes."""
        ...

    def start_method_setup(
        self, provider_customer_id: str, *, idempotency_key: str, metadata: dict[str, str]
    ) -> tuple[str, str]:
        """A setup the customer's browser confirms with a card entered in the provider's own
        form (no card data touches Tally): (setup id, client secret)."""
        ...

    def method_of_setup(self, setup_id: str, provider_customer_id: str) -> str | None:
        """The payment method a confirmed setup saved for this customer, or None."""
        ...

    def forget_method(self, payment_method_id: str) -> None:
        """Detach a method the customer did not ask to keep."""
        ...

    def retrieve_payment(self, payment_id: str) -> ProviderPayment: ...

    def refund(
        self, payment_id: str, *, amount: Decimal, currency: str, idempotency_key: str
    ) -> ProviderRefund: ...

    def refunds_of(self, payment_id: str) -> list[ProviderRefund]:
        """Every refund of the payment, whoever made it (Tally, or the provider's dashboard)."""
        ...

    def saved_methods(self, provider_customer_id: str) -> list[SavedMethod]: ...

    def parse_webhook(self, payload: bytes, signature: str) -> ProviderEventIn:
        """Verify the signature and read the event; raises InvalidSignature."""
        ...
