"""Crash safety of billing: `tally worker` killed with SIGKILL in the middle of billing passes,
at different moments, then started again, leaves the books as one uninterrupted pass leaves
them: one invoice per schedule and period, invoice numbers 1..N with no gap or repeat, every
credit spent once, one email queued per issued invoice.

PostgreSQL only: a killed worker leaves its transaction open on the server, holding row locks
until the server notices the connection gone and rolls it back. That is PostgreSQL's behaviour
to prove; on SQLite one writer at a time never leaves such a state."""

from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, make_url, select, text
from sqlalchemy.orm import Session

from tally.billing.scheduler import bill_due
from tally.db import Database
from tally.models import (
    Account,
    BillingSchedule,
    CreditGrant,
    CreditLedgerEntry,
    CreditUnitType,
    EmailMessage,
    Invoice,
    InvoiceLineItem,
    InvoiceStatus,
    LedgerEntryType,
    LineKind,
)
from tests.ops.billing_setup import BillingBook, open_books, twin_database
from tests.ops.conftest import scratch_database
from tests.ops.processes import Running, json_lines, running, until, until_gone
from tests.support.databases import postgres_server_url
from tests.support.serving import clean_environment

pytestmark = pytest.mark.skipif(
    postgres_server_url() is None,
    reason="crash safety is proven on PostgreSQL (set TALLY_TEST_DATABASE_URL): killed workers "
    "leave server-side transactions behind, which SQLite's single writer never does",
)

CUSTOMERS = 48
BATCH = 3  # schedules per transaction: 16 commits a pass, so kills land between and within
ISSUED = (InvoiceStatus.FINAL, InvoiceStatus.SENT)


def _worker_env(database: Database, data_dir: Path, name: str) -> dict[str, str]:
    # Its own application_name, to find its server connections and what they hold.
    url = make_url(database.url).update_query_dict({"application_name": name})
    return clean_environment(
        TALLY_DATABASE_URL=url.render_as_string(hide_password=False),
        TALLY_DATA_DIR=str(data_dir),
        TALLY_LOG_LEVEL="debug",
        TALLY_BILLING_BATCH_SIZE=str(BATCH),
        TALLY_BILLING_POLL_SECONDS="0.5",
    )


def _scalar(database: Database, query: str, worker: str = "") -> int:
    with database.session(write=False) as session:
        return int(session.scalar(text(query), {"worker": worker}) or 0)


def _issued(database: Database) -> int:
    return _scalar(database, "SELECT count(*) FROM invoices WHERE invoice_number IS NOT NULL")


def _writing(database: Database, worker: str) -> set[str]:
    """The tables the worker's open transaction has written to (and not committed)."""
    with database.session(write=False) as session:
        return set(
            session.scalars(
                text(
                    "SELECT l.relation::regclass::text FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE a.application_name = :worker AND a.datname = current_database() "
                    "AND l.mode = 'RowExclusiveLock' AND l.relation IS NOT NULL"
                ),
                {"worker": worker},
            )
        )


def _connections(database: Database, worker: str) -> int:
    return _scalar(
        database,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = :worker "
        "AND datname = current_database()",
        worker,
    )


def _whole_schedules(database: Database, book: BillingBook) -> int:
    """What any moment may show: each schedule wholly billed (all its periods issued, marked
    billed) or not at all, and numbers 1..n. Returns n, the invoices issued."""
    account_id = book.account.account_id
    with database.session(write=False) as session:
        # One snapshot for every read: other workers may be committing meanwhile.
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        invoices = Counter(
            session.scalars(
                select(Invoice.billing_schedule_id).where(Invoice.account_id == account_id)
            )
        )
        billed = {
            schedule_id
            for schedule_id, billed_at in session.execute(
                select(BillingSchedule.id, BillingSchedule.billed_at).where(
                    BillingSchedule.account_id == account_id
                )
            )
            if billed_at is not None
        }
        issued = session.execute(
            select(Invoice.status, func.count())
            .where(Invoice.account_id == account_id)
            .group_by(Invoice.status)
        ).all()
        numbers = _numbers(session, account_id)
    assert set(invoices.values()) <= {book.months}, invoices  # never half a schedule
    assert billed == set(invoices), (billed, invoices)
    assert {status for status, _ in issued} <= {InvoiceStatus.SENT}, issued
    count = sum(invoices.values())
    assert numbers == list(range(1, count + 1))
    return count


def _numbers(session: Session, account_id: str) -> list[int]:
    """The account's invoice numbers without its prefix, in order (repeats kept)."""
    prefix = session.scalar(select(Account.invoice_number_prefix).where(Account.id == account_id))
    numbers = [
        number
        for number in session.scalars(
            select(Invoice.invoice_number).where(Invoice.account_id == account_id)
        )
        if number is not None
    ]
    assert prefix is not None
    assert all(number.startswith(prefix) for number in numbers), numbers
    return sorted(int(number.removeprefix(prefix)) for number in numbers)


@dataclass(frozen=True)
class Kill:
    worker: str
    moment: str
    issued: int  # invoices committed once the killed worker's transaction was gone


# When a worker is killed: (what it was doing, has that moment come? given the worker's
# connection name and its log).
Moment = tuple[str, Callable[[Database, str, str], bool]]
MOMENTS: list[Moment] = [
    (
        "billing started, nothing written yet",
        lambda db, worker, log: (
            "background job billing started" in log and not _writing(db, worker)
        ),
    ),
    (
        "invoices of a batch written, not yet numbered (after other batches committed)",
        lambda db, worker, _: (
            _issued(db) > 0
            and {"invoices", "invoice_line_items"} <= (tables := _writing(db, worker))
            and "number_sequences" not in tables
        ),
    ),
    (
        "numbers taken and credits debited, not committed",
        lambda db, worker, _: {"number_sequences", "credit_ledger_entries"} <= _writing(db, worker),
    ),
]


def _kill_at(
    database: Database, book: BillingBook, worker: Running, name: str, moment: Moment
) -> Kill:
    """SIGKILL the worker once its moment comes (billing still under way), then wait for its
    server connections to go: what they were writing is rolled back."""

    def come() -> bool:
        assert _issued(database) < book.invoices_due, f"the pass ended before {moment[0]}"
        return moment[1](database, name, worker.log)

    # A moment inside one batch's transaction lasts milliseconds: look for it without a pause.
    until(come, worker, timeout=90, every=0.002)
    worker.process.kill()
    assert worker.process.wait(timeout=30) == -9
    # The server notices the killed client's socket a moment later; the process is gone already.
    until_gone(lambda: _connections(database, name) == 0, f"{name}'s connections")
    return Kill(name, moment[0], _whole_schedules(database, book))


def _book_of_invoices(
    database: Database, account_id: str
) -> dict[tuple[Any, Any], tuple[Any, ...]]:
    """Each invoice by (schedule, period start): status, dates, totals, and its credit lines
    (grant, quantity, net)."""
    with database.session(write=False) as session:
        invoices = session.execute(
            select(
                Invoice.id,
                Invoice.billing_schedule_id,
                Invoice.billing_period_start,
                Invoice.billing_period_end,
                Invoice.invoice_date,
                Invoice.status,
                Invoice.net_total,
                Invoice.total_tax,
                Invoice.gross_total,
                Invoice.balance,
            ).where(Invoice.account_id == account_id)
        ).all()
        credit_lines = session.execute(
            select(
                InvoiceLineItem.invoice_id,
                InvoiceLineItem.credit_grant_id,
                InvoiceLineItem.quantity,
                InvoiceLineItem.net_total,
            ).where(
                InvoiceLineItem.account_id == account_id, InvoiceLineItem.kind == LineKind.CREDIT
            )
        ).all()
    credits: dict[str, list[tuple[Any, ...]]] = {}
    for invoice_id, *line in credit_lines:
        credits.setdefault(invoice_id, []).append(tuple(line))
    book: dict[tuple[Any, Any], tuple[Any, ...]] = {}
    for invoice_id, schedule_id, start, *rest in invoices:
        assert (schedule_id, start) not in book, f"two invoices of {schedule_id} for {start}"
        book[schedule_id, start] = (*rest, tuple(sorted(credits.get(invoice_id, []))))
    return book


def _check_credits(database: Database, book: BillingBook) -> Decimal:
    """Every grant spent exactly once: its ledger balance is what it granted less what the
    CREDIT lines of issued invoices took, each (invoice, grant) debited once and by exactly
    that, nothing below zero. Returns the credits spent."""
    account_id = book.account.account_id
    with database.session(write=False) as session:
        types = dict(
            session.execute(
                select(CreditGrant.id, CreditGrant.credit_unit_type).where(
                    CreditGrant.account_id == account_id
                )
            ).all()
        )
        lines = session.execute(
            select(
                InvoiceLineItem.invoice_id,
                InvoiceLineItem.credit_grant_id,
                InvoiceLineItem.quantity,
                InvoiceLineItem.net_total,
                Invoice.status,
            )
            .join(Invoice, Invoice.id == InvoiceLineItem.invoice_id)
            .where(
                InvoiceLineItem.account_id == account_id, InvoiceLineItem.kind == LineKind.CREDIT
            )
        ).all()
        entries = session.execute(
            select(
                CreditLedgerEntry.grant_id,
                CreditLedgerEntry.entry_type,
                CreditLedgerEntry.invoice_id,
                CreditLedgerEntry.amount,
            ).where(CreditLedgerEntry.account_id == account_id)
        ).all()
    assert set(types) == set(book.grants)
    taken: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for invoice_id, grant_id, quantity, net, status in lines:
        assert status in ISSUED, status  # every invoice is issued: no credit left projected
        assert grant_id is not None  # billing's credit lines name their grant
        credits = quantity if types[grant_id] is CreditUnitType.METRIC else -net
        assert credits > 0
        taken[invoice_id, grant_id] += credits
    debits = [
        (invoice_id, grant_id, -amount)
        for grant_id, kind, invoice_id, amount in entries
        if kind is LedgerEntryType.DEBIT
    ]
    debited = Counter((invoice_id, grant_id) for invoice_id, grant_id, _ in debits)
    assert max(debited.values()) == 1, [key for key, n in debited.items() if n > 1]
    assert {(i, g): credits for i, g, credits in debits} == dict(taken)
    assert {kind for _, kind, _, _ in entries} == {LedgerEntryType.GRANT, LedgerEntryType.DEBIT}
    for grant_id, granted in book.grants.items():
        balance = sum((amount for g, _, _, amount in entries if g == grant_id), Decimal(0))
        spent = sum((c for (_, g), c in taken.items() if g == grant_id), Decimal(0))
        assert balance == granted - spent
        # A year of invoices costs more than any grant: each is spent whole, never beyond.
        assert balance == 0, (grant_id, granted, spent)
    return sum(taken.values(), Decimal(0))


def _check_emails(database: Database, account_id: str) -> int:
    """One invoice email queued per issued invoice, naming it."""
    with database.session(write=False) as session:
        attachments = session.scalars(
            select(EmailMessage.attachments).where(
                EmailMessage.account_id == account_id, EmailMessage.kind == "INVOICE"
            )
        ).all()
        issued = set(
            session.scalars(
                select(Invoice.id).where(
                    Invoice.account_id == account_id, Invoice.status.in_(ISSUED)
                )
            )
        )
    named = Counter(item["id"] for items in attachments for item in items)
    assert len(attachments) == len(issued)
    assert set(named) == issued and set(named.values()) == {1}
    return len(attachments)


def _messages(worker: Running) -> list[dict[str, Any]]:
    """The worker's log lines; a SIGKILL may cut the last one short."""
    log = worker.log
    return json_lines(log[: log.rfind("\n") + 1])


def test_workers_killed_mid_billing_leave_the_books_of_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    with scratch_database(tmp_path) as scratch:
        book = open_books(scratch, tmp_path, CUSTOMERS)
        account_id = book.account.account_id
        # The same books billed in one uninterrupted pass, meanwhile (while the first worker
        # starts up): what the killed workers must reach.
        with twin_database(scratch) as control, ThreadPoolExecutor(1) as background:
            uninterrupted = background.submit(bill_due, control, batch=BATCH)
            # Killed at one moment after another, each time started again; then one finishes.
            kills: list[Kill] = []
            workers: list[Running] = []
            for n, moment in enumerate([*MOMENTS, None]):
                name = f"crash-worker-{n}"
                with running(["worker"], _worker_env(scratch, tmp_path, name), tmp_path) as worker:
                    workers.append(worker)
                    if moment is not None:
                        kills.append(_kill_at(scratch, book, worker, name, moment))
                        continue
                    until(lambda: _issued(scratch) == book.invoices_due, worker, timeout=120)
                    worker.wait_for_log("background job billing:", timeout=60)
                    # Then its email pass renders hundreds of PDFs: `running` kills it on
                    # leaving (delivery is at-least-once by design; the queue is checked).
            assert not uninterrupted.result().failed_schedules
            expected = _book_of_invoices(control, account_id)
        assert len(expected) == book.invoices_due  # one per schedule and month
        finished = _whole_schedules(scratch, book)
        crashed = _book_of_invoices(scratch, account_id)
        spent = _check_credits(scratch, book)
        emails = _check_emails(scratch, account_id)

    print(f"kills: {kills}; invoices: {finished}; emails: {emails}")
    # The kills landed mid-run: some before any commit, some after.
    assert [kill.issued < book.invoices_due for kill in kills] == [True] * len(MOMENTS)
    assert kills[-1].issued > 0, kills
    assert finished == book.invoices_due
    assert crashed == expected  # the same invoices, totals and credit lines as without kills
    assert spent == sum(book.grants.values())
    assert emails == book.invoices_due
    for worker in workers:
        assert not [line for line in _messages(worker) if line["level"] == "error"], worker.log
    report_line = next(
        line["message"]
        for line in _messages(workers[-1])
        if line["message"].startswith("background job billing:")
    )
    assert "failed_schedules=[]" in report_line, report_line
