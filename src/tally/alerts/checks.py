"""The queue of customers to evaluate (`alert_checks`), and one evaluator pass.

Ingestion marks the customers of each batch in its own transaction (`metering/ingest.py`,
one multi-row INSERT, only while the account has a live alert); creating or
changing an alert marks its customers here. An evaluator pass claims rows (FOR UPDATE SKIP
LOCKED on PostgreSQL; SQLite has one writer), deletes them and commits at once, so a batch
ingested meanwhile marks its customer again rather than waiting on the evaluation; then it
evaluates the claimed customers account by account, each in one transaction. A customer
with SPEND alerts (`customers_needing_current_charges`) has its schedules re-billed first,
so its IN_PROGRESS invoice counts the new usage. An evaluation that fails is logged and
dropped: the periodic sweep (`sweep`) evaluates every customer with alerts again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from tally.alerts import evaluation, queries
from tally.billing.runs import bill_schedules
from tally.billing.scheduler import billable
from tally.core.clock import local_today, utcnow
from tally.core.sql import commit_without_waiting
from tally.db import Database, new_id, table_of
from tally.metering.queries import alias_owners
from tally.models import Account, AlertCheck, AlertType, BillingSchedule

log = logging.getLogger(__name__)

BATCH = 5000  # rows: a customer may have several


def queue(session: Session, account_id: str, names: Collection[str], now: datetime) -> None:
    """Mark customers (by id or alias) for the next evaluator pass: one INSERT."""
    if not names:
        return
    rows = [
        {
            "id": new_id(),
            "account_id": account_id,
            "customer_name": name,
            "dirty_since": now,
            "created_at": now,
            "updated_at": now,
        }
        for name in sorted(set(names))
    ]
    session.execute(insert(table_of(AlertCheck)).values(rows))


def claim(db: Database, limit: int = BATCH) -> dict[str, list[str]]:
    """Take up to `limit` marks off the queue: account -> the names they mark, once each.
    Committed."""
    checks = table_of(AlertCheck)
    oldest = (
        select(checks.c.id)
        .order_by(checks.c.dirty_since, checks.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    # One statement: no second round trip, and no thousand-id IN list to build, per pass.
    taking = (
        delete(checks)
        .where(checks.c.id.in_(oldest.scalar_subquery()))
        .returning(checks.c.account_id, checks.c.customer_name)
    )
    with db.transaction() as session:
        # A claim lost in a crash only has its customers evaluated again (idempotent), so
        # its commit need not wait for the disk like ingestion's do.
        commit_without_waiting(session)
        rows = session.execute(taking).all()
    claimed: dict[str, set[str]] = defaultdict(set)
    for account_id, name in rows:
        claimed[account_id].add(name)
    return {account_id: sorted(names) for account_id, names in claimed.items()}


def customers_needing_current_charges(
    session: Session,
    account: Account,
    customer_ids: Collection[str],
    now: datetime,
    found: evaluation.Applying | None = None,
) -> list[str]:
    """Customers whose invoices must count the new usage now, so their schedules are
    re-billed before evaluating: those with SPEND alerts (they read the IN_PROGRESS invoice),
    with a threshold-invoiced phase (the run issues the threshold invoice), or with an
    auto-recharge (the available balance counts what the open invoice will take); for the
    last two, a roll-up child's parent too. `found`: what `evaluation.applying` read."""
    day = local_today(account.timezone, now)
    found = found or evaluation.applying(session, account.id, customer_ids, day)
    spending = {
        customer
        for customer, alerts in found.alerts.items()
        if any(alert.type is AlertType.SPEND for alert in alerts)
    }
    return sorted(spending | queries.charges_watched(session, account.id, customer_ids, day))


def rebill(
    session: Session, account: Account, customer_ids: Collection[str], now: datetime
) -> None:
    """Bring the customers' schedules' invoices up to date, waiting for a billing run that
    holds them (as on-demand runs do): the scheduler's locks, the scheduler's run."""
    if not customer_ids:
        return
    schedule_ids = list(
        session.scalars(
            billable(account_id=account.id)
            .with_only_columns(BillingSchedule.id)
            .where(BillingSchedule.customer_id.in_(list(customer_ids)))
            .order_by(BillingSchedule.id)
            .with_for_update()
        )
    )
    if schedule_ids:
        bill_schedules(session, account, schedule_ids, local_today(account.timezone, now), now)


def evaluate_account(
    session: Session, account: Account, customer_ids: Collection[str], now: datetime
) -> list[str]:
    """Re-bill what needs it, then evaluate: the new firings' ids. Which alerts apply is
    read once for both (re-billing changes invoices, not schedules or alerts)."""
    found = evaluation.applying(
        session, account.id, customer_ids, local_today(account.timezone, now)
    )
    rebill(
        session,
        account,
        customers_needing_current_charges(session, account, customer_ids, now, found),
        now,
    )
    return evaluation.evaluate(session, account, customer_ids, now, found)


# After an account's evaluation commits: (account id, the customers evaluated). The jobs
# layer hands auto-recharge in here (a workflow, above this package).
Then = Callable[[str, list[str]], object]


def evaluate_marked(
    db: Database,
    limit: int = BATCH,
    then: Then | None = None,
    fired: Callable[[], object] | None = None,
) -> int:
    """One evaluator pass over the queue: how many customers it took (0: nothing waiting).
    `fired` is called once an account's new firings are committed (their webhooks are due)."""
    claimed = claim(db, limit)
    taken = 0
    for account_id, names in claimed.items():
        taken += len(names)
        customers: list[str] = []
        firings: list[str] = []
        try:
            with db.transaction() as session:
                account = session.get(Account, account_id)
                if account is None:
                    continue
                owners = alias_owners(session, account_id, names)
                customers = sorted({owner for owner, _ in owners.values()})
                firings = evaluate_account(session, account, customers, utcnow())
        except Exception:
            log.exception("evaluating alerts of account %s failed", account_id)
        if fired is not None and firings:
            fired()
        if then is not None and customers:
            try:
                then(account_id, customers)
            except Exception:
                log.exception("after evaluating account %s", account_id)
    return taken


def sweep(db: Database) -> int:
    """Evaluate every customer some live alert applies to, in every account (what changes
    without usage: billing runs, finalized invoices spending credits, grants, the date).
    The customers evaluated."""
    with db.lookup_session() as session:
        accounts = queries.accounts_with_alerts(session)
    done = 0
    for account_id in accounts:
        try:
            with db.transaction() as session:
                account = session.get(Account, account_id)
                if account is None:
                    continue
                now = utcnow()
                customers = queries.customers_with_alerts(
                    session, account_id, local_today(account.timezone, now)
                )
                evaluation.evaluate(session, account, customers, now)
                done += len(customers)
        except Exception:
            log.exception("sweeping the alerts of account %s failed", account_id)
    return done
