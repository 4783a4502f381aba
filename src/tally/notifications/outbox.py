"""The email sender: delivers due `email_messages`, retrying with exponential backoff.

Each pass claims a batch in one short transaction: the due PENDING rows are locked with
`FOR UPDATE SKIP LOCKED` (SQLite: its single writer), their `attempts` bumped and
`next_attempt_at` pushed a lease ahead, and committed, so the locks are gone before any slow
rendering or SMTP conversation starts. Other workers skip the claimed rows until the lease runs
out. Each message is then rendered and sent, and its outcome recorded in a second short
transaction, guarded by the attempt number claimed: a worker that outlived its lease cannot
overwrite the outcome of the one that took the message over. Those rules, and the backoff,
are the durable outbox's (`core.outbox`, shared with webhook deliveries).

Delivery is at least once. A worker that dies between handing a message to the server and
recording it leaves the row PENDING, and the message goes again when the lease runs out. The
other choice, at most once (record before sending), would lose invoices on every crash; a
rare duplicate carries the same Message-ID, which mail clients use to spot it. Within the
lease a message is never sent twice: a worker stops sending its batch before the lease could
run out mid-conversation.

Each attempt composes the message again from current data (`email.compose_message`: the
account, the customer's portal link, the document) and stores what it sent in the row's
subject and bodies. A message that cannot be composed (a header with a line break, a document
deleted since, no valid address left) or refused for good by the server fails at once, with
the reason in `last_error`; other failures (the server unreachable or busy, rendering) are
retried. Reminders whose invoice was paid or voided after they were queued are not sent:
they are closed as FAILED with the reason in `last_error`.
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

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.attachments.service import contents as attachment_files
from tally.core.clock import utcnow
from tally.core.formatting import DEFAULT_LOCALE
from tally.core.outbox import Outbox
from tally.db import Database
from tally.documents import render
from tally.documents.languages import customer_locales
from tally.documents.links import invoice_path, paying_accounts, portal_links
from tally.models import (
    Account,
    CreditNote,
    DeliveryStatus,
    EmailMessage,
    Invoice,
    InvoiceStatus,
    PaymentStatus,
)
from tally.notifications.email import Composed, Content, compose_message
from tally.notifications.mailer import (
    SMTP_TIMEOUT_SECONDS,
    Attachment,
    DeliveryRefused,
    Outgoing,
    Transport,
    Unsendable,
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
    dedupe_key: str | None


EMAILS = Outbox(
    EmailMessage,
    pending=DeliveryStatus.PENDING,
    delivered=DeliveryStatus.DELIVERED,
    failed=DeliveryStatus.FAILED,
)


def _claim(
    db: Database, now: datetime, batch: int, account_id: str | None, *, lease_from: datetime
) -> list[Claimed]:
    """Claim up to `batch` messages due by `now`, leased until `lease_from` + LEASE."""
    criteria = [] if account_id is None else [EmailMessage.account_id == account_id]
    with db.transaction() as session:
        ids = session.scalars(EMAILS.locked(EmailMessage.id, now, *criteria, limit=batch)).all()
        if not ids:
            return []
        rows = EMAILS.claim(
            session,
            ids,
            lease_from + LEASE,
            (
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
                EmailMessage.dedupe_key,
            ),
            updated_at=utcnow(),
        )
    order = {message_id: position for position, message_id in enumerate(ids)}
    return sorted((Claimed(*row) for row in rows), key=lambda message: order[message.id])


def _record(session: Session, message: Claimed, **values: Any) -> None:
    EMAILS.record(session, message.id, message.attempt, updated_at=utcnow(), **values)


def _release(db: Database, messages: Sequence[Claimed], now: datetime) -> None:
    """Give claimed messages back unattempted: due again now, the attempt not counted."""
    with db.transaction() as session:
        claims = [(message.id, message.attempt) for message in messages]
        EMAILS.release(session, claims, now, updated_at=utcnow())


def _filename(document: str, number: str | None, document_id: str) -> str:
    """ "Invoice-INV00042.pdf", "Credit-note-CN00003.pdf" (the id while it has no number)."""
    label = "Invoice" if document == "invoice" else "Credit-note"
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", number or "").strip("-.") or document_id
    return f"{label}-{stem}.pdf"


@dataclass(frozen=True)
class _Batch:
    """What a batch's messages are composed from, read in a few queries."""

    accounts: dict[str, Account]
    invoices: dict[str, Invoice]
    notes: dict[str, CreditNote]
    links: dict[str, str]  # customer id -> portal link
    paying: set[str] = field(default_factory=set)  # accounts whose invoices carry a pay link
    locales: dict[str, str] = field(default_factory=dict)  # customer id -> its locale


def _load(session: Session, settings: Settings, messages: Sequence[Claimed]) -> _Batch:
    """The batch's accounts, attached documents and their customers' portal links."""
    account_ids = {m.account_id for m in messages}
    wanted: dict[str, set[str]] = defaultdict(set)
    for message in messages:
        for reference in message.attachments:
            wanted[reference["document"]].add(reference["id"])
    accounts = session.scalars(select(Account).where(Account.id.in_(account_ids)))
    invoices: dict[str, Invoice] = {}
    if wanted["invoice"]:
        found = session.scalars(
            select(Invoice).where(
                Invoice.account_id.in_(account_ids), Invoice.id.in_(wanted["invoice"])
            )
        )
        invoices = {invoice.id: invoice for invoice in found}
    notes: dict[str, CreditNote] = {}
    if wanted["credit_note"]:
        found_notes = session.scalars(
            select(CreditNote).where(
                CreditNote.account_id.in_(account_ids), CreditNote.id.in_(wanted["credit_note"])
            )
        )
        notes = {note.id: note for note in found_notes}
    customers = {i.customer_id for i in invoices.values()} | {n.customer_id for n in notes.values()}
    links = portal_links(session, customers, settings.public_url) if customers else {}
    paying = paying_accounts(session, {i.account_id for i in invoices.values()})
    locales = customer_locales(session, account_ids, customers)
    return _Batch({a.id: a for a in accounts}, invoices, notes, links, paying, locales)


def _cancelled(batch: _Batch, message: Claimed) -> str | None:
    """Why a reminder must not go: its invoice was settled or voided since it was queued."""
    if message.kind != "REMINDER":
        return None
    for reference in message.attachments:
        invoice = (
            batch.invoices.get(reference["id"]) if reference["document"] == "invoice" else None
        )
        if invoice is None:
            continue
        if invoice.status is not InvoiceStatus.SENT:
            return f"cancelled: invoice is {invoice.status.value}"
        if invoice.payment_status not in REMINDABLE:
            return f"cancelled: invoice is {invoice.payment_status.value}"
    return None


def _compose(batch: _Batch, message: Claimed) -> Composed:
    """The message from current data, or Unsendable saying why it cannot be."""
    account = batch.accounts.get(message.account_id)
    if account is None:
        raise Unsendable("the account no longer exists")
    document: Invoice | CreditNote | None = None
    link: str | None = None
    for reference in message.attachments[:1]:  # a document's email attaches that document
        kind, document_id = reference["document"], reference["id"]
        if kind == "invoice":
            document = batch.invoices.get(document_id)
            path = invoice_path(document_id)
        elif kind == "credit_note":
            document = batch.notes.get(document_id)
            # The portal shows credit notes with the invoice they credit.
            credited = document.invoice_id if document else None
            path = invoice_path(credited) if credited else ""
        else:
            raise Unsendable(f"it attaches an unknown kind of document ({kind!r})")
        if document is None or document.account_id != message.account_id:
            raise Unsendable(f"the {kind.replace('_', ' ')} no longer exists")
        if document.customer_id not in batch.links:
            raise Unsendable("the customer no longer exists")
        link = batch.links[document.customer_id] + path
    locale = batch.locales.get(document.customer_id, DEFAULT_LOCALE) if document else DEFAULT_LOCALE
    return compose_message(
        account,
        message.kind,
        document,
        link,
        stored=Content(message.subject, message.text, message.html or ""),
        to=message.to,
        cc=message.cc,
        dedupe_key=message.dedupe_key,
        pays_online=message.account_id in batch.paying,
        locale=locale,
    )


def _number(batch: _Batch, document: str, document_id: str) -> str | None:
    if document == "invoice" and (invoice := batch.invoices.get(document_id)):
        return invoice.invoice_number
    if document == "credit_note" and (note := batch.notes.get(document_id)):
        return note.credit_note_number
    return None


def _render_attachments(
    session: Session, settings: Settings, message: Claimed, batch: _Batch
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
        number = _number(batch, document, document_id)
        files.append(Attachment(_filename(document, number, document_id), pdf))
        invoice = batch.invoices.get(document_id) if document == "invoice" else None
        if invoice is not None and invoice.attachment_assets:
            files.extend(_uploaded(session, invoice))
    return files


def _uploaded(session: Session, invoice: Invoice) -> list[Attachment]:
    """The files uploaded for the invoice (its `attachmentAssets`), after its PDF."""
    ids = [asset["id"] for asset in invoice.attachment_assets]
    found = attachment_files(session, invoice.account_id, ids)
    return [
        Attachment(
            row.file_name,
            row.content,
            maintype=row.media_type.partition("/")[0],
            subtype=row.media_type.partition("/")[2],
        )
        for row in found
    ]


@dataclass(frozen=True)
class _Outcome:
    error: str | None = None  # None: delivered
    permanent: bool = False  # no retry
    cancelled: bool = False  # a reminder of an invoice settled since


def _prepare(
    db: Database, settings: Settings, messages: Sequence[Claimed]
) -> tuple[_Batch, dict[str, Composed | _Outcome]]:
    """Each message composed from the rows as they are now, or the outcome that makes
    sending it pointless: one short transaction for the batch (it may give a customer its
    portal secret)."""
    prepared: dict[str, Composed | _Outcome] = {}
    with db.transaction() as session:
        batch = _load(session, settings, messages)
        for message in messages:
            if reason := _cancelled(batch, message):
                prepared[message.id] = _Outcome(reason, permanent=True, cancelled=True)
                continue
            try:
                prepared[message.id] = _compose(batch, message)
            except Unsendable as failure:
                prepared[message.id] = _Outcome(f"could not compose: {failure}", permanent=True)
            except Exception as failure:  # a fault of ours, not of the data: try again later
                log.warning("email %s: composing failed", message.id, exc_info=True)
                prepared[message.id] = _Outcome(f"{type(failure).__name__}: {failure}")
    return batch, prepared


def _attempt(
    db: Database,
    settings: Settings,
    mailer: Transport,
    message: Claimed,
    batch: _Batch,
    composed: Composed,
) -> _Outcome:
    try:
        # Rendered in a session of its own, over before the SMTP conversation starts
        # (committed: a document may have given its customer a portal secret).
        with db.session(write=False) as session:
            files = _render_attachments(session, settings, message, batch)
            session.commit()
        mailer.send(
            Outgoing(
                message_id=message.id,
                sender_name=composed.sender_name,
                to=composed.to,
                cc=composed.cc,
                subject=composed.content.subject,
                text=composed.content.text,
                html=composed.content.html or None,
                attachments=files,
            )
        )
    except Unsendable as failure:
        return _Outcome(f"could not compose: {failure}", permanent=True)
    except DeliveryRefused as refused:
        return _Outcome(f"refused: {refused}", permanent=True)
    except Exception as failure:
        log.warning("email %s: attempt %d failed", message.id, message.attempt, exc_info=True)
        return _Outcome(f"{type(failure).__name__}: {failure}")
    return _Outcome()


def _finish(
    db: Database,
    settings: Settings,
    message: Claimed,
    outcome: _Outcome,
    composed: Composed | None,
    at: datetime,
    report: SendReport,
) -> None:
    """Record the outcome, with the subject and bodies this attempt composed (those kept
    when it could not compose): the row reads what was last sent."""
    values: dict[str, Any] = {}
    if composed is not None:
        content = composed.content
        values.update(
            subject=content.subject[:1000], text_body=content.text, html_body=content.html or None
        )
    settled = EMAILS.settle(
        settings.delivery_retries,
        message.attempt,
        at,
        delivered=outcome.error is None,
        permanent=outcome.permanent,
    )
    values.update(status=settled.status, next_attempt_at=settled.next_attempt_at)
    if outcome.error is None:
        assert composed is not None
        # Addresses left out are said, though the others got it.
        skipped = "not sent to " + "; ".join(composed.dropped) if composed.dropped else None
        values.update(sent_at=utcnow(), last_error=skipped[:2000] if skipped else None)
        outcomes = report.delivered
    else:
        values.update(last_error=outcome.error[:2000])
        if settled.status is DeliveryStatus.PENDING:
            outcomes = report.retrying
        else:
            outcomes = report.cancelled if outcome.cancelled else report.failed
    with db.transaction() as session:
        _record(session, message, **values)
    outcomes.append(message.id)


def _send_batch(
    db: Database,
    settings: Settings,
    mailer: Transport,
    messages: Sequence[Claimed],
    clock: Callable[[], datetime],
    report: SendReport,
) -> None:
    started = time.monotonic()
    batch, prepared = _prepare(db, settings, messages)
    for position, message in enumerate(messages):
        # Stop while the lease surely outlasts one more conversation; the rest go back.
        if time.monotonic() - started > LEASE.total_seconds() - 2 * SMTP_TIMEOUT_SECONDS:
            _release(db, messages[position:], clock())
            return
        ready = prepared[message.id]
        if isinstance(ready, _Outcome):
            _finish(db, settings, message, ready, None, clock(), report)
        else:
            outcome = _attempt(db, settings, mailer, message, batch, ready)
            _finish(db, settings, message, outcome, ready, clock(), report)


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
