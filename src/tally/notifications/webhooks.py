"""Webhook delivery: the outbox worker that POSTs queued events to their policies' URLs.

`deliver_due` claims due PENDING deliveries in a short transaction (`FOR UPDATE SKIP
LOCKED`, then their `next_attempt_at` pushed past a lease), so no row lock is held while the
receivers answer and any number of workers share the outbox without sending a delivery twice.
It then POSTs Sequence's envelope, signed, to every claimed URL at once, and records each
attempt in a second transaction: a 2xx answer is DELIVERED; anything else, or no answer within
`webhook_timeout_seconds`, is retried after `delivery_backoff_seconds` x 2^(attempts - 1),
and FAILED after `delivery_max_attempts`. Every attempt is kept on the row (`attempt_log`):
the policy's delivery log.

Delivery is at least once: a worker that dies between sending and recording leaves its
claim to expire, and the delivery is sent again. `Tally-Event-Id` lets receivers notice.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import msgspec
from sqlalchemy import bindparam, select, update

from tally import __version__
from tally.db import Database, table_of, utcnow
from tally.models import (
    DeliveryStatus,
    NotificationEvent,
    NotificationPolicy,
    WebhookDelivery,
)
from tally.ops.metrics import webhook_pass
from tally.settings import Settings

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Sequence-Signature"
EVENT_ID_HEADER = "Tally-Event-Id"
BATCH = 50
MAX_SENDERS = 16  # concurrent POSTs per batch
_EXCERPT_BYTES = 300  # of a failing answer's body, kept in the log
_ERROR_LENGTH = 1000

_encoder = msgspec.json.Encoder()


def envelope(event: NotificationEvent) -> bytes:
    """Sequence's webhook body: `{notificationType, sequenceAccountId, resourceType?,
    resourceId?, resource?}`, the resource spliced in as the JSON text it was stored as."""
    body: dict[str, Any] = {
        "notificationType": event.notification_type,
        "sequenceAccountId": event.account_id,
    }
    if event.resource_type is not None:
        body["resourceType"] = event.resource_type
    if event.resource_id is not None:
        body["resourceId"] = event.resource_id
    if event.resource is not None:
        body["resource"] = msgspec.Raw(event.resource.encode())
    return _encoder.encode(body)


def signature(secret: str, body: bytes, timestamp_ms: int) -> str:
    """`t=<unix ms>,s=<hex HMAC-SHA256(secret, "<t>.<body>")>`, as Sequence signs."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}.".encode() + body, hashlib.sha256)
    return f"t={timestamp_ms},s={digest.hexdigest()}"


@dataclass(frozen=True)
class _Claimed:
    delivery_id: str
    attempt: int  # this attempt's number, 1 for the first
    attempt_log: list[Any]
    event_id: str
    url: str
    secret: str
    body: bytes


@dataclass(frozen=True)
class _Outcome:
    claimed: _Claimed
    response_status: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.error is None


@dataclass
class DeliveryReport:
    """What one `deliver_due` did, for the worker's log."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    stopped: int = 0  # no longer wanted (policy deleted, URL or type removed), or abandoned


def _lease(settings: Settings) -> timedelta:
    """How long a claim lasts: well past what one batch of concurrent POSTs can take, so
    no other worker takes a delivery still being sent."""
    return timedelta(seconds=60 + 4 * settings.webhook_timeout_seconds)


def _backoff(settings: Settings, attempts: int) -> timedelta:
    return timedelta(seconds=settings.delivery_backoff_seconds * 2 ** (attempts - 1))


def _stopped_because(policy: NotificationPolicy, event: NotificationEvent, url: str) -> str | None:
    if policy.deleted_at is not None:
        return "not sent: the policy was deleted"
    if url not in policy.recipients:
        return "not sent: the URL was removed from the policy"
    if policy.notification_types and event.notification_type not in policy.notification_types:
        return f"not sent: the policy no longer receives {event.notification_type}"
    if not policy.webhook_secret:
        return "not sent: the policy has no webhook secret"
    return None


def _claim(
    db: Database, settings: Settings, now: datetime, batch: int, report: DeliveryReport
) -> tuple[int, list[_Claimed]]:
    """Claim up to `batch` due deliveries; returns how many were due and those to send."""
    with db.transaction() as session:
        rows = list(
            session.scalars(
                select(WebhookDelivery)
                .where(
                    WebhookDelivery.status == DeliveryStatus.PENDING,
                    WebhookDelivery.next_attempt_at <= now,
                )
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        if not rows:
            return 0, []
        policies = {
            p.id: p
            for p in session.scalars(
                select(NotificationPolicy).where(
                    NotificationPolicy.id.in_({r.policy_id for r in rows})
                )
            )
        }
        events = {
            e.id: e
            for e in session.scalars(
                select(NotificationEvent).where(
                    NotificationEvent.id.in_({r.event_id for r in rows})
                )
            )
        }
        lease_end = now + _lease(settings)
        claimed = []
        for row in rows:
            policy, event = policies[row.policy_id], events[row.event_id]
            reason = _stopped_because(policy, event, row.url)
            if reason is None and row.attempts >= settings.delivery_max_attempts:
                # Its last attempt was claimed by a worker that never recorded it.
                reason = "gave up: the last attempt's outcome was never recorded"
            if reason is not None:
                row.status = DeliveryStatus.FAILED
                row.last_error = reason
                row.next_attempt_at = None
                report.stopped += 1
                continue
            row.attempts += 1
            row.next_attempt_at = lease_end
            claimed.append(
                _Claimed(
                    delivery_id=row.id,
                    attempt=row.attempts,
                    attempt_log=list(row.attempt_log),
                    event_id=event.id,
                    url=row.url,
                    secret=policy.webhook_secret or "",
                    body=envelope(event),
                )
            )
        return len(rows), claimed


def _excerpt(response: httpx.Response, deadline: float) -> str:
    """The start of a failing answer's body (read no further than needed, nor for long)."""
    data = b""
    for chunk in response.iter_raw():
        data += chunk
        if len(data) >= _EXCERPT_BYTES or time.monotonic() > deadline:
            break
    return " ".join(data[:_EXCERPT_BYTES].decode("utf-8", "replace").split())


def _send(client: httpx.Client, timeout: float, claimed: _Claimed) -> _Outcome:
    started = time.monotonic()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(claimed.secret, claimed.body, int(time.time() * 1000)),
        EVENT_ID_HEADER: claimed.event_id,
    }
    status: int | None = None
    error: str | None = None
    try:
        with client.stream("POST", claimed.url, content=claimed.body, headers=headers) as answer:
            status = answer.status_code
            if not 200 <= status < 300:
                excerpt = _excerpt(answer, started + timeout)
                error = f"HTTP {status}" + (f": {excerpt}" if excerpt else "")
    except httpx.TimeoutException:
        error = f"no answer within {timeout:g} s"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    duration_ms = round((time.monotonic() - started) * 1000)
    return _Outcome(claimed, status, error and error[:_ERROR_LENGTH], duration_ms)


def _send_all(client: httpx.Client, timeout: float, claimed: Sequence[_Claimed]) -> list[_Outcome]:
    if len(claimed) == 1:
        return [_send(client, timeout, claimed[0])]
    with ThreadPoolExecutor(max_workers=min(MAX_SENDERS, len(claimed))) as pool:
        return list(pool.map(lambda c: _send(client, timeout, c), claimed))


def _record(
    db: Database,
    settings: Settings,
    at: datetime,
    outcomes: Sequence[_Outcome],
    report: DeliveryReport,
) -> None:
    """Write each attempt's outcome, where the claim is still this worker's (its attempt
    count unchanged): one UPDATE for the batch."""
    rows = []
    for outcome in outcomes:
        claimed = outcome.claimed
        entry = {
            "attempt": claimed.attempt,
            "at": at.isoformat(),
            "response_status": outcome.response_status,
            "error": outcome.error,
            "duration_ms": outcome.duration_ms,
        }
        if outcome.delivered:
            status, next_attempt = DeliveryStatus.DELIVERED, None
            report.delivered += 1
        elif claimed.attempt >= settings.delivery_max_attempts:
            status, next_attempt = DeliveryStatus.FAILED, None
            report.failed += 1
        else:
            status, next_attempt = DeliveryStatus.PENDING, at + _backoff(settings, claimed.attempt)
            report.retrying += 1
        rows.append(
            {
                "b_id": claimed.delivery_id,
                "b_attempts": claimed.attempt,
                "b_status": status,
                "b_next_attempt_at": next_attempt,
                "b_last_attempt_at": at,
                "b_response_status": outcome.response_status,
                "b_last_error": outcome.error,
                "b_delivered_at": at if outcome.delivered else None,
                "b_attempt_log": [*claimed.attempt_log, entry],
                "b_updated_at": at,
            }
        )
    if not rows:
        return
    table = table_of(WebhookDelivery)
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.attempts == bindparam("b_attempts"))
        .values(
            status=bindparam("b_status"),
            next_attempt_at=bindparam("b_next_attempt_at"),
            last_attempt_at=bindparam("b_last_attempt_at"),
            response_status=bindparam("b_response_status"),
            last_error=bindparam("b_last_error"),
            delivered_at=bindparam("b_delivered_at"),
            attempt_log=bindparam("b_attempt_log"),
            updated_at=bindparam("b_updated_at"),
        )
    )
    with db.transaction() as session:
        session.connection().execute(statement, rows)


@webhook_pass
def deliver_due(
    db: Database,
    settings: Settings,
    now: datetime | None = None,
    *,
    batch: int = BATCH,
    max_batches: int = 20,
) -> DeliveryReport:
    """Send the deliveries due at `now` (default: the clock), a batch at a time, until none
    is due or `max_batches` were sent (the next pass takes the rest)."""
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    report = DeliveryReport()
    timeout = settings.webhook_timeout_seconds
    with httpx.Client(
        timeout=timeout,
        follow_redirects=False,  # a redirect is no delivery: the policy should name the target
        headers={"User-Agent": f"Tally-Webhooks/{__version__}"},
    ) as client:
        for _ in range(max_batches):
            due, claimed = _claim(db, settings, clock(), batch, report)
            if claimed:
                _record(db, settings, clock(), _send_all(client, timeout, claimed), report)
            if due < batch:
                break
    if report.delivered or report.retrying or report.failed:
        log.info(
            "webhooks: %d delivered, %d to retry, %d failed",
            report.delivered,
            report.retrying,
            report.failed,
        )
    return report
