"""Payments for the webhook and reconciliation tests: an account connected to the test's
localstripe, a SENT invoice, an off-session payment made through the provider for the
invoice's claimed attempt (its outcome NOT applied: only a webhook or the reconciliation job
may make the invoice PAID), and Stripe-signed events the test writes itself where localstripe
sends none."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import stripe
from sqlalchemy import func, select

from tally.db import Database
from tally.models import (
    Invoice,
    Payment,
    PaymentAttempt,
    PaymentProviderName,
    PaymentRefund,
    PaymentStatus,
    ProviderEvent,
)
from tally.payments import attempts, connections
from tally.settings import Settings
from tests.credit_notes.helpers import sent_invoice
from tests.factories import new_customer
from tests.support.api_client import ApiClient

STRIPE = PaymentProviderName.STRIPE
CARD_OK = "4242424242424242"
CARD_DECLINED_WHEN_CHARGED = "4000000000000341"
CARD_3DS = "4000002760003184"
T = TypeVar("T")


@dataclass
class Merchant:
    """An account connected to localstripe, with one SENT invoice of 270.00 GBP."""

    api: ApiClient
    account_id: str
    webhook_secret: str
    secret_key: str
    customer_id: str
    invoice_id: str

    @property
    def webhook_path(self) -> str:
        return f"/webhooks/stripe/{self.account_id}"


def merchant(api: ApiClient, database: Database, invoice_number: str = "INV-T1") -> Merchant:
    webhook_secret = f"whsec_{secrets.token_hex(16)}"
    secret_key = f"sk_test_{secrets.token_hex(12)}"
    answer = api.put(
        "/api/payment-providers/stripe",
        json={"secretKey": secret_key, "webhookSecret": webhook_secret},
    )
    assert answer.status_code == 200, answer.text
    account_id = answer.json()["webhookUrl"].rsplit("/", 1)[1]
    customer = new_customer(api)
    invoice_id = sent_invoice(database, account_id, customer, invoice_number=invoice_number)
    return Merchant(api, account_id, webhook_secret, secret_key, customer["id"], invoice_id)


def stripe_client(settings: Settings, merchant: Merchant) -> stripe.StripeClient:
    """The official client, as the merchant's own Stripe dashboard would act (saving a card,
    refunding, cancelling): what Tally's provider interface has no call for."""
    assert settings.stripe_api_base
    return stripe.StripeClient(
        merchant.secret_key, base_addresses={"api": settings.stripe_api_base}
    )


@dataclass(frozen=True)
class Started:
    attempt_id: str
    payment_id: str  # the PaymentIntent


def start_payment(
    database: Database,
    settings: Settings,
    merchant: Merchant,
    *,
    card: str | None = CARD_OK,
    invoice_id: str | None = None,
) -> Started:
    """Claim the invoice's attempt (committed), then charge a saved card off session through
    the provider with the attempt's idempotency key, and store the PaymentIntent's id on the
    attempt, as automatic collection does, but without applying the outcome. No card: a
    PaymentIntent waiting for the customer."""
    invoice_id = invoice_id or merchant.invoice_id
    with database.transaction() as session:
        attempt, _ = attempts.claim(
            session, merchant.account_id, invoice_id, provider=STRIPE, off_session=True
        )
        attempt_id, key = attempt.id, attempt.idempotency_key
        amount, currency = attempt.amount, attempt.currency
        provider = connections.provider_for(session, settings, merchant.account_id)
    customer = provider.ensure_customer(
        None, customer_id=merchant.customer_id, name="Example Ltd", email=None
    )
    method = None
    if card is not None:
        client = stripe_client(settings, merchant)
        method = client.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": card, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
            }
        ).id
        client.v1.payment_methods.attach(method, params={"customer": customer})
    payment = provider.create_payment(
        amount=amount,
        currency=currency,
        provider_customer_id=customer,
        idempotency_key=key,
        metadata={"tally_invoice_id": invoice_id, "tally_attempt_id": attempt_id},
        off_session=True,
        payment_method_id=method,
    )
    payment_id = payment.id
    if not payment_id:
        # localstripe's card error names no PaymentIntent (Stripe's does), nor does it filter
        # PaymentIntents by customer: find the customer's.
        intents = stripe_client(settings, merchant).v1.payment_intents.list(params={"limit": 100})
        payment_id = next(pi.id for pi in intents.auto_paging_iter() if pi.customer == customer)
    with database.transaction() as session:
        row = session.get(PaymentAttempt, attempt_id)
        assert row is not None
        row.provider_payment_id = payment_id
    return Started(attempt_id, payment_id)


def wait_for(read: Callable[[], T], until: Callable[[T], bool], within: float = 30) -> T:
    """`read()` once `until` holds of it; fails after `within` seconds (a bound, not a
    measurement)."""
    deadline = time.monotonic() + within
    while True:
        value = read()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {within} s")
        time.sleep(0.1)


@dataclass(frozen=True)
class InvoiceState:
    payment_status: PaymentStatus
    balance: Decimal
    payments: int  # rows
    paid: Decimal  # their amounts less refunds
    attempt_status: str | None


def invoice_state(
    database: Database, merchant: Merchant, invoice_id: str | None = None
) -> InvoiceState:
    invoice_id = invoice_id or merchant.invoice_id
    with database.transaction() as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        rows = session.scalars(
            select(Payment).where(
                Payment.account_id == merchant.account_id, Payment.invoice_id == invoice_id
            )
        ).all()
        attempt = session.scalars(
            select(PaymentAttempt.status)
            .where(
                PaymentAttempt.account_id == merchant.account_id,
                PaymentAttempt.invoice_id == invoice_id,
            )
            .order_by(PaymentAttempt.number.desc())
        ).first()
        return InvoiceState(
            payment_status=invoice.payment_status,
            balance=invoice.balance,
            payments=len(rows),
            paid=sum((row.amount - row.refunded_amount for row in rows), Decimal(0)),
            attempt_status=attempt.value if attempt else None,
        )


def stored_events(database: Database, account_id: str) -> dict[str, tuple[str, str]]:
    """event id -> (type, outcome) of the account's stored provider events."""
    with database.transaction() as session:
        rows = session.execute(
            select(ProviderEvent.event_id, ProviderEvent.type, ProviderEvent.outcome).where(
                ProviderEvent.account_id == account_id
            )
        ).all()
        return {event_id: (kind, outcome) for event_id, kind, outcome in rows}


def refund_rows(
    database: Database, account_id: str, provider_payment_id: str | None = None
) -> dict[str, Decimal]:
    """provider refund id -> amount of the account's (or of one provider payment's) refunds."""
    query = select(PaymentRefund.provider_refund_id, PaymentRefund.amount).where(
        PaymentRefund.account_id == account_id
    )
    if provider_payment_id is not None:
        query = query.join(Payment, Payment.id == PaymentRefund.payment_id).where(
            Payment.provider_payment_id == provider_payment_id
        )
    with database.transaction() as session:
        rows = session.execute(query).all()
        return {row.provider_refund_id: row.amount for row in rows}


def count_events(database: Database, account_id: str, event_id: str) -> int:
    with database.transaction() as session:
        return int(
            session.scalar(
                select(func.count()).where(
                    ProviderEvent.account_id == account_id, ProviderEvent.event_id == event_id
                )
            )
            or 0
        )


# Stripe's signature scheme: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>">`.


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def event_payload(kind: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
    """A Stripe event as Stripe sends it (the shape of a recorded one)."""
    event = {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
    }
    return json.dumps(event, indent=2).encode()


def signed_headers(payload: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    return {
        "Stripe-Signature": sign(payload, secret, timestamp),
        "Content-Type": "application/json; charset=utf-8",
    }


def intent_snapshot(settings: Settings, merchant: Merchant, payment_id: str) -> dict[str, Any]:
    """The PaymentIntent as localstripe has it now (an event's `data.object`)."""
    intent: dict[str, Any] = (
        stripe_client(settings, merchant).v1.payment_intents.retrieve(payment_id).to_dict()
    )
    return intent
