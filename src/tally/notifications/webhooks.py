"""Webhook delivery: the outbox sender that POSTs queued events to their policies' URLs.

Senders (`webhook_concurrency` threads a process) take deliveries as they free up, so a slow
receiver holds the senders it has and no others. Claims are fair: due deliveries are taken
round-robin across accounts (each account's oldest first, then their second ...), no policy
has more than `webhook_policy_concurrency` in flight in a process and no account more than
half the senders, so one tenant's slow or silent receiver leaves the others' deliveries on
time. A claim is a short transaction (`FOR UPDATE SKIP LOCKED`, then the rows'
`next_attempt_at` pushed past a lease): no row lock is held while receivers answer, and any
number of processes share the outbox without sending a delivery twice. The claim, lease,
attempt guard and backoff are the durable outbox's (`core.outbox`, shared with emails); the
fair order and the caps are the webhooks' own.

Each attempt is recorded as it ends: a 2xx answer is DELIVERED; anything else, or no answer
within `webhook_timeout_seconds`, is retried after `delivery_backoff_seconds` x 2^(attempts -
1), and FAILED after `delivery_max_attempts`. Every attempt is kept on the row
(`attempt_log`): the policy's delivery log, in Tally's words ("answered 500", "timed out after
10 s", "destination not allowed: private address 10.0.0.1"), never a byte of the receiver's
answer. Connections go through `destinations.guarded_transport`: internal addresses refused
after resolution, no redirect followed.

Delivery is at least once: a worker that dies between sending and recording leaves its
claim to expire, and the delivery is sent again. `Tally-Event-Id` lets receivers notice.

`deliver_due` is one pass (tests, `tally worker --once`); `send_until_stopped` is the
background sender `tally serve` and `tally worker` run in threads of their own.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

import httpx
import msgspec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tally import __version__
from tally.core.clock import utcnow
from tally.core.outbox import Outbox
from tally.db import Database
from tally.models import (
    DeliveryStatus,
    NotificationEvent,
    NotificationPolicy,
    WebhookDelivery,
)
from tally.notifications.destinations import Undeliverable, guarded_transport
from tally.ops.metrics import webhook_pass
from tally.settings import Settings

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Sequence-Signature"
EVENT_ID_HEADER = "Tally-Event-Id"
BATCH = 50
_LOG_EVERY_SECONDS = 60.0  # the background sender's summary line, when it did anything

# Set by `nudge` when this process committed deliveries that are due now: an idle sender
# looks at once instead of at its next poll (an alert's webhook within a second).
_due = threading.Event()


def nudge() -> None:
    """Wake this process's idle webhook sender: deliveries were just committed."""
    _due.set()


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
    account_id: str
    policy_id: str
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


DELIVERIES = Outbox(
    WebhookDelivery,
    pending=DeliveryStatus.PENDING,
    delivered=DeliveryStatus.DELIVERED,
    failed=DeliveryStatus.FAILED,
)


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


class _InFlight:
    """What this process is sending, by policy and account: the caps claims respect."""

    def __init__(self, settings: Settings, senders: int) -> None:
        self.per_policy = settings.webhook_policy_concurrency
        self.per_account = max(1, senders // 2)  # the other half stays for other accounts
        self.policies: Counter[str] = Counter()
        self.accounts: Counter[str] = Counter()

    def full(self) -> tuple[set[str], set[str]]:
        """The policies and the accounts that may take no more."""
        return (
            {p for p, n in self.policies.items() if n >= self.per_policy},
            {a for a, n in self.accounts.items() if n >= self.per_account},
        )

    def pick(self, candidates: Sequence[Any], limit: int) -> list[str]:
        """Of `candidates` (id, account_id, policy_id; in claim order), the ids that fit."""
        policies, accounts = Counter(self.policies), Counter(self.accounts)
        chosen: list[str] = []
        for delivery_id, account_id, policy_id in candidates:
            if len(chosen) == limit:
                break
            if policies[policy_id] < self.per_policy and accounts[account_id] < self.per_account:
                chosen.append(delivery_id)
                policies[policy_id] += 1
                accounts[account_id] += 1
        return chosen

    def add(self, claimed: _Claimed, change: int = 1) -> None:
        self.policies[claimed.policy_id] += change
        self.accounts[claimed.account_id] += change
        self.policies, self.accounts = +self.policies, +self.accounts  # drop the zeros


def _candidates(session: Session, now: datetime, limit: int, in_flight: _InFlight) -> list[str]:
    """Due deliveries in a fair order: each account's oldest first, then each account's
    second ..., a policy's beyond its cap left out; trimmed to what `in_flight` has room
    for. Read without locks (the claim locks, skipping what another worker holds)."""
    full_policies, full_accounts = in_flight.full()
    due = select(
        WebhookDelivery.id,
        WebhookDelivery.account_id,
        WebhookDelivery.policy_id,
        WebhookDelivery.next_attempt_at,
        func.row_number()
        .over(
            partition_by=WebhookDelivery.policy_id,
            order_by=(WebhookDelivery.next_attempt_at, WebhookDelivery.id),
        )
        .label("policy_turn"),
    ).where(DELIVERIES.due(now))
    if full_policies:
        due = due.where(WebhookDelivery.policy_id.not_in(full_policies))
    if full_accounts:
        due = due.where(WebhookDelivery.account_id.not_in(full_accounts))
    by_policy = due.subquery()
    ranked = (
        select(
            by_policy.c.id,
            by_policy.c.account_id,
            by_policy.c.policy_id,
            by_policy.c.next_attempt_at,
            func.row_number()
            .over(
                partition_by=by_policy.c.account_id,
                order_by=(by_policy.c.next_attempt_at, by_policy.c.id),
            )
            .label("turn"),
        )
        .where(by_policy.c.policy_turn <= in_flight.per_policy)
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.id, ranked.c.account_id, ranked.c.policy_id)
        .where(ranked.c.turn <= min(limit, in_flight.per_account))
        .order_by(ranked.c.turn, ranked.c.next_attempt_at, ranked.c.id)
        .limit(4 * limit)
    ).all()
    return in_flight.pick(rows, limit)


def _claim(
    db: Database,
    settings: Settings,
    now: datetime,
    limit: int,
    in_flight: _InFlight,
    report: DeliveryReport,
) -> tuple[int, list[_Claimed]]:
    """Claim up to `limit` due deliveries, fairly (`_candidates`); returns how many were
    found due (some may be another worker's by now: claim again soon) and those to send."""
    with db.transaction() as session:
        chosen = _candidates(session, now, limit, in_flight)
        if not chosen:
            return 0, []
        # Still due: another worker may have claimed some since they were read.
        rows = list(
            session.scalars(DELIVERIES.locked(WebhookDelivery, now, WebhookDelivery.id.in_(chosen)))
        )
        if not rows:
            return len(chosen), []  # every one claimed by another worker meanwhile
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
        sending = []
        for row in rows:
            policy, event = policies[row.policy_id], events[row.event_id]
            reason = _stopped_because(policy, event, row.url)
            if reason is None and settings.delivery_retries.exhausted(row.attempts):
                # Its last attempt was claimed by a worker that never recorded it.
                reason = "gave up: the last attempt's outcome was never recorded"
            if reason is not None:
                row.status = DeliveryStatus.FAILED
                row.last_error = reason
                row.next_attempt_at = None
                report.stopped += 1
                continue
            sending.append((row, policy, event))
        if not sending:
            return len(chosen), []
        attempts = dict(
            DELIVERIES.claim(
                session,
                [row.id for row, _, _ in sending],
                now + _lease(settings),
                (WebhookDelivery.id, WebhookDelivery.attempts),
                updated_at=utcnow(),
            )
        )
        claimed = [
            _Claimed(
                delivery_id=row.id,
                account_id=row.account_id,
                policy_id=row.policy_id,
                attempt=attempts[row.id],
                attempt_log=list(row.attempt_log),
                event_id=event.id,
                url=row.url,
                secret=policy.webhook_secret or "",
                body=envelope(event),
            )
            for row, policy, event in sending
        ]
        return len(chosen), claimed


# Tally's words for a failed request, never the exception's own message: that can quote what
# the receiver sent (h11 cites a malformed status line).
_FAILURES: list[tuple[type[Exception] | tuple[type[Exception], ...], str]] = [
    (httpx.RemoteProtocolError, "no valid HTTP answer"),
    ((httpx.ReadError, httpx.WriteError, httpx.CloseError), "connection lost"),
    (httpx.HTTPError, "request failed"),
]


def _failure(exc: Exception) -> str:
    if isinstance(exc, Undeliverable):  # refused, unresolved, unreachable: said when raised
        return exc.reason
    if isinstance(exc, httpx.ConnectError):  # our backend connected, so TLS failed
        return _tls_failure(exc)
    return next(reason for kinds, reason in _FAILURES if isinstance(exc, kinds))


def _tls_failure(exc: BaseException) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "TLS certificate not accepted"
        if isinstance(cause, ssl.SSLError):
            return "TLS handshake failed"
        cause = cause.__cause__ or cause.__context__
    return "connection failed"


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
        # The answer's body is never read: only its status matters, and what it says
        # must not reach the log (the tenant reads it).
        with client.stream("POST", claimed.url, content=claimed.body, headers=headers) as answer:
            status = answer.status_code
            if 300 <= status < 400:
                error = f"answered {status} (redirects are not followed)"
            elif not 200 <= status < 300:
                error = f"answered {status}"
    except httpx.TimeoutException:
        error = f"timed out after {timeout:g} s"
    except (httpx.HTTPError, Undeliverable) as exc:
        error = _failure(exc)
    except Exception:  # a bug of ours: the delivery is retried, the worker lives on
        log.exception("webhook delivery %s failed", claimed.delivery_id)
        error = "not sent: an error in Tally (see its log)"
    duration_ms = round((time.monotonic() - started) * 1000)
    return _Outcome(claimed, status, error, duration_ms)


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
        settled = DELIVERIES.settle(
            settings.delivery_retries, claimed.attempt, at, delivered=outcome.delivered
        )
        if outcome.delivered:
            report.delivered += 1
        elif settled.status is DeliveryStatus.FAILED:
            report.failed += 1
        else:
            report.retrying += 1
        rows.append(
            {
                "id": claimed.delivery_id,
                "attempt": claimed.attempt,
                "status": settled.status,
                "next_attempt_at": settled.next_attempt_at,
                "last_attempt_at": at,
                "response_status": outcome.response_status,
                "last_error": outcome.error,
                "delivered_at": at if outcome.delivered else None,
                "attempt_log": [*claimed.attempt_log, entry],
                "updated_at": at,
            }
        )
    if not rows:
        return
    with db.transaction() as session:
        DELIVERIES.record_many(session, rows)


class _Dispatcher:
    """Claims due deliveries as senders free up, sends each on a sender thread and records
    each outcome as it comes: the loop of `deliver_due` and `send_until_stopped`."""

    def __init__(self, db: Database, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.db, self.settings, self.clock = db, settings, clock
        self.senders = settings.webhook_concurrency
        self.timeout = settings.webhook_timeout_seconds
        self.report = DeliveryReport()
        self.in_flight = _InFlight(settings, self.senders)
        self.sending: dict[Future[_Outcome], _Claimed] = {}
        self.pool = ThreadPoolExecutor(self.senders, thread_name_prefix="tally-webhook")
        connections = httpx.Limits(
            max_connections=self.senders, max_keepalive_connections=self.senders
        )
        self.client = httpx.Client(
            timeout=self.timeout,
            follow_redirects=False,  # a redirect is no delivery: the policy should name the target
            headers={"User-Agent": f"Tally-Webhooks/{__version__}"},
            transport=guarded_transport(settings.webhook_allow_list, connections),
        )

    def __enter__(self) -> _Dispatcher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.finish()
        self.pool.shutdown(wait=True)
        self.client.close()

    @property
    def free(self) -> int:
        return self.senders - len(self.sending)

    def claim(self, limit: int) -> int:
        """Claim up to `limit` and start sending them; how many were found due."""
        found, claimed = _claim(
            self.db, self.settings, self.clock(), limit, self.in_flight, self.report
        )
        for one in claimed:
            self.in_flight.add(one)
            self.sending[self.pool.submit(_send, self.client, self.timeout, one)] = one
        return found

    def collect(self, timeout: float | None) -> None:
        """Wait up to `timeout` for a send to end (None: until one does), then record every
        ended one."""
        if self.sending:
            done, _ = wait(self.sending, timeout=timeout, return_when=FIRST_COMPLETED)
            self._record(done)

    def finish(self) -> None:
        """Wait for every send in flight and record it (graceful shutdown)."""
        if self.sending:
            done, _ = wait(self.sending)
            self._record(done)

    def _record(self, done: set[Future[_Outcome]]) -> None:
        if not done:
            return
        outcomes = [future.result() for future in done]  # _send returns, never raises
        for future in done:
            self.in_flight.add(self.sending.pop(future), -1)
        _record(self.db, self.settings, self.clock(), outcomes, self.report)


def _log_report(report: DeliveryReport) -> None:
    if report.delivered or report.retrying or report.failed:
        log.info(
            "webhooks: %d delivered, %d to retry, %d failed",
            report.delivered,
            report.retrying,
            report.failed,
        )


@webhook_pass
def deliver_due(
    db: Database,
    settings: Settings,
    now: datetime | None = None,
    *,
    batch: int = BATCH,
    max_batches: int = 100,
) -> DeliveryReport:
    """One pass: send the deliveries due at `now` (default: the clock) until none is due,
    claiming at most `batch` at a time and `max_batches` times (the next pass takes the
    rest). Senders, caps and fairness as in the background sender."""
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    with _Dispatcher(db, settings, clock) as dispatch:
        claims = 0
        while True:
            found = 0
            if dispatch.free and claims < max_batches:
                found = dispatch.claim(min(batch, dispatch.free))
                claims += 1
            if found and claims < max_batches:
                dispatch.collect(timeout=0)  # record what ended, then claim more
            elif dispatch.sending:
                dispatch.collect(timeout=None)  # nothing more to claim now: wait for a sender
            else:
                break
    _log_report(dispatch.report)
    return dispatch.report


@webhook_pass
def _counted(report: DeliveryReport) -> DeliveryReport:
    """`report` counted in the metrics, as a pass of `deliver_due` is."""
    return report


def _step(dispatch: _Dispatcher, stopping: threading.Event, poll: float) -> None:
    """Claim what the free senders can take, then wait: not at all when more may be due, for
    a send to end (at most `poll`) when some are in flight, `poll` when idle."""
    sending = len(dispatch.sending)
    found = dispatch.claim(dispatch.free) if dispatch.free else 0
    if found and dispatch.free:
        if len(dispatch.sending) > sending:
            dispatch.collect(timeout=0)
        else:  # what was found, another worker claimed meanwhile: look again shortly
            stopping.wait(min(poll, 0.05))
    elif dispatch.sending:
        dispatch.collect(timeout=poll)
    else:
        _idle(stopping, poll)


def _idle(stopping: threading.Event, poll: float) -> None:
    """Wait `poll`, less when nudged or stopped (checked every tenth of a second)."""
    deadline = time.monotonic() + poll
    while not stopping.is_set() and not _due.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            break
        _due.wait(min(left, 0.1))
    _due.clear()


def _add(total: DeliveryReport, report: DeliveryReport) -> DeliveryReport:
    return DeliveryReport(
        **{key: value + getattr(report, key) for key, value in vars(total).items()}
    )


def send_until_stopped(
    db: Database,
    settings: Settings,
    stopping: threading.Event,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    """The background sender: claim whenever a sender is free and something is due (looking
    every `webhook_poll_seconds`), until `stopping` is set; then finish the sends in flight
    and return. Outcomes are counted in the metrics as they are recorded, and logged in one
    line a minute (or when all is sent)."""
    poll = settings.webhook_poll_seconds
    summary, logged_at = DeliveryReport(), time.monotonic()
    with _Dispatcher(db, settings, clock) as dispatch:
        while True:
            if stopping.is_set():
                dispatch.finish()
            else:
                try:
                    _step(dispatch, stopping, poll)
                except Exception:  # the database gone for a moment: try again after a poll
                    log.exception("webhook sender: claiming or recording failed")
                    stopping.wait(poll)
            summary = _add(summary, _counted(dispatch.report))
            dispatch.report = DeliveryReport()
            if (
                stopping.is_set()
                or not dispatch.sending
                or (time.monotonic() - logged_at >= _LOG_EVERY_SECONDS)
            ):
                _log_report(summary)
                summary, logged_at = DeliveryReport(), time.monotonic()
            if stopping.is_set() and not dispatch.sending:
                break
    log.info("webhook sender stopped")
