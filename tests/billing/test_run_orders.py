"""The property behind issue 15: runs for other days never cost an invoice its identity.

Whatever runs came before (backfills for past days, previews of future ones, runs for today,
in any order), the books after a run for today are those a run for today alone makes: the
same invoices per schedule and invoice date, statuses, periods, lines, totals, numbers, issue
and due dates (compared with a twin account set up the same way and billed once: one twin
per auto-issue settings, kept for the test process), and every invoice any run of the
sequence made still has its id. Along the way a backfill deletes,
regresses, issues and rewrites nothing it should not, and a preview leaves no trace.

The clock is the test's: every run is `bill_account(..., now=TODAY_NOON)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tally.billing.scheduler import bill_account
from tally.db import Database
from tally.models import BillingRun, BillingSchedule, Invoice, InvoiceLineItem, InvoiceStatus
from tests.billing.helpers import Merchant
from tests.catalog.price_bodies import linear
from tests.conftest import make_account
from tests.metering.helpers import event, send
from tests.support.api_client import ApiClient

TODAY = date(2024, 6, 20)
NOW = datetime(2024, 6, 20, 12, tzinfo=UTC)  # the accounts' zone is UTC
PAST = [date(2024, 1, 10), date(2024, 2, 15), date(2024, 4, 1), date(2024, 5, 31)]
PAST += [date(2024, 6, 19)]
FUTURE = [date(2024, 6, 21), date(2024, 7, 1), date(2024, 8, 15)]
DAYS = [*PAST, TODAY, *FUTURE]
SCHEDULES = ("arrears", "advance", "quarterly", "ending")
_ORDER = list(InvoiceStatus)  # IN_PROGRESS, DRAFT, FINAL, SENT, VOIDED: the way forward
Key = tuple[str, date]  # schedule name, invoice date


@dataclass
class Books:
    """One account set up for the property: its schedules by name."""

    account_id: str
    schedules: dict[str, str]

    def name(self, schedule_id: str | None) -> str:
        return next(name for name, sid in self.schedules.items() if sid == schedule_id)


def _set_up(http: TestClient, database: Database, auto_issue: dict[str, bool]) -> Books:
    credentials = make_account(database)
    api = ApiClient(http, (credentials.api_key, credentials.api_secret))
    merchant = Merchant(api)
    calls = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    platform = merchant.price({"pricingType": "FIXED", "price": "100.00"}, name="Platform")
    usage = merchant.price(linear(calls, pricePerUnit="0.50"), name="Calls")
    support = merchant.price(
        {"pricingType": "FIXED", "price": "40.00"}, name="Support", billingType="IN_ADVANCE"
    )
    quarterly = merchant.price(
        {"pricingType": "FIXED", "price": "300.00"}, name="Audit", billingFrequency="QUARTERLY"
    )
    metered, advance, ending = (merchant.customer(n) for n in ("Metered", "Advance", "Ending"))
    shapes: dict[str, tuple[str, list[str], str, str | None]] = {
        "arrears": (metered, [platform, usage], "2024-01-01", None),
        "advance": (advance, [support], "2024-02-10", None),
        "quarterly": (metered, [quarterly], "2024-01-01", None),
        "ending": (ending, [platform, usage], "2024-01-15", "2024-04-30"),
    }
    schedules = {
        name: merchant.schedule(customer, prices, start, end, autoIssueInvoices=auto_issue[name])[
            "id"
        ]
        for name, (customer, prices, start, end) in shapes.items()
    }
    days = ["01-05", "02-20", "03-03", "04-15", "05-30", "06-10"]
    send(
        api,
        *(event(metered, f"2024-{day}T09:00:00Z") for day in days),
        *(event(ending, f"2024-{day}T09:00:00Z") for day in days[1:4]),
    )
    return Books(credentials.account_id, schedules)


def _books(database: Database, books: Books) -> tuple[dict[Key, Any], dict[Key, Any]]:
    """(what the property compares, per (schedule, invoice date); and the invoices' ids and
    moments of writing, which the twin cannot share)."""
    with database.session(write=False) as session:
        invoices = session.execute(
            select(Invoice).where(Invoice.account_id == books.account_id)
        ).scalars()
        rows = {
            invoice.id: (
                (books.name(invoice.billing_schedule_id), invoice.invoice_date),
                (
                    invoice.status,
                    invoice.billing_period_start,
                    invoice.billing_period_end,
                    invoice.net_total,
                    invoice.total_tax,
                    invoice.gross_total,
                    invoice.invoice_number,
                    invoice.issue_date,
                    invoice.due_date,
                ),
                (invoice.id, invoice.updated_at, invoice.calculated_at),
            )
            for invoice in invoices
        }
        lines: dict[str, list[tuple[Any, ...]]] = {invoice_id: [] for invoice_id in rows}
        for line in session.scalars(
            select(InvoiceLineItem)
            .where(InvoiceLineItem.account_id == books.account_id)
            .order_by(InvoiceLineItem.invoice_id, InvoiceLineItem.index)
        ):
            lines[line.invoice_id].append(
                (
                    line.kind,
                    line.title,
                    line.quantity,
                    line.rate,
                    line.net_total,
                    line.total_tax,
                    line.gross_total,
                    line.service_period_start,
                    line.service_period_end,
                )
            )
    state = {key: (*fields, tuple(lines[i])) for i, (key, fields, _) in rows.items()}
    written = {key: written for _, (key, _, written) in rows.items()}
    assert len(state) == len(rows)  # one invoice per schedule and invoice date
    return state, written


def _schedules(database: Database, books: Books) -> dict[str, tuple[Any, ...]]:
    with database.session(write=False) as session:
        rows = session.execute(
            select(BillingSchedule.id, BillingSchedule.status, BillingSchedule.billed_at).where(
                BillingSchedule.account_id == books.account_id
            )
        ).all()
        runs = session.scalars(
            select(BillingRun.id).where(BillingRun.account_id == books.account_id)
        ).all()
    return {
        **{books.name(row.id): (row.status, row.billed_at) for row in rows},
        "runs": tuple(sorted(runs)),
    }


# The twin's books, per auto-issue settings: a twin depends on nothing else (its own account,
# the same set-up, one run for today), so one per settings serves every example of this
# process's database; most examples repeat settings, and setting up a twin was half of each.
_TWINS: dict[tuple[bool, ...], tuple[dict[Key, Any], dict[str, Any]]] = {}


def _today_alone(
    http: TestClient, database: Database, auto_issue: dict[str, bool]
) -> tuple[dict[Key, Any], dict[str, Any]]:
    """(The books of a twin set up like the test's account and billed once, for today; its
    schedules' statuses by name.)"""
    key = tuple(auto_issue[name] for name in SCHEDULES)
    if key not in _TWINS:
        twin = _set_up(http, database, auto_issue)
        bill_account(database, twin.account_id, now=NOW)
        alone, _ = _books(database, twin)
        statuses = {k: v[0] for k, v in _schedules(database, twin).items() if k != "runs"}
        _TWINS[key] = (alone, statuses)
    return _TWINS[key]


def _check_backfill(day: date, before: dict[Key, Any], after: dict[Key, Any]) -> None:
    """Filled in up to `day`; nothing removed, regressed or issued; later invoices untouched."""
    assert before.keys() <= after.keys()
    for key, fields in after.items():
        if key not in before:
            assert key[1] <= day and fields[0] is InvoiceStatus.DRAFT
            continue
        assert _ORDER.index(fields[0]) >= _ORDER.index(before[key][0]), key
        if key[1] > day or before[key][0] not in (InvoiceStatus.DRAFT, InvoiceStatus.IN_PROGRESS):
            assert fields == before[key], key


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    runs=st.lists(st.sampled_from(DAYS), min_size=1, max_size=5),
    auto_issue=st.fixed_dictionaries({name: st.booleans() for name in SCHEDULES}),
)
@example(  # the issue: billed to today, then for-date a past day, twice
    runs=[TODAY, date(2024, 2, 15), date(2024, 2, 15)],
    auto_issue={"arrears": False, "advance": True, "quarterly": True, "ending": False},
)
@example(  # backfills up to today, a preview in between, all auto-issued
    runs=[date(2024, 1, 10), date(2024, 8, 15), date(2024, 4, 1), date(2024, 6, 19)],
    auto_issue=dict.fromkeys(SCHEDULES, True),
)
@example(  # a preview first, a backfill after the future date's
    runs=[date(2024, 7, 1), TODAY, date(2024, 5, 31), date(2024, 6, 21)],
    auto_issue=dict.fromkeys(SCHEDULES, False),
)
def test_the_books_after_any_runs_then_today_are_those_of_today_alone(
    http: TestClient, database: Database, runs: list[date], auto_issue: dict[str, bool]
) -> None:
    books = _set_up(http, database, auto_issue)
    seen: dict[Key, str] = {}  # every invoice id any run of the sequence left

    for day in runs:
        before, written_before = _books(database, books)
        schedules_before = _schedules(database, books)
        report = bill_account(database, books.account_id, today=day, now=NOW)
        after, written = _books(database, books)
        assert not report.failed_schedules
        if day > TODAY:  # a preview: answered, and nothing left of it
            assert report.preview
            assert (after, written) == (before, written_before)
            assert _schedules(database, books) == schedules_before
            continue
        assert not report.preview and not report.previewed
        if day < TODAY:
            assert (report.invoices_deleted, report.invoices_finalized) == (0, 0)
            _check_backfill(day, before, after)
            later = {k: w for k, w in written_before.items() if k[1] > day}
            assert {k: written[k] for k in later} == later  # not even rewritten
            assert {k: v for k, v in _schedules(database, books).items() if k != "runs"} == {
                k: v for k, v in schedules_before.items() if k != "runs"
            }  # not marked billed
        for key, (invoice_id, _, _) in written.items():
            assert seen.setdefault(key, invoice_id) == invoice_id, key

    bill_account(database, books.account_id, now=NOW)

    final, written = _books(database, books)
    alone, twin_statuses = _today_alone(http, database, auto_issue)
    assert final == alone
    assert seen.keys() <= written.keys()  # none gone
    assert {k: written[k][0] for k in seen} == seen  # none re-created
    assert {k: v[0] for k, v in _schedules(database, books).items() if k != "runs"} == twin_statuses
