"""The background work `tally serve` runs in a thread and `tally worker` in its own process:
every `poll` seconds, each job once. Jobs claim their rows with SKIP LOCKED, so any number
of workers share them.

Jobs: the billing pass (`billing.scheduler.bill_due`), and the outboxes and reminders the
notification and invoice domains add to `background_jobs`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from tally.billing.scheduler import bill_due
from tally.credits.expiry import expire_due
from tally.db import Database
from tally.invoices.reminders import queue_reminders
from tally.notifications.outbox import send_due
from tally.notifications.webhooks import deliver_due
from tally.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Database], object]  # returns what it did, for the log


# Reminders change with the local date only: looking every few minutes is plenty.
REMINDERS_EVERY_SECONDS = 600.0
# Grants expire at a local day's end: as with reminders, every few minutes is plenty.
CREDIT_EXPIRY_EVERY_SECONDS = 600.0


def at_most_every(
    seconds: float, run: Callable[[Database], object]
) -> Callable[[Database], object]:
    """`run`, skipped when it last ran (in this process) less than `seconds` ago."""
    last: list[float] = []

    def throttled(db: Database) -> object:
        if last and time.monotonic() - last[0] < seconds:
            return None
        last[:] = [time.monotonic()]
        return run(db)

    return throttled


def background_jobs(settings: Settings) -> list[Job]:
    interval = timedelta(seconds=settings.billing_interval_seconds)
    return [
        Job(
            "billing",
            lambda db: bill_due(db, interval=interval, batch=settings.billing_batch_size),
        ),
        Job("email", lambda db: send_due(db, settings)),
        Job("webhooks", lambda db: deliver_due(db, settings)),
        Job(
            "reminders",
            at_most_every(
                REMINDERS_EVERY_SECONDS,
                lambda db: queue_reminders(db, base_url=settings.public_url),
            ),
        ),
        Job("credit-expiry", at_most_every(CREDIT_EXPIRY_EVERY_SECONDS, expire_due)),
    ]


def run_once(db: Database, jobs: list[Job], stopping: threading.Event | None = None) -> None:
    """Each job once; one failing does not stop the others. Once `stopping` is set, the job
    in progress finishes and the rest wait for the next start (graceful shutdown)."""
    for job in jobs:
        if stopping is not None and stopping.is_set():
            return
        log.debug("background job %s started", job.name)
        try:
            done = job.run(db)
        except Exception:
            log.exception("background job %s failed", job.name)
        else:
            log.debug("background job %s: %s", job.name, done)


class Worker(threading.Thread):
    """`run_once` every `poll` seconds until stopped."""

    def __init__(self, db: Database, jobs: list[Job], *, poll: float) -> None:
        super().__init__(name="tally-worker", daemon=True)
        self.db, self.jobs, self.poll = db, jobs, poll
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            run_once(self.db, self.jobs, self.stopping)
            self.stopping.wait(self.poll)
        log.info("background jobs stopped")

    def stop(self) -> None:
        """Let the job in progress finish (a billing pass commits batch by batch), then
        return once the thread has ended."""
        if not self.stopping.is_set():
            log.info("stopping background jobs: finishing the job in progress")
        self.stopping.set()
        self.join()
