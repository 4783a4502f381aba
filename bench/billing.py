"""A billing run at scale, on PostgreSQL.

10,000 customers, each on a monthly schedule with 3 usage prices (LINEAR on API calls,
GRADUATED on tokens, PACKAGE on storage), and 10,000,000 usage events in January 2024. The
events are generated inside PostgreSQL and their daily rollups built the way a metric
redefinition rebuilds them (ingestion over HTTP is measured by the metering benchmark).

Prints, from one run:
- the baseline: one plain SQL aggregation of the same usage (one GROUP BY over the raw
  events, all three aggregates at once), median of 3;
- the billing run as of 1 February (10,000 January invoices as DRAFT, 10,000 February ones
  IN_PROGRESS): total time, invoices per second, and its ratio to the baseline;
- a second run, which recalculates all 20,000 (what the scheduler does as usage arrives);
- the process's memory while billing, every quarter of the run.

`TALLY_BENCH_POSTGRES_URL` names the server (default: the local one); a scratch database is
created and dropped. `TALLY_BENCH_BILLING_EVENTS` scales the events down for a quick look.
"""

import os
import statistics
import threading
import time
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, text
from tests.support.databases import fresh_postgres_database

from bench.server import resident_memory
from tally import migrations
from tally.accounts.service import create_account
from tally.billing.scheduler import bill_account
from tally.db import Database, new_id
from tally.metering import metrics, rollups
from tally.metering.schemas import UsageMetricIn
from tally.models import (
    BillingSchedule,
    BillingSchedulePhase,
    Customer,
    CustomerAlias,
    Invoice,
    PhasePrice,
    Price,
    Product,
    ScheduleStatus,
    ScheduleTaxRate,
    UsageMetric,
)
from tally.tax.schemas import TaxRateIn
from tally.tax.service import create_tax_rate

SERVER_URL = os.environ.get(
    "TALLY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
EVENTS = int(os.environ.get("TALLY_BENCH_BILLING_EVENTS", "10000000"))
CUSTOMERS = 10_000
CHUNK = 1_000_000  # events generated per statement
INVOICE_DATE = date(2024, 2, 1)

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
    started = time.perf_counter()
    with database.engine.begin() as connection:
        for first in range(0, EVENTS, CHUNK):
            last = min(first + CHUNK, EVENTS) - 1
            connection.execute(
                GENERATE_EVENTS,
                {"account": account_id, "customers": CUSTOMERS, "first": first, "last": last},
            )
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
        first, report, memory = _billed(database, account_id)
        gross = _check(database, account_id)
        second, again, _ = _billed(database, account_id)
        database.dispose()

    baseline = statistics.median(bare)
    invoices = report.invoices_created
    print(f"  setup: events generated and rolled up in {load_seconds:.0f} s (not measured)")
    print(f"  baseline: plain SQL aggregation of the usage:  median {baseline:6.2f} s")
    print(
        f"  billing run: {invoices:,} invoices in {first:6.2f} s  "
        f"({invoices / first:,.0f} invoices/s), {first / baseline:.2f}x the baseline"
    )
    print(
        f"  billing again (recalculating {again.invoices_updated:,}): {second:6.2f} s  "
        f"({again.invoices_updated / second:,.0f} invoices/s), {second / baseline:.2f}x"
    )
    print(f"  January invoices: {CUSTOMERS:,}, gross total {gross:,.2f} GBP")
    print(f"  memory while billing (MiB, every quarter of the run): {_marks(memory)}")


if __name__ == "__main__":
    main()
