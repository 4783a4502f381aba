"""A client process that streams usage events over HTTP at a paced rate, for benchmarks that
measure something else while usage arrives (bench/portal.py).

`start_stream` spawns it (multiprocessing spawn, as bench/metering.py's client: its own
interpreter, so its Python does not share the measuring process's GIL); it sends a batch of
`batch` events every `batch / rate` seconds through `POST /api/usage-events/batch`, at most
`connections` batches in flight. When the server falls behind, the next batches leave as soon
as a connection is free (the schedule's debt is caught up, never dropped), so the achieved
rate is the lower of the asked rate and what the server takes. Every batch must be accepted
whole (200, nothing rejected), or the stream stops with its error.

`UsageStream.stop()` ends it and returns the log: (wall-clock time of each answer, events
it accepted); `rate_between(t0, t1)` is the achieved rate in a window.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec


@dataclass(frozen=True)
class StreamPlan:
    base_url: str
    auth: tuple[str, str]
    customer_alias: str
    event_type: str
    rate: float  # events per second asked for
    batch: int = 500
    connections: int = 4


@dataclass
class StreamLog:
    answers: list[tuple[float, int]] = field(default_factory=list)  # (time.time(), events)
    error: str | None = None

    def rate_between(self, start: float, end: float) -> float:
        """Events per second accepted between two wall-clock times."""
        events = sum(count for at, count in self.answers if start <= at < end)
        return events / (end - start) if end > start else 0.0

    @property
    def events(self) -> int:
        return sum(count for _, count in self.answers)


def _batch_body(encoder: msgspec.json.Encoder, plan: StreamPlan, first: int) -> bytes:
    """Events `first`..`first + batch - 1`, stamped now (the current period, the 1d graph's
    hour): new usage for the customer the portal shows."""
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return encoder.encode(
        {
            "events": [
                {
                    "customerAlias": plan.customer_alias,
                    "eventType": plan.event_type,
                    "customerEventId": f"stream-{n}",
                    "eventTimestamp": now,
                    "eventProperties": {"tokens": n % 997},
                }
                for n in range(first, first + plan.batch)
            ]
        }
    )


async def _stream(plan: StreamPlan, stop: Any, log: StreamLog) -> None:
    encoder = msgspec.json.Encoder()
    interval = plan.batch / plan.rate
    in_flight = asyncio.Semaphore(plan.connections)
    limits = httpx.Limits(max_connections=plan.connections)
    failures: list[str] = []
    async with httpx.AsyncClient(
        base_url=plan.base_url, auth=plan.auth, timeout=120, limits=limits
    ) as client:

        async def send(body: bytes, count: int) -> None:
            try:
                answer = await client.post(
                    "/api/usage-events/batch",
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
                if answer.status_code != 200 or answer.json().get("rejected") != 0:
                    failures.append(f"{answer.status_code}: {answer.text[:300]}")
                else:
                    log.answers.append((time.time(), count))
            except httpx.HTTPError as error:
                failures.append(repr(error))
            finally:
                in_flight.release()

        sending: set[asyncio.Task[None]] = set()
        due = time.perf_counter()
        first = 0
        while not stop.is_set() and not failures:
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(min(wait, 0.1))
                continue
            await in_flight.acquire()
            task = asyncio.create_task(send(_batch_body(encoder, plan, first), plan.batch))
            sending.add(task)
            task.add_done_callback(sending.discard)
            first += plan.batch
            due += interval
        await asyncio.gather(*sending)
    log.error = failures[0] if failures else None


def _run(plan: StreamPlan, stop: Any, results: Any) -> None:
    """The spawned process: stream until `stop` is set, then hand the log back."""
    log = StreamLog()
    try:
        asyncio.run(_stream(plan, stop, log))
    except Exception as error:  # reported to the parent, which fails the benchmark
        log.error = repr(error)
    results.put((log.answers, log.error))


class UsageStream:
    """The streaming process; `stop()` ends it and returns its log."""

    def __init__(self, plan: StreamPlan) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._results = context.Queue()
        self._process = context.Process(target=_run, args=(plan, self._stop, self._results))

    def start(self) -> UsageStream:
        self._process.start()
        return self

    def failed(self) -> bool:
        return not self._process.is_alive()

    def stop(self) -> StreamLog:
        self._stop.set()
        answers, error = self._results.get(timeout=180)
        self._process.join(timeout=30)
        return StreamLog(answers, error)
