"""Billing on its own: scheduler passes, concurrent workers, `tally bill`, `tally worker`, and
the scheduler `tally serve` runs."""

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from tally.accounts.service import Credentials
from tally.billing.runs import RunReport
from tally.billing.scheduler import bill_account, bill_due
from tally.cli import failed_jobs
from tally.db import Database
from tally.jobs import Job, run_once
from tally.models import BillingRun, Invoice
from tests.billing.helpers import Merchant
from tests.factories import customer_body
from tests.support.api_client import ApiClient
from tests.support.cli import run_tally
from tests.support.serving import clean_environment, tally_serve

MID_APRIL = datetime(2024, 4, 15, 12, tzinfo=UTC)
# Invoices of a monthly schedule from 1 January, billed in mid-April: three DRAFTs (1 Feb,
# 1 Mar, 1 Apr) and May's IN_PROGRESS.
INVOICE_DATES = [date(2024, 2, 1), date(2024, 3, 1), date(2024, 4, 1), date(2024, 5, 1)]


def _schedules(api: ApiClient, count: int) -> list[str]:
    merchant = Merchant(api)
    price = merchant.price({"pricingType": "FIXED", "price": "100.00"}, name="Platform")
    customer = merchant.customer()
    return [merchant.schedule(customer, [price], "2024-01-01")["id"] for _ in range(count)]


def _invoice_dates(database: Database, schedule_ids: list[str]) -> Counter[tuple[str, date]]:
    with database.session(write=False) as session:
        rows = session.execute(
            select(Invoice.billing_schedule_id, Invoice.invoice_date).where(
                Invoice.billing_schedule_id.in_(schedule_ids)
            )
        ).all()
    return Counter((schedule_id, day) for schedule_id, day in rows if schedule_id and day)


def _together(*calls: Callable[[], RunReport]) -> list[RunReport]:
    """Run the calls in threads (each its own connection), released at the same moment."""
    barrier = threading.Barrier(len(calls))
    reports: list[RunReport] = []
    errors: list[BaseException] = []

    def run(call: Callable[[], RunReport]) -> None:
        barrier.wait()
        try:
            reports.append(call())
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    return reports


def test_two_workers_bill_every_schedule_and_period_exactly_once(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    schedule_ids = _schedules(api, 24)

    def worker() -> RunReport:
        return bill_due(database, batch=3, now=MID_APRIL, account_id=account.account_id)

    reports = _together(
        worker,
        worker,
        lambda: bill_account(database, account.account_id, now=MID_APRIL, batch=5),
    )

    expected = {(s, day) for s in schedule_ids for day in INVOICE_DATES}
    found = _invoice_dates(database, schedule_ids)
    assert set(found) == expected
    assert set(found.values()) == {1}
    with database.session(write=False) as session:
        runs = session.scalar(
            select(func.count())
            .select_from(BillingRun)
            .where(BillingRun.billing_schedule_id.in_(schedule_ids))
        )
    assert runs == len(expected)
    assert sum(r.invoices_created for r in reports) == len(expected)
    assert not any(r.failed_schedules for r in reports)


def test_a_pass_skips_schedules_billed_within_the_interval(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    schedule_ids = _schedules(api, 3)
    interval = timedelta(minutes=5)

    def run(at: datetime) -> RunReport:
        return bill_due(database, interval=interval, now=at, account_id=account.account_id)

    first = run(MID_APRIL)
    assert (first.billing_schedules, first.invoices_created) == (3, 12)
    assert run(MID_APRIL + timedelta(minutes=4)).billing_schedules == 0
    later = run(MID_APRIL + timedelta(minutes=6))
    # Recalculated, not duplicated; nothing changed, so nothing is rewritten.
    assert (later.billing_schedules, later.invoices_created) == (3, 0)
    assert (later.invoices_updated, later.invoices_unchanged) == (0, 12)
    assert set(_invoice_dates(database, schedule_ids).values()) == {1}


def test_tally_bill_with_an_unknown_account_exits_1_and_bills_nothing(
    database: Database, tmp_path: Path
) -> None:
    result = run_tally(
        "bill", "--account", "no-such-account", database_url=database.url, data_dir=tmp_path
    )
    assert result.returncode == 1
    assert "No account no-such-account: nothing billed." in result.stdout + result.stderr
    assert "schedules billed" not in result.stdout


def test_tally_bill_runs_billing_from_the_shell(
    api: ApiClient, database: Database, account: Credentials, tmp_path: Path
) -> None:
    [schedule_id] = _schedules(api, 1)
    result = run_tally(
        "bill",
        "--account",
        account.account_id,
        "--date",
        "2024-03-01",
        database_url=database.url,
        data_dir=tmp_path,
        in_process=False,  # the installed command, once
    )
    # A past date backfills: the invoices dated up to it, not the next one.
    assert result.returncode == 0, result.stderr
    assert "1 schedules billed: 2 invoices created" in result.stdout
    assert sorted(_invoice_dates(database, [schedule_id])) == [
        (schedule_id, date(2024, 2, 1)),
        (schedule_id, date(2024, 3, 1)),
    ]
    # A future date previews: said so, and nothing stored.
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    preview = run_tally(
        "bill",
        "--account",
        account.account_id,
        "--date",
        tomorrow.isoformat(),
        database_url=database.url,
        data_dir=tmp_path,
    )
    assert preview.returncode == 0, preview.stderr
    assert "Preview, nothing stored" in preview.stdout
    assert sorted(_invoice_dates(database, [schedule_id])) == [
        (schedule_id, date(2024, 2, 1)),
        (schedule_id, date(2024, 3, 1)),
    ]


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_tally_serve_bills_on_its_own(tmp_path: Path) -> None:
    """A real server on its own embedded database: a schedule that started last month gets
    its invoices without anyone asking."""
    created = run_tally(
        "accounts", "create", "Shop", "--json", database_url=None, data_dir=tmp_path
    )
    assert created.returncode == 0, created.stderr
    keys = json.loads(created.stdout)
    env = clean_environment(TALLY_DATA_DIR=str(tmp_path), TALLY_BILLING_POLL_SECONDS="0.2")
    with tally_serve(env, cwd=tmp_path) as (base_url, _):
        client = httpx.Client(base_url=base_url, auth=(keys["apiKey"], keys["apiSecret"]))
        customer = _created(
            client.post(
                "/api/customers",
                json=customer_body(),
            )
        )
        product = _created(client.post("/api/products", json={"name": "Platform"}))
        body = {
            "productId": product["id"],
            "name": "Platform",
            "currency": "GBP",
            "billingFrequency": "MONTHLY",
            "billingType": "IN_ADVANCE",
            "structure": {"pricingType": "FIXED", "price": "10.00"},
        }
        price = _created(client.post("/api/prices", json=body))
        start = (datetime.now(UTC).date().replace(day=1) - timedelta(days=1)).replace(day=1)
        _created(
            client.post(
                "/api/billing-schedules",
                json={
                    "customerId": customer["id"],
                    "startDate": start.isoformat(),
                    "phases": [{"priceIds": [price["id"]], "startDate": start.isoformat()}],
                },
            )
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            invoices = client.get("/api/invoices").json()["items"]
            if len(invoices) >= 3:
                break
            time.sleep(0.2)
        statuses = sorted(invoice["status"] for invoice in invoices)
        # Last month's and this month's fees are due (in advance); next month's is upcoming.
        assert statuses == ["DRAFT", "DRAFT", "IN_PROGRESS"]


def test_tally_worker_once_says_what_each_job_did(tmp_path: Path) -> None:
    """A fresh embedded database: every job runs once and finds nothing to do, and the last
    line says so job by job."""
    result = run_tally("worker", "--once", database_url=None, data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        "Worker ran once: 0 schedules billed (0 invoices created, 0 finalized), 0 emails sent, "
        "0 payment reminders queued, 0 credit grants expired, 0 payments collected, "
        "0 payment attempts reconciled, 0 webhooks delivered."
    )


def test_a_failed_job_fails_the_pass(database: Database) -> None:
    """`tally worker --once` exits 1 when a job raised (cron and scripts must see it); the
    other jobs still ran."""

    def broken(_: Database) -> object:
        raise RuntimeError("the SMTP server is gone")

    done = run_once(database, [Job("broken", broken), Job("fine", lambda _: "ok")])
    assert failed_jobs(done) == ["broken"]
    assert done["fine"] == "ok"
    assert failed_jobs(run_once(database, [Job("fine", lambda _: "ok")])) == []
