"""Sustained mixed load on PostgreSQL: ten minutes of ingestion, API reads, portal pages and
billing against three `tally serve` processes (each with its default settings: one server
process, the in-process scheduler off as beside workers) and two `tally worker` processes, all
on one scratch database, as a deployment past one machine runs them.

Seeded through the API: 40 customers on monthly schedules started three months ago (a fixed
fee, API calls priced per call, tokens in graduated tiers; every other customer a support fee
instead of tokens), billed once for the first day of last month (a backfill: the invoices
dated up to it), so invoices exist to read and the workers, billing as of today, still have
invoices to create. The workers bill every schedule again each `BILLING_INTERVAL` seconds
(IN_PROGRESS invoices follow the usage), and an on-demand run
(`POST /api/billing/execution/accounts/self/for-date/{today}`) every `BILLING_EVERY` seconds
(the first halfway through a run shorter than that).

16 concurrent clients (httpx, asyncio) pick a kind of request by weight, after a warm-up of
the same mix that is not counted; client n talks to server n % 3, as a load balancer spreads
connections (seeding and the on-demand runs go through the first). Prints per kind: count,
errors (non-2xx/3xx answers and transport errors) and error rate, p50 and p99 latency;
requests per second; what billing did (the workers' passes from their own /metrics, the
on-demand runs' reports, the invoices in the database). Then per process: for each server
the same request figures and its requests per second; for each worker its billing passes
(ok, failed) and the invoices they created and updated; for each, the CPU seconds its
process tree used during the measured run (utime + stime from /proc, children included)
with their share of the run's wall time (1.00: one core all along), and its memory (RSS) at
the start and end. PostgreSQL's CPU seconds are its whole cluster's (every postgres
process on this machine, other databases' work included). Memory is also sampled every 30 s (a tenth
of a shorter run), with the growth as a ratio and fitted slopes (whole run, second half), so
a leak shows as a trend. Exits non-zero when errors exceed 1% (overall, of any kind, or of
any server), when a server answered nothing, when no billing run produced invoices, when a
worker's billing pass failed, or when acknowledged events are missing; never on latency.

`TALLY_BENCH_SUSTAINED_SECONDS` (or `python -m bench.sustained --seconds N`) sets the
measured duration (default 600). `TALLY_BENCH_POSTGRES_URL` names the server (default: the
local one; a scratch database is created and dropped).
"""

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from tests.billing.helpers import Merchant
from tests.catalog.price_bodies import fixed, graduated, linear
from tests.support.api_client import ApiClient
from tests.support.databases import fresh_postgres_database

from bench.cpu import postgres_seconds, tree_seconds
from bench.portal import SERVER_URL, _months_back
from bench.server import BackgroundWorker, background_workers, resident_memory, servers
from tally import migrations
from tally.accounts.service import create_account
from tally.db import Database
from tally.models import Invoice, UsageEvent

SECONDS = int(os.environ.get("TALLY_BENCH_SUSTAINED_SECONDS", "600"))
CLIENTS = 16
SERVERS = 3  # separate `tally serve` processes, client n on server n % SERVERS
BACKGROUND_WORKERS = 2
CUSTOMERS = 40
BATCH = 100  # events per batch request
# A run bills every schedule and marks it billed: on-demand runs far apart, so that between
# them the workers find schedules due (each again after BILLING_INTERVAL) and bill them.
BILLING_EVERY = 120.0  # seconds between on-demand billing runs
BILLING_INTERVAL = 60
MAX_ERROR_RATE = 0.01
# Seconds a process may take to start: importing Tally takes over a minute on a busy machine.
READY_WITHIN = 300.0


@dataclass(frozen=True)
class Seeded:
    auth: tuple[str, str]
    aliases: list[str]
    schedule_ids: list[str]
    invoice_ids: list[str]
    portal_links: list[str]


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    authenticated: bool = True
    params: dict[str, str] | None = None
    content: bytes | None = None


@dataclass
class Tally:
    """One kind of request's figures."""

    latencies: list[float] = field(default_factory=list)  # ms, every answer, errors too
    errors: Counter[str] = field(default_factory=Counter)  # by status code or exception

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


class Traffic:
    """The kinds of request and how each is made; events get unique ids across clients."""

    def __init__(self, seeded: Seeded) -> None:
        self.seeded = seeded
        self.events_sent = 0
        self.events_acknowledged = 0
        self.encoder = msgspec.json.Encoder()

    def _event(self, rng: random.Random) -> dict[str, Any]:
        self.events_sent += 1
        return {
            "customerAlias": rng.choice(self.seeded.aliases),
            "eventType": "api_call",
            "customerEventId": f"sustained-{self.events_sent}",
            "eventTimestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "eventProperties": {"tokens": rng.randrange(1, 5000)},
        }

    def single_event(self, rng: random.Random) -> Call:
        return Call("POST", "/api/usage-events", content=self.encoder.encode(self._event(rng)))

    def event_batch(self, rng: random.Random) -> Call:
        events = [self._event(rng) for _ in range(BATCH)]
        return Call(
            "POST", "/api/usage-events/batch", content=self.encoder.encode({"events": events})
        )

    def kinds(self) -> list[tuple[str, int, Callable[[random.Random], Call]]]:
        """(name, weight, request) for the clients to draw from."""
        seeded = self.seeded
        return [
            ("ingest  POST /api/usage-events", 20, self.single_event),
            (f"ingest  POST .../batch ({BATCH} events)", 8, self.event_batch),
            ("api     GET /api/customers", 8, lambda _: Call("GET", "/api/customers")),
            (
                "api     GET /api/invoices?schedule",
                8,
                lambda r: Call(
                    "GET",
                    "/api/invoices",
                    params={"billingScheduleId": r.choice(seeded.schedule_ids)},
                ),
            ),
            (
                "api     GET /api/billing-schedules/{id}",
                6,
                lambda r: Call("GET", f"/api/billing-schedules/{r.choice(seeded.schedule_ids)}"),
            ),
            (
                "api     GET /api/invoices/{id}",
                6,
                lambda r: Call("GET", f"/api/invoices/{r.choice(seeded.invoice_ids)}"),
            ),
            (
                "portal  Overview",
                8,
                lambda r: Call("GET", r.choice(seeded.portal_links), authenticated=False),
            ),
            (
                "portal  Invoices",
                6,
                lambda r: Call(
                    "GET", f"{r.choice(seeded.portal_links)}/invoices", authenticated=False
                ),
            ),
            (
                "portal  Usage",
                6,
                lambda r: Call(
                    "GET", f"{r.choice(seeded.portal_links)}/usage", authenticated=False
                ),
            ),
        ]


BILLING_KIND = "billing POST .../for-date/{today}"


def _seed(client: httpx.Client, auth: tuple[str, str]) -> Seeded:
    """The catalog, CUSTOMERS customers on schedules, and a first billing run for the first
    day of last month, a backfill (the workers, billing as of today, create the rest)."""
    api = ApiClient(client, auth)  # type: ignore[arg-type]  # httpx.Client has its interface
    merchant = Merchant(api)
    calls = merchant.usage_metric("API calls", "api_call", aggregationType="COUNT", unit="calls")
    tokens = merchant.usage_metric(
        "Tokens", "api_call", aggregationType="SUM", aggregationProperty="tokens", unit="tokens"
    )
    platform = merchant.price(fixed("49.00"), name="Platform fee")
    support = merchant.price(fixed("199.00"), name="Support")
    per_call = merchant.price(linear(calls, pricePerUnit="0.0002"), name="API calls")
    tiers = [
        {"price": "0.00001", "upperBound": "1000000", "fee": "0"},
        {"price": "0.000005", "fee": "0"},
    ]
    per_token = merchant.price(graduated(tokens, tiers=tiers), name="Tokens")
    today = datetime.now(UTC).date()
    start = _months_back(today, 3).isoformat()
    aliases, schedule_ids, links = [], [], []
    for n in range(CUSTOMERS):
        alias = f"sustained-customer-{n:03}"
        customer_id = merchant.customer(f"Customer {n:03} Ltd", customerAliases=[alias])
        prices = [platform, per_call, per_token] if n % 2 == 0 else [support, per_call]
        schedule_ids.append(str(merchant.schedule(customer_id, prices, start)["id"]))
        aliases.append(alias)
        customer = client.get(f"/api/customers/{customer_id}", auth=auth).json()
        links.append(httpx.URL(customer["portalUrl"]).path)
    # Through the API (Merchant.bill runs billing in the test's process, on its database).
    backfill = f"/api/billing/execution/accounts/self/for-date/{_months_back(today, 1)}"
    client.post(backfill, auth=auth).raise_for_status()
    invoices = client.get("/api/invoices", params={"limit": 100}, auth=auth).json()["items"]
    assert invoices, "the seeding run produced no invoices"
    return Seeded(auth, aliases, schedule_ids, [i["id"] for i in invoices], links)


@dataclass
class Load:
    """What one stretch of traffic did."""

    tallies: dict[str, Tally] = field(default_factory=dict)  # by kind of request
    servers: list[Tally] = field(default_factory=list)  # by server, every kind
    billed: Counter[str] = field(default_factory=Counter)  # invoices on-demand runs wrote
    wall: float = 0.0


@dataclass
class MemorySamples:
    """RSS of each process tree (each server, each worker), sampled along the measured run."""

    pids: dict[str, int]
    at: list[float] = field(default_factory=list)  # seconds since the measured start
    rss: list[dict[str, int]] = field(default_factory=list)

    def sample(self, elapsed: float) -> None:
        self.at.append(elapsed)
        self.rss.append({name: resident_memory(pid) for name, pid in self.pids.items()})

    def totals(self) -> list[float]:
        return [sum(sample.values()) / 2**20 for sample in self.rss]


async def _send(
    client: httpx.AsyncClient, call: Call, auth: tuple[str, str], *tallies: Tally
) -> httpx.Response | None:
    """Make the call; its latency and any error go to each of `tallies` (its kind's, its
    server's)."""
    started = time.perf_counter()
    response: httpx.Response | None = None
    error = None
    try:
        response = await client.request(
            call.method,
            call.path,
            params=call.params,
            content=call.content,
            headers={"Content-Type": "application/json"} if call.content else None,
            auth=auth if call.authenticated else None,
        )
    except httpx.TransportError as failure:
        error = type(failure).__name__
    else:
        if response.status_code >= 400:
            error = str(response.status_code)
    elapsed = (time.perf_counter() - started) * 1000
    for tally in tallies:
        if error:
            tally.errors[error] += 1
        tally.latencies.append(elapsed)
    return response


async def _run(
    base_urls: list[str],
    traffic: Traffic,
    seconds: float,
    memory: MemorySamples | None = None,
    sample_every: float = 30.0,
) -> Load:
    """CLIENTS clients drawing kinds by weight for `seconds`, client n on server n % servers;
    when measured (`memory` given), on-demand billing runs (on the first server) and memory
    samples alongside."""
    load = Load(servers=[Tally() for _ in base_urls])
    kinds = traffic.kinds()
    weights = [weight for _, weight, _ in kinds]
    auth = traffic.seeded.auth
    started = time.monotonic()
    deadline = started + seconds
    limits = httpx.Limits(max_connections=CLIENTS + 1, max_keepalive_connections=CLIENTS + 1)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, limits=limits, timeout=120)
            )
            for url in base_urls
        ]

        async def one_client(number: int) -> None:
            rng = random.Random(number)  # the same mix every run
            server = number % len(clients)
            while time.monotonic() < deadline:
                [(name, _, make)] = rng.choices(kinds, weights)
                call = make(rng)
                kind = load.tallies.setdefault(name, Tally())
                answer = await _send(clients[server], call, auth, kind, load.servers[server])
                if answer is not None and answer.status_code < 400 and call.content:
                    traffic.events_acknowledged += BATCH if "batch" in call.path else 1

        async def billing() -> None:
            """On-demand runs as of today, now and then, beside the workers' own."""
            path = f"/api/billing/execution/accounts/self/for-date/{datetime.now(UTC).date()}"
            pause = min(BILLING_EVERY / 2, seconds / 2)  # a short run still has one
            while time.monotonic() + pause < deadline:
                await asyncio.sleep(pause)
                pause = BILLING_EVERY
                tally = load.tallies.setdefault(BILLING_KIND, Tally())
                answer = await _send(clients[0], Call("POST", path), auth, tally, load.servers[0])
                if answer is not None and answer.status_code == 200:
                    report = answer.json()
                    load.billed["created"] += report.get("invoicesCreated", 0)
                    load.billed["updated"] += report.get("invoicesUpdated", 0)

        async def sample_memory(samples: MemorySamples) -> None:
            while time.monotonic() + sample_every < deadline:
                await asyncio.sleep(sample_every)
                samples.sample(time.monotonic() - started)

        tasks = [one_client(n) for n in range(CLIENTS)]
        if memory is not None:
            tasks += [billing(), sample_memory(memory)]
        await asyncio.gather(*tasks)
    load.wall = time.monotonic() - started
    return load


def _worker_billing(worker: BackgroundWorker) -> Counter[str]:
    """A worker's own count of its billing passes and the invoices they wrote, from its
    /metrics (since it started)."""
    counts: Counter[str] = Counter()
    page = httpx.get(f"{worker.metrics_url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name == "tally_billing_runs_total":
                counts[f"passes {sample.labels['outcome']}"] += int(sample.value)
            elif sample.name == "tally_billing_invoices_total":
                counts[sample.labels["change"]] += int(sample.value)
    return counts


def _first_passes(workers: list[BackgroundWorker], timeout: float = READY_WITHIN) -> None:
    """Wait until every worker has made its first billing pass: started up, connected,
    imported all it needs (memory measured before that would be a process half loaded)."""
    deadline = time.monotonic() + timeout
    while not all(sum(_worker_billing(w).values()) for w in workers):
        assert time.monotonic() < deadline, "a worker made no billing pass"
        time.sleep(1)


def _stored(database: Database, since: datetime) -> tuple[int, Counter[str], int]:
    """(events stored, invoices by status, invoices created since `since`)."""
    with database.session(write=False) as session:
        events = session.scalar(select(func.count()).select_from(UsageEvent)) or 0
        statuses = Counter(
            {
                str(status): count
                for status, count in session.execute(
                    select(Invoice.status, func.count()).group_by(Invoice.status)
                )
            }
        )
        created = session.scalar(
            select(func.count()).select_from(Invoice).where(Invoice.created_at >= since)
        )
    return events, statuses, created or 0


POSTGRES = "PostgreSQL"
LOAD_GENERATOR = "load generator"
MACHINE = "machine"


def _cpu_readings(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each process tree, by PostgreSQL's whole cluster, by this
    process (the clients) and by the machine (every core's busy time, other users'
    included); the difference of two readings is what a stretch used."""
    readings = {name: tree_seconds(pid) for name, pid in pids.items()}
    readings[POSTGRES] = postgres_seconds()
    user, system = os.times()[:2]  # this process only: the servers are its children
    readings[LOAD_GENERATOR] = user + system
    # /proc/stat's first line: user nice system idle iowait irq softirq steal, in ticks.
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    readings[MACHINE] = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    return readings


def _latency_figures(tally: Tally) -> str:
    """count, errors, error rate, p50 and p99 (ms), aligned for the tables."""
    samples = tally.latencies
    count = len(samples)
    rate = tally.error_count / count if count else 0.0
    p50 = statistics.median(samples) if samples else 0.0
    p99 = statistics.quantiles(samples, n=100, method="inclusive")[98] if count > 1 else p50
    return f"{count:7,} {tally.error_count:6,} {rate:7.2%} {p50:9.1f} {p99:9.1f}"


def _error_kinds(tally: Tally) -> str:
    kinds = ", ".join(f"{what} x{n}" for what, n in tally.errors.most_common(3))
    return f"   ({kinds})" if kinds else ""


def _latency_row(name: str, tally: Tally) -> str:
    return f"  {name:<40} {_latency_figures(tally)}{_error_kinds(tally)}"


def _memory_report(memory: MemorySamples) -> list[str]:
    totals = memory.totals()
    lines = [
        f"  memory (RSS, MiB, servers and workers together): start {totals[0]:.0f}, "
        f"end {totals[-1]:.0f}, growth {totals[-1] / totals[0]:.2f}x"
    ]
    trend = ", ".join(f"{at:.0f}s {mib:.0f}" for at, mib in zip(memory.at, totals, strict=True))
    lines.append(f"  memory trend (all, MiB): {trend}")
    # Caches filling early look like growth; a leak keeps the second half climbing too.
    half = len(totals) // 2
    for label, at, mib in (
        ("whole run", memory.at, totals),
        ("second half", memory.at[half:], totals[half:]),
    ):
        if len(mib) > 2:
            slope = statistics.linear_regression(at, mib).slope * 60
            lines.append(
                f"  fitted slope, {label}: {slope:+.1f} MiB/min ({slope / mib[0]:+.2%} a minute)"
            )
    return lines


@dataclass
class Outcome:
    """Everything a run measured, for the report and the verdict."""

    load: Load
    traffic: Traffic
    memory: MemorySamples
    per_worker: list[Counter[str]]  # billing passes and invoices, while measured
    cpu: dict[str, float]  # CPU seconds over the measured run, by process (_cpu_readings)
    events_stored: int
    invoice_statuses: Counter[str]
    invoices_created: int  # by billing under load (after the seeding run)
    load_average: float

    @property
    def by_workers(self) -> Counter[str]:
        return sum(self.per_worker, Counter())


def _measure(seconds: int, warmup: float, sample_every: float) -> Outcome:
    with fresh_postgres_database(SERVER_URL) as url:
        database = Database(url)
        migrations.upgrade(database.engine)
        with database.transaction() as session:
            _, credentials = create_account(session, "Bench merchant")
        auth = (credentials.api_key, credentials.api_secret)
        # The workers bill; the servers only serve (as a deployment with workers runs them).
        with (
            servers(auth, url, SERVERS, READY_WITHIN, TALLY_BILLING_SCHEDULER="false") as serve,
            httpx.Client(base_url=serve[0].base_url, timeout=120) as client,
        ):
            seeded = _seed(client, auth)
            seeded_at = datetime.now(UTC)
            with background_workers(
                url,
                BACKGROUND_WORKERS,
                READY_WITHIN,
                TALLY_BILLING_INTERVAL_SECONDS=str(BILLING_INTERVAL),
                TALLY_BILLING_POLL_SECONDS="15",
            ) as workers:
                _first_passes(workers)
                traffic = Traffic(seeded)
                base_urls = [server.base_url for server in serve]
                asyncio.run(_run(base_urls, traffic, warmup))
                pids = {f"serve {n + 1}": server.pid for n, server in enumerate(serve)}
                pids |= {f"worker {n + 1}": w.pid for n, w in enumerate(workers)}
                memory = MemorySamples(pids)
                memory.sample(0.0)
                before = [_worker_billing(worker) for worker in workers]
                cpu_before = _cpu_readings(pids)
                load = asyncio.run(_run(base_urls, traffic, seconds, memory, sample_every))
                cpu = _cpu_readings(pids)
                memory.sample(load.wall)
                # What the measured run saw.
                per_worker = [
                    _worker_billing(worker) - seen
                    for worker, seen in zip(workers, before, strict=True)
                ]
                cpu = {name: cpu[name] - cpu_before[name] for name in cpu}
                load_average = os.getloadavg()[0]
        events_stored, statuses, created = _stored(database, seeded_at)
        database.dispose()
    return Outcome(
        load, traffic, memory, per_worker, cpu, events_stored, statuses, created, load_average
    )


def _report(outcome: Outcome) -> None:
    load, by_workers = outcome.load, outcome.by_workers
    print(f"  load average at the end: {outcome.load_average:.1f} on {os.cpu_count()} cores")
    print(f"  {'request':<40} {'count':>7} {'errors':>6} {'rate':>7} {'p50 ms':>9} {'p99 ms':>9}")
    for name, tally in sorted(load.tallies.items()):
        print(_latency_row(name, tally))
    print(_latency_row("all", _overall(load)))
    requests = sum(len(t.latencies) for t in load.tallies.values())
    print(f"  throughput: {requests / load.wall:,.1f} req/s over {load.wall:.0f} s")
    print(
        f"  events: {outcome.traffic.events_acknowledged:,} acknowledged (warm-up included), "
        f"{outcome.events_stored:,} stored"
    )
    print(
        f"  billing by the workers (passes ended while measured): {by_workers['passes ok']} ok, "
        f"{by_workers['passes error']} failed; invoices created {by_workers['created']}, "
        f"updated {by_workers['updated']}, deleted {by_workers['deleted']}"
    )
    runs = len(load.tallies.get(BILLING_KIND, Tally()).latencies)
    print(
        f"  billing on demand: runs {runs}; invoices created {load.billed['created']}, "
        f"updated {load.billed['updated']}"
    )
    statuses = ", ".join(f"{s} {n}" for s, n in sorted(outcome.invoice_statuses.items()))
    print(
        f"  invoices at the end: {statuses}; "
        f"{outcome.invoices_created} created by billing under load (after the seeding run)"
    )
    for line in _process_report(outcome) + _memory_report(outcome.memory):
        print(line)


def _process_report(outcome: Outcome) -> list[str]:
    """Per server and per worker: what it did, the CPU it used (seconds, and as a share of
    the run's wall time: 1.00 is one core busy all along) and its memory at start and end."""
    load, cpu, wall = outcome.load, outcome.cpu, outcome.load.wall
    first, last = outcome.memory.rss[0], outcome.memory.rss[-1]

    def used(name: str) -> str:
        return f"{cpu[name]:7.1f} {cpu[name] / wall:5.2f}"

    def rss(name: str) -> str:
        return f"{first[name] / 2**20:7.0f} {last[name] / 2**20:7.0f}"

    lines = [
        "  per process: cpu s = CPU seconds its process tree used over the run, core = cpu s "
        "per second of the run (1.00: one core busy all along); RSS at the start and end",
        f"  per server (client n on serve n % {SERVERS} + 1; the on-demand runs on serve 1)",
        f"    {'process':<10} {'req/s':>7} {'count':>7} {'errors':>6} {'rate':>7} "
        f"{'p50 ms':>9} {'p99 ms':>9} {'cpu s':>7} {'core':>5} {'RSS MiB':>7} {'at end':>7}",
    ]
    for number, tally in enumerate(load.servers):
        name = f"serve {number + 1}"
        lines.append(
            f"    {name:<10} {len(tally.latencies) / wall:7.1f} {_latency_figures(tally)} "
            f"{used(name)} {rss(name)}{_error_kinds(tally)}"
        )
    lines += [
        "  per worker (billing passes ended while measured: ok, failed; invoices they wrote)",
        f"    {'process':<10} {'passes':>7} {'failed':>6} {'created':>7} {'updated':>7} "
        f"{'cpu s':>7} {'core':>5} {'RSS MiB':>7} {'at end':>7}",
    ]
    for number, billing in enumerate(outcome.per_worker):
        name = f"worker {number + 1}"
        lines.append(
            f"    {name:<10} {billing['passes ok']:7} {billing['passes error']:6} "
            f"{billing['created']:7} {billing['updated']:7} {used(name)} {rss(name)}"
        )
    servers_cpu = sum(cpu[f"serve {n + 1}"] for n in range(len(load.servers)))
    workers_cpu = sum(cpu[f"worker {n + 1}"] for n in range(len(outcome.per_worker)))
    postgres = f"PostgreSQL {cpu[POSTGRES]:.1f} (the whole cluster, exited backends included)"
    lines += [
        f"  CPU seconds over the run ({os.cpu_count()} cores x {wall:.0f} s): servers "
        f"{servers_cpu:.1f}, workers {workers_cpu:.1f}, {postgres},",
        f"    the load generator (this process) {cpu[LOAD_GENERATOR]:.1f}, "
        f"the whole machine {cpu[MACHINE]:.1f} (other users' processes included)",
    ]
    return lines


def _overall(load: Load) -> Tally:
    return Tally(
        [ms for t in load.tallies.values() for ms in t.latencies],
        sum((t.errors for t in load.tallies.values()), Counter()),
    )


def _failures(outcome: Outcome) -> list[str]:
    """Why this run fails: errors over MAX_ERROR_RATE (overall, of one kind or of one server),
    a server that answered nothing, no invoices from billing, failed worker passes,
    acknowledged events not stored. Never latency."""
    failures = []
    load, by_workers, traffic = outcome.load, outcome.by_workers, outcome.traffic
    overall = _overall(load)
    if not overall.latencies or overall.error_count / len(overall.latencies) > MAX_ERROR_RATE:
        failures.append(f"{overall.error_count} errors in {len(overall.latencies)} requests")
    for name, tally in load.tallies.items():
        if tally.latencies and tally.error_count / len(tally.latencies) > MAX_ERROR_RATE:
            failures.append(f"{' '.join(name.split())}: {tally.error_count} errors")
    for number, tally in enumerate(load.servers):
        if not tally.latencies:
            failures.append(f"serve {number + 1} answered no request")
        elif tally.error_count / len(tally.latencies) > MAX_ERROR_RATE:
            failures.append(f"serve {number + 1}: {tally.error_count} errors")
    if not by_workers["created"] + by_workers["updated"] + sum(load.billed.values()):
        failures.append("no billing run produced invoices")
    if by_workers["passes error"]:
        failures.append(f"{by_workers['passes error']} worker billing passes failed")
    if outcome.events_stored < traffic.events_acknowledged:
        failures.append(
            f"{traffic.events_acknowledged:,} events acknowledged, {outcome.events_stored:,} stored"
        )
    return failures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sustained", description=__doc__)
    parser.add_argument("--seconds", type=int, default=SECONDS, help="measured duration")
    seconds = parser.parse_args(argv).seconds
    warmup = min(30.0, max(5.0, seconds / 6))
    sample_every = min(30.0, max(5.0, seconds / 10))
    print(
        f"sustained mixed load on PostgreSQL: {seconds} s measured after {warmup:.0f} s of "
        f"warm-up, {CLIENTS} clients over {SERVERS} tally serve (one process each) + "
        f"{BACKGROUND_WORKERS} tally worker on one database, {CUSTOMERS} customers"
    )
    outcome = _measure(seconds, warmup, sample_every)
    _report(outcome)
    failures = _failures(outcome)
    if failures:
        sys.exit("sustained load FAILED: " + "; ".join(failures))
    print(
        "  verdict: errors within 1% (overall, per kind, per server), every server answered, "
        "billing produced invoices, no event lost"
    )


if __name__ == "__main__":
    main()
