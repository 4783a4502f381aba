"""A real `tally serve` process on a scratch database, for benchmarks to measure."""

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from tests.ops.processes import _answers, running, until
from tests.support.serving import TALLY, free_port, tally_serve

from bench.cpu import process_tree


@dataclass(frozen=True)
class Server:
    base_url: str
    auth: tuple[str, str]
    pid: int


def _environment(data_dir: str, database_url: str | None) -> dict[str, str]:
    env = {**os.environ, "TALLY_DATA_DIR": data_dir, "TALLY_LOG_LEVEL": "warning"}
    # One API key sends far more than Sequence's 1,500 requests a minute here: no rate limits.
    env.update(TALLY_RATE_LIMIT_PER_MINUTE="0", TALLY_INGESTION_RATE_LIMIT_PER_MINUTE="0")
    env.pop("TALLY_DATABASE_URL", None)
    if database_url:
        env["TALLY_DATABASE_URL"] = database_url
    return env


@dataclass(frozen=True)
class BackgroundWorker:
    pid: int
    metrics_url: str


@contextmanager
def serving(
    auth: tuple[str, str],
    database_url: str | None = None,
    workers: int = 1,
    ready_within: float = 60,
    **settings: str,
) -> Iterator[Server]:
    """`tally serve` on the given database until the block ends; `settings` are added to its
    environment (TALLY_BILLING_SCHEDULER="false", say)."""
    with tempfile.TemporaryDirectory(prefix="tally-bench-") as data_dir:
        env = {**_environment(data_dir, database_url), **settings}
        with tally_serve(env, "--workers", str(workers), ready_within=ready_within) as (
            base_url,
            pid,
        ):
            yield Server(base_url, auth, pid)


@contextmanager
def servers(
    auth: tuple[str, str],
    database_url: str,
    count: int,
    ready_within: float = 60,
    **settings: str,
) -> Iterator[list[Server]]:
    """`count` separate `tally serve` processes (one server process each, the default) on one
    database, each on its own port, as behind a load balancer. Started side by side: each
    takes seconds to import Tally, and waiting for them in turn would add those up."""
    contexts = [serving(auth, database_url, 1, ready_within, **settings) for _ in range(count)]
    with ExitStack() as stack:
        with ThreadPoolExecutor(count) as pool:
            starting = [pool.submit(context.__enter__) for context in contexts]
        for context, future in zip(contexts, starting, strict=True):
            if future.exception() is None:  # the ones that started stop with the block
                stack.push(context)
        yield [future.result() for future in starting]


@contextmanager
def running_server(database_url: str | None = None) -> Iterator[Server]:
    """A server with a fresh account of its own (created through the CLI)."""
    with tempfile.TemporaryDirectory(prefix="tally-bench-") as data_dir:
        created = subprocess.run(
            [TALLY, "accounts", "create", "Bench", "--json"],
            env=_environment(data_dir, database_url),
            check=True,
            capture_output=True,
            text=True,
        )
        credentials = json.loads(created.stdout)
        auth = (credentials["apiKey"], credentials["apiSecret"])
        if database_url is None:
            database_url = f"sqlite:///{Path(data_dir) / 'tally.db'}"
        with serving(auth, database_url) as server:
            yield server


@contextmanager
def background_workers(
    database_url: str, count: int, ready_within: float = 90, **settings: str
) -> Iterator[list[BackgroundWorker]]:
    """`count` `tally worker` processes on the database until the block ends, each serving its
    own /metrics; stopped with SIGTERM, as a deployment would (the pass in progress ends)."""
    with tempfile.TemporaryDirectory(prefix="tally-bench-") as data_dir, ExitStack() as stack:
        started = []
        for _ in range(count):
            port = free_port()
            env = {
                **_environment(data_dir, database_url),
                **settings,
                "TALLY_WORKER_METRICS_PORT": str(port),
            }
            worker = stack.enter_context(running(["worker"], env, Path(data_dir)))
            metrics_url = f"http://127.0.0.1:{port}"
            started.append((worker, BackgroundWorker(worker.process.pid, metrics_url)))
        for worker, handle in started:  # /metrics answers once it has started working
            until(partial(_answers, f"{handle.metrics_url}/metrics"), worker, ready_within)
        try:
            yield [handle for _, handle in started]
        finally:
            for worker, _ in started:
                if worker.process.poll() is None:
                    worker.terminate()


def resident_memory(pid: int) -> int:
    """Bytes of memory the process and all its descendants hold (RSS), from /proc: `tally
    serve --workers N` is a supervisor whose children serve."""
    pids = process_tree(pid)
    total = 0
    for each in pids:
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total
