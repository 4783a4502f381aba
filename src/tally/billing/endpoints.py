"""/api/billing/execution: run billing now, for the caller's account, and report what it did."""

from datetime import date
from typing import Annotated

from fastapi import Depends
from starlette.concurrency import run_in_threadpool

from tally.api.auth import CurrentAccount
from tally.api.deps import get_database
from tally.api.routing import api_router
from tally.api.schemas import Schema
from tally.billing.runs import PreviewedInvoice, RunReport
from tally.billing.scheduler import bill_account
from tally.core.wire import money
from tally.db import Database
from tally.models import InvoiceStatus

router = api_router(tags=["Billing"])


class LateUsageOut(Schema):
    billing_schedule_id: str
    event_count: int


class PreviewedInvoiceOut(Schema):
    """An invoice a preview would bill, as it would stand after the run."""

    billing_schedule_id: str
    customer_id: str
    invoice_date: date
    status: InvoiceStatus
    currency: str
    net_total: str
    total_tax: str
    gross_total: str

    @classmethod
    def build(cls, invoice: PreviewedInvoice) -> "PreviewedInvoiceOut":
        currency = invoice.currency
        return cls(
            billing_schedule_id=invoice.billing_schedule_id,
            customer_id=invoice.customer_id,
            invoice_date=invoice.invoice_date,
            status=invoice.status,
            currency=currency,
            net_total=money(invoice.net_total, currency),
            total_tax=money(invoice.total_tax, currency),
            gross_total=money(invoice.gross_total, currency),
        )


class BillingExecutionOut(Schema):
    """What the run did; for a preview, what it would do (`preview`, and `invoices`)."""

    billing_schedules: int
    invoices_created: int
    invoices_updated: int
    invoices_unchanged: int
    invoices_deleted: int
    invoices_finalized: int
    failed_billing_schedule_ids: list[str]
    late_usage: list[LateUsageOut]  # events for periods already finalized, not billed
    preview: bool  # a future date: nothing was stored
    invoices: list[PreviewedInvoiceOut] | None = None  # a preview's invoices, else left out

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
            preview=report.preview,
            invoices=[PreviewedInvoiceOut.build(i) for i in report.previewed]
            if report.preview
            else None,
        )


Db = Annotated[Database, Depends(get_database)]


@router.post("/billing/execution/accounts/self", summary="Run billing now")
async def bill_now(account: CurrentAccount, db: Db) -> BillingExecutionOut:
    """Bring every billing schedule's invoices up to date as of today (the account's time
    zone) and return when done."""
    report = await run_in_threadpool(bill_account, db, account.account_id)
    return BillingExecutionOut.build(report)


@router.post(
    "/billing/execution/accounts/self/for-date/{day}",
    summary="Run billing for a date: today's run, a backfill, or a preview",
)
async def bill_for_date(account: CurrentAccount, db: Db, day: date) -> BillingExecutionOut:
    """`day` is compared with the account's today (its time zone):

    - **today**: the regular run, as `POST /api/billing/execution/accounts/self`.
    - **a past day: a backfill.** Invoices dated up to `day` that are missing are created
      (DRAFT) and open ones among them recalculated, as a run for today would. Nothing is
      deleted, no status goes back (a DRAFT never becomes IN_PROGRESS again), invoices dated
      after `day` are left alone (not even the next one is created: the runs for today
      write it, with the status today gives it), nothing is issued (runs for today issue,
      with today's issue date) and schedules are not marked billed.
    - **a future day: a preview.** Billing runs as of `day` (DRAFTs up to it, the next
      invoice IN_PROGRESS, auto-issue, removals) in one transaction that is then rolled
      back: no invoice, number, credit, email or webhook stays. The answer has
      `"preview": true`, its counts say what the run would do, and `invoices` lists the
      invoices it would bill."""
    report = await run_in_threadpool(bill_account, db, account.account_id, today=day)
    return BillingExecutionOut.build(report)
