"""Pausing dunning: one invoice's automatic collection (`InvoiceCollection.paused_at`), or
every invoice of a customer (`CustomerDunningPause`, a row per pause: lifting it stamps
`resumed_at`, so who paused and when stays known). A paused collection is not charged;
resuming it makes it due again on its next attempt date (today, when that has passed).

Pausing what is paused, or resuming what is not, changes nothing and logs nothing; each
change leaves an activity log entry about the invoice or the customer."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.billed.locks import lock_document
from tally.core.clock import utcnow
from tally.exceptions import InvalidStateTransition, NotFound
from tally.invoices import audit
from tally.models import (
    CollectionStatus,
    Customer,
    CustomerDunningPause,
    Invoice,
    InvoiceCollection,
)
from tally.models.scoped import scoped
from tally.payments.collection_queries import active_pause

CUSTOMER = "CUSTOMER"


def _locked_collection(session: Session, account_id: str, invoice_id: str) -> InvoiceCollection:
    invoice = lock_document(session, Invoice, account_id, invoice_id)  # 404 when not ours
    collection = session.scalars(
        scoped(InvoiceCollection, account_id)
        .where(InvoiceCollection.invoice_id == invoice.id)
        .with_for_update()
    ).one_or_none()
    if collection is None:
        raise InvalidStateTransition(
            f"{audit.label(invoice)} is not collected automatically: there is no dunning to "
            "pause or resume."
        )
    return collection


def pause_invoice(session: Session, account_id: str, invoice_id: str) -> InvoiceCollection:
    collection = _locked_collection(session, account_id, invoice_id)
    if collection.status is not CollectionStatus.SCHEDULED:
        raise InvalidStateTransition(
            f"Automatic collection of invoice {invoice_id!r} is {collection.status.value}: "
            "only a SCHEDULED collection is paused."
        )
    if collection.paused_at is None:
        collection.paused_at = utcnow()
        invoice = session.scalars(scoped(Invoice, account_id).where(Invoice.id == invoice_id)).one()
        audit.record(
            session,
            invoice,
            "COLLECTION_PAUSED",
            "Automatic collection paused",
            f"{audit.label(invoice)}: automatic collection paused (next attempt was "
            f"{collection.next_attempt_on})",
        )
    return collection


def resume_invoice(session: Session, account_id: str, invoice_id: str) -> InvoiceCollection:
    collection = _locked_collection(session, account_id, invoice_id)
    if collection.paused_at is not None:
        collection.paused_at = None
        invoice = session.scalars(scoped(Invoice, account_id).where(Invoice.id == invoice_id)).one()
        audit.record(
            session,
            invoice,
            "COLLECTION_RESUMED",
            "Automatic collection resumed",
            f"{audit.label(invoice)}: automatic collection resumed (next attempt "
            f"{collection.next_attempt_on or 'none'})",
        )
    return collection


def _locked_customer(session: Session, account_id: str, customer_id: str) -> Customer:
    """The customer, row-locked: two pauses at once make one row."""
    customer = session.scalars(
        scoped(Customer, account_id).where(Customer.id == customer_id).with_for_update()
    ).one_or_none()
    if customer is None:
        raise NotFound.resource("Customer", customer_id)
    return customer


def pause_customer(session: Session, account_id: str, customer_id: str) -> CustomerDunningPause:
    customer = _locked_customer(session, account_id, customer_id)
    pause = active_pause(session, account_id, customer.id)
    if pause is not None:
        return pause
    pause = CustomerDunningPause(account_id=account_id, customer_id=customer.id, paused_at=utcnow())
    session.add(pause)
    session.flush()
    activity.record(
        session,
        account_id,
        verb="COLLECTION_PAUSED",
        object_type=CUSTOMER,
        object_id=customer.id,
        name=customer.legal_name,
        summary=f"Automatic collection of {customer.legal_name}'s invoices paused",
    )
    return pause


def resume_customer(
    session: Session, account_id: str, customer_id: str
) -> CustomerDunningPause | None:
    """The pause lifted, or None when none was on."""
    customer = _locked_customer(session, account_id, customer_id)
    pause = active_pause(session, account_id, customer.id)
    if pause is None:
        return None
    pause.resumed_at = utcnow()
    activity.record(
        session,
        account_id,
        verb="COLLECTION_RESUMED",
        object_type=CUSTOMER,
        object_id=customer.id,
        name=customer.legal_name,
        summary=f"Automatic collection of {customer.legal_name}'s invoices resumed",
    )
    return pause
