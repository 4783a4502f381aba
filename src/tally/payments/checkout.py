"""Paying an invoice from the customer portal, with a card entered in Stripe's own form (no
card data reaches Tally). Three steps, each a short transaction around the provider's calls:

1. `start`: the customer's provider customer (made once, kept in `ProviderCustomer`) and a
   SetupIntent; its client secret goes to the browser, which confirms the card with Stripe.
2. `pay`: the confirmed setup's card (it must be this customer's), an attempt claimed and
   COMMITTED under the invoice's lock (`attempts.claim`), then the PaymentIntent created and
   confirmed with the attempt's idempotency key, and its outcome applied (`attempts.apply`).
   3-D Secure: the outcome is REQUIRES_ACTION with the PaymentIntent's client secret, for
   the browser's `confirmCardPayment`.
3. `finish`: after 3-D Secure, the PaymentIntent read back and applied.

Never twice: a retried `pay` finds the same open attempt; one whose PaymentIntent is known
is read back, never created again; one still being created answers RequestInProgress (the
lease below) instead of asking the provider a second time; a PAID invoice claims nothing.
The card is kept as the customer's default (automatic collection charges it) only when the
customer asked and it paid; otherwise it is detached once the payment is over.

No HTTP here: the portal's endpoints (`portal/payments.py`) call these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tally.core.clock import utcnow
from tally.db import Database, is_unique_violation, new_id
from tally.documents.links import owes
from tally.exceptions import (
    InvalidRequest,
    InvalidStateTransition,
    NotFound,
    ProviderNotConnected,
    RequestInProgress,
)
from tally.invoices import audit
from tally.models import (
    AttemptStatus,
    Invoice,
    PaymentAttempt,
    PaymentProviderConnection,
    PaymentProviderName,
    ProviderCustomer,
)
from tally.models.scoped import scoped
from tally.payments import attempts, connections
from tally.payments.providers import PaymentProvider, ProviderPayment
from tally.settings import Settings

STRIPE = PaymentProviderName.STRIPE
# How long a claimed attempt whose PaymentIntent is not known yet counts as being created by
# the request that claimed it; after that, a retry asks again with the same idempotency key.
CREATING_LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class Started:
    setup_client_secret: str  # for the browser's confirmCardSetup; never stored
    publishable_key: str
    amount_due: Decimal
    currency: str


@dataclass(frozen=True)
class Outcome:
    status: AttemptStatus
    payment_status: str  # the invoice's, after the outcome was applied
    amount_due: Decimal
    currency: str
    payment_id: str | None = None
    client_secret: str | None = None  # REQUIRES_ACTION: for the browser's confirmCardPayment
    message: str | None = None  # a decline, in the provider's words


@dataclass(frozen=True)
class _Context:
    connection: PaymentProviderConnection
    provider_customer_id: str | None
    customer_name: str
    email: str | None
    amount_due: Decimal
    currency: str


def _invoice(session: Session, account_id: str, customer_id: str, invoice_id: str) -> Invoice:
    invoice = session.scalar(
        scoped(Invoice, account_id).where(
            Invoice.id == invoice_id, Invoice.customer_id == customer_id
        )
    )
    if invoice is None:
        raise NotFound.resource("Invoice", invoice_id)
    return invoice


def _provider_customer(
    session: Session, account_id: str, customer_id: str
) -> ProviderCustomer | None:
    return session.scalar(
        scoped(ProviderCustomer, account_id).where(
            ProviderCustomer.provider == STRIPE, ProviderCustomer.customer_id == customer_id
        )
    )


def _context(session: Session, account_id: str, customer_id: str, invoice_id: str) -> _Context:
    """What a payment needs, checked: the customer's owed invoice and a Stripe connection
    with the publishable key the browser needs."""
    invoice = _invoice(session, account_id, customer_id, invoice_id)
    if not owes(invoice):
        raise InvalidStateTransition(
            f"{audit.label(invoice)} is {invoice.payment_status.value}: there is nothing to pay."
        )
    connection = connections.connection(session, account_id, STRIPE)
    if connection is None or not connection.publishable_key:
        raise ProviderNotConnected("This invoice cannot be paid online: card payments are off.")
    known = _provider_customer(session, account_id, customer_id)
    emails = [str(email) for email in invoice.customer_emails or []]
    return _Context(
        connection,
        known.provider_customer_id if known else None,
        invoice.customer_legal_company_name,
        emails[0] if emails else None,
        invoice.balance,
        invoice.currency,
    )


def _ensure_customer(
    database: Database,
    provider: PaymentProvider,
    account_id: str,
    customer_id: str,
    context: _Context,
) -> str:
    """The provider's customer for this customer, made and stored the first time."""
    if context.provider_customer_id:
        return context.provider_customer_id
    made = provider.ensure_customer(
        None, customer_id=customer_id, name=context.customer_name, email=context.email
    )
    try:
        with database.transaction() as session:
            session.add(
                ProviderCustomer(
                    account_id=account_id,
                    provider=STRIPE,
                    customer_id=customer_id,
                    provider_customer_id=made,
                )
            )
    except IntegrityError as error:  # another request stored one first: use it
        if not is_unique_violation(error):
            raise
        with database.transaction() as session:
            stored = _provider_customer(session, account_id, customer_id)
            assert stored is not None
            return stored.provider_customer_id
    return made


def start(
    database: Database, settings: Settings, account_id: str, customer_id: str, invoice_id: str
) -> Started:
    """Step 1: a setup for the card the customer is about to enter."""
    with database.transaction() as session:
        context = _context(session, account_id, customer_id, invoice_id)
        provider = connections.build(settings, context.connection)
    provider_customer_id = _ensure_customer(database, provider, account_id, customer_id, context)
    _, client_secret = provider.start_method_setup(
        provider_customer_id,
        # A setup charges nothing: each start may make its own.
        idempotency_key=f"tally-{account_id}-invoice-{invoice_id}-setup-{new_id()}",
        metadata={"tally_account_id": account_id, "tally_invoice_id": invoice_id},
    )
    assert context.connection.publishable_key is not None
    return Started(
        client_secret, context.connection.publishable_key, context.amount_due, context.currency
    )


def pay(
    database: Database,
    settings: Settings,
    account_id: str,
    customer_id: str,
    invoice_id: str,
    *,
    setup_id: str,
    save: bool,
) -> Outcome:
    """Step 2: charge the card the customer's setup confirmed."""
    with database.transaction() as session:
        context = _context(session, account_id, customer_id, invoice_id)
        provider = connections.build(settings, context.connection)
    if context.provider_customer_id is None:
        raise InvalidRequest.field("setupId", "no card was set up for this customer")
    method = provider.method_of_setup(setup_id, context.provider_customer_id)
    if method is None:
        raise InvalidRequest.field(
            "setupId", "is not a confirmed card setup of this customer; enter the card again"
        )
    with database.transaction() as session:  # committed before the provider is asked
        attempt, new = attempts.claim(
            session, account_id, invoice_id, provider=STRIPE, off_session=False
        )
        claimed = _Claimed.of(attempt)
    if claimed.payment_id is not None:
        payment = provider.retrieve_payment(claimed.payment_id)
    elif not new and utcnow() - claimed.created_at < CREATING_LEASE:
        raise RequestInProgress("This invoice is being paid: wait a moment, then look again.")
    else:
        payment = provider.create_payment(
            amount=claimed.amount,
            currency=claimed.currency,
            provider_customer_id=context.provider_customer_id,
            idempotency_key=claimed.idempotency_key,
            metadata={
                "tally_account_id": account_id,
                "tally_invoice_id": invoice_id,
                "tally_attempt_id": claimed.id,
            },
            off_session=False,
            payment_method_id=method,
        )
    return _settle(database, provider, account_id, customer_id, claimed.id, payment, method, save)


def finish(
    database: Database,
    settings: Settings,
    account_id: str,
    customer_id: str,
    invoice_id: str,
    *,
    payment_id: str,
    save: bool,
) -> Outcome:
    """Step 3, after 3-D Secure in the browser: the PaymentIntent as the provider has it now."""
    with database.transaction() as session:
        _invoice(session, account_id, customer_id, invoice_id)
        attempt = session.scalar(
            scoped(PaymentAttempt, account_id).where(
                PaymentAttempt.invoice_id == invoice_id,
                PaymentAttempt.provider_payment_id == payment_id,
            )
        )
        if attempt is None:
            raise InvalidRequest.field("paymentId", "is not a payment of this invoice")
        attempt_id = attempt.id
        connection = connections.connection(session, account_id, STRIPE)
        if connection is None:
            raise ProviderNotConnected("Card payments are off.")
        provider = connections.build(settings, connection)
    payment = provider.retrieve_payment(payment_id)
    return _settle(
        database,
        provider,
        account_id,
        customer_id,
        attempt_id,
        payment,
        payment.payment_method_id,
        save,
    )


@dataclass(frozen=True)
class _Claimed:
    """An attempt's values, read before its transaction ends."""

    id: str
    payment_id: str | None
    amount: Decimal
    currency: str
    idempotency_key: str
    created_at: datetime

    @classmethod
    def of(cls, attempt: PaymentAttempt) -> _Claimed:
        return cls(
            attempt.id,
            attempt.provider_payment_id,
            attempt.amount,
            attempt.currency,
            attempt.idempotency_key,
            attempt.created_at,
        )


def _settle(
    database: Database,
    provider: PaymentProvider,
    account_id: str,
    customer_id: str,
    attempt_id: str,
    payment: ProviderPayment,
    method: str | None,
    save: bool,
) -> Outcome:
    """Apply what the provider says; keep or forget the card."""
    with database.transaction() as session:
        attempt = session.scalar(
            scoped(PaymentAttempt, account_id)
            .where(PaymentAttempt.id == attempt_id)
            .with_for_update()
        )
        assert attempt is not None
        attempts.apply(session, account_id, attempt, payment)
        keep = save and method is not None and attempt.status is AttemptStatus.SUCCEEDED
        if keep:
            stored = _provider_customer(session, account_id, customer_id)
            if stored is not None and stored.default_payment_method_id != method:
                stored.default_payment_method_id = method
        invoice = _invoice(session, account_id, customer_id, attempt.invoice_id)
        outcome = Outcome(
            status=attempt.status,
            payment_status=invoice.payment_status.value,
            amount_due=invoice.balance,
            currency=invoice.currency,
            payment_id=payment.id or None,
            client_secret=payment.client_secret
            if attempt.status is AttemptStatus.REQUIRES_ACTION
            else None,
            message=attempt.failure_message,
        )
    if method is not None and not keep and outcome.status not in attempts.OPEN:
        provider.forget_method(method)
    return outcome
