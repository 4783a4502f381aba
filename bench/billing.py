"""A billing run at scale, on PostgreSQL.

10,000 customers, each on a monthly schedule with 3 usage prices (LINEAR on API calls,
GRADUATED on tokens, PACKAGE on storage), and 10,000,000 usage events in January 2024. The
events are generated inside PostgreSQL and their daily rollups built the way a metric
redefinition rebuilds them (ingestion over HTTP is measured by the metering benchmark).

Prints, from one run:
- the baseline: one plain SQL aggregation of the same usage (one GROUP BY over the raw
  events, all three aggregates at once), median of 3;
- the billing run as of 1 February (10,000 January invoices as DRAFT, 10,000 February ones
  IN_PROGRESS) by two `tally worker` processes sharing the schedules (the machine has two
  cores, as many as the baseline's parallel query uses), and by one process: total time,
  invoices per second, and the ratio to the baseline;
- a second pass of the workers, which recalculates all 20,000 (the scheduler's steady state);
- the one process's memory while billing, every quarter of the run.

`TALLY_BENCH_POSTGRES_URL` names the server (default: the local one); a scratch database is
created and dropped. `TALLY_BENCH_BILLING_EVENTS` scales the events down for a quick look.
"""

import multiprocessing
import os
import statistics
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import UniqueConstraint, delete, func, insert, select, text, update
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex
from tests.support.databases import fresh_postgres_database

from bench.server import resident_memory
from tally import migrations
from tally.accounts.service import create_account
from tally.billing.scheduler import bill_account, bill_due
from tally.db import Database, new_id
from tally.metering import metrics, rollups
from tally.metering.schemas import UsageMetricIn
from tally.models import (
    BillingRun,
    BillingSchedule,
    BillingSchedulePhase,
    Customer,
    CustomerAlias,
    Invoice,
    InvoiceLineItem,
    InvoiceLineItemGroup,
    PhasePrice,
    Price,
    Product,
    ScheduleStatus,
    ScheduleTaxRate,
    UsageMetric,
)
from tally.models.metering import USAGE_EVENTS
from tally.tax.schemas import TaxRateIn
from tally.tax.service import create_tax_rate

SERVER_URL = os.environ.get(
    "TALLY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
EVENTS = int(os.environ.get("TALLY_BENCH_BILLING_EVENTS", "10000000"))
CUSTOMERS = 10_000
CHUNK = 1_000_000  # events generated per statement
INVOICE_DATE = date(2024, 2, 1)
BILLED_AT = datetime(2024, 2, 1, 12, tzinfo=UTC)  # a worker's clock: today is 1 February
WORKERS = 2  # the machine's cores

GENERATE_EVENTS = text(
    """
    INSERT INTO usage_events (id, account_id, customer_event_id, customer_alias, event_type,
                              event_timestamp, properties, received_at)
    SELECT gen_random_uuid(), :account, 'event-' || n,
           'customer-' || lpad((n % :customers)::text, 5, '0'),
           CASE WHEN n % 4 = 0 THEN 'storage' ELSE 'api_call' END,
           timestamptz '2024-01-01 00:00:00+00' + ((n * 7919) % 2678400) * interval '1 second',
           jsonb_build_object('tokens', n % 97, 'bytes', n % 1000),
           now()
    FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS n
    """
)

BARE_AGGREGATION = text(
    """
    SELECT customer_alias,
           count(*) FILTER (WHERE event_type = 'api_call'),
           sum((properties ->> 'tokens')::numeric) FILTER (WHERE event_type = 'api_call'),
           sum((properties ->> 'bytes')::numeric) FILTER (WHERE event_type = 'storage')
    FROM usage_events
    WHERE account_id = :account
      AND event_timestamp >= '2024-01-01 00:00:00+00'
      AND event_timestamp < '2024-02-01 00:00:00+00'
    GROUP BY customer_alias
    """
)


def _metric(session: Any, account: Any, **fields: Any) -> UsageMetric:
    return metrics.create_metric(session, account, UsageMetricIn(**fields))


def _structures(calls: str, tokens: str, storage: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (
            "LINEAR",
            calls,
            {"pricingType": "LINEAR", "usageMetricId": calls, "pricePerUnit": "0.002"},
        ),
        (
            "GRADUATED",
            tokens,
            {
                "pricingType": "GRADUATED",
                "usageMetricId": tokens,
                "usageCalculationMode": "BILLING_PERIOD",
                "tiers": [
                    {"upperBound": "10000", "price": "0.001", "fee": "5.00"},
                    {"upperBound": "50000", "price": "0.0008"},
                    {"price": "0.0005"},
                ],
            },
        ),
        (
            "PACKAGE",
            storage,
            {
                "pricingType": "PACKAGE",
                "usageMetricId": storage,
                "packageSize": "10000",
                "pricePerPackage": "1.50",
            },
        ),
    ]


def _prepare(database: Database) -> str:
    """The account, its catalog and 10,000 customers with schedules; returns the account id."""
    with database.transaction() as session:
        account, _ = create_account(session, "Bench")
        calls = _metric(
            session, account, name="calls", event_type="api_call", aggregation_type="COUNT"
        )
        tokens = _metric(
            session,
            account,
            name="tokens",
            event_type="api_call",
            aggregation_type="SUM",
            aggregation_property="tokens",
        )
        storage = _metric(
            session,
            account,
            name="storage",
            event_type="storage",
            aggregation_type="SUM",
            aggregation_property="bytes",
        )
        product = Product(account_id=account.id, name="Platform")
        session.add(product)
        tax = create_tax_rate(
            session,
            account.id,
            TaxRateIn(
                is_published=True,
                name="VAT",
                invoice_name="VAT",
                invoice_short_name="VAT",
                amount=Decimal("0.2"),
                country="GB",
            ),
        )
        prices = [
            Price(
                account_id=account.id,
                product_id=product.id,
                name=f"{kind.title()} usage",
                currency="GBP",
                billing_frequency="MONTHLY",
                billing_type="IN_ARREARS",
                pricing_type=kind,
                structure=structure,
                usage_metric_id=metric_id,
            )
            for kind, metric_id, structure in _structures(calls.id, tokens.id, storage.id)
        ]
        session.add_all(prices)
        session.flush()
        _customers_and_schedules(session, account.id, [p.id for p in prices], tax.id)
        return account.id


def _customers_and_schedules(
    session: Any, account_id: str, price_ids: list[str], tax_rate_id: str
) -> None:
    address = {"line1": "1 Main St", "town": "London", "postcode": "N1", "country": "GB"}
    customers = [new_id() for _ in range(CUSTOMERS)]
    schedules = [new_id() for _ in range(CUSTOMERS)]
    phases = [new_id() for _ in range(CUSTOMERS)]
    start = date(2024, 1, 1)
    mine = {"account_id": account_id}
    statements: list[tuple[Any, list[dict[str, Any]]]] = [
        (
            insert(Customer),
            [
                {"id": c, **mine, "legal_name": f"Customer {n}", "address": address}
                for n, c in enumerate(customers)
            ],
        ),
        (
            insert(CustomerAlias),
            [
                {**mine, "customer_id": c, "value": f"customer-{n:05}"}
                for n, c in enumerate(customers)
            ],
        ),
        (
            insert(BillingSchedule),
            [
                {
                    "id": s,
                    **mine,
                    "customer_id": c,
                    "status": ScheduleStatus.ACTIVE,
                    "start_date": start,
                    "recurrence_day_of_month": 1,
                }
                for s, c in zip(schedules, customers, strict=True)
            ],
        ),
        (
            insert(BillingSchedulePhase),
            [
                {"id": p, **mine, "billing_schedule_id": s, "start_date": start}
                for p, s in zip(phases, schedules, strict=True)
            ],
        ),
        (
            insert(PhasePrice),
            [
                {"phase_id": p, "position": i, "price_id": price}
                for p in phases
                for i, price in enumerate(price_ids)
            ],
        ),
        (
            insert(ScheduleTaxRate),
            [
                {"billing_schedule_id": s, "price_id": price, "tax_rate_id": tax_rate_id}
                for s in schedules
                for price in price_ids
            ],
        ),
    ]
    for statement, rows in statements:
        session.execute(statement, rows)


def _load_events(database: Database, account_id: str) -> float:
    """Generate the events, then build the secondary indexes and the rollups: a bulk load
    indexes faster after the rows are in than row by row."""
    started = time.perf_counter()
    events = USAGE_EVENTS
    indexes = list(events.indexes)
    uniques = [c for c in events.constraints if isinstance(c, UniqueConstraint)]
    with database.engine.begin() as connection:
        for index in indexes:
            connection.execute(DropIndex(index))
        for constraint in uniques:
            connection.execute(DropConstraint(constraint))
        for first in range(0, EVENTS, CHUNK):
            last = min(first + CHUNK, EVENTS) - 1
            connection.execute(
                GENERATE_EVENTS,
                {"account": account_id, "customers": CUSTOMERS, "first": first, "last": last},
            )
        for constraint in uniques:
            connection.execute(AddConstraint(constraint))
        for index in indexes:
            connection.execute(CreateIndex(index))
    with database.transaction() as session:
        for metric in session.scalars(
            select(UsageMetric).where(UsageMetric.account_id == account_id)
        ):
            rollups.recompute(session, metric, "UTC", None)
    with database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def _bare_aggregation(database: Database, account_id: str) -> list[float]:
    samples = []
    for _ in range(3):
        with database.engine.connect() as connection:
            started = time.perf_counter()
            rows = connection.execute(BARE_AGGREGATION, {"account": account_id}).all()
            samples.append(time.perf_counter() - started)
        assert len(rows) == min(CUSTOMERS, EVENTS), len(rows)
    return samples


def _billed(database: Database, account_id: str) -> tuple[float, Any, list[int]]:
    """Bill the account as of 1 February, sampling this process's memory meanwhile."""
    memory: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.25):
            memory.append(resident_memory(os.getpid()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    report = bill_account(database, account_id, today=INVOICE_DATE)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    return elapsed, report, memory or [resident_memory(os.getpid())]


def _worker(url: str, at: datetime, ready: Any, go: Any, results: Any) -> None:
    """One `tally worker` pass, in its own process: what several workers do together."""
    database = Database(url)
    with database.session(write=False) as session:
        session.execute(select(1))  # connected before the clock starts
    ready.set()
    go.wait()
    report = bill_due(database, now=at)
    database.dispose()
    results.put((time.perf_counter(), report.invoices_created, report.invoices_unchanged))


def _billed_by_workers(url: str, at: datetime) -> tuple[float, int, int]:
    """Wall time for WORKERS processes to bill every schedule together (SKIP LOCKED)."""
    context = multiprocessing.get_context("spawn")
    go, results = context.Event(), context.Queue()
    readies = [context.Event() for _ in range(WORKERS)]
    processes = [
        context.Process(target=_worker, args=(url, at, ready, go, results)) for ready in readies
    ]
    for process in processes:
        process.start()
    for ready in readies:
        ready.wait(timeout=120)
    started = time.perf_counter()
    go.set()
    finished = [results.get(timeout=1800) for _ in processes]
    for process in processes:
        process.join()
    elapsed = max(end for end, _, _ in finished) - started
    return elapsed, sum(c for _, c, _ in finished), sum(u for _, _, u in finished)


def _forget_invoices(database: Database, account_id: str) -> None:
    """Back to before the first run, to bill it again another way."""
    with database.transaction() as session:
        for model in (InvoiceLineItem, InvoiceLineItemGroup, Invoice, BillingRun):
            session.execute(delete(model).where(model.account_id == account_id))
        session.execute(
            update(BillingSchedule)
            .where(BillingSchedule.account_id == account_id)
            .values(billed_at=None)
        )


def _check(database: Database, account_id: str) -> Decimal:
    with database.session(write=False) as session:
        count, gross = session.execute(
            select(func.count(), func.sum(Invoice.gross_total)).where(
                Invoice.account_id == account_id, Invoice.invoice_date == INVOICE_DATE
            )
        ).one()
    assert count == CUSTOMERS, count
    return Decimal(gross)


def _marks(memory: list[int]) -> str:
    quarter = max(1, len(memory) // 4)
    return ", ".join(f"{m / 2**20:.0f}" for m in memory[::quarter])


def main() -> None:
    print(
        f"billing on PostgreSQL: {CUSTOMERS:,} customers x 3 usage prices, "
        f"{EVENTS:,} events in one period"
    )
    with fresh_postgres_database(SERVER_URL) as url:
        database = Database(url)
        migrations.upgrade(database.engine)
        account_id = _prepare(database)
        load_seconds = _load_events(database, account_id)
        bare = _bare_aggregation(database, account_id)
        single, report, memory = _billed(database, account_id)
        gross = _check(database, account_id)
        _forget_invoices(database, account_id)
        together, created, _ = _billed_by_workers(url, BILLED_AT)
        assert _check(database, account_id) == gross
        again, _, unchanged = _billed_by_workers(url, BILLED_AT + timedelta(minutes=10))
        database.dispose()

    baseline = statistics.median(bare)
    invoices = report.invoices_created
    assert created == invoices, (created, invoices)

    def figures(seconds: float, count: int) -> str:
        return (
            f"{count:,} invoices in {seconds:6.2f} s ({count / seconds:,.0f}/s), "
            f"{seconds / baseline:.2f}x the baseline"
        )

    print(f"  setup: events generated and rolled up in {load_seconds:.0f} s (not measured)")
    print(f"  baseline: plain SQL aggregation of the usage:  median {baseline:6.2f} s")
    print(f"  billing run, {WORKERS} worker processes:  {figures(together, invoices)}")
    print(f"  billing run, one process:         {figures(single, invoices)}")
    print(
        f"  billing again, {WORKERS} workers (the scheduler's steady state, "
        f"{unchanged:,} unchanged): {figures(again, unchanged)}"
    )
    print(f"  January invoices: {CUSTOMERS:,}, gross total {gross:,.2f} GBP")
    print(f"  memory of the one process (MiB, every quarter of its run): {_marks(memory)}")


if __name__ == "__main__":
    main()
