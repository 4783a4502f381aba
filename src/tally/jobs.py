"""The background work `tally serve` runs in threads and `tally worker` in its own process
(`Background`): the jobs loop (`Worker`: every `poll` seconds, each job once) and, apart from
it, the webhook sender (`WebhookSender`), so a slow receiver delays neither billing nor
email, nor (through the sender's caps and fair claims) other accounts' webhooks. Both claim
their rows with SKIP LOCKED, so any number of workers share them.

Jobs: the billing pass (`billing.scheduler.bill_due`), the email outbox, reminders and
credit expiry the notification, invoice and credit domains add to `background_jobs`,
automatic collection with its dunning (`payments.collection.collect_due`), and the payments'
reconciliation (`payments.reconciliation.reconcile`: missed provider webhooks), and the
monthly partitions of usage events with their retention (`metering.retention.maintain`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from tally.alerts.checks import evaluate_marked, sweep
from tally.billing.scheduler import bill_due
from tally.core.clock import utcnow
from tally.credits.expiry import expire_due
from tally.db import Database
from tally.exports import archive
from tally.invoices.reminders import queue_reminders
from tally.metering.retention import ExportHook, maintain
from tally.notifications.outbox import send_due
from tally.notifications.webhooks import deliver_due, nudge, send_until_stopped
from tally.payments.collection import collect_due
from tally.payments.reconciliation import reconcile
from tally.settings import Settings
from tally.workflows import presenters  # noqa: F401  (registers every event's presenter)
from tally.workflows.auto_recharge import recharge_due, recharge_if_low

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Database], object]  # returns what it did, for the log


# Reminders change with the local date only: looking every few minutes is plenty.
REMINDERS_EVERY_SECONDS = 600.0
# Grants expire at a local day's end: as with reminders, every few minutes is plenty.
CREDIT_EXPIRY_EVERY_SECONDS = 600.0
# Missed payment webhooks: each pass asks the provider about every open attempt, so not at
# every poll.
PAYMENT_RECONCILIATION_EVERY_SECONDS = 300.0
# Alerts are evaluated as usage arrives (`AlertEvaluator`); the sweep catches what changes
# without usage (billing runs, finalized invoices spending credits, grants, a new period).
ALERT_SWEEP_EVERY_SECONDS = 60.0
# Usage event partitions are made three months ahead: an hourly look is plenty.
USAGE_PARTITIONS_EVERY_SECONDS = 3600.0


def usage_event_export(settings: Settings) -> ExportHook | None:
    """Where retention exports a month of usage events before dropping it: Parquet files
    under `usage_events_archive_dir`. Without it, retention drops nothing."""
    if settings.usage_events_archive_dir is None:
        return None
    return archive.to_directory(settings.usage_events_archive_dir)


def usage_partitions(settings: Settings) -> Callable[[Database], object]:
    export = usage_event_export(settings)
    months = settings.usage_events_retention_months
    return lambda db: maintain(db, utcnow().date(), retention_months=months, export=export)


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
        Job(
            "reminders",
            at_most_every(
                REMINDERS_EVERY_SECONDS,
                lambda db: queue_reminders(db, base_url=settings.public_url),
            ),
        ),
        Job("credit-expiry", at_most_every(CREDIT_EXPIRY_EVERY_SECONDS, expire_due)),
        # Automatic collection and dunning (payments.collection): each pass schedules the
        # invoices issued since and charges what is due; nothing due costs two queries.
        Job("collection", lambda db: collect_due(db, settings)),
        # Auto-recharge (workflows.auto_recharge): customers whose balance fell below their
        # level (invoices finalized since debited it) are recharged; nobody using it costs
        # one query.
        Job("credit-recharge", lambda db: recharge_due(db, settings)),
        Job(
            "payment-reconciliation",
            at_most_every(PAYMENT_RECONCILIATION_EVERY_SECONDS, lambda db: reconcile(db, settings)),
        ),
        # After billing in the same pass: balances and IN_PROGRESS amounts it changed.
        Job("alerts-sweep", at_most_every(ALERT_SWEEP_EVERY_SECONDS, sweep)),
        # PostgreSQL: usage_events' monthly partitions made ahead, and retention.
        Job(
            "usage-partitions",
            at_most_every(USAGE_PARTITIONS_EVERY_SECONDS, usage_partitions(settings)),
        ),
    ]


def webhooks_once(settings: Settings) -> Job:
    """One pass of the webhook sender as a job: `tally worker --once` (the long-running
    processes run `WebhookSender`)."""
    return Job("webhooks", lambda db: deliver_due(db, settings))


def alerts_once() -> Job:
    """One pass of the alert evaluator as a job: `tally worker --once` (the long-running
    processes run `AlertEvaluator`)."""
    return Job("alerts", evaluate_marked)


def run_once(
    db: Database, jobs: list[Job], stopping: threading.Event | None = None
) -> dict[str, object]:
    """Each job once; one failing does not stop the others. Once `stopping` is set, the job
    in progress finishes and the rest wait for the next start (graceful shutdown). Returns
    what each job that ran did (its report, None when throttled, the exception it raised)."""
    done: dict[str, object] = {}
    for job in jobs:
        if stopping is not None and stopping.is_set():
            break
        log.debug("background job %s started", job.name)
        try:
            done[job.name] = job.run(db)
        except Exception as error:
            log.exception("background job %s failed", job.name)
            done[job.name] = error
        else:
            log.debug("background job %s: %s", job.name, done[job.name])
    return done


class Worker(threading.Thread):
    """`run_once` every `poll` seconds until stopped."""

    def __init__(
        self,
        db: Database,
        jobs: list[Job],
        *,
        poll: float,
        stopping: threading.Event | None = None,
    ) -> None:
        super().__init__(name="tally-worker", daemon=True)
        self.db, self.jobs, self.poll = db, jobs, poll
        self.stopping = stopping or threading.Event()

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


class WebhookSender(threading.Thread):
    """`webhooks.send_until_stopped`: its own sender threads, its own loop."""

    def __init__(self, db: Database, settings: Settings, stopping: threading.Event) -> None:
        super().__init__(name="tally-webhooks", daemon=True)
        self.db, self.settings, self.stopping = db, settings, stopping

    def run(self) -> None:
        try:
            send_until_stopped(self.db, self.settings, self.stopping)
        except Exception:  # its set-up failed (the loop itself survives errors)
            log.exception("webhook sender failed")


class AlertEvaluator(threading.Thread):
    """Evaluates the alerts of customers whose usage changed (`alerts.checks`): a pass, then
    a pause of `alert_poll_seconds` or as long as the pass took, whichever is longer, so an
    event's alert is queued as a webhook within a second or so of its batch's commit while
    the evaluator never takes more than half of a thread's time from the requests its
    process serves (under full-speed ingestion every pass finds work: the pause batches
    more customers into each pass instead)."""

    def __init__(self, db: Database, settings: Settings, stopping: threading.Event) -> None:
        super().__init__(name="tally-alerts", daemon=True)
        self.db, self.poll, self.stopping = db, settings.alert_poll_seconds, stopping
        self.settings = settings

    def recharge(self, account_id: str, customer_ids: list[str]) -> object:
        """Auto-recharge as usage lowers a balance, not only at the next jobs pass."""
        return recharge_if_low(self.db, account_id, customer_ids, settings=self.settings)

    def run(self) -> None:
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                evaluate_marked(self.db, then=self.recharge, fired=nudge)
            except Exception:  # the database gone for a moment: try again after a pause
                log.exception("alert evaluator pass failed")
            self.stopping.wait(max(self.poll, time.monotonic() - started))


class Background:
    """A process's background work: the jobs loop and the webhook sender, in threads of
    their own sharing one stop flag."""

    def __init__(self, db: Database, settings: Settings, jobs: list[Job] | None = None) -> None:
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = [
            Worker(
                db,
                background_jobs(settings) if jobs is None else jobs,
                poll=settings.billing_poll_seconds,
                stopping=self.stopping,
            ),
            WebhookSender(db, settings, self.stopping),
            AlertEvaluator(db, settings, self.stopping),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def is_alive(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)

    def stop(self) -> None:
        """Let the job in progress and the webhooks being sent finish, then return once
        every thread has ended."""
        if not self.stopping.is_set():
            log.info("stopping background jobs: finishing the job in progress")
        self.stopping.set()
        for thread in self.threads:
            thread.join()
