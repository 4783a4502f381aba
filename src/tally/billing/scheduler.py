"""When billing runs: schedules are claimed in batches under row locks and billed as of
today in their account's time zone.

Workers (`tally worker`, or the thread `tally serve` starts) claim with SKIP LOCKED, so any
number of them share the work without waiting on each other or billing a schedule twice; the
unique key on (schedule, invoice date) backs that up. A schedule is billed again once its
invoices are older than `billing_interval_seconds`, which is how IN_PROGRESS invoices follow
usage. An on-demand run (`bill_account`) waits for the locks instead of skipping them, so it
returns only once every schedule of the account is up to date.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, or_, select, update
from sqlalchemy.orm import Session

from tally.billing.runs import RunReport, bill_schedules
from tally.db import Database, utcnow
from tally.models import EDITABLE_STATUSES, Account, BillingSchedule, Invoice, ScheduleStatus
from tally.ops.metrics import billing_run

log = logging.getLogger(__name__)

BATCH = 500


def billable(*, account_id: str | None = None) -> Select[str, str]:
    """Schedules billing looks at: started or starting ones, and completed ones while an
    invoice of theirs can still change."""
    still_editable = exists().where(
        Invoice.account_id == BillingSchedule.account_id,  # the (account, schedule) index
        Invoice.billing_schedule_id == BillingSchedule.id,
        Invoice.status.in_(EDITABLE_STATUSES),
    )
    query = select(BillingSchedule.id, BillingSchedule.account_id).where(
        BillingSchedule.archived_at.is_(None),
        or_(
            BillingSchedule.status.in_([ScheduleStatus.PENDING, ScheduleStatus.ACTIVE]),
            (BillingSchedule.status == ScheduleStatus.COMPLETED) & still_editable,
        ),
    )
    if account_id is not None:
        query = query.where(BillingSchedule.account_id == account_id)
    return query


def local_today(account: Account, now: datetime) -> date:
    return now.astimezone(ZoneInfo(account.timezone)).date()


def _bill_claimed(
    session: Session, claimed: Sequence[tuple[str, str]], now: datetime, today: date | None
) -> RunReport:
    by_account: dict[str, list[str]] = defaultdict(list)
    for schedule_id, account_id in claimed:
        by_account[account_id].append(schedule_id)
    accounts = session.scalars(select(Account).where(Account.id.in_(by_account))).all()
    report = RunReport()
    for account in accounts:
        day = today or local_today(account, now)
        report.add(bill_schedules(session, account, by_account[account.id], day, now))
    return report


def _bill_batch(
    db: Database, query: Select[str, str], now: datetime, today: date | None
) -> tuple[list[tuple[str, str]], RunReport]:
    """Claim one batch and bill it in one transaction. A batch that fails is billed again one
    schedule at a time, so one bad schedule cannot hold the others back."""
    try:
        with db.transaction() as session:
            claimed = [(r[0], r[1]) for r in session.execute(query)]
            return claimed, _bill_claimed(session, claimed, now, today)
    except Exception:
        log.exception("billing a batch failed; billing its schedules one by one")
    with db.session() as session:
        claimed = [(r[0], r[1]) for r in session.execute(query.with_for_update(skip_locked=True))]
        session.rollback()
    report = RunReport()
    for schedule_id, account_id in claimed:
        try:
            with db.transaction() as session:
                locked = session.execute(
                    select(BillingSchedule.id)
                    .where(BillingSchedule.id == schedule_id)
                    .with_for_update(skip_locked=True)
                ).first()
                if locked:
                    report.add(_bill_claimed(session, [(schedule_id, account_id)], now, today))
        except Exception:
            log.exception("billing schedule %s failed", schedule_id)
            report.failed_schedules.append(schedule_id)
            # Not again until the next interval: a broken schedule must not starve the rest.
            with db.transaction() as session:
                session.execute(
                    update(BillingSchedule)
                    .where(BillingSchedule.id == schedule_id)
                    .values(billed_at=now)
                )
    return claimed, report


@billing_run("scheduled")
def bill_due(
    db: Database,
    *,
    interval: timedelta = timedelta(minutes=5),
    batch: int = BATCH,
    now: datetime | None = None,
    account_id: str | None = None,
) -> RunReport:
    """One scheduler pass: bill every schedule (of every account, or of one) not billed
    within `interval`, batch by batch, skipping those another worker holds."""
    now = now or utcnow()
    cutoff = now - interval
    query = (
        billable(account_id=account_id)
        .where(or_(BillingSchedule.billed_at.is_(None), BillingSchedule.billed_at <= cutoff))
        .order_by(BillingSchedule.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    report = RunReport()
    while True:
        claimed, done = _bill_batch(db, query, now, None)
        report.add(done)
        if len(claimed) < batch:
            return report


@billing_run("on_demand")
def bill_account(
    db: Database, account_id: str, *, today: date | None = None, batch: int = BATCH
) -> RunReport:
    """Bill every schedule of one account now (as of `today`, default the account's today),
    waiting for schedules other workers are billing."""
    now = utcnow()
    report = RunReport()
    after = ""
    while True:
        query = (
            billable(account_id=account_id)
            .where(BillingSchedule.id > after)
            .order_by(BillingSchedule.id)
            .limit(batch)
            .with_for_update()
        )
        claimed, done = _bill_batch(db, query, now, today)
        report.add(done)
        if len(claimed) < batch:
            return report
        after = claimed[-1][0]
