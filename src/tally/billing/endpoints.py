"""/api/billing/execution: run billing now, for the caller's account, and report what it did."""

from datetime import date
from typing import Annotated

from fastapi import Depends
from starlette.concurrency import run_in_threadpool

from tally.api.auth import CurrentAccount
from tally.api.deps import get_database
from tally.api.routing import api_router
from tally.api.schemas import Schema
from tally.billing.runs import RunReport
from tally.billing.scheduler import bill_account
from tally.db import Database

router = api_router(tags=["Billing"])


class LateUsageOut(Schema):
    billing_schedule_id: str
    event_count: int


class BillingExecutionOut(Schema):
    billing_schedules: int
    invoices_created: int
    invoices_updated: int
    invoices_unchanged: int
    invoices_deleted: int
    invoices_finalized: int
    failed_billing_schedule_ids: list[str]
    late_usage: list[LateUsageOut]  # events for periods already finalized, not billed

    @classmethod
    def build(cls, report: RunReport) -> "BillingExecutionOut":
        return cls(
            billing_schedules=report.billing_schedules,
            invoices_created=report.invoices_created,
            invoices_updated=report.invoices_updated,
            invoices_unchanged=report.invoices_unchanged,
            invoices_deleted=report.invoices_deleted,
            invoices_finalized=report.invoices_finalized,
            failed_billing_schedule_ids=report.failed_schedules,
            late_usage=[
                LateUsageOut(billing_schedule_id=schedule_id, event_count=count)
                for schedule_id, count in sorted(report.late_events.items())
            ],
        )


Db = Annotated[Database, Depends(get_database)]


@router.post("/billing/execution/accounts/self", summary="Run billing now")
async def bill_now(account: CurrentAccount, db: Db) -> BillingExecutionOut:
    """Bring every billing schedule's invoices up to date as of today (the account's time
    zone) and return when done."""
    report = await run_in_threadpool(bill_account, db, account.account_id)
    return BillingExecutionOut.build(report)


@router.post("/billing/execution/accounts/self/for-date/{day}", summary="Run billing for a date")
async def bill_for_date(account: CurrentAccount, db: Db, day: date) -> BillingExecutionOut:
    """Bill as if today were `day`: invoices dated up to it become DRAFT, the next one
    IN_PROGRESS. For backfills and for trying schedules out."""
    report = await run_in_threadpool(bill_account, db, account.account_id, today=day)
    return BillingExecutionOut.build(report)
