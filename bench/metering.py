"""Usage ingestion and aggregation at scale, on PostgreSQL.

Prints, from one run:
- HTTP ingestion throughput of `POST /api/usage-events/batch` (a real `tally serve`, a
  client in another process), next to a bare COPY of the same rows into a table with the same
  keys and indexes, measured in the same run: the baseline;
- the time of `calculate` for one customer with 1,000,000 events in the period, and of the
  grouped aggregation over 10,000 customers a billing run needs;
- the server's memory as the event count grows.

`TALLY_BENCH_POSTGRES_URL` names the server (default: the local one); a scratch database is
created on it and dropped afterwards. `TALLY_BENCH_HOT_EVENTS` scales the run down for a quick
look (default 1,000,000).
"""

import asyncio
import multiprocessing
import os
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import msgspec
import psycopg
from sqlalchemy import func, insert, make_url, select
from tests.support.databases import fresh_postgres_database

from bench import cpu
from bench.server import resident_memory, serving
from tally import migrations
from tally.accounts.service import create_account
from tally.db import Database, new_id
from tally.metering import metrics, partitions, queries
from tally.metering.schemas import UsageMetricIn
from tally.models import Customer, CustomerAlias, UsageEvent, UsageMetric

SERVER_URL = os.environ.get(
    "TALLY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
HOT_EVENTS = int(os.environ.get("TALLY_BENCH_HOT_EVENTS", "1000000"))
CUSTOMERS = 10_000
EVENTS_PER_CUSTOMER = 20
BATCH = 1000
CLIENT_CONNECTIONS = 4
SERVER_WORKERS = 2
JANUARY = (date(2024, 1, 1), date(2024, 1, 31))
_START = datetime(2024, 1, 1, tzinfo=UTC)
_SECONDS_IN_JANUARY = 31 * 24 * 3600


def _event(number: int) -> dict[str, Any]:
    """Event `number`: the first HOT_EVENTS belong to one customer, the rest to 10,000."""
    if number < HOT_EVENTS:
        alias = "hot-customer"
    else:
        alias = f"customer-{(number - HOT_EVENTS) % CUSTOMERS:05}"
    at = _START + timedelta(seconds=(number * 7919) % _SECONDS_IN_JANUARY)
    return {
        "customerAlias": alias,
        "eventType": "api_call",
        "customerEventId": f"event-{number}",
        "eventTimestamp": at.isoformat().replace("+00:00", "Z"),
        "eventProperties": {"endpoint": "/v1/items", "tokens": number % 97, "region": "eu"},
    }


def _total_events() -> int:
    return HOT_EVENTS + CUSTOMERS * EVENTS_PER_CUSTOMER


def _bodies() -> Iterator[bytes]:
    encoder = msgspec.json.Encoder()
    total = _total_events()
    for start in range(0, total, BATCH):
        numbers = range(start, min(start + BATCH, total))
        yield encoder.encode({"events": [_event(n) for n in numbers]})


def _client(base_url: str, auth: tuple[str, str], results: Any) -> None:
    """Runs in its own process: send every batch over HTTP, report the elapsed time."""
    bodies = list(_bodies())  # rendered before the clock starts

    async def send_all() -> float:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)
        limits = httpx.Limits(max_connections=CLIENT_CONNECTIONS)
        async with httpx.AsyncClient(
            base_url=base_url, auth=auth, timeout=120, limits=limits
        ) as client:

            async def worker() -> None:
                while not queue.empty():
                    body = queue.get_nowait()
                    response = await client.post(
                        "/api/usage-events/batch",
                        content=body,
                        headers={"Content-Type": "application/json"},
                    )
                    assert response.status_code == 200, response.text[:500]
                    assert response.json()["rejected"] == 0

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(CLIENT_CONNECTIONS)))
            return time.perf_counter() - started

    cpu_before = time.process_time()
    elapsed = asyncio.run(send_all())
    results.put((elapsed, time.process_time() - cpu_before))


def _copy_baseline(url: str) -> tuple[float, float]:
    """Seconds, and PostgreSQL's CPU seconds, for one COPY of the same rows into a table like
    usage_events (same keys)."""
    account = "00000000-0000-7000-8000-000000000000"
    received = _START.isoformat()
    lines = []
    for number in range(_total_events()):
        event = _event(number)
        properties = msgspec.json.encode(event["eventProperties"]).decode()
        lines.append(
            f"{new_id()}\t{account}\t{event['customerEventId']}\t{event['customerAlias']}\t"
            f"{event['eventType']}\t{event['eventTimestamp']}\t{properties}\t{received}\n"
        )
    payload = "".join(lines).encode()
    with psycopg.connect(url.replace("+psycopg", "")) as connection:
        connection.execute("CREATE TABLE copy_baseline (LIKE usage_events INCLUDING ALL)")
        # The idempotency key, which Tally keeps in `usage_event_keys` since usage_events is
        # partitioned: the baseline keeps the same work it measured before.
        connection.execute("ALTER TABLE copy_baseline ADD UNIQUE (account_id, customer_event_id)")
        connection.commit()
        database_name = make_url(url).database or ""
        started, postgres_cpu = time.perf_counter(), cpu.postgres_seconds(database_name)
        with connection.cursor() as cursor, cursor.copy("COPY copy_baseline FROM STDIN") as copy:
            for offset in range(0, len(payload), 1 << 20):
                copy.write(payload[offset : offset + (1 << 20)])
        connection.commit()
        return time.perf_counter() - started, cpu.postgres_seconds(database_name) - postgres_cpu


def _prepare(database: Database) -> tuple[tuple[str, str], UsageMetric]:
    with database.transaction() as session:
        # January 2024's partition, as the worker would have made it ahead of time.
        partitions.ensure_ahead(session, JANUARY[0], ahead=0)
        account, credentials = create_account(session, "Bench")
        count = metrics.create_metric(
            session,
            account,
            UsageMetricIn(name="calls", event_type="api_call", aggregation_type="COUNT"),
        )
        metrics.create_metric(
            session,
            account,
            UsageMetricIn(
                name="tokens",
                event_type="api_call",
                aggregation_type="SUM",
                aggregation_property="tokens",
            ),
        )
        ids = [new_id() for _ in range(CUSTOMERS + 1)]
        address = {"line1": "1 Main St", "town": "London", "postcode": "N1", "country": "GB"}
        session.execute(
            insert(Customer),
            [
                {
                    "id": i,
                    "account_id": account.id,
                    "legal_name": f"Customer {n}",
                    "address": address,
                }
                for n, i in enumerate(ids)
            ],
        )
        aliases = [f"customer-{n:05}" for n in range(CUSTOMERS)] + ["hot-customer"]
        session.execute(
            insert(CustomerAlias),
            [
                {"account_id": account.id, "customer_id": i, "value": a}
                for i, a in zip(ids, aliases, strict=True)
            ],
        )
    return (credentials.api_key, credentials.api_secret), count


def _timed(call: Any, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _ms(samples: list[float]) -> str:
    return f"median {statistics.median(samples):7.1f} ms   max {max(samples):7.1f} ms"


def main() -> None:
    total = _total_events()
    print(
        f"metering on PostgreSQL: {total:,} events ({HOT_EVENTS:,} for one customer, "
        f"{CUSTOMERS * EVENTS_PER_CUSTOMER:,} over {CUSTOMERS:,} customers), batches of {BATCH}"
    )
    with fresh_postgres_database(SERVER_URL) as url:
        database_name = make_url(url).database or ""
        database = Database(url)
        migrations.upgrade(database.engine)
        auth, count = _prepare(database)
        with serving(auth, url, workers=SERVER_WORKERS) as server:
            context = multiprocessing.get_context("spawn")
            results = context.Queue()
            client = context.Process(target=_client, args=(server.base_url, auth, results))
            memory = [resident_memory(server.pid)]
            client.start()
            server_cpu, postgres_cpu = (
                cpu.tree_seconds(server.pid),
                cpu.postgres_seconds(database_name),
            )
            while client.is_alive():
                client.join(timeout=1)
                memory.append(resident_memory(server.pid))
            server_cpu = cpu.tree_seconds(server.pid) - server_cpu
            postgres_cpu = cpu.postgres_seconds(database_name) - postgres_cpu
            elapsed, client_cpu = results.get(timeout=10)
            with database.session(write=False) as session:
                stored = session.scalar(select(func.count()).select_from(UsageEvent))
            assert stored == total, f"{stored} events stored, {total} sent"

            params = {
                "customerAliases": "hot-customer",
                "periodStart": "2024-01-01",
                "periodEnd": "2024-01-31",
            }
            with httpx.Client(base_url=server.base_url, auth=auth) as http:
                answer = http.get(f"/api/usage-metrics/{count.id}/calculate", params=params).json()
                assert answer["value"] == HOT_EVENTS, answer
                calculate_http = _timed(
                    lambda: http.get(f"/api/usage-metrics/{count.id}/calculate", params=params), 30
                )
        with database.session(write=False) as session:
            grouped = queries.totals_by_customer(session, count, *JANUARY)
            assert len(grouped) == CUSTOMERS + 1
            grouped_times = _timed(lambda: queries.totals_by_customer(session, count, *JANUARY), 5)
        database.dispose()
        copy_seconds, copy_cpu = _copy_baseline(url)

    http_rate = total / elapsed
    copy_rate = total / copy_seconds
    print(
        f"  ingestion over HTTP ({SERVER_WORKERS} workers, {CLIENT_CONNECTIONS} connections): "
        f"{http_rate:10,.0f} events/s  ({elapsed:.1f} s)"
    )
    copy_figure = f"{copy_rate:10,.0f} rows/s    ({copy_seconds:.1f} s)"
    print(f"  baseline: one COPY of the same rows:   {copy_figure}")
    print(f"  ratio HTTP / COPY:                     {http_rate / copy_rate:10.0%}")
    per_event = ", ".join(
        f"{name} {seconds / total * 1e6:.1f}"
        for name, seconds in (
            ("tally serve", server_cpu),
            ("PostgreSQL", postgres_cpu),
            ("client", client_cpu),
        )
    )
    print(f"  CPU per event over HTTP (microseconds): {per_event}")
    print(f"  PostgreSQL CPU per row of the COPY:     {copy_cpu / total * 1e6:.1f} microseconds")
    print(f"  calculate, 1 customer, {HOT_EVENTS:,} events (HTTP): {_ms(calculate_http)}")
    print(f"  grouped usage of {CUSTOMERS + 1:,} customers (in process): {_ms(grouped_times)}")
    quarter = max(1, len(memory) // 4)
    marks = ", ".join(f"{m / 2**20:.0f}" for m in memory[::quarter])
    print(
        f"  server memory (MiB, every quarter of the run): {marks}; peak {max(memory) / 2**20:.0f}"
    )


if __name__ == "__main__":
    main()
