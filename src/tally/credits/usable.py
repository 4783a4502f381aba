"""Which grants an invoice may spend: the one rule billing's projection (`billing/credits.py`)
and finalize (`credits/spending.py`) both apply.

A grant is usable by an invoice when it is not deleted, effective on or before the last day
of the invoice's billing period, and not expired before that day (`expiry_date`, its last
usable day, is none or on or after the period's end). It is judged by the period the usage
happened in, never by the day the invoice is issued or finalized: a draft reviewed days
after its period keeps the credits its period earned, and a grant whose last usable day
falls mid-period does not offset that period. What it holds is its ledger balance: the
expiry job (`credits/expiry.py`) leaves a grant alone while an open invoice projects
credits on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from tally.core.sql import exact_sum
from tally.db import id_table
from tally.models import CreditGrant, CreditLedgerEntry, CreditUnitType

ZERO = Decimal(0)


def usable_for_period(effective_date: date, expiry_date: date | None, period_end: date) -> bool:
    """The rule, for a live grant and an invoice whose billing period ends on `period_end`."""
    return effective_date <= period_end and (expiry_date is None or expiry_date >= period_end)


@dataclass(frozen=True)
class UsableGrant:
    """A grant with credits left, as billing spends it."""

    grant_id: str
    customer_id: str
    credit_unit_type: CreditUnitType
    currency: str
    metric_id: str | None
    effective_date: date
    expiry_date: date | None
    balance: Decimal
    name: str
    restrict_to_prices: tuple[str, ...]
    credits_per_currency_unit: Decimal | None

    def usable_for(self, period_end: date) -> bool:
        """Whether an invoice whose billing period ends on `period_end` may spend it."""
        return usable_for_period(self.effective_date, self.expiry_date, period_end)


def usable_grants(
    session: Session,
    account_id: str,
    customer_ids: Sequence[str],
    on: date,
    period_ends: Iterable[date] = (),
) -> list[UsableGrant]:
    """The customers' grants that invoices of billing periods ending on `period_ends` (by
    default one ending `on`) may spend on `on`: not deleted, effective by `on` (credits not
    granted yet are not spent), usable by at least one of the periods (`usable_for_period`)
    and with a positive balance. Each invoice keeps those `usable_for` its own period.

    The balance is the lesser of the balance as of `on` and the balance now: an invoice of
    an earlier day finalized after later entries (a later invoice's debit, an expiry, a
    revocation) must not spend credits those have already taken.

    One query for any number of customers and periods; soonest expiry first
    (never-expiring last), then the oldest, so credits that would be lost go first."""
    ends = sorted(set(period_ends)) or [on]
    if not customer_ids:
        return []
    # The ids join as one-parameter tables: a billing run passes thousands of customers.
    entry_customers = id_table(session, list(customer_ids))
    grant_customers = id_table(session, list(customer_ids))
    entries = CreditLedgerEntry
    until_on = case((entries.effective_date <= on, entries.amount), else_=None)
    totals = (
        select(
            entries.grant_id.label("grant_id"),
            exact_sum(session, until_on).label("as_of"),
            exact_sum(session, entries.amount).label("now"),
        )
        .join(entry_customers, entry_customers.c.id == entries.customer_id)
        .where(entries.account_id == account_id)
        .group_by(entries.grant_id)
        .subquery("totals")
    )
    rows = session.execute(
        select(CreditGrant, totals.c.as_of, totals.c.now)
        .join(grant_customers, grant_customers.c.id == CreditGrant.customer_id)
        .join(totals, totals.c.grant_id == CreditGrant.id)
        .where(
            CreditGrant.account_id == account_id,
            CreditGrant.deleted_at.is_(None),
            CreditGrant.effective_date <= on,
            CreditGrant.effective_date <= ends[-1],
            (CreditGrant.expiry_date.is_(None)) | (CreditGrant.expiry_date >= ends[0]),
        )
        .order_by(
            CreditGrant.expiry_date.is_(None),
            CreditGrant.expiry_date,
            CreditGrant.effective_date,
            CreditGrant.id,
        )
    )
    usable = []
    for grant, as_of, now in rows:
        if not any(usable_for_period(grant.effective_date, grant.expiry_date, e) for e in ends):
            continue
        # Compared here, not in SQL: SQLite's exact sum is text, which SQL compares as text.
        balance = min(Decimal(as_of or 0), Decimal(now or 0))
        if balance <= ZERO:
            continue
        usable.append(
            UsableGrant(
                grant_id=grant.id,
                customer_id=grant.customer_id,
                credit_unit_type=grant.credit_unit_type,
                currency=grant.currency,
                metric_id=grant.metric_id,
                effective_date=grant.effective_date,
                expiry_date=grant.expiry_date,
                balance=balance,
                name=grant.name,
                restrict_to_prices=tuple(grant.restrict_to_prices or ()),
                credits_per_currency_unit=grant.credits_per_currency_unit,
            )
        )
    return usable
