"""A payment reminder sent from an invoice's page: the service behind the API's
`POST /api/invoices/{id}/send-payment-reminder` (`invoices.payment_reminders`), so the same
rules hold: only a sent invoice with something owed and someone to email is reminded (else
its message shows on the invoice page, nothing changed), the email goes through the outbox
with the invoice attached, the activity log records it, and a second reminder the same day
sends nothing more."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tally.api.deps import get_database
from tally.dashboard.invoices import INVOICES, _transition
from tally.dashboard.web import PostedForm
from tally.db import Database
from tally.invoices import payment_reminders

router = APIRouter(prefix=INVOICES, include_in_schema=False)
Db = Annotated[Database, Depends(get_database)]


@router.post("/{invoice_id}/send-reminder")
def send_reminder(request: Request, invoice_id: str, form: PostedForm, db: Db) -> Response:
    return _transition(
        request,
        db,
        form,
        invoice_id,
        "reminded",
        lambda session, account: payment_reminders.send_payment_reminder(
            session, account, invoice_id
        ),
    )
