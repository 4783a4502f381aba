"""Top-ups: credits a customer buys. The purchase's invoice is made and issued by
`workflows/credit_top_ups.py` (credits never import invoices); here are the rules of the
top-up itself: an ON_PAYMENT top-up's grant is given once, when its invoice is PAID (the
one place every payment goes through, `payments/records.py`, calls `release_paid`), and a
top-up still awaiting payment is cancelled when its invoice is voided (`cancel_for_invoices`,
from `invoices/lifecycle.py`). Until then it has no grant, so no GRANT ledger entry: nothing
is usable, nothing counts in a balance."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.core.clock import local_today, utcnow
from tally.credits import service as credits
from tally.db import new_id
from tally.exceptions import NotFound
from tally.models import CreditGrant, CreditTopUp, CreditUnitType, Invoice, TopUpStatus
from tally.models.scoped import get_account, scoped


def describe(top_up: CreditTopUp) -> str:
    if top_up.credit_unit_type is CreditUnitType.CURRENCY:
        what = f"{activity.number(top_up.amount)} {top_up.currency} of credit"
    else:
        what = f"{activity.number(top_up.amount)} metric credits"
    return f"{what} for {activity.number(top_up.cost)} {top_up.currency}"


def log(
    session: Session,
    top_up: CreditTopUp,
    verb: str,
    name: str,
    summary: str,
    changes: Sequence[dict[str, object]] = (),
) -> None:
    """The top-up's activity log entry, aimed at its customer."""
    activity.record(
        session,
        top_up.account_id,
        verb=verb,
        object_type="CREDIT_TOP_UP",
        object_id=top_up.id,
        name=name,
        summary=summary,
        changes=list(changes),
        target_type="CUSTOMER",
        target_id=top_up.customer_id,
    )


def grant_of(session: Session, top_up: CreditTopUp) -> CreditGrant:
    """The top-up's grant, stored with its GRANT entry (and the grant's own activity entry):
    effective today in the account's zone."""
    account = get_account(session, top_up.account_id)
    today = local_today(account.timezone)
    grant = CreditGrant(
        id=new_id(),
        account_id=top_up.account_id,
        customer_id=top_up.customer_id,
        name=top_up.name,
        credit_unit_type=top_up.credit_unit_type,
        currency=top_up.currency,
        metric_id=top_up.metric_id,
        amount=top_up.amount,
        cost_of_credit=top_up.cost,
        tax_rate_id=top_up.tax_rate_id,
        effective_date=today,
        expiry_date=top_up.expiry_date,
        invoice_id=top_up.invoice_id,
        restrict_to_prices=[],
    )
    credits.record_grant(session, grant)
    top_up.grant_id = grant.id
    top_up.status = TopUpStatus.GRANTED
    top_up.granted_at = utcnow()
    session.flush()
    return grant


def _awaiting(session: Session, account_id: str, invoice_ids: Sequence[str]) -> list[CreditTopUp]:
    if not invoice_ids:
        return []
    return list(
        session.scalars(
            scoped(CreditTopUp, account_id)
            .where(
                CreditTopUp.invoice_id.in_(list(invoice_ids)),
                CreditTopUp.status == TopUpStatus.AWAITING_PAYMENT,
            )
            .order_by(CreditTopUp.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def release_paid(session: Session, account_id: str, invoice_id: str) -> CreditTopUp | None:
    """The invoice is PAID: its top-up awaiting payment gets its grant (once: the top-up row
    is locked and its status moves on). None when the invoice sells no such top-up."""
    for top_up in _awaiting(session, account_id, [invoice_id]):
        grant_of(session, top_up)
        log(
            session,
            top_up,
            "GRANTED",
            "Credit top-up granted",
            f"{describe(top_up)}: invoice paid, credits granted",
            [{"field": "status", "before": "AWAITING_PAYMENT", "after": "GRANTED"}],
        )
        return top_up
    return None


def cancel_for_invoices(session: Session, account_id: str, invoice_ids: Sequence[str]) -> int:
    """The invoices are voided: their top-ups still awaiting payment will never be granted."""
    cancelled = _awaiting(session, account_id, invoice_ids)
    for top_up in cancelled:
        top_up.status = TopUpStatus.CANCELLED
        top_up.cancelled_at = utcnow()
        log(
            session,
            top_up,
            "CANCELLED",
            "Credit top-up cancelled",
            f"{describe(top_up)}: invoice voided before it was paid, no credits granted",
            [{"field": "status", "before": "AWAITING_PAYMENT", "after": "CANCELLED"}],
        )
    session.flush()
    return len(cancelled)


# ---- reads ---------------------------------------------------------------------------------


def get_top_up(session: Session, account_id: str, top_up_id: str) -> CreditTopUp:
    found = session.scalars(
        scoped(CreditTopUp, account_id).where(CreditTopUp.id == top_up_id)
    ).one_or_none()
    if found is None:
        raise NotFound.resource("Credit top-up", top_up_id)
    return found


def top_ups_query(account_id: str, customer_id: str | None = None) -> Select[CreditTopUp]:
    query = scoped(CreditTopUp, account_id)
    if customer_id is not None:
        query = query.where(CreditTopUp.customer_id == customer_id)
    return query


def customer_top_ups(
    session: Session, account_id: str, customer_id: str, limit: int = 50
) -> list[CreditTopUp]:
    """The customer's top-ups, newest first."""
    return list(
        session.scalars(
            scoped(CreditTopUp, account_id)
            .where(CreditTopUp.customer_id == customer_id)
            .order_by(CreditTopUp.created_at.desc(), CreditTopUp.id.desc())
            .limit(limit)
        )
    )


def customer_purchases(
    session: Session, account_id: str, customer_id: str, limit: int = 50
) -> list[tuple[CreditTopUp, str | None, str]]:
    """The customer's top-ups, newest first, with their invoice's number and payment status
    (one query): the portal's history."""
    rows = session.execute(
        select(CreditTopUp, Invoice.invoice_number, Invoice.payment_status)
        .join(
            Invoice,
            (Invoice.id == CreditTopUp.invoice_id) & (Invoice.account_id == account_id),
        )
        .where(CreditTopUp.account_id == account_id, CreditTopUp.customer_id == customer_id)
        .order_by(CreditTopUp.created_at.desc(), CreditTopUp.id.desc())
        .limit(limit)
    ).all()
    return [(top_up, number, status.value) for top_up, number, status in rows]
