"""Usage ingestion and aggregation at scale, on PostgreSQL.

One `tally serve` with its default settings (one process) and a client in another process
(4 connections, httpx), on a scratch database. Prints, from one run:
- HTTP ingestion throughput of `POST /api/usage-events/batch` in batches of 1,000 (1,000,000
  events for one customer, 200,000 over 10,000 customers) and of 100 (200,000 events over
  the 10,000 customers), each next to a bare COPY of the same rows into a table with the same
  keys and indexes, measured in the same run: the baseline (target: at least half its rate);
  with the CPU each part used per event (server, PostgreSQL's backends, client);
- the server's memory over a sustained stretch of ingestion at full speed (batches of 1,000
  and 100 in turn; 10 minutes by default): sampled along, with the growth and fitted slopes;
- the time of `calculate` for the customer with 1,000,000 events in the period, and of the
  grouped aggregation over 10,000 customers a billing run needs.

`TALLY_BENCH_POSTGRES_URL` names the server (default: the local one); a scratch database is
created on it and dropped afterwards. Smaller runs: `TALLY_BENCH_HOT_EVENTS` (default
1,000,000), `TALLY_BENCH_SMALL_BATCH_EVENTS` (200,000), `TALLY_BENCH_INGEST_SECONDS` (600).
"""

import asyncio
import itertools
import multiprocessing
import os
import statistics
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import msgspec
import psycopg
from sqlalchemy import func, insert, make_url, select
from tests.support.databases import fresh_postgres_database

from bench import cpu
from bench.server import Server, resident_memory, serving
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
SMALL_BATCH_EVENTS = int(os.environ.get("TALLY_BENCH_SMALL_BATCH_EVENTS", "200000"))
SUSTAINED_SECONDS = float(os.environ.get("TALLY_BENCH_INGEST_SECONDS", "600"))
CUSTOMERS = 10_000
EVENTS_PER_CUSTOMER = 20
CLIENT_CONNECTIONS = 4
TARGET_RATIO = 0.5
JANUARY = (date(2024, 1, 1), date(2024, 1, 31))
_START = datetime(2024, 1, 1, tzinfo=UTC)
_SECONDS_IN_JANUARY = 31 * 24 * 3600


@dataclass(frozen=True)
class Phase:
    """Events `first` to `first + count` (see `_event`), sent in batches of `batch`."""

    name: str
    first: int
    count: int
    batch: int

    def numbers(self) -> range:
        return range(self.first, self.first + self.count)


def _phases() -> list[Phase]:
    large = Phase("batches of 1,000", 0, HOT_EVENTS + CUSTOMERS * EVENTS_PER_CUSTOMER, 1000)
    small = Phase("batches of 100", large.count, SMALL_BATCH_EVENTS, 100)
    return [large, small]


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


_encoder = msgspec.json.Encoder()


def _body(numbers: Iterable[int]) -> bytes:
    return _encoder.encode({"events": [_event(n) for n in numbers]})


def _bodies(phase: Phase) -> list[bytes]:
    numbers = phase.numbers()
    return [_body(numbers[at : at + phase.batch]) for at in range(0, phase.count, phase.batch)]


async def _post_all(base_url: str, auth: tuple[str, str], bodies: Iterator[bytes]) -> int:
    """Send every body over CLIENT_CONNECTIONS connections; the events acknowledged."""
    acknowledged = 0
    limits = httpx.Limits(max_connections=CLIENT_CONNECTIONS)
    async with httpx.AsyncClient(
        base_url=base_url, auth=auth, timeout=120, limits=limits
    ) as client:

        async def connection() -> None:
            nonlocal acknowledged
            for body in bodies:  # shared: each connection takes the next body
                response = await client.post(
                    "/api/usage-events/batch",
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
                assert response.status_code == 200, response.text[:500]
                answer = response.json()
                assert answer["rejected"] == 0, answer
                acknowledged += answer["accepted"]

        await asyncio.gather(*(connection() for _ in range(CLIENT_CONNECTIONS)))
    return acknowledged


def _send_phase(base_url: str, auth: tuple[str, str], phase: Phase, results: Any) -> None:
    """In its own process: the phase's batches, rendered before the clock starts; reports
    (seconds, CPU seconds of this client, events acknowledged)."""
    bodies = _bodies(phase)
    started, cpu_before = time.perf_counter(), time.process_time()
    acknowledged = asyncio.run(_post_all(base_url, auth, iter(bodies)))
    results.put((time.perf_counter() - started, time.process_time() - cpu_before, acknowledged))


def _stream(base_url: str, auth: tuple[str, str], first: int, seconds: float, results: Any) -> None:
    """In its own process: new events from number `first`, batches of 1,000 and 100 in
    turn, rendered as they go, until `seconds` have passed; reports like `_send_phase`."""
    deadline = time.monotonic() + seconds
    numbers = itertools.count(first)

    def bodies() -> Iterator[bytes]:
        for size in itertools.cycle((1000, 100)):
            if time.monotonic() >= deadline:
                return
            yield _body(itertools.islice(numbers, size))

    started, cpu_before = time.perf_counter(), time.process_time()
    acknowledged = asyncio.run(_post_all(base_url, auth, bodies()))
    results.put((time.perf_counter() - started, time.process_time() - cpu_before, acknowledged))


def _copy_baseline(url: str, phase: Phase) -> tuple[float, float]:
    """Seconds, and PostgreSQL's CPU seconds, for one COPY of the phase's rows into a table
    like usage_events (same keys)."""
    account = "00000000-0000-7000-8000-000000000000"
    received = _START.isoformat()
    lines = []
    for number in phase.numbers():
        event = _event(number)
        properties = msgspec.json.encode(event["eventProperties"]).decode()
        lines.append(
            f"{new_id()}\t{account}\t{event['customerEventId']}\t{event['customerAlias']}\t"
            f"{event['eventType']}\t{event['eventTimestamp']}\t{properties}\t{received}\n"
        )
    payload = "".join(lines).encode()
    database_name = make_url(url).database or ""
    table = f"copy_baseline_{phase.batch}"
    with psycopg.connect(url.replace("+psycopg", "")) as connection:
        connection.execute(f"CREATE TABLE {table} (LIKE usage_events INCLUDING ALL)")
        # The idempotency key, which Tally keeps in `usage_event_keys` since usage_events is
        # partitioned: the baseline keeps the same work it measured before.
        connection.execute(f"ALTER TABLE {table} ADD UNIQUE (account_id, customer_event_id)")
        connection.commit()
        started, postgres_cpu = time.perf_counter(), cpu.postgres_seconds(database_name)
        with connection.cursor() as cursor, cursor.copy(f"COPY {table} FROM STDIN") as copy:
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


@dataclass(frozen=True)
class Sent:
    """What one client process did, and what each side spent on it (CPU seconds)."""

    seconds: float
    acknowledged: int
    client_cpu: float
    server_cpu: float
    postgres_cpu: float
    memory: list[tuple[float, int]]  # (seconds since the start, server RSS in bytes)


def _run_client(server: Server, database_name: str, target: Any, *args: Any) -> Sent:
    """`target(base_url, auth, *args, results)` in a spawned process, with the server's and
    PostgreSQL's CPU and the server's memory measured while it runs."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    client = context.Process(target=target, args=(server.base_url, server.auth, *args, results))
    client.start()
    started = time.monotonic()
    server_cpu = cpu.tree_seconds(server.pid)
    postgres_cpu = cpu.postgres_seconds(database_name)
    memory = [(0.0, resident_memory(server.pid))]
    while client.is_alive():
        client.join(timeout=5)
        memory.append((time.monotonic() - started, resident_memory(server.pid)))
    server_cpu = cpu.tree_seconds(server.pid) - server_cpu
    postgres_cpu = cpu.postgres_seconds(database_name) - postgres_cpu
    seconds, client_cpu, acknowledged = results.get(timeout=10)
    return Sent(seconds, acknowledged, client_cpu, server_cpu, postgres_cpu, memory)


def _report_phase(phase: Phase, sent: Sent, copy_seconds: float, copy_cpu: float) -> None:
    rate, copy_rate = sent.acknowledged / sent.seconds, phase.count / copy_seconds
    ratio = rate / copy_rate
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"  {phase.name}: {phase.count:,} events")
    print(f"    over HTTP:                  {rate:10,.0f} events/s  ({sent.seconds:.1f} s)")
    print(f"    one COPY of the same rows:  {copy_rate:10,.0f} rows/s    ({copy_seconds:.1f} s)")
    print(
        f"    ratio HTTP / COPY:          {ratio:10.0%}   (target >= {TARGET_RATIO:.0%}: {verdict})"
    )
    per_event = ", ".join(
        f"{name} {seconds / phase.count * 1e6:.1f}"
        for name, seconds in (
            ("tally serve", sent.server_cpu),
            ("PostgreSQL", sent.postgres_cpu),
            ("client", sent.client_cpu),
        )
    )
    print(
        f"    CPU per event (microseconds): {per_event}; the COPY's PostgreSQL "
        f"{copy_cpu / phase.count * 1e6:.1f}"
    )


def _report_memory(sent: Sent) -> None:
    """The server's memory along the sustained stretch: a leak shows as a slope that the
    second half keeps (caches filling early look like growth)."""
    at = [t for t, _ in sent.memory]
    mib = [rss / 2**20 for _, rss in sent.memory]
    rate = sent.acknowledged / sent.seconds
    print(
        f"  sustained: {sent.seconds:.0f} s of batches of 1,000 and 100 in turn, "
        f"{sent.acknowledged:,} events ({rate:,.0f}/s)"
    )
    every = max(1, len(mib) // 10)
    trend = ", ".join(f"{t:.0f}s {m:.0f}" for t, m in zip(at[::every], mib[::every], strict=True))
    print(f"    server memory (RSS, MiB): {trend}; end {mib[-1]:.0f}, peak {max(mib):.0f}")
    half = len(mib) // 2
    for label, times, values in (("whole run", at, mib), ("second half", at[half:], mib[half:])):
        if len(values) > 2:
            slope = statistics.linear_regression(times, values).slope * 60
            print(
                f"    fitted slope, {label}: {slope:+.1f} MiB/min ({slope / mib[0]:+.2%} a minute)"
            )


def main() -> None:
    phases = _phases()
    print(
        f"metering on PostgreSQL: one tally serve (default settings), a client process with "
        f"{CLIENT_CONNECTIONS} connections"
    )
    with fresh_postgres_database(SERVER_URL) as url:
        database_name = make_url(url).database or ""
        database = Database(url)
        migrations.upgrade(database.engine)
        auth, count = _prepare(database)
        with serving(auth, url) as server:
            sent = [_run_client(server, database_name, _send_phase, phase) for phase in phases]
            first = sum(phase.count for phase in phases)
            sustained = _run_client(server, database_name, _stream, first, SUSTAINED_SECONDS)
            with database.session(write=False) as session:
                stored = session.scalar(select(func.count()).select_from(UsageEvent))
            acknowledged = sum(each.acknowledged for each in [*sent, sustained])
            assert stored == acknowledged, f"{stored} events stored, {acknowledged} acknowledged"
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
        baselines = [_copy_baseline(url, phase) for phase in phases]

    for phase, each, (copy_seconds, copy_cpu) in zip(phases, sent, baselines, strict=True):
        _report_phase(phase, each, copy_seconds, copy_cpu)
    _report_memory(sustained)
    print(f"  calculate, 1 customer, {HOT_EVENTS:,} events (HTTP): {_ms(calculate_http)}")
    print(f"  grouped usage of {CUSTOMERS + 1:,} customers (in process): {_ms(grouped_times)}")


if __name__ == "__main__":
    main()
