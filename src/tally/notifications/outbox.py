"""The email sender: delivers due `email_messages`, retrying with exponential backoff.

Each pass claims a batch in one short transaction: the due PENDING rows are locked with
`FOR UPDATE SKIP LOCKED` (SQLite: its single writer), their `attempts` bumped and
`next_attempt_at` pushed a lease ahead, and committed, so the locks are gone before any slow
rendering or SMTP conversation starts. Other workers skip the claimed rows until the lease runs
out. Each message is then rendered and sent, and its outcome recorded in a second short
transaction, guarded by the attempt number claimed: a worker that outlived its lease cannot
overwrite the outcome of the one that took the message over.

Delivery is at least once. A worker that dies between handing a message to the server and
recording it leaves the row PENDING, and the message goes again when the lease runs out. The
other choice, at most once (record before sending), would lose invoices on every crash; a
rare duplicate carries the same Message-ID, which mail clients use to spot it. Within the
lease a message is never sent twice: a worker stops sending its batch before the lease could
run out mid-conversation.

Reminders whose invoice was paid or voided after they were queued are not sent: they are
closed as FAILED with the reason in `last_error`.
"""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tally.db import Database, utcnow
from tally.documents import render
from tally.models import (
    Account,
    CreditNote,
    DeliveryStatus,
    EmailMessage,
    Invoice,
    InvoiceStatus,
    PaymentStatus,
)
from tally.notifications.mailer import (
    SMTP_TIMEOUT_SECONDS,
    Attachment,
    DeliveryRefused,
    Outgoing,
    Transport,
    transport,
)
from tally.ops.metrics import email_pass
from tally.settings import Settings

log = logging.getLogger(__name__)

BATCH = 50
# How long a claimed message is left to its worker before others may take it over: far
# longer than a batch takes, since each send is bounded by the SMTP timeout.
LEASE = timedelta(minutes=15)
REMINDABLE = (PaymentStatus.UNPAID, PaymentStatus.PARTIALLY_PAID)


@dataclass
class SendReport:
    delivered: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)  # reminders of invoices settled since


@dataclass(frozen=True)
class Claimed:
    id: str
    account_id: str
    attempt: int  # attempts after the claim: the guard of the outcome's update
    kind: str
    to: list[str]
    cc: list[str]
    subject: str
    text: str
    html: str | None
    attachments: list[dict[str, Any]]


def backoff(settings: Settings, attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: base, 2 x base, 4 x base ..."""
    return timedelta(seconds=settings.delivery_backoff_seconds * 2 ** (attempts - 1))


def _claim(
    db: Database, now: datetime, batch: int, account_id: str | None, *, lease_from: datetime
) -> list[Claimed]:
    """Claim up to `batch` messages due by `now`, leased until `lease_from` + LEASE."""
    with db.transaction() as session:
        query = (
            select(EmailMessage.id)
            .where(
                EmailMessage.status == DeliveryStatus.PENDING,
                EmailMessage.next_attempt_at <= now,
            )
            .order_by(EmailMessage.next_attempt_at, EmailMessage.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        if account_id is not None:
            query = query.where(EmailMessage.account_id == account_id)
        ids = session.scalars(query).all()
        if not ids:
            return []
        rows = session.execute(
            update(EmailMessage)
            .where(EmailMessage.id.in_(ids))
            .values(
                attempts=EmailMessage.attempts + 1,
                next_attempt_at=lease_from + LEASE,
                updated_at=utcnow(),
            )
            .returning(
                EmailMessage.id,
                EmailMessage.account_id,
                EmailMessage.attempts,
                EmailMessage.kind,
                EmailMessage.to_addresses,
                EmailMessage.cc_addresses,
                EmailMessage.subject,
                EmailMessage.text_body,
                EmailMessage.html_body,
                EmailMessage.attachments,
            )
        ).all()
    order = {message_id: position for position, message_id in enumerate(ids)}
    return sorted((Claimed(*row) for row in rows), key=lambda message: order[message.id])


def _record(session: Session, message: Claimed, **values: Any) -> None:
    session.execute(
        update(EmailMessage)
        .where(EmailMessage.id == message.id, EmailMessage.attempts == message.attempt)
        .values(updated_at=utcnow(), **values)
    )


def _release(db: Database, messages: Sequence[Claimed], now: datetime) -> None:
    """Give claimed messages back unattempted: due again now, the attempt not counted."""
    with db.transaction() as session:
        for message in messages:
            _record(session, message, attempts=message.attempt - 1, next_attempt_at=now)


def _filename(document: str, number: str | None, document_id: str) -> str:
    """ "Invoice-INV00042.pdf", "Credit-note-CN00003.pdf" (the id while it has no number)."""
    label = "Invoice" if document == "invoice" else "Credit-note"
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", number or "").strip("-.") or document_id
    return f"{label}-{stem}.pdf"


def _render_attachments(
    session: Session, settings: Settings, message: Claimed, numbers: dict[str, str | None]
) -> list[Attachment]:
    files = []
    for reference in message.attachments:
        document, document_id = reference["document"], reference["id"]
        if document == "invoice":
            pdf = render.invoice_pdf(session, message.account_id, document_id, settings=settings)
        elif document == "credit_note":
            pdf = render.credit_note_pdf(
                session, message.account_id, document_id, settings=settings
            )
        else:
            raise ValueError(f"unknown attachment {reference!r}")
        files.append(Attachment(_filename(document, numbers.get(document_id), document_id), pdf))
    return files


def _context(
    session: Session, messages: Sequence[Claimed]
) -> tuple[dict[str, str], dict[str, str | None], dict[str, str]]:
    """For a batch, in a few queries: the merchants' names, the attached documents' numbers,
    and why reminders whose invoice changed since they were queued must not go."""
    account_ids = {m.account_id for m in messages}
    names = {
        row.id: row.name
        for row in session.execute(
            select(Account.id, Account.name).where(Account.id.in_(account_ids))
        )
    }
    wanted: dict[str, set[str]] = defaultdict(set)
    for message in messages:
        for reference in message.attachments:
            wanted[reference["document"]].add(reference["id"])
    numbers: dict[str, str | None] = {}
    stale: dict[str, str] = {}
    if wanted["invoice"]:
        invoices = session.execute(
            select(
                Invoice.id, Invoice.invoice_number, Invoice.status, Invoice.payment_status
            ).where(Invoice.account_id.in_(account_ids), Invoice.id.in_(wanted["invoice"]))
        )
        for invoice_id, number, status, payment_status in invoices:
            numbers[invoice_id] = number
            if status is not InvoiceStatus.SENT:
                stale[invoice_id] = f"invoice is {status.value}"
            elif payment_status not in REMINDABLE:
                stale[invoice_id] = f"invoice is {payment_status.value}"
    if wanted["credit_note"]:
        notes = session.execute(
            select(CreditNote.id, CreditNote.credit_note_number).where(
                CreditNote.account_id.in_(account_ids), CreditNote.id.in_(wanted["credit_note"])
            )
        )
        numbers.update({row.id: row.credit_note_number for row in notes})
    cancelled = {}
    for message in messages:
        if message.kind != "REMINDER":
            continue
        for reference in message.attachments:
            reason = stale.get(reference["id"]) if reference["document"] == "invoice" else None
            if reason:
                cancelled[message.id] = f"cancelled: {reason}"
    return names, numbers, cancelled


def _send_batch(
    db: Database,
    settings: Settings,
    mailer: Transport,
    messages: Sequence[Claimed],
    clock: Callable[[], datetime],
    report: SendReport,
) -> None:
    started = time.monotonic()
    with db.session(write=False) as session:
        names, numbers, cancelled = _context(session, messages)
    for position, message in enumerate(messages):
        # Stop while the lease surely outlasts one more conversation; the rest go back.
        if time.monotonic() - started > LEASE.total_seconds() - 2 * SMTP_TIMEOUT_SECONDS:
            _release(db, messages[position:], clock())
            return
        if message.id in cancelled:
            with db.transaction() as session:
                _record(
                    session,
                    message,
                    status=DeliveryStatus.FAILED,
                    next_attempt_at=None,
                    last_error=cancelled[message.id],
                )
            report.cancelled.append(message.id)
            continue
        error: str | None = None
        permanent = False
        try:
            if not message.to and not message.cc:
                raise DeliveryRefused("no recipients")
            # Rendered in a session of its own, over before the SMTP conversation starts
            # (committed: a document may have given its customer a portal secret).
            with db.session(write=False) as session:
                files = _render_attachments(session, settings, message, numbers)
                session.commit()
            mailer.send(
                Outgoing(
                    message_id=message.id,
                    sender_name=names.get(message.account_id, ""),
                    to=message.to,
                    cc=message.cc,
                    subject=message.subject,
                    text=message.text,
                    html=message.html,
                    attachments=files,
                )
            )
        except DeliveryRefused as refused:
            error, permanent = f"refused: {refused}", True
        except Exception as failure:
            log.warning("email %s: attempt %d failed", message.id, message.attempt, exc_info=True)
            error = f"{type(failure).__name__}: {failure}"
        with db.transaction() as session:
            if error is None:
                _record(
                    session,
                    message,
                    status=DeliveryStatus.DELIVERED,
                    sent_at=utcnow(),
                    next_attempt_at=None,
                    last_error=None,
                )
                report.delivered.append(message.id)
            elif permanent or message.attempt >= settings.delivery_max_attempts:
                _record(
                    session,
                    message,
                    status=DeliveryStatus.FAILED,
                    next_attempt_at=None,
                    last_error=error[:2000],
                )
                report.failed.append(message.id)
            else:
                _record(
                    session,
                    message,
                    next_attempt_at=clock() + backoff(settings, message.attempt),
                    last_error=error[:2000],
                )
                report.retrying.append(message.id)


@email_pass
def send_due(
    db: Database,
    settings: Settings,
    now: datetime | None = None,
    *,
    batch: int = BATCH,
    account_id: str | None = None,
) -> SendReport:
    """One pass of the sender: every message due (of every account, or of one), batch by
    batch, skipping those another worker has claimed. Times (what is due, leases, retries)
    are taken as each is needed, or all are `now` when given (tests)."""
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    report = SendReport()
    mailer = transport(settings)
    try:
        while True:
            at = clock()
            claimed = _claim(db, at, batch, account_id, lease_from=at)
            if claimed:
                _send_batch(db, settings, mailer, claimed, clock, report)
            if len(claimed) < batch:
                return report
    finally:
        mailer.close()
