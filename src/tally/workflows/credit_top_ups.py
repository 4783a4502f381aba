"""A credit top-up: the customer buys credits. Its invoice (one line for the price, taxed at
`taxRateId`) is finalized and sent at once, so the customer can pay it in the portal and
automatic collection can charge it; the credits are granted now (IMMEDIATELY) or when the
invoice is PAID (ON_PAYMENT: `credits/top_ups.release_paid`, from `payments/records.py`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tally.credits import service as credits
from tally.credits import top_ups
from tally.credits.schemas import CreditGrantCreate
from tally.credits.top_up_schemas import CreditTopUpCreate
from tally.db import new_id
from tally.invoices import lifecycle
from tally.models import Account, CreditTopUp, GrantWhen, Invoice, TopUpStatus
from tally.workflows.credit_grants import invoice_cost


def create_top_up(
    session: Session, account: Account, data: CreditTopUpCreate, *, recharge_id: str | None = None
) -> tuple[CreditTopUp, Invoice]:
    """The top-up with its issued invoice (and its grant, IMMEDIATELY)."""
    grant, tax = credits.new_grant(
        session,
        account,
        CreditGrantCreate(
            customer_id=data.customer_id,
            name=data.name,
            credit_unit_type=data.credit_unit_type,
            currency=data.currency,
            metric_id=data.metric_id,
            amount=data.amount,
            cost_of_credit=data.cost,
            tax_rate_id=data.tax_rate_id,
            expiry_date=data.expiry_date,
        ),
    )
    line = invoice_cost(session, account, grant, tax)
    top_up = CreditTopUp(
        id=new_id(),
        account_id=account.id,
        customer_id=grant.customer_id,
        name=grant.name,
        credit_unit_type=grant.credit_unit_type,
        currency=grant.currency,
        metric_id=grant.metric_id,
        amount=grant.amount,
        cost=data.cost,
        tax_rate_id=grant.tax_rate_id,
        expiry_date=grant.expiry_date,
        grant_when=data.grant_when,
        status=TopUpStatus.AWAITING_PAYMENT,
        invoice_id=line.invoice_id,
        recharge_id=recharge_id,
    )
    session.add(top_up)
    session.flush()
    if data.grant_when is GrantWhen.IMMEDIATELY:
        granted = top_ups.grant_of(session, top_up)
        line.credit_grant_id = granted.id  # the line sells this grant's credits
    top_ups.log(
        session,
        top_up,
        "CREATED",
        "Credit top-up created",
        f"{top_ups.describe(top_up)} ({data.grant_when.value}); "
        f"{'granted' if top_up.grant_id else 'granted once its invoice is paid'}",
    )
    invoice = lifecycle.lock(session, account.id, line.invoice_id)
    # Issued at once: owed, payable in the portal, collected automatically where that is on.
    invoice = lifecycle.send(
        session, account, invoice.id, finalizing=True, email=bool(invoice.customer_emails)
    )
    return top_up, invoice
