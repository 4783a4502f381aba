"""When billing runs: schedules are claimed in batches under row locks and billed as of
today in their account's time zone.

Workers (`tally worker`, or the thread `tally serve` starts) claim with SKIP LOCKED, so any
number of them share the work without waiting on each other or billing a schedule twice; the
unique key on (schedule, invoice date) backs that up. A schedule is billed again once its
invoices are older than `billing_interval_seconds`, which is how IN_PROGRESS invoices follow
usage. An on-demand run (`bill_account`) waits for the locks instead of skipping them, so it
returns only once every schedule of the account is up to date.

An on-demand run may name a day other than the account's today: a past day is a backfill
(invoices dated up to it filled in, nothing removed, issued or regressed), a future day a
preview (billed as of that day in one transaction, then rolled back).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import Select, exists, or_, select, update
from sqlalchemy.orm import Session

from tally.billing.runs import RunReport, bill_schedules
from tally.core.clock import local_today, utcnow
from tally.db import Database
from tally.models import (
    EDITABLE_STATUSES,
    Account,
    BillingSchedule,
    BillingSchedulePhase,
    Invoice,
    ScheduleStatus,
)
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


def _bill_claimed(
    session: Session, claimed: Sequence[tuple[str, str]], now: datetime, through: date | None
) -> RunReport:
    """Bill the claimed schedules as of their account's today (`through`: a backfill)."""
    by_account: dict[str, list[str]] = defaultdict(list)
    for schedule_id, account_id in claimed:
        by_account[account_id].append(schedule_id)
    accounts = session.scalars(select(Account).where(Account.id.in_(by_account))).all()
    report = RunReport()
    for account in accounts:
        day = local_today(account.timezone, now)
        report.add(
            bill_schedules(session, account, by_account[account.id], day, now, through=through)
        )
    return report


def _bill_batch(
    db: Database, query: Select[str, str], now: datetime, through: date | None
) -> tuple[list[tuple[str, str]], RunReport]:
    """Claim one batch and bill it in one transaction. A batch that fails is billed again one
    schedule at a time, so one bad schedule cannot hold the others back."""
    try:
        with db.transaction() as session:
            claimed = [(r[0], r[1]) for r in session.execute(query)]
            return claimed, _bill_claimed(session, claimed, now, through)
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
                    report.add(_bill_claimed(session, [(schedule_id, account_id)], now, through))
        except Exception:
            log.exception("billing schedule %s failed", schedule_id)
            report.failed_schedules.append(schedule_id)
            if through is not None:
                continue  # a backfill marks nothing billed
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


def _account_query(account_id: str, after: str, batch: int) -> Select[str, str]:
    return (
        billable(account_id=account_id)
        .where(BillingSchedule.id > after)
        .order_by(BillingSchedule.id)
        .limit(batch)
        .with_for_update()
    )


def bill_account(
    db: Database,
    account_id: str,
    *,
    today: date | None = None,
    now: datetime | None = None,
    batch: int = BATCH,
) -> RunReport:
    """Bill every schedule of one account now, waiting for schedules other workers are
    billing. `today` (default the account's today at `now`, default the clock's now):

    - the account's today: the regular run;
    - a day before it: a backfill, filling in the invoices dated up to that day (DRAFT) and
      recalculating the open ones among them, as a run for today would; it removes nothing,
      never moves a status back, leaves later invoices alone, issues nothing and marks no
      schedule billed;
    - a day after it: a preview, billed as of that day in one transaction rolled back, so
      nothing of it stays (invoices, numbers, credits, emails, webhooks); the report says
      `preview` and lists the invoices billed.
    """
    now = now or utcnow()
    with db.lookup_session() as session:
        account = session.get(Account, account_id)
        real_today = local_today(account.timezone, now) if account is not None else None
    if real_today is None:
        return RunReport()
    day = today or real_today
    if day > real_today:
        return _preview(db, account_id, day, now, batch)
    return _bill_on_demand(db, account_id, now, day if day < real_today else None, batch)


@billing_run("on_demand")
def _bill_on_demand(
    db: Database, account_id: str, now: datetime, through: date | None, batch: int
) -> RunReport:
    report = RunReport()
    after = ""
    while True:
        claimed, done = _bill_batch(db, _account_query(account_id, after, batch), now, through)
        report.add(done)
        if len(claimed) < batch:
            return report
        after = claimed[-1][0]


@billing_run("threshold")
def bill_thresholds(
    db: Database,
    account_id: str,
    customer_ids: Sequence[str],
    *,
    now: datetime | None = None,
) -> RunReport:
    """Bill now the schedules of `customer_ids` with a phase that invoices at a threshold,
    so their threshold invoices go out as usage arrives (what an evaluator of fresh usage
    calls). Waits for the schedules' locks as `bill_account` does, in one transaction; a
    schedule without threshold invoicing is left to the scheduler. Roll-up billing: name
    the parent, whose schedule bills its children's usage."""
    now = now or utcnow()
    if not customer_ids:
        return RunReport()
    invoices_at_threshold = exists().where(
        BillingSchedulePhase.account_id == BillingSchedule.account_id,
        BillingSchedulePhase.billing_schedule_id == BillingSchedule.id,
        BillingSchedulePhase.invoice_threshold.is_not(None),
    )
    query = (
        billable(account_id=account_id)
        .where(BillingSchedule.customer_id.in_(list(customer_ids)), invoices_at_threshold)
        .order_by(BillingSchedule.id)
        .with_for_update(of=BillingSchedule)
    )
    with db.transaction() as session:
        claimed = [(row[0], row[1]) for row in session.execute(query)]
        return _bill_claimed(session, claimed, now, None) if claimed else RunReport()


def _preview(db: Database, account_id: str, day: date, now: datetime, batch: int) -> RunReport:
    """A run as of `day` in one transaction, rolled back whatever happens. A batch that fails
    is billed again schedule by schedule, each in a savepoint, as `_bill_batch` does. Not
    counted in the billing metrics: nothing was billed."""
    report = RunReport(preview=True)
    with db.session() as session:
        try:
            account = session.get(Account, account_id)
            assert account is not None
            after = ""
            while True:
                claimed = [
                    row[0] for row in session.execute(_account_query(account_id, after, batch))
                ]
                if not claimed:
                    break
                try:
                    with session.begin_nested():
                        report.add(
                            bill_schedules(session, account, claimed, day, now, preview=True)
                        )
                except Exception:
                    log.exception("previewing a batch failed; previewing its schedules one by one")
                    for schedule_id in claimed:
                        try:
                            with session.begin_nested():
                                report.add(
                                    bill_schedules(
                                        session, account, [schedule_id], day, now, preview=True
                                    )
                                )
                        except Exception:
                            log.exception("previewing schedule %s failed", schedule_id)
                            report.failed_schedules.append(schedule_id)
                if len(claimed) < batch:
                    break
                after = claimed[-1]
        finally:
            session.rollback()
    return report
