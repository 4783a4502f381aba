"""Dunning per invoice and per customer: read it, pause it, resume it (Tally extensions)."""

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession
from tally.api.routing import api_router
from tally.customers.service import get_customer
from tally.invoices.service import get_invoice
from tally.payments import pauses
from tally.payments.collection_queries import active_pause, invoice_collection
from tally.payments.collection_schemas import CustomerCollectionOut, InvoiceCollectionOut

router = api_router(tags=["Automatic collection"])


def _answer(session: DbSession, account_id: str, invoice_id: str) -> InvoiceCollectionOut:
    invoice = get_invoice(session, account_id, invoice_id)
    return InvoiceCollectionOut.build(invoice_collection(session, account_id, invoice))


@router.get("/invoices/{id}/collection", summary="Get an invoice's automatic collection (Tally)")
def get_collection(id: str, account: CurrentAccount, session: DbSession) -> InvoiceCollectionOut:
    """Its dunning status, every attempt with its outcome, the next attempt's date, and
    whether it is paused (the invoice's pause or its customer's)."""
    return _answer(session, account.account_id, id)


@router.post(
    "/invoices/{id}/collection/pause", summary="Pause an invoice's automatic collection (Tally)"
)
def pause_invoice(id: str, account: CurrentAccount, session: DbSession) -> InvoiceCollectionOut:
    """No charge is made until it is resumed. A SCHEDULED collection only; pausing a paused
    one changes nothing."""
    pauses.pause_invoice(session, account.account_id, id)
    return _answer(session, account.account_id, id)


@router.post(
    "/invoices/{id}/collection/resume", summary="Resume an invoice's automatic collection (Tally)"
)
def resume_invoice(id: str, account: CurrentAccount, session: DbSession) -> InvoiceCollectionOut:
    """Charges resume on the next attempt's date (at once, when it has passed)."""
    pauses.resume_invoice(session, account.account_id, id)
    return _answer(session, account.account_id, id)


@router.get(
    "/customers/{id}/collection", summary="Is a customer's automatic collection paused? (Tally)"
)
def get_customer_collection(
    id: str, account: CurrentAccount, session: DbSession
) -> CustomerCollectionOut:
    customer = get_customer(session, account.account_id, id)
    pause = active_pause(session, account.account_id, customer.id)
    return CustomerCollectionOut.build(customer.id, pause)


@router.post(
    "/customers/{id}/collection/pause",
    summary="Pause automatic collection of a customer's invoices (Tally)",
)
def pause_customer(id: str, account: CurrentAccount, session: DbSession) -> CustomerCollectionOut:
    """None of the customer's invoices is charged until it is resumed."""
    pause = pauses.pause_customer(session, account.account_id, id)
    return CustomerCollectionOut.build(id, pause)


@router.post(
    "/customers/{id}/collection/resume",
    summary="Resume automatic collection of a customer's invoices (Tally)",
)
def resume_customer(id: str, account: CurrentAccount, session: DbSession) -> CustomerCollectionOut:
    pauses.resume_customer(session, account.account_id, id)
    return CustomerCollectionOut.build(id, None)
