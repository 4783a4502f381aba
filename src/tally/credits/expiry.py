"""Expiry: what a grant still holds after its last usable day leaves it, as an EXPIRY entry.

A grant's `expiry_date` is its last usable day, in its account's time zone. From the next
local day on, once no open (DRAFT or IN_PROGRESS) invoice still projects credit lines on it
(invoices of periods that ended by its expiry may spend it, however late they are
finalized: `credits/usable.py`), its whole remaining balance is taken by one entry of minus
that balance, dated the day after expiry (or its latest entry's day, if later, so no day's
balance goes negative).

Credits given back to an expired grant (a RESTORE, voiding an invoice that spent them) are
expired again by the next pass: the dedupe key is `expiry:<grant>:<n>`, n the grant's
earlier EXPIRY entries, read under the grant's row lock, so retried and concurrent passes
record each expiry once. A fixed number of queries however many grants and accounts.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from tally.activity import service as activity
from tally.core.clock import local_today, utcnow
from tally.core.sql import exact_compare, exact_sum
from tally.credits import ledger
from tally.db import Database, id_table
from tally.engine.money import ZERO
from tally.models import (
    EDITABLE_STATUSES,
    Account,
    CreditGrant,
    CreditLedgerEntry,
    Invoice,
    InvoiceLineItem,
    LedgerEntryType,
    LineKind,
)

DAY = timedelta(days=1)


@dataclass
class ExpiryReport:
    expired: list[tuple[str, Decimal]] = field(default_factory=list)  # (grant id, credits)


def _pending_on_open_invoice() -> ColumnElement[bool]:
    """An open invoice of the grant's customer projects credit lines on the grant: its
    pending debit is taken at finalize, so the grant waits (correlated to `CreditGrant`)."""
    return exists().where(
        Invoice.account_id == CreditGrant.account_id,
        Invoice.customer_id == CreditGrant.customer_id,
        Invoice.status.in_(EDITABLE_STATUSES),
        InvoiceLineItem.account_id == CreditGrant.account_id,
        InvoiceLineItem.invoice_id == Invoice.id,
        InvoiceLineItem.kind == LineKind.CREDIT,
        InvoiceLineItem.credit_grant_id == CreditGrant.id,
    )


def expire_due(
    db: Database, today: date | None = None, *, now: datetime | None = None
) -> ExpiryReport:
    """Record the expiry of every grant whose last usable day is before its account's local
    today (or `today`, for every account), that still holds credits and that no open invoice
    projects credits on."""
    now = now or utcnow()
    # Every local date in the world is within a day of UTC's.
    latest_today = today or now.date() + DAY
    report = ExpiryReport()
    with db.transaction() as session:
        entries = CreditLedgerEntry
        total = exact_sum(session, entries.amount)
        # Grants expired already hold nothing (unless credits came back), so the positive
        # total leaves them out.
        candidates = session.execute(
            select(CreditGrant.id, CreditGrant.expiry_date, Account.timezone)
            .join(Account, Account.id == CreditGrant.account_id)
            .join(
                entries,
                (entries.grant_id == CreditGrant.id)
                & (entries.account_id == CreditGrant.account_id),
            )
            .where(
                CreditGrant.expiry_date < latest_today,
                CreditGrant.deleted_at.is_(None),
                ~_pending_on_open_invoice(),
            )
            .group_by(CreditGrant.id, CreditGrant.expiry_date, Account.timezone)
            .having(exact_compare(session, total, operator.gt, ZERO))
        ).all()
        due = [
            grant_id
            for grant_id, expiry_date, zone in candidates
            if expiry_date is not None and expiry_date < (today or local_today(zone, now))
        ]
        if not due:
            return report
        # Held until commit: a debit, deletion or other pass on the same grant waits, then
        # sees the balance gone. Balances and projections are read again under the lock.
        wanted = id_table(session, due)
        grants = list(
            session.scalars(
                select(CreditGrant)
                .join(wanted, wanted.c.id == CreditGrant.id)
                .where(CreditGrant.deleted_at.is_(None))
                .order_by(CreditGrant.id)
                .with_for_update(of=CreditGrant)
            )
        )
        held = id_table(session, [grant.id for grant in grants])
        pending = set(
            session.scalars(
                select(CreditGrant.id)
                .join(held, held.c.id == CreditGrant.id)
                .where(_pending_on_open_invoice())
            )
        )
        expired_before = func.count(case((entries.entry_type == LedgerEntryType.EXPIRY, 1)))
        ledgers = {
            grant_id: (Decimal(balance or 0), latest, int(count))
            for grant_id, balance, latest, count in session.execute(
                select(entries.grant_id, total, func.max(entries.effective_date), expired_before)
                .join(held, held.c.id == entries.grant_id)
                .group_by(entries.grant_id)
            )
        }
        expiring = []
        for grant in grants:
            if grant.expiry_date is None or grant.id in pending or grant.id not in ledgers:
                continue
            balance, latest, count = ledgers[grant.id]
            if balance <= 0:
                continue
            movement = ledger.Movement(
                grant_id=grant.id,
                customer_id=grant.customer_id,
                entry_type=LedgerEntryType.EXPIRY,
                amount=-balance,
                effective_date=max(grant.expiry_date + DAY, latest),
                dedupe_key=f"expiry:{grant.id}:{count}",
                reason="Expired",
            )
            expiring.append((grant.account_id, movement))
        recorded = ledger.record_for_accounts(session, expiring)
        report.expired = [
            (movement.grant_id, -movement.amount)
            for _, movement in expiring
            if movement.dedupe_key in recorded
        ]
        _log(session, grants, report.expired)
    return report


def _log(session: Session, grants: list[CreditGrant], expired: list[tuple[str, Decimal]]) -> None:
    """A SYSTEM activity log entry per expiry recorded, added at once per account."""
    by_id = {grant.id: grant for grant in grants}
    entries: dict[str, list[activity.Entry]] = defaultdict(list)
    for grant_id, credits in expired:
        grant = by_id[grant_id]
        left = activity.number(credits)
        entries[grant.account_id].append(
            activity.Entry(
                verb="EXPIRED",
                object_type="CREDIT_GRANT",
                object_id=grant.id,
                name="Credits expired",
                summary=f"{left} left on {grant.name!r} expired after {grant.expiry_date}",
                changes=({"field": "balance", "before": left, "after": "0"},),
                target_type="CUSTOMER",
                target_id=grant.customer_id,
            )
        )
    for account_id, account_entries in entries.items():
        activity.record_all(session, account_id, account_entries)
