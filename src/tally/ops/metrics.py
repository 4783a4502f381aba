"""Prometheus metrics, exposed at `/metrics`.

The domains call the small helpers below (one line each where the numbers are known); the
request histogram is filled by `tally.api.middleware`. Labels never carry ids: requests are
labelled by route template (`/api/customers/{id}`), unmatched paths as `<unmatched>`.

Several processes (`tally serve --workers N`) each count their own: `tally serve` then points
prometheus-client's multiprocess mode at a directory (`PROMETHEUS_MULTIPROC_DIR`, default
`$TALLY_DATA_DIR/metrics`), and `/metrics` sums every process's files. The mode is chosen when
prometheus-client is imported, so the variable must be set before the server processes start.
"""

import hmac
import os
import shutil
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.orm import Session

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

http_request_duration = Histogram(
    "tally_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status class.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
usage_events_ingested = Counter(
    "tally_usage_events_ingested_total",
    "Usage events stored (committed), new or replacing an earlier one.",
    ["outcome"],
)
usage_events_rejected = Counter(
    "tally_usage_events_rejected_total", "Usage events refused as invalid, not stored."
)
billing_runs = Counter(
    "tally_billing_runs_total",
    "Billing passes: scheduled (worker) or on demand (API, `tally bill`).",
    ["trigger", "outcome"],
)
billing_run_duration = Histogram(
    "tally_billing_run_duration_seconds",
    "Time a billing pass took.",
    ["trigger"],
    buckets=(0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800),
)
billing_schedules = Counter(
    "tally_billing_schedules_total", "Billing schedules billed, by result.", ["outcome"]
)
billing_invoices = Counter(
    "tally_billing_invoices_total", "Invoices billing wrote, by change.", ["change"]
)
webhook_deliveries = Counter(
    "tally_webhook_deliveries_total",
    "Webhook delivery attempts: delivered, to retry, or failed for good.",
    ["outcome"],
)
emails = Counter(
    "tally_emails_total", "Email attempts: sent, to retry, or failed for good.", ["outcome"]
)
rate_limited = Counter(
    "tally_rate_limited_total",
    "Requests refused with 429: over an API key's rate, or too many failed logins.",
    ["reason"],
)

P = ParamSpec("P")
R = TypeVar("R")


def count_events_on_commit(session: Session, *, accepted: int, replaced: int) -> None:
    """Count ingested events once their transaction commits (a rollback stores nothing)."""

    def committed(_: Session) -> None:
        usage_events_ingested.labels("accepted").inc(accepted)
        usage_events_ingested.labels("replaced").inc(replaced)

    event.listen(session, "after_commit", committed, once=True)


class _BillingReport(Protocol):
    billing_schedules: int
    invoices_created: int
    invoices_updated: int
    invoices_deleted: int
    invoices_finalized: int
    failed_schedules: list[str]


def billing_run(trigger: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a billing pass returning a RunReport: count it, time it, count its results."""

    def decorate(run: Callable[P, R]) -> Callable[P, R]:
        @wraps(run)
        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            started = time.perf_counter()
            try:
                report: Any = run(*args, **kwargs)
            except BaseException:
                billing_runs.labels(trigger, "error").inc()
                raise
            finally:
                billing_run_duration.labels(trigger).observe(time.perf_counter() - started)
            _count_billing(report)
            billing_runs.labels(trigger, "ok").inc()
            return report  # type: ignore[no-any-return]

        return timed

    return decorate


def _count_billing(report: _BillingReport) -> None:
    failed = len(report.failed_schedules)
    billing_schedules.labels("billed").inc(max(report.billing_schedules - failed, 0))
    billing_schedules.labels("failed").inc(failed)
    for change, count in (
        ("created", report.invoices_created),
        ("updated", report.invoices_updated),
        ("deleted", report.invoices_deleted),
        ("finalized", report.invoices_finalized),
    ):
        billing_invoices.labels(change).inc(count)


def _count(outcomes: Counter, counts: dict[str, Any]) -> None:
    for outcome, value in counts.items():
        amount = value if isinstance(value, int) else len(value)
        if amount:
            outcomes.labels(outcome).inc(amount)


def webhook_pass(deliver: Callable[P, R]) -> Callable[P, R]:
    """Decorate `deliver_due`: count its DeliveryReport (delivered, retrying, failed)."""

    @wraps(deliver)
    def counted(*args: P.args, **kwargs: P.kwargs) -> R:
        report: Any = deliver(*args, **kwargs)
        _count(
            webhook_deliveries,
            {key: getattr(report, key) for key in ("delivered", "retrying", "failed")},
        )
        return report  # type: ignore[no-any-return]

    return counted


def email_pass(send: Callable[P, R]) -> Callable[P, R]:
    """Decorate `send_due`: count its SendReport (sent, retrying, failed)."""

    @wraps(send)
    def counted(*args: P.args, **kwargs: P.kwargs) -> R:
        report: Any = send(*args, **kwargs)
        _count(
            emails,
            {"sent": report.delivered, "retrying": report.retrying, "failed": report.failed},
        )
        return report  # type: ignore[no-any-return]

    return counted


def prepare_multiprocess(data_dir: Path) -> None:
    """Before `tally serve` starts several processes: a clean directory for their files.

    Left alone when the operator already set PROMETHEUS_MULTIPROC_DIR (they own it).
    """
    if os.environ.get(MULTIPROC_ENV):
        return
    directory = data_dir / "metrics"
    shutil.rmtree(directory, ignore_errors=True)  # files of dead processes would add up
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory.resolve())


def exposition() -> bytes:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics_endpoint(request: Request) -> Response:
    token: str | None = request.app.state.settings.metrics_token
    if token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return Response(
                b'{"error": {"type": "Unauthorized", "message": "Bearer token required."}}',
                status_code=401,
                media_type="application/json",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
