"""Reads of automatic collection the API and the dashboard share: an invoice's collection
with its attempts, and whether a customer's dunning is paused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from tally.models import (
    CollectionStatus,
    CustomerDunningPause,
    Invoice,
    InvoiceCollection,
    PaymentAttempt,
)
from tally.models.scoped import scoped


@dataclass(frozen=True)
class CollectionView:
    """One invoice's dunning: its collection (None: not collected automatically), every
    attempt to collect it (the customer's own at the portal too), and whether the
    customer's dunning is paused."""

    invoice_id: str
    customer_id: str
    collection: InvoiceCollection | None
    attempts: list[PaymentAttempt]
    customer_paused_at: datetime | None

    @property
    def status(self) -> CollectionStatus:
        return self.collection.status if self.collection else CollectionStatus.NOT_REQUIRED

    @property
    def next_attempt_on(self) -> date | None:
        return self.collection.next_attempt_on if self.collection else None

    @property
    def paused(self) -> bool:
        invoice_paused = self.collection is not None and self.collection.paused_at is not None
        return invoice_paused or self.customer_paused_at is not None


def active_pause(
    session: Session, account_id: str, customer_id: str
) -> CustomerDunningPause | None:
    return session.scalars(
        scoped(CustomerDunningPause, account_id)
        .where(
            CustomerDunningPause.customer_id == customer_id,
            CustomerDunningPause.resumed_at.is_(None),
        )
        .order_by(CustomerDunningPause.paused_at.desc())
        .limit(1)
    ).one_or_none()


def invoice_collection(session: Session, account_id: str, invoice: Invoice) -> CollectionView:
    """Three queries: the collection, the attempts, the customer's pause."""
    collection = session.scalars(
        scoped(InvoiceCollection, account_id).where(InvoiceCollection.invoice_id == invoice.id)
    ).one_or_none()
    attempts = list(
        session.scalars(
            scoped(PaymentAttempt, account_id)
            .where(PaymentAttempt.invoice_id == invoice.id)
            .order_by(PaymentAttempt.number)
        )
    )
    pause = active_pause(session, account_id, invoice.customer_id)
    return CollectionView(
        invoice.id,
        invoice.customer_id,
        collection,
        attempts,
        pause.paused_at if pause else None,
    )
