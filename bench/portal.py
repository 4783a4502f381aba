"""The customer portal under load, on PostgreSQL: quiet, then while usage streams in.

One customer on a monthly schedule (a platform fee, API calls priced per call, tokens priced
in graduated tiers) that started a year ago, so the Invoices page lists twelve sent invoices,
and 1,000,000 usage events in the current period, loaded through the ingestion path the
batch endpoint and `tally import events` use (COPY into usage_events, rollups appended);
then billed, so the current period has its IN_PROGRESS invoice; and a credit grant, so the
Credits tab shows.

`tally serve` runs as a subprocess (`TALLY_BENCH_PORTAL_WORKERS` processes, default 2: the
machine's cores); 20 concurrent clients request each endpoint in turn for
`TALLY_BENCH_PORTAL_SECONDS` (default 15), driven by `wrk` (Debian's package, which
`make install` installs: a C load generator, so the clients take little of the two cores the
server shares with them; a Python client took about as much CPU as the server it measured):
Overview, Invoices, Usage and Credits by the customer's permanent link, and the portal's JSON
usage endpoint with a session token.

Two phases, in the same run:
- quiet (the baseline): nothing else runs; the page cache holds between two requests;
- streaming: a client process (bench/usage_stream.py, spawned) sends usage events for the
  same customer through `POST /api/usage-events/batch`, paced at `TALLY_BENCH_PORTAL_RATE`
  events/s (default 10,000: batches of 500 every 50 ms), while each endpoint is measured
  again. Every batch changes the customer's usage, so the page cache cannot hide the cost of
  a page. The ingestion goes to the SAME `tally serve` as the portal: a deployment on one
  small machine runs one server for its API and its portal (a separate server would compete
  for the same two cores anyway, and would hide the contention on the server's worker
  threads and database pool that a shared one shows). The rate achieved is printed per
  endpoint's window; on this 2-core machine it may fall short of the rate asked for while
  the portal is served too, and the output says so.

Prints per endpoint p50 and p95 latency and requests per second in both phases, with the
median latency one request at a time (service time, without queueing behind the other
clients), the ingestion rate achieved while it was measured, and the target (p95 < 100 ms
while usage streams in). Baseline rows: an unknown portal link (404), the floor of a portal
request, in both phases.

`TALLY_BENCH_POSTGRES_URL` names the server (default: the local one; a scratch database is
created and dropped). `TALLY_BENCH_PORTAL_EVENTS` scales the events (default 1,000,000).
A quick run: `TALLY_BENCH_PORTAL_SECONDS=8 TALLY_BENCH_PORTAL_EVENTS=200000 python -m
bench.portal`.
"""

import json
import os
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import msgspec
from tests.billing.helpers import Merchant
from tests.catalog.price_bodies import fixed, graduated, linear
from tests.factories import SELLER
from tests.support.api_client import ApiClient
from tests.support.databases import fresh_postgres_database
from tests.support.serving import tally_serve

from bench.usage_stream import StreamLog, StreamPlan, UsageStream
from tally import migrations
from tally.accounts.service import create_account
from tally.db import Database
from tally.metering import rollups
from tally.metering.ingest import IncomingEvent, ingest
from tally.models import Account

SERVER_URL = os.environ.get(
    "TALLY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
EVENTS = int(os.environ.get("TALLY_BENCH_PORTAL_EVENTS", "1000000"))
SECONDS = int(os.environ.get("TALLY_BENCH_PORTAL_SECONDS", "15"))
WORKERS = int(os.environ.get("TALLY_BENCH_PORTAL_WORKERS", "2"))
CLIENTS = 20
BATCH = 10_000  # events per ingestion transaction
RATE = float(os.environ.get("TALLY_BENCH_PORTAL_RATE", "10000"))
STREAM_BATCH = 500  # events per streamed request: one every 50 ms at 10,000/s
TARGET_P95_MS = 100.0  # while usage streams in (issue 23)


@dataclass(frozen=True)
class Load:
    p50: float  # ms
    p95: float  # ms
    rate: float  # requests per second


ALIAS = "bench-customer"


def _first_of_month(day: date) -> date:
    return day.replace(day=1)


def _months_back(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, 1)


def _prepare(client: httpx.Client, auth: tuple[str, str]) -> tuple[str, str]:
    """The catalog, the customer and its schedule, through the API: (customer id, schedule id)."""
    api = ApiClient(client, auth)  # type: ignore[arg-type]  # httpx.Client has its interface
    merchant = Merchant(api)
    calls = merchant.usage_metric("API calls", "api_call", aggregationType="COUNT", unit="calls")
    tokens = merchant.usage_metric(
        "Tokens", "api_call", aggregationType="SUM", aggregationProperty="tokens", unit="tokens"
    )
    platform = merchant.price(fixed("49.00"), name="Platform fee")
    per_call = merchant.price(linear(calls, pricePerUnit="0.0002"), name="API calls")
    tiers = [
        {"price": "0.00001", "upperBound": "10000000", "fee": "0"},
        {"price": "0.000005", "fee": "0"},
    ]
    per_token = merchant.price(graduated(tokens, tiers=tiers), name="Tokens")
    customer = merchant.customer("Globex Corporation", customerAliases=[ALIAS])
    start = _months_back(datetime.now(UTC).date(), 12)
    schedule = merchant.schedule(customer, [platform, per_call, per_token], start.isoformat())
    return customer, str(schedule["id"])


def _load_events(database: Database, account_id: str) -> float:
    """EVENTS events between the period's start and now, through `ingest` (COPY)."""
    now = datetime.now(UTC)
    period_start = datetime.combine(_first_of_month(now.date()), datetime.min.time(), UTC)
    span = max((now - period_start).total_seconds() - 60, 3600.0)
    started = time.perf_counter()
    for offset in range(0, EVENTS, BATCH):
        batch = [
            IncomingEvent(
                customer_alias=ALIAS,
                event_type="api_call",
                event_timestamp=period_start + timedelta(seconds=span * n / EVENTS),
                customer_event_id=f"call-{n}",
                event_properties=msgspec.Raw(b'{"tokens": %d}' % (n % 997)),
            )
            for n in range(offset, min(offset + BATCH, EVENTS))
        ]
        with database.transaction() as session:
            account = session.get_one(Account, account_id)
            ingest(session, account, batch)
    with database.transaction() as session:  # what the server's periodic compaction does
        rollups.lock_maintenance(session, account_id)
        rollups.compact(session, account_id)
    return time.perf_counter() - started


def _bill(client: httpx.Client, auth: tuple[str, str], schedule_id: str) -> int:
    """Bill as of today, then send every closed period's invoice: (sent invoices)."""
    billed = client.post("/api/billing/execution/accounts/self", auth=auth, timeout=600)
    billed.raise_for_status()
    invoices = client.get(
        "/api/invoices", params={"billingScheduleId": schedule_id, "limit": 100}, auth=auth
    ).json()["items"]
    drafts = [invoice for invoice in invoices if invoice["status"] == "DRAFT"]
    for invoice in drafts:
        answer = client.post(f"/api/invoices/{invoice['id']}/mark-as-sent", auth=auth)
        assert answer.status_code == 200, answer.text
    return len(drafts)


def _grant_credits(client: httpx.Client, auth: tuple[str, str], customer_id: str) -> None:
    """A credit grant, so the customer's portal has its Credits tab."""
    body = {
        "customerId": customer_id,
        "name": "Welcome credits",
        "creditUnitType": "CURRENCY",
        "currency": "GBP",
        "amount": 100,
    }
    client.post("/api/credits", json=body, auth=auth).raise_for_status()


WRK_SCRIPT = Path(__file__).with_name("portal_wrk.lua")


def _wrk(url: str, headers: dict[str, str], expected: int, clients: int, seconds: int) -> Load:
    """`wrk` (a C load generator: the clients cost the shared cores little) with `clients`
    connections for `seconds`; unexpected statuses or socket errors fail the benchmark."""
    command = ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--timeout", "30s"]
    command += ["-s", str(WRK_SCRIPT), url]
    for name, value in headers.items():
        command[1:1] = ["-H", f"{name}: {value}"]
    environment = {**os.environ, "TALLY_BENCH_EXPECTED_STATUS": str(expected)}
    finished = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    assert figures["unexpected"] == 0 and figures["socket_errors"] == 0, (url, figures)
    return Load(
        p50=figures["p50"] / 1000,
        p95=figures["p95"] / 1000,
        rate=figures["requests"] / figures["seconds"],
    )


@dataclass(frozen=True)
class Measured:
    name: str
    load: Load  # CLIENTS concurrent clients
    alone: Load  # one request at a time
    window: tuple[float, float]  # wall-clock span of the loaded measurement


Endpoint = tuple[str, str, dict[str, str], int]  # name, path, headers, expected status


def _measure(base_url: str, endpoint: Endpoint) -> Measured:
    """CLIENTS concurrent clients for SECONDS, after a warm-up (connections, caches), and one
    request at a time (the service time, without queueing)."""
    name, path, headers, expected = endpoint
    url = base_url + path
    _wrk(url, headers, expected, CLIENTS, 2)
    alone = _wrk(url, headers, expected, 1, 3)
    started = time.time()
    load = _wrk(url, headers, expected, CLIENTS, SECONDS)
    return Measured(name, load, alone, (started, time.time()))


def _phase(base_url: str, endpoints: list[Endpoint]) -> tuple[list[Measured], float]:
    """Every endpoint in turn: (the figures, the load average at the end)."""
    measured = [_measure(base_url, endpoint) for endpoint in endpoints]
    return measured, os.getloadavg()[0]


def _streaming_phase(
    base_url: str, auth: tuple[str, str], endpoints: list[Endpoint]
) -> tuple[list[Measured], float, StreamLog, tuple[float, float]]:
    """`_phase` while a client process streams usage events for the portal's customer."""
    plan = StreamPlan(base_url, auth, ALIAS, "api_call", RATE, STREAM_BATCH)
    stream = UsageStream(plan).start()
    try:
        time.sleep(5)  # the process starts (spawn imports) and the stream reaches its pace
        started = time.time()
        measured = []
        for endpoint in endpoints:
            if stream.failed():
                break
            measured.append(_measure(base_url, endpoint))
        finished, load = time.time(), os.getloadavg()[0]
    finally:
        log = stream.stop()
    assert log.error is None, f"the usage stream failed: {log.error}"
    assert len(measured) == len(endpoints), "the usage stream stopped early"
    return measured, load, log, (started, finished)


def _row(quiet: Measured, streaming: Measured, log: StreamLog) -> str:
    verdict = "meets" if streaming.load.p95 < TARGET_P95_MS else "MISSES"
    rate = log.rate_between(*streaming.window)
    return (
        f"  {quiet.name:<33}"
        f" {quiet.load.p50:6.1f} {quiet.load.p95:6.1f} {quiet.load.rate:6.1f}"
        f" {quiet.alone.p50:6.1f}"
        f" | {streaming.load.p50:6.1f} {streaming.load.p95:6.1f} {streaming.load.rate:6.1f}"
        f" {streaming.alone.p50:6.1f} {rate:8,.0f}   {verdict}"
    )


def main() -> None:
    print(
        f"portal on PostgreSQL: one customer with {EVENTS:,} events in the current period, "
        f"{CLIENTS} concurrent clients (wrk), {SECONDS} s per endpoint, "
        f"tally serve --workers {WORKERS}; quiet, then with {RATE:,.0f} events/s streaming in "
        f"for the same customer (batches of {STREAM_BATCH}, same server)"
    )
    with fresh_postgres_database(SERVER_URL) as url:
        database = Database(url)
        migrations.upgrade(database.engine)
        with database.transaction() as session:
            # The seller's address: invoices cannot be sent without it.
            account, credentials = create_account(session, "Bench merchant", address=SELLER)
            account_id = account.id
        auth = (credentials.api_key, credentials.api_secret)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TALLY_")},
            "TALLY_DATABASE_URL": url,
            "TALLY_LOG_LEVEL": "warning",
            "TALLY_BILLING_SCHEDULER": "false",  # nothing but the portal and ingestion runs
            # The baseline asks for an unknown link on purpose: not a guessing client to throttle.
            "TALLY_AUTH_FAILURE_LIMIT": "0",
            # One API key streams 1,200 requests a minute: no rate limits.
            "TALLY_RATE_LIMIT_PER_MINUTE": "0",
            "TALLY_INGESTION_RATE_LIMIT_PER_MINUTE": "0",
        }
        with (
            tally_serve(env, "--workers", str(WORKERS)) as (base_url, _),
            httpx.Client(base_url=base_url, timeout=120) as client,
        ):
            customer_id, schedule_id = _prepare(client, auth)
            load_seconds = _load_events(database, account_id)
            sent = _bill(client, auth, schedule_id)
            _grant_credits(client, auth, customer_id)
            customer = client.get(f"/api/customers/{customer_id}", auth=auth).json()
            link = httpx.URL(customer["portalUrl"]).path
            token = client.post(f"/api/customers/{customer_id}/portal-sessions", auth=auth)
            session_header = {"X-Session-Token": token.json()["token"]}
            endpoints: list[Endpoint] = [
                ("baseline: unknown link (404)", "/portal/c/unknown-key", {}, 404),
                ("Overview  GET /portal/c/{key}", link, {}, 200),
                ("Invoices  GET .../invoices", f"{link}/invoices", {}, 200),
                ("Usage     GET .../usage", f"{link}/usage", {}, 200),
                ("Credits   GET .../credits", f"{link}/credits", {}, 200),
                ("JSON usage GET /portal/api/usage", "/portal/api/usage", session_header, 200),
            ]
            quiet, quiet_load = _phase(base_url, endpoints)
            streaming, streaming_load, log, span = _streaming_phase(base_url, auth, endpoints)
        database.dispose()

    print(
        f"  setup: {EVENTS:,} events ingested in {load_seconds:.0f} s "
        f"({EVENTS / load_seconds:,.0f}/s), {sent} sent invoices (not measured)"
    )
    cores = os.cpu_count()
    print(
        f"  load average (1 min) at the end of each phase: quiet {quiet_load:.1f}, "
        f"streaming {streaming_load:.1f}, on {cores} cores"
    )
    achieved = log.rate_between(*span)
    short = (
        ""
        if achieved >= 0.98 * RATE
        else f"  SHORT of the {RATE:,.0f}/s asked: the server did not take more while serving"
        " the portal"
    )
    print(
        f"  ingestion while measured: {achieved:,.0f} events/s achieved of {RATE:,.0f}/s asked "
        f"({log.events:,} events streamed in all){short}"
    )
    print(
        f"  {'':<33} {'quiet (baseline)':^27} | {'usage streaming in':^37}"
        f"   target p95 < {TARGET_P95_MS:.0f} ms"
    )
    print(
        f"  {'ms, req/s':<33} {'p50':>6} {'p95':>6} {'req/s':>6} {'alone':>6}"
        f" | {'p50':>6} {'p95':>6} {'req/s':>6} {'alone':>6} {'events/s':>8}"
    )
    for before, during in zip(quiet, streaming, strict=True):
        print(_row(before, during, log))


if __name__ == "__main__":
    main()
