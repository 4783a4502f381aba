"""/api/invoices/{id}/collection and /api/customers/{id}/collection answers (Tally
extensions: Sequence shows only the invoice's `dunningStatus`)."""

from datetime import date, datetime

from pydantic import Field

from tally.api.schemas import Schema
from tally.core.wire import money
from tally.models import (
    AttemptStatus,
    CollectionStatus,
    CustomerDunningPause,
    PaymentAttempt,
    PaymentProviderName,
)
from tally.payments.collection_queries import CollectionView


class CollectionAttemptOut(Schema):
    number: int = Field(description="1, 2, ... per invoice.")
    status: AttemptStatus
    automatic: bool = Field(description="Charged by automatic collection (off session).")
    provider: PaymentProviderName
    amount: str
    currency: str
    provider_payment_id: str | None = None
    failure_message: str | None = None
    created_at: datetime
    completed_at: datetime | None = None

    @classmethod
    def build(cls, attempt: PaymentAttempt) -> "CollectionAttemptOut":
        return cls(
            number=attempt.number,
            status=attempt.status,
            automatic=attempt.off_session,
            provider=attempt.provider,
            amount=money(attempt.amount, attempt.currency),
            currency=attempt.currency,
            provider_payment_id=attempt.provider_payment_id,
            failure_message=attempt.failure_message,
            created_at=attempt.created_at,
            completed_at=attempt.completed_at,
        )


class InvoiceCollectionOut(Schema):
    """An invoice's automatic collection (dunning)."""

    invoice_id: str
    status: CollectionStatus = Field(description="As the invoice's `dunningStatus`.")
    automatic_attempts: int = Field(description="Automatic charges made so far.")
    next_attempt_on: date | None = Field(
        default=None, description="When the next charge is due (while SCHEDULED)."
    )
    paused: bool = Field(description="Not charged now: the invoice's or its customer's pause.")
    paused_at: datetime | None = Field(default=None, description="When the invoice's was.")
    customer_paused_at: datetime | None = Field(
        default=None, description="When the customer's dunning was paused, while it is."
    )
    last_failure: str | None = Field(default=None, description="Why the last charge failed.")
    attempts: list[CollectionAttemptOut]

    @classmethod
    def build(cls, view: CollectionView) -> "InvoiceCollectionOut":
        collection = view.collection
        return cls(
            invoice_id=view.invoice_id,
            status=view.status,
            automatic_attempts=collection.attempts if collection else 0,
            next_attempt_on=view.next_attempt_on,
            paused=view.paused,
            paused_at=collection.paused_at if collection else None,
            customer_paused_at=view.customer_paused_at,
            last_failure=collection.last_failure if collection else None,
            attempts=[CollectionAttemptOut.build(attempt) for attempt in view.attempts],
        )


class CustomerCollectionOut(Schema):
    """Whether a customer's invoices are collected automatically now."""

    customer_id: str
    paused: bool
    paused_at: datetime | None = None

    @classmethod
    def build(cls, customer_id: str, pause: CustomerDunningPause | None) -> "CustomerCollectionOut":
        live = pause is not None and pause.resumed_at is None
        return cls(
            customer_id=customer_id,
            paused=live,
            paused_at=pause.paused_at if live and pause else None,
        )
