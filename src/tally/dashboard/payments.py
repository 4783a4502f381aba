"""The dashboard's payments: record a payment by hand and refund one from the invoice page
(through the API's own services, `payments/manual.py` and `payments/refunds.py`: a refusal
shows its message on the invoice page and changes nothing), and the Receivables page (the
aging report of `GET /api/receivables/aging`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from tally.api.deps import DbSession, get_database
from tally.core.clock import local_today
from tally.core.formatting import format_money
from tally.dashboard.form_errors import from_validation
from tally.dashboard.invoices import _invoice_page, _transition
from tally.dashboard.web import HOME, PostedForm, SignedInViewer, render
from tally.db import Database
from tally.exceptions import NotFound
from tally.models import Account
from tally.models.scoped import get_account
from tally.payments import aging, manual, queries, refunds
from tally.payments.schemas import PaymentCreate, RefundCreate
from tally.settings import Settings

RECEIVABLES = HOME + "/receivables"
router = APIRouter(prefix=HOME, include_in_schema=False)
Db = Annotated[Database, Depends(get_database)]


def _refused(error: ValidationError) -> str:
    """The first error, said for people ("Amount: enter a number, e.g. 12.50.")."""
    return from_validation(error).messages[0] + "."


def _fields(form: PostedForm, names: tuple[str, ...]) -> dict[str, str]:
    """The form's non-empty fields among `names` (an empty one is left to its default)."""
    return {name: value for name in names if (value := form.get(name).strip())}


@router.post("/invoices/{invoice_id}/payments")
def record_payment(request: Request, invoice_id: str, form: PostedForm, db: Db) -> Response:
    try:
        body = PaymentCreate.model_validate(
            _fields(form, ("amount", "paidOn", "reference", "method"))
        )
    except ValidationError as invalid:
        return _invoice_page(
            request, db, form.viewer, invoice_id, status=422, error=_refused(invalid)
        )
    return _transition(
        request,
        db,
        form,
        invoice_id,
        "payment-recorded",
        lambda session, account: manual.record(session, account.id, invoice_id, body),
    )


@router.post("/invoices/{invoice_id}/payments/{payment_id}/refund")
def refund_payment(
    request: Request, invoice_id: str, payment_id: str, form: PostedForm, db: Db
) -> Response:
    try:
        body = RefundCreate.model_validate(_fields(form, ("amount", "reason")))
    except ValidationError as invalid:
        return _invoice_page(
            request, db, form.viewer, invoice_id, status=422, error=_refused(invalid)
        )
    settings: Settings = request.app.state.settings

    def change(session: Session, account: Account) -> None:
        # A form aimed at another invoice's payment finds none on this one.
        if queries.get_payment(session, account.id, payment_id).invoice_id != invoice_id:
            raise NotFound.resource("Payment", payment_id)
        refunds.refund(session, settings, account.id, payment_id, body.amount, body.reason)

    return _transition(request, db, form, invoice_id, "refunded", change)


@router.get("/receivables")
def receivables(
    request: Request, viewer: SignedInViewer, session: DbSession, asOf: str | None = None
) -> Response:
    today = local_today(get_account(session, viewer.account_id).timezone)
    error = None
    day = today
    if asOf:
        try:
            day = date.fromisoformat(asOf)
        except ValueError:
            error = f"{asOf!r} is not a date (YYYY-MM-DD)."
    report = aging.report(session, viewer.account_id, day)
    return render(
        request,
        "dashboard/receivables.html",
        viewer=viewer,
        active=RECEIVABLES,
        status_code=422 if error else 200,
        error=error,
        as_of=day.isoformat(),
        report=report,
        buckets=[
            ("current", "Current"),
            ("days_1_to_30", "1-30 days"),
            ("days_31_to_60", "31-60 days"),
            ("days_61_to_90", "61-90 days"),
            ("over_90_days", "Over 90 days"),
        ],
        money=format_money,
    )
