"""Payments a person records: money that reached the merchant outside any provider (a bank
transfer, a cheque, cash), against an issued invoice, partial allowed, never more than due."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tally.activity.service import actor_of
from tally.core.clock import local_today
from tally.exceptions import InvalidRequest
from tally.models import Payment, PaymentOrigin
from tally.models.scoped import get_account
from tally.payments import records
from tally.payments.schemas import PaymentCreate


def record(session: Session, account_id: str, invoice_id: str, body: PaymentCreate) -> Payment:
    today = local_today(get_account(session, account_id).timezone)
    paid_on = body.paid_on or today
    if paid_on > today:
        raise InvalidRequest.field("paidOn", f"{paid_on} is after today ({today})")
    return records.record_payment(
        session,
        account_id,
        invoice_id,
        amount=body.amount,
        origin=PaymentOrigin.MANUAL,
        method=body.method,
        paid_on=paid_on,
        reference=body.reference,
        recorded_by=actor_of(session).actor_id,
    )
