"""Automatic collection (dunning) on the invoice and customer pages: the invoice's
"Collection" section (its state, attempts, next retry) and pausing and resuming it, per
invoice and per customer, through the services the API's endpoints call
(`payments.pauses`), read through `payments.collection_queries`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tally.api.deps import DbSession, get_database
from tally.dashboard.web import HOME, DashboardPageError, PostedForm
from tally.db import Database
from tally.exceptions import NotFound
from tally.models import CustomerDunningPause, Invoice
from tally.payments import pauses
from tally.payments.collection_queries import CollectionView, active_pause, invoice_collection

router = APIRouter(prefix=HOME, include_in_schema=False)
Db = Annotated[Database, Depends(get_database)]


def invoice_section(session: Session, account_id: str, invoice: Invoice) -> CollectionView:
    """What the invoice page's Collection section shows."""
    return invoice_collection(session, account_id, invoice)


def customer_pause(
    session: Session, account_id: str, customer_id: str
) -> CustomerDunningPause | None:
    """The customer's dunning pause while it is on, for the customer page."""
    return active_pause(session, account_id, customer_id)


def _invoice_change(
    request: Request, db: Database, form: PostedForm, invoice_id: str, done: str, pause: bool
) -> Response:
    # The invoice page's own transition: one transaction, its refusal shown on the page.
    from tally.dashboard.invoices import _transition  # noqa: PLC0415 (invoices imports us)

    change = pauses.pause_invoice if pause else pauses.resume_invoice
    return _transition(
        request,
        db,
        form,
        invoice_id,
        done,
        lambda session, account: change(session, account.id, invoice_id),
    )


@router.post("/invoices/{invoice_id}/collection/pause")
def pause_invoice(request: Request, invoice_id: str, form: PostedForm, db: Db) -> Response:
    return _invoice_change(request, db, form, invoice_id, "collection-paused", pause=True)


@router.post("/invoices/{invoice_id}/collection/resume")
def resume_invoice(request: Request, invoice_id: str, form: PostedForm, db: Db) -> Response:
    return _invoice_change(request, db, form, invoice_id, "collection-resumed", pause=False)


@router.post("/customers/{customer_id}/collection/pause")
def pause_customer(customer_id: str, posted: PostedForm, session: DbSession) -> Response:
    try:
        pauses.pause_customer(session, posted.viewer.account_id, customer_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing
    return RedirectResponse(f"{HOME}/customers/{customer_id}?done=collection-paused", 303)


@router.post("/customers/{customer_id}/collection/resume")
def resume_customer(customer_id: str, posted: PostedForm, session: DbSession) -> Response:
    try:
        pauses.resume_customer(session, posted.viewer.account_id, customer_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing
    return RedirectResponse(f"{HOME}/customers/{customer_id}?done=collection-resumed", 303)
