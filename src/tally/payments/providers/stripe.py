"""Stripe, through the official `stripe` package (never a hand-written client).

Amounts cross in the currency's minor unit (cents; yen as they are), converted exactly: an
amount that is not a whole number of minor units is refused, never rounded. Every
PaymentIntent and refund carries the idempotency key the caller derived, so the same call
made twice (a retry, a second worker) is answered with the first one's object."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import stripe

from tally.core.money import minor_unit
from tally.exceptions import InvalidRequest, PaymentProviderUnavailable
from tally.models import AttemptStatus, PaymentProviderName
from tally.payments.providers import (
    InvalidSignature,
    ProviderEventIn,
    ProviderPayment,
    ProviderRefund,
    SavedMethod,
)

T = TypeVar("T")

_STATUSES = {
    "succeeded": AttemptStatus.SUCCEEDED,
    "processing": AttemptStatus.PENDING,
    "requires_capture": AttemptStatus.PENDING,
    "requires_confirmation": AttemptStatus.REQUIRES_ACTION,
    "requires_action": AttemptStatus.REQUIRES_ACTION,
    "canceled": AttemptStatus.CANCELLED,
}


def to_minor(amount: Decimal, currency: str) -> int:
    units = amount / minor_unit(currency)
    if units != units.to_integral_value():
        raise InvalidRequest.field("amount", f"{amount} is not a whole amount of {currency}")
    return int(units)


def from_minor(units: int, currency: str) -> Decimal:
    return Decimal(units) * minor_unit(currency.upper())


def _plain(obj: Any) -> dict[str, Any]:
    """A Stripe object as plain dicts and lists (stripe 13+ objects are no dicts)."""
    plain: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    return plain


def _payment(obj: Any) -> ProviderPayment:
    intent = _plain(obj)
    currency = str(intent["currency"]).upper()
    error = intent.get("last_payment_error")
    status = _STATUSES.get(intent["status"])
    if status is None:  # requires_payment_method: failed, or not yet tried by the customer
        status = AttemptStatus.FAILED if error else AttemptStatus.REQUIRES_ACTION
    method = intent.get("payment_method")
    charge = intent.get("latest_charge")
    refunded = charge.get("amount_refunded", 0) if isinstance(charge, dict) else 0
    return ProviderPayment(
        id=intent["id"],
        status=status,
        amount=from_minor(intent["amount"], currency),
        amount_received=from_minor(intent.get("amount_received") or 0, currency)
        if status is AttemptStatus.SUCCEEDED
        else Decimal(0),
        currency=currency,
        metadata={str(k): str(v) for k, v in (intent.get("metadata") or {}).items()},
        failure_message=(error.get("message") if error else None),
        client_secret=intent.get("client_secret"),
        payment_method_id=method if isinstance(method, str) else (method or {}).get("id"),
        amount_refunded=from_minor(refunded or 0, currency),
    )


def _refund(obj: Any) -> ProviderRefund:
    refund = _plain(obj)
    currency = str(refund["currency"]).upper()
    return ProviderRefund(
        id=refund["id"],
        payment_id=str(refund.get("payment_intent") or ""),
        amount=from_minor(refund["amount"], currency),
        currency=currency,
        status=str(refund["status"]),
    )


class StripeProvider:
    name = PaymentProviderName.STRIPE

    def __init__(self, secret_key: str, webhook_secret: str | None, api_base: str | None) -> None:
        self._webhook_secret = webhook_secret
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else {},
            max_network_retries=2,  # with the idempotency keys below, a retry is safe
        )

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except stripe.CardError:
            raise
        except stripe.StripeError as error:
            raise PaymentProviderUnavailable(
                f"Stripe: {error.user_message or error.__class__.__name__}"
            ) from error

    def ensure_customer(
        self, provider_customer_id: str | None, *, customer_id: str, name: str, email: str | None
    ) -> str:
        if provider_customer_id:
            return provider_customer_id
        params: dict[str, Any] = {"name": name, "metadata": {"tally_customer_id": customer_id}}
        if email:
            params["email"] = email
        customer = self._call(
            self._client.v1.customers.create,
            params=params,
            options={"idempotency_key": f"tally-customer-{customer_id}"},
        )
        return str(customer.id)

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
        params: dict[str, Any] = {
            "amount": to_minor(amount, currency),
            "currency": currency.lower(),
            "customer": provider_customer_id,
            "metadata": metadata,
        }
        if payment_method_id:
            params |= {"payment_method": payment_method_id, "confirm": True}
            if off_session:
                params["off_session"] = True
        try:
            intent = self._call(
                self._client.v1.payment_intents.create,
                params=params,
                options={"idempotency_key": idempotency_key},
            )
        except stripe.CardError as error:
            failed = error.error.payment_intent if error.error else None
            if failed is None:
                return ProviderPayment(
                    id="",
                    status=AttemptStatus.FAILED,
                    amount=amount,
                    amount_received=Decimal(0),
                    currency=currency.upper(),
                    metadata=metadata,
                    failure_message=error.user_message or "The card was declined.",
                )
            payment = _payment(failed)
            if payment.status is not AttemptStatus.FAILED:
                payment = ProviderPayment(**{**payment.__dict__, "status": AttemptStatus.FAILED})
            return payment
        return _payment(intent)

    def start_method_setup(
        self, provider_customer_id: str, *, idempotency_key: str, metadata: dict[str, str]
    ) -> tuple[str, str]:
        setup = self._call(
            self._client.v1.setup_intents.create,
            params={"customer": provider_customer_id, "usage": "off_session", "metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
        return str(setup.id), str(setup.client_secret)

    def method_of_setup(self, setup_id: str, provider_customer_id: str) -> str | None:
        setup = _plain(self._call(self._client.v1.setup_intents.retrieve, setup_id))
        if setup.get("customer") != provider_customer_id or setup["status"] != "succeeded":
            return None
        method = setup.get("payment_method")
        return method if isinstance(method, str) else (method or {}).get("id")

    def forget_method(self, payment_method_id: str) -> None:
        self._call(self._client.v1.payment_methods.detach, payment_method_id)

    def retrieve_payment(self, payment_id: str) -> ProviderPayment:
        intent = self._call(
            self._client.v1.payment_intents.retrieve,
            payment_id,
            params={"expand": ["latest_charge"]},
        )
        return _payment(intent)

    def refund(
        self, payment_id: str, *, amount: Decimal, currency: str, idempotency_key: str
    ) -> ProviderRefund:
        refund = self._call(
            self._client.v1.refunds.create,
            params={"payment_intent": payment_id, "amount": to_minor(amount, currency)},
            options={"idempotency_key": idempotency_key},
        )
        return _refund(refund)

    def refunds_of(self, payment_id: str) -> list[ProviderRefund]:
        page = self._call(
            self._client.v1.refunds.list,
            params={"payment_intent": payment_id, "limit": 100},
        )
        return [_refund(refund) for refund in page.auto_paging_iter()]

    def saved_methods(self, provider_customer_id: str) -> list[SavedMethod]:
        page = self._call(
            self._client.v1.payment_methods.list,
            params={"customer": provider_customer_id, "type": "card"},
        )
        methods = []
        for obj in page.data:
            method = _plain(obj)
            card = method.get("card") or {}
            methods.append(
                SavedMethod(
                    id=method["id"],
                    brand=str(card.get("brand") or "card"),
                    last4=str(card.get("last4") or ""),
                    exp_month=card.get("exp_month"),
                    exp_year=card.get("exp_year"),
                )
            )
        return methods

    def parse_webhook(self, payload: bytes, signature: str) -> ProviderEventIn:
        if not self._webhook_secret:
            raise InvalidSignature("No webhook signing secret is stored for Stripe.")
        try:
            event = stripe.Webhook.construct_event(payload, signature, self._webhook_secret)
        except (stripe.SignatureVerificationError, UnicodeDecodeError) as error:
            raise InvalidSignature(f"Stripe webhook refused: {error}") from error
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            # Signed (verification comes first), yet not JSON or not an object.
            raise InvalidRequest(f"Not a Stripe event: {error!r}") from error
        try:
            obj = _plain(event.data.object)
            kind = obj.get("object")
            payment_id = obj.get("id") if kind == "payment_intent" else obj.get("payment_intent")
            return ProviderEventIn(
                id=str(event.id),
                type=str(event.type),
                created=datetime.fromtimestamp(event.created, UTC),
                object_id=obj.get("id"),
                payment_id=payment_id if isinstance(payment_id, str) else None,
                payment=_snapshot(_payment, obj) if kind == "payment_intent" else None,
                refund=_snapshot(_refund, obj) if kind == "refund" else None,
            )
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            # Signed, yet not an event as Stripe shapes them: refused, never a 500.
            raise InvalidRequest(f"Not a Stripe event: {error!r}") from error


def _snapshot(read: Callable[[Any], T], obj: dict[str, Any]) -> T | None:
    """The object as the event saw it, when it reads as one (informative only: what is applied
    is always retrieved afresh)."""
    try:
        return read(obj)
    except (KeyError, TypeError, ValueError):
        return None
