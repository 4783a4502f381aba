"""A customer's balance, per currency: what its issued invoices still owe (and of that, what
is overdue: the overdue rule of `invoices/queries.py`), the credit of its issued credit notes
not yet applied, and the payments received to date with what was refunded of them."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from tally.core.clock import local_today
from tally.models import Customer
from tally.models.scoped import get_account, scoped_get
from tally.payments import queries


def customer_balance(
    session: Session, account_id: str, customer_id: str
) -> tuple[date, dict[str, queries.Figures]]:
    """(the account's today, figures per currency); 404 for another account's customer."""
    scoped_get(session, Customer, account_id, customer_id, kind="Customer")
    today = local_today(get_account(session, account_id).timezone)
    return today, queries.customer_figures(session, account_id, customer_id, today)
