"""The portal's Pay form: three JSON endpoints its script (`static/pay.js`) posts to, under
both ways in (`/portal/c/{portal_key}` and `/portal/s`), for one of the viewer's invoices:

- `POST .../invoices/{id}/pay/start`: a card setup; answers the client secret Stripe.js
  confirms the card with (`stripe.confirmCardSetup`).
- `POST .../invoices/{id}/pay` `{setupId, saveCard}`: charge the card that setup saved;
  answers the outcome, with a client secret when 3-D Secure needs the customer.
- `POST .../invoices/{id}/pay/finish` `{paymentId, saveCard}`: after 3-D Secure.

The rules are `payments.checkout`'s. Cross-site requests are refused: the body must be JSON
(a form on another site cannot send it without a CORS preflight, which is never granted),
and a browser's `Origin` and `Sec-Fetch-Site` must say this origin; the session cookie is
SameSite besides. An archived customer's portal is read-only: no payments there."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tally.api.schemas import Schema
from tally.core.wire import money
from tally.exceptions import NotFound, TallyError
from tally.payments import checkout
from tally.portal import data
from tally.portal.access import (
    PortalPageError,
    Resolve,
    SessionExpired,
    Viewer,
    as_viewer,
    link_viewer_of,
    session_viewer,
)


class CrossSiteRequest(TallyError):
    status_code = 403
    error_type = "CrossSiteRequest"


class StartIn(Schema):
    pass


class PayIn(Schema):
    setup_id: str = Field(min_length=1, max_length=255)
    save_card: bool = False


class FinishIn(Schema):
    payment_id: str = Field(min_length=1, max_length=255)
    save_card: bool = False


class StartedOut(Schema):
    client_secret: str
    publishable_key: str
    amount_due: str
    currency: str


class OutcomeOut(Schema):
    status: str  # SUCCEEDED, REQUIRES_ACTION, FAILED, PENDING
    payment_status: str  # the invoice's: PAID, PARTIALLY_PAID, UNPAID, ...
    amount_due: str
    currency: str
    payment_id: str | None = None
    client_secret: str | None = None
    message: str | None = None


async def _same_origin(request: Request) -> None:
    """Refuse what a browser says came from another site (see the module docstring)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise CrossSiteRequest("Send the payment request as application/json.")
    site = request.headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        raise CrossSiteRequest("Payments are made from the portal's own pages only.")
    origin = request.headers.get("origin")
    if origin is not None:
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin.lower() != own.lower():
            raise CrossSiteRequest("Payments are made from the portal's own pages only.")


async def _payer(request: Request, resolve: Resolve, invoice_id: str) -> tuple[str, str]:
    """(account id, customer id) of a viewer who may pay this invoice: one of its SENT
    invoices, in a portal that is not closed. JSON errors, never the HTML error page."""

    def work(session: Session, viewer: Viewer) -> tuple[str, str]:
        account_id, customer_id = viewer.account.id, viewer.customer.id
        if viewer.closed or not data.sent_invoice_id(session, account_id, customer_id, invoice_id):
            raise NotFound("There is no such invoice in this portal.")
        return account_id, customer_id

    try:
        return await as_viewer(request, resolve, work)
    except PortalPageError as error:
        if error.status_code == 401:
            raise SessionExpired() from None
        if error.status_code == 404:
            raise NotFound("No customer portal at this address.") from None
        raise


def _outcome(outcome: checkout.Outcome) -> OutcomeOut:
    currency = outcome.currency
    return OutcomeOut(
        status=outcome.status.value,
        payment_status=outcome.payment_status,
        amount_due=money(max(outcome.amount_due, Decimal(0)), currency),
        currency=currency,
        payment_id=outcome.payment_id,
        client_secret=outcome.client_secret,
        message=outcome.message,
    )


def _routes(prefix: str, resolve: Resolve) -> APIRouter:
    # Before the body is read: a cross-site post is refused as such, whatever it sends.
    router = APIRouter(prefix=prefix, include_in_schema=False, dependencies=[Depends(_same_origin)])

    @router.post("/invoices/{invoice_id}/pay/start")
    async def start_payment(request: Request, invoice_id: str, body: StartIn) -> StartedOut:
        account_id, customer_id = await _payer(request, resolve, invoice_id)
        app: Any = request.app
        started = await run_in_threadpool(
            checkout.start, app.state.db, app.state.settings, account_id, customer_id, invoice_id
        )
        return StartedOut(
            client_secret=started.setup_client_secret,
            publishable_key=started.publishable_key,
            amount_due=money(started.amount_due, started.currency),
            currency=started.currency,
        )

    @router.post("/invoices/{invoice_id}/pay")
    async def pay(request: Request, invoice_id: str, body: PayIn) -> OutcomeOut:
        account_id, customer_id = await _payer(request, resolve, invoice_id)
        app: Any = request.app

        def run() -> checkout.Outcome:
            return checkout.pay(
                app.state.db,
                app.state.settings,
                account_id,
                customer_id,
                invoice_id,
                setup_id=body.setup_id,
                save=body.save_card,
            )

        outcome = await run_in_threadpool(run)
        return _outcome(outcome)

    @router.post("/invoices/{invoice_id}/pay/finish")
    async def finish_payment(request: Request, invoice_id: str, body: FinishIn) -> OutcomeOut:
        account_id, customer_id = await _payer(request, resolve, invoice_id)
        app: Any = request.app

        def run() -> checkout.Outcome:
            return checkout.finish(
                app.state.db,
                app.state.settings,
                account_id,
                customer_id,
                invoice_id,
                payment_id=body.payment_id,
                save=body.save_card,
            )

        outcome = await run_in_threadpool(run)
        return _outcome(outcome)

    return router


def install_payments(app: FastAPI) -> None:
    app.include_router(_routes("/portal/c/{portal_key}", link_viewer_of))
    app.include_router(_routes("/portal/s", session_viewer))
