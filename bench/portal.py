"""The customer portal under load, on PostgreSQL.

One customer on a monthly schedule (a platform fee, API calls priced per call, tokens priced
in graduated tiers) that started a year ago, so the Invoices page lists twelve sent invoices,
and 1,000,000 usage events in the current period, loaded through the ingestion path the
batch endpoint and `tally import events` use (COPY into usage_events, rollups appended);
then billed, so the current period has its IN_PROGRESS invoice.

`tally serve` runs as a subprocess (`TALLY_BENCH_PORTAL_WORKERS` processes, default 2: the
machine's cores); 20 concurrent clients request each endpoint in turn for
`TALLY_BENCH_PORTAL_SECONDS` (default 15), driven by `wrk` (Debian's package, which
`make install` installs: a C load generator, so the clients take little of the two cores the
server shares with them; a Python client took about as much CPU as the server it measured):
Overview, Invoices and Usage by the customer's permanent link, and the portal's JSON usage
endpoint with a session token. Prints p50 and p95 latency and requests per second per
endpoint, next to the target (p95 < 150 ms) and a baseline measured in the same run: an
unknown portal link (404), the floor of a portal request; and each endpoint's median latency
one request at a time (its service time, without queueing behind the other clients).

`TALLY_BENCH_POSTGRES_URL` names the server (default: the local one; a scratch database is
created and dropped). `TALLY_BENCH_PORTAL_EVENTS` scales the events (default 1,000,000).
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
from tests.support.api_client import ApiClient
from tests.support.databases import fresh_postgres_database
from tests.support.serving import tally_serve

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
TARGET_P95_MS = 150.0


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
        client.post(f"/api/invoices/{invoice['id']}/mark-as-sent", auth=auth).raise_for_status()
    return len(drafts)


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


def _load(base_url: str, path: str, headers: dict[str, str], expected: int) -> tuple[Load, Load]:
    """CLIENTS concurrent clients for SECONDS, after a warm-up (connections, caches): (under
    load, one request at a time: the service time, without queueing)."""
    url = base_url + path
    _wrk(url, headers, expected, CLIENTS, 2)
    alone = _wrk(url, headers, expected, 1, 3)
    return _wrk(url, headers, expected, CLIENTS, SECONDS), alone


def _report(name: str, load: Load, alone: Load) -> str:
    verdict = "meets" if load.p95 < TARGET_P95_MS else "MISSES"
    return (
        f"  {name:<34} p50 {load.p50:7.1f} ms   p95 {load.p95:7.1f} ms   {load.rate:7.1f} req/s"
        f"   (target p95 < {TARGET_P95_MS:.0f} ms: {verdict})   alone: p50 {alone.p50:6.1f} ms"
    )


def main() -> None:
    print(
        f"portal on PostgreSQL: one customer with {EVENTS:,} events in the current period, "
        f"{CLIENTS} concurrent clients (wrk), {SECONDS} s per endpoint, "
        f"tally serve --workers {WORKERS}"
    )
    with fresh_postgres_database(SERVER_URL) as url:
        database = Database(url)
        migrations.upgrade(database.engine)
        with database.transaction() as session:
            account, credentials = create_account(session, "Bench merchant")
            account_id = account.id
        auth = (credentials.api_key, credentials.api_secret)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TALLY_")},
            "TALLY_DATABASE_URL": url,
            "TALLY_LOG_LEVEL": "warning",
            "TALLY_BILLING_SCHEDULER": "false",  # nothing but the portal runs while measured
            # The baseline asks for an unknown link on purpose: not a guessing client to throttle.
            "TALLY_AUTH_FAILURE_LIMIT": "0",
        }
        with (
            tally_serve(env, "--workers", str(WORKERS)) as (base_url, _),
            httpx.Client(base_url=base_url, timeout=120) as client,
        ):
            customer_id, schedule_id = _prepare(client, auth)
            load_seconds = _load_events(database, account_id)
            sent = _bill(client, auth, schedule_id)
            customer = client.get(f"/api/customers/{customer_id}", auth=auth).json()
            link = httpx.URL(customer["portalUrl"]).path
            token = client.post(f"/api/customers/{customer_id}/portal-sessions", auth=auth)
            session_header = {"X-Session-Token": token.json()["token"]}
            endpoints: list[tuple[str, str, dict[str, str], int]] = [
                ("baseline: unknown link (404)", "/portal/c/unknown-key", {}, 404),
                ("Overview  GET /portal/c/{key}", link, {}, 200),
                ("Invoices  GET .../invoices", f"{link}/invoices", {}, 200),
                ("Usage     GET .../usage", f"{link}/usage", {}, 200),
                ("JSON usage GET /portal/api/usage", "/portal/api/usage", session_header, 200),
            ]
            results = [
                (name, *_load(base_url, path, headers, expected))
                for name, path, headers, expected in endpoints
            ]
            load = os.getloadavg()[0]
        database.dispose()

    print(
        f"  setup: {EVENTS:,} events ingested in {load_seconds:.0f} s "
        f"({EVENTS / load_seconds:,.0f}/s), {sent} sent invoices (not measured)"
    )
    print(f"  load average while measured: {load:.1f} on {os.cpu_count()} cores")
    for name, load, alone in results:
        print(_report(name, load, alone))


if __name__ == "__main__":
    main()
