"""The credit ledger: every movement of a grant's balance is an immutable entry, and a
balance is only ever the sum of its grant's entries, never a stored number.

Writers describe movements as `Movement`s; `record` inserts those whose `dedupe_key` is new,
so a retried or concurrent writer of the same movement (the debit of one invoice from one
grant, the expiry of one grant) records it once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.core.clock import utcnow
from tally.core.sql import exact_sum
from tally.db import id_table, insert_new, new_id, table_of
from tally.models import CreditGrant, CreditLedgerEntry, LedgerEntryType

ZERO = Decimal(0)


@dataclass(frozen=True)
class Movement:
    """One entry to record. `amount` is signed: + adds credits, - takes them."""

    grant_id: str
    customer_id: str
    entry_type: LedgerEntryType
    amount: Decimal
    effective_date: date
    dedupe_key: str
    reason: str = ""
    invoice_id: str | None = None
    billing_run_id: str | None = None


def grant_movement(grant: CreditGrant) -> Movement:
    """A grant's first entry: its whole amount, on its effective date."""
    return Movement(
        grant_id=grant.id,
        customer_id=grant.customer_id,
        entry_type=LedgerEntryType.GRANT,
        amount=grant.amount,
        effective_date=grant.effective_date,
        dedupe_key=f"grant:{grant.id}",
        reason=grant.name,
    )


def record(session: Session, account_id: str, movements: Sequence[Movement]) -> set[str]:
    """Insert the movements not recorded yet (one statement per 500); their dedupe keys."""
    return record_for_accounts(session, [(account_id, m) for m in movements])


def record_for_accounts(session: Session, movements: Sequence[tuple[str, Movement]]) -> set[str]:
    """`record` for movements of several accounts at once (a background pass over all of
    them): (account id, movement) pairs; the dedupe keys recorded."""
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "account_id": account_id,
            "created_at": now,
            "updated_at": now,
            "customer_id": m.customer_id,
            "grant_id": m.grant_id,
            "entry_type": m.entry_type,
            "amount": m.amount,
            "effective_date": m.effective_date,
            "invoice_id": m.invoice_id,
            "billing_run_id": m.billing_run_id,
            "reason": m.reason,
            "dedupe_key": m.dedupe_key,
        }
        for account_id, m in movements
    ]
    if not rows:
        return set()
    return insert_new(session, table_of(CreditLedgerEntry), rows, ["account_id", "dedupe_key"])


def balances(
    session: Session, account_id: str, grant_ids: Iterable[str], as_of: date | None = None
) -> dict[str, Decimal]:
    """Each grant's balance: the sum of its entries (effective on or before `as_of`, when
    given). Grants without entries are absent. One query however many grants."""
    ids = list(grant_ids)
    if not ids:
        return {}
    entries = table_of(CreditLedgerEntry)
    wanted = id_table(session, ids)
    query = (
        select(entries.c.grant_id, exact_sum(session, entries.c.amount))
        .join(wanted, wanted.c.id == entries.c.grant_id)
        .where(entries.c.account_id == account_id)
        .group_by(entries.c.grant_id)
    )
    if as_of is not None:
        query = query.where(entries.c.effective_date <= as_of)
    return {grant_id: Decimal(total or 0) for grant_id, total in session.execute(query)}


def customer_entries(
    session: Session, account_id: str, customer_ids: Iterable[str]
) -> list[CreditLedgerEntry]:
    """Every entry of the customers' grants, oldest first (date, then time recorded)."""
    return list(
        session.scalars(
            select(CreditLedgerEntry)
            .where(
                CreditLedgerEntry.account_id == account_id,
                CreditLedgerEntry.customer_id.in_(list(customer_ids)),
            )
            .order_by(
                CreditLedgerEntry.effective_date,
                CreditLedgerEntry.created_at,
                CreditLedgerEntry.id,
            )
        )
    )
