"""An invoice's life after billing (or a person) wrote it: finalizing with a gapless number,
sending, voiding, payment status, the few changes a sent invoice allows, deleting, and
turning an upcoming IN_PROGRESS invoice into a draft. Also what billing and archiving do to
invoices: auto-issue finalization, voiding a customer's open invoices, dropping a stopped
schedule's upcoming one.

Every transition locks the invoice row first (`SELECT ... FOR UPDATE`; SQLite's writers run
one at a time anyway), then checks the status it requires: an illegal transition is refused
(400, `InvalidStateTransition`) saying why, raised before anything changed. The states:

    IN_PROGRESS --draft--> DRAFT --finalize--> FINAL --send--> SENT
    DRAFT --finalize-and-send / mark-as-sent--> SENT
    DRAFT, FINAL, SENT (unpaid or uncollectible) --void--> VOIDED
    IN_PROGRESS, DRAFT --delete--> gone
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tally.accounts import seller
from tally.activity import queries as activity_queries
from tally.activity import service as activity
from tally.billed.locks import lock_document
from tally.core.clock import local_today, utcnow
from tally.core.sql import upsert_insert
from tally.credits import spending, top_ups
from tally.engine.money import ZERO, round_money
from tally.exceptions import InvalidRequest, InvalidStateTransition, MissingRecipient
from tally.invoices import audit
from tally.models import (
    EDITABLE_STATUSES,
    Account,
    BillingRun,
    BillingSchedule,
    DocumentKind,
    DueDateSource,
    Invoice,
    InvoiceLineItem,
    InvoiceLineItemGroup,
    InvoiceStatus,
    NumberSequence,
    PaymentStatus,
)
from tally.notifications.email import queue_document, queue_invoices
from tally.notifications.events import INVOICE, NotificationType, emit

log = logging.getLogger(__name__)

ISSUED_STATUSES = (InvoiceStatus.FINAL, InvoiceStatus.SENT)
# The activity entry of an invoice billing could not issue on its own (once per invoice).
NOT_ISSUED = "NOT_ISSUED"
# Money has changed hands: voiding would lose it (Sequence: SENT invoices void only while
# UNPAID or UNCOLLECTIBLE; Tally holds FINAL ones to the same rule).
_PAID = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_PAID)


def take_numbers(session: Session, account_id: str, kind: DocumentKind, count: int) -> range:
    """`count` consecutive numbers, gapless: the sequence row stays locked until commit."""
    upsert = upsert_insert(session)(NumberSequence).values(
        account_id=account_id, kind=kind, last_number=count
    )
    last = session.scalar(
        upsert.on_conflict_do_update(
            index_elements=["account_id", "kind"],
            set_={"last_number": NumberSequence.last_number + count},
        ).returning(NumberSequence.last_number)
    )
    assert last is not None
    return range(last - count + 1, last + 1)


def invoice_number(account: Account, number: int) -> str:
    return f"{account.invoice_number_prefix}{number:05d}"


def finalize(session: Session, account: Account, invoice_ids: Sequence[str], today: date) -> int:
    """Finalize the editable invoices among `invoice_ids`, numbered in invoice-date order
    (then by billing schedule):
    issued today, due after their payment terms (the invoice's, else its schedule's
    `defaultDueDateDays`, else the account's) unless their due date was set by hand; their
    balance becomes what they are owed. Announces INVOICE_ISSUED. Returns how many.

    Billing's auto-issue calls this for a batch; the API through `finalize_invoice`."""
    rows = session.execute(
        select(
            Invoice.id,
            Invoice.customer_id,
            Invoice.currency,
            Invoice.billing_schedule_id,
            Invoice.invoice_date,
            Invoice.billing_period_end,
            Invoice.payment_term_days,
            Invoice.due_date_source,
            Invoice.due_date,
            Invoice.gross_total,
            Invoice.balance_version,
            BillingSchedule.default_due_date_days,
        )
        .outerjoin(
            BillingSchedule,
            (BillingSchedule.id == Invoice.billing_schedule_id)
            & (BillingSchedule.account_id == Invoice.account_id),
        )
        .where(
            Invoice.account_id == account.id,
            Invoice.id.in_(invoice_ids),
            Invoice.status.in_(EDITABLE_STATUSES),
        )
        .order_by(Invoice.invoice_date, Invoice.id)
        .with_for_update(of=Invoice)
    ).all()
    if not rows:
        return 0
    # Numbered by invoice date, then schedule: the same numbers whichever runs wrote the
    # invoices and in what order (ids follow the order invoices were written).
    rows = sorted(
        rows, key=lambda row: (row.invoice_date or today, row.billing_schedule_id or "", row.id)
    )
    # Lock order, for every finalization: invoices, then the customers' credit grants (by
    # id), then the number counter. Credits are re-cut to what the grants usable for each
    # invoice's billing period hold now; only invoices billing schedules wrote consume them.
    settled = spending.settle(
        session,
        account.id,
        [
            (row.id, row.customer_id, row.currency, row.billing_period_end or today)
            for row in rows
            if row.billing_schedule_id
        ],
        today,
    )
    numbers = take_numbers(session, account.id, DocumentKind.INVOICE, len(rows))
    now = utcnow()
    values = []
    issued: dict[str, str] = {}
    for row, number in zip(rows, numbers, strict=True):
        issued[row.id] = invoice_number(account, number)
        manual = row.due_date_source is DueDateSource.MANUAL and row.due_date is not None
        terms = row.payment_term_days
        if terms is None:
            terms = row.default_due_date_days
        if terms is None:
            terms = account.payment_terms_days
        values.append(
            {
                "id": row.id,
                "status": InvoiceStatus.FINAL,
                "invoice_number": issued[row.id],
                "issue_date": today,
                "invoice_date": row.invoice_date or today,  # one-off invoices: issued today
                "due_date": row.due_date if manual else today + timedelta(days=terms),
                "payment_term_days": None if manual else terms,
                "finalized_at": now,
                "balance": settled.gross.get(row.id, row.gross_total),
                "balance_version": row.balance_version + 1,
                "updated_at": now,
            }
        )
    session.execute(update(Invoice), values)
    spending.debit(session, account.id, settled, issued, today)
    emit(session, account.id, NotificationType.INVOICE_ISSUED, INVOICE, [row.id for row in rows])
    return len(rows)


def auto_issue(session: Session, account: Account, invoice_ids: Sequence[str], today: date) -> int:
    """autoIssueInvoices: the invoices are finalized, then sent by email to their customer
    emails, as `send` would. Those with no one to send to (no billing contact, or an account
    that turned customer notifications off) stay FINAL for someone to send. Returns how many
    were finalized.

    An account without the seller's legal name and address issues nothing: the invoices stay
    drafts, each with an activity entry saying why (once), until the account has them."""
    why = seller.why_not_issued(account)
    if why is not None:
        _held(session, account, invoice_ids, why)
        return 0
    finalized = finalize(session, account, invoice_ids, today)
    if not finalized or not account.send_customer_notifications:
        return finalized
    issued = session.scalars(
        select(Invoice).where(
            Invoice.account_id == account.id,
            Invoice.id.in_(invoice_ids),
            Invoice.status == InvoiceStatus.FINAL,
        )
    ).all()
    to_send = [invoice for invoice in issued if invoice.customer_emails]
    if not to_send:
        return finalized
    now = utcnow()
    for invoice in to_send:
        invoice.status = InvoiceStatus.SENT
        invoice.sent_at = now
    session.flush()
    queue_invoices(session, account, to_send)
    emit(
        session,
        account.id,
        NotificationType.INVOICE_UPDATED,
        INVOICE,
        [invoice.id for invoice in to_send],
    )
    return finalized


def _held(session: Session, account: Account, invoice_ids: Sequence[str], why: str) -> None:
    """Drafts billing would have issued, kept as drafts: logged at every run, and one
    activity entry per invoice (the invoice's and its customer's pages show it)."""
    log.warning("account %s: %d invoices not issued: %s", account.id, len(invoice_ids), why)
    told = activity_queries.logged_objects(session, account.id, list(invoice_ids), NOT_ISSUED)
    rows = session.execute(
        select(Invoice.id, Invoice.customer_id).where(
            Invoice.account_id == account.id,
            Invoice.id.in_([invoice_id for invoice_id in invoice_ids if invoice_id not in told]),
            Invoice.status == InvoiceStatus.DRAFT,
        )
    ).all()
    activity.record_all(
        session,
        account.id,
        [
            activity.Entry(
                verb=NOT_ISSUED,
                object_type="INVOICE",
                object_id=row.id,
                name="Invoice not issued",
                summary="Billing left the invoice a draft instead of issuing it",
                reason=why,
                target_type="CUSTOMER",
                target_id=row.customer_id,
            )
            for row in rows
        ],
    )


def void_open_invoices(session: Session, account_id: str, customer_id: str) -> None:
    """A customer being archived: its DRAFT and IN_PROGRESS invoices are voided (seed 001);
    finalized and sent ones stay as they are. One activity log entry each, written at once."""
    now = utcnow()
    audit.voided_with_customer(session, account_id, customer_id)
    session.execute(
        update(Invoice)
        .where(
            Invoice.account_id == account_id,
            Invoice.customer_id == customer_id,
            Invoice.status.in_(EDITABLE_STATUSES),
        )
        .values(status=InvoiceStatus.VOIDED, voided_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def _delete_invoices(session: Session, invoice_ids: Sequence[str]) -> None:
    """Invoices with their lines, groups and billing runs (so billing may write them anew)."""
    session.execute(delete(InvoiceLineItem).where(InvoiceLineItem.invoice_id.in_(invoice_ids)))
    session.execute(
        delete(InvoiceLineItemGroup).where(InvoiceLineItemGroup.invoice_id.in_(invoice_ids))
    )
    session.execute(
        delete(Invoice)
        .where(Invoice.id.in_(invoice_ids))
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(BillingRun).where(BillingRun.invoice_id.in_(invoice_ids)))


def announce_removal(
    session: Session, account_id: str, invoice_ids: Sequence[str], reason: str
) -> None:
    """Before billing removes invoices no person deleted (their schedule changed or stopped):
    an activity log entry each, and INVOICE_UPDATED carrying the invoice as it was, marked
    `"deleted": true` (Sequence has no deletion type; see ARCHITECTURE.md). Called while the
    rows still exist, so the webhook presents their last state."""
    if not invoice_ids:
        return
    rows = session.execute(
        select(
            Invoice.id,
            Invoice.customer_id,
            Invoice.status,
            Invoice.invoice_date,
            Invoice.billing_period_start,
            Invoice.billing_period_end,
            Invoice.currency,
            Invoice.gross_total,
        ).where(Invoice.account_id == account_id, Invoice.id.in_(invoice_ids))
    ).all()
    activity.record_all(
        session,
        account_id,
        [
            activity.Entry(
                verb="DELETED",
                object_type="INVOICE",
                object_id=row.id,
                name="Invoice deleted",
                summary=(
                    f"{row.status.value} invoice dated {row.invoice_date} for "
                    f"{row.billing_period_start} to {row.billing_period_end} "
                    f"({round_money(row.gross_total, row.currency)} {row.currency}) removed "
                    "by billing"
                ),
                reason=reason,
                target_type="CUSTOMER",
                target_id=row.customer_id,
            )
            for row in rows
        ],
    )
    emit(
        session,
        account_id,
        NotificationType.INVOICE_UPDATED,
        INVOICE,
        [row.id for row in rows],
        marker={"deleted": True},
    )


def drop_upcoming(session: Session, account_id: str, schedule_ids: Sequence[str]) -> None:
    """Schedules that stop billing lose their IN_PROGRESS invoice: the projection of a
    period that will not be invoiced. Drafts of periods already over stay for review."""
    upcoming = select(Invoice.id).where(
        Invoice.account_id == account_id,
        Invoice.billing_schedule_id.in_(schedule_ids),
        Invoice.status == InvoiceStatus.IN_PROGRESS,
    )
    ids = list(session.scalars(upcoming))
    if ids:
        announce_removal(
            session,
            account_id,
            ids,
            "billing schedule archived: the running period will not be invoiced",
        )
        _delete_invoices(session, ids)


# ---- Transitions through the API ---------------------------------------------------------


def lock(session: Session, account_id: str, invoice_id: str) -> Invoice:
    """The invoice, row-locked until commit and read afresh; 404 outside the account."""
    return lock_document(session, Invoice, account_id, invoice_id)


def _describe(invoice: Invoice) -> str:
    number = f" ({invoice.invoice_number})" if invoice.invoice_number else ""
    return f"Invoice {invoice.id!r}{number} is {invoice.status.value}"


# Why an action is refused in a status it does not accept.
_WHY: dict[tuple[str, InvoiceStatus], str] = {
    ("finalize", InvoiceStatus.IN_PROGRESS): "its billing period is still running; turn it "
    "into a draft first (POST /api/invoices/{id}/draft)",
    ("finalize", InvoiceStatus.FINAL): "it is finalized already",
    ("finalize", InvoiceStatus.SENT): "it was finalized and sent already",
    ("finalize", InvoiceStatus.VOIDED): "a voided invoice is never issued",
    ("send", InvoiceStatus.IN_PROGRESS): "its billing period is still running",
    ("send", InvoiceStatus.DRAFT): "only a finalized invoice is sent; finalize it first, or "
    "use finalize-and-send",
    ("send", InvoiceStatus.SENT): "it was sent already",
    ("send", InvoiceStatus.VOIDED): "a voided invoice is never sent",
    ("void", InvoiceStatus.IN_PROGRESS): "its billing period is still running; delete it "
    "instead, or turn it into a draft first",
    ("void", InvoiceStatus.VOIDED): "it is voided already",
    ("draft", InvoiceStatus.DRAFT): "it is a draft already",
    ("draft", InvoiceStatus.FINAL): "a finalized invoice never goes back to draft; void it",
    ("draft", InvoiceStatus.SENT): "a sent invoice never goes back to draft; issue a credit "
    "note against it",
    ("draft", InvoiceStatus.VOIDED): "a voided invoice never goes back to draft",
    ("delete", InvoiceStatus.FINAL): "only DRAFT and IN_PROGRESS invoices are deleted; void a "
    "finalized one instead",
    ("delete", InvoiceStatus.SENT): "only DRAFT and IN_PROGRESS invoices are deleted; issue a "
    "credit note against a sent one",
    ("delete", InvoiceStatus.VOIDED): "a voided invoice stays for the record",
    ("payment status", InvoiceStatus.IN_PROGRESS): "only issued (FINAL or SENT) invoices "
    "have a payment status to set",
    ("payment status", InvoiceStatus.DRAFT): "only issued (FINAL or SENT) invoices have a "
    "payment status to set",
    ("payment status", InvoiceStatus.VOIDED): "nothing is owed on a voided invoice",
    ("patch sent", InvoiceStatus.IN_PROGRESS): "only SENT invoices are patched this way",
    ("patch sent", InvoiceStatus.DRAFT): "only SENT invoices are patched this way; a draft "
    "is edited through its line items",
    ("patch sent", InvoiceStatus.FINAL): "only SENT invoices are patched this way",
    ("patch sent", InvoiceStatus.VOIDED): "a voided invoice stays as it was",
    ("edit lines", InvoiceStatus.IN_PROGRESS): "billing recalculates it until its period "
    "ends; turn it into a draft first (POST /api/invoices/{id}/draft)",
    ("edit lines", InvoiceStatus.FINAL): "a finalized invoice never changes; void it and "
    "write another",
    ("edit lines", InvoiceStatus.SENT): "a sent invoice never changes; issue a credit note "
    "against it",
    ("edit lines", InvoiceStatus.VOIDED): "a voided invoice stays as it was",
}


def require(invoice: Invoice, action: str, allowed: Sequence[InvoiceStatus]) -> None:
    """Refused (`InvalidStateTransition`), saying why, unless the invoice is in one of the
    `allowed` statuses."""
    if invoice.status in allowed:
        return
    why = _WHY.get((action, invoice.status), f"{action} needs {' or '.join(allowed)}")
    raise InvalidStateTransition(
        f"{_describe(invoice)}: cannot {action}: {why.replace('{id}', invoice.id)}."
    )


def announce(session: Session, invoice: Invoice, kind: NotificationType) -> None:
    session.flush()
    emit(session, invoice.account_id, kind, INVOICE, [invoice.id])


def finalize_invoice(session: Session, account: Account, invoice_id: str) -> Invoice:
    """POST /finalize: a DRAFT becomes FINAL, with its number, issue and due dates."""
    invoice = lock(session, account.id, invoice_id)
    require(invoice, "finalize", [InvoiceStatus.DRAFT])
    seller.require_details(account)
    before = audit.snapshot(invoice)
    finalize(session, account, [invoice.id], local_today(account.timezone))
    session.refresh(invoice)
    audit.finalized(session, invoice, before)
    return invoice


def send(
    session: Session, account: Account, invoice_id: str, *, finalizing: bool, email: bool
) -> Invoice:
    """SENT, finalizing a DRAFT first when `finalizing`; with `email`, the invoice and its PDF
    are queued for the customer's billing contacts (the email is delivered after commit).

    Sending starts the customer's payment terms, as Sequence does: sent on a later day than
    it was issued, its issue date moves to the day it is sent and a calculated due date
    follows."""
    invoice = lock(session, account.id, invoice_id)
    allowed = [InvoiceStatus.DRAFT, InvoiceStatus.FINAL] if finalizing else [InvoiceStatus.FINAL]
    require(invoice, "send", allowed)
    if invoice.status is InvoiceStatus.DRAFT:
        seller.require_details(account, "finalize and send")
    if email and not invoice.customer_emails:
        raise MissingRecipient(
            f"{_describe(invoice)}: cannot send: it has no recipient. The customer had no "
            "billing contact when it was written; add one to the customer (or give "
            "customerEmails to a one-off invoice) and create the invoice again, or use "
            "mark-as-sent to record that it was sent another way."
        )
    today = local_today(account.timezone)
    before, drafted = audit.snapshot(invoice), invoice.status is InvoiceStatus.DRAFT
    if invoice.status is InvoiceStatus.DRAFT:
        finalize(session, account, [invoice.id], today)
        session.refresh(invoice)
    elif invoice.issue_date is not None and invoice.issue_date < today:
        invoice.issue_date = today
        terms = invoice.payment_term_days
        if invoice.due_date_source is DueDateSource.CALCULATED and terms is not None:
            invoice.due_date = today + timedelta(days=terms)
    invoice.status = InvoiceStatus.SENT
    invoice.sent_at = utcnow()
    session.flush()
    if email:
        queue_document(session, account, invoice, list(invoice.customer_emails))
    audit.sent(session, invoice, before, finalized=drafted, emailed=email)
    announce(session, invoice, NotificationType.INVOICE_UPDATED)
    return invoice


def void(session: Session, account: Account, invoice_id: str) -> Invoice:
    """VOIDED, kept for the record; nothing is owed any more.

    A draft is voided without a number: numbers identify issued documents, and a draft was
    never issued, so leaving it unnumbered leaves no gap in the sequence either. Sequence
    numbers drafts at void; Tally does not, so its numbers count only invoices customers
    could have received."""
    invoice = lock(session, account.id, invoice_id)
    require(invoice, "void", [InvoiceStatus.DRAFT, *ISSUED_STATUSES])
    if invoice.status in ISSUED_STATUSES and invoice.payment_status in _PAID:
        raise InvalidStateTransition(
            f"{_describe(invoice)} and {invoice.payment_status.value}: cannot void: money was "
            "received against it. Only UNPAID or UNCOLLECTIBLE invoices are voided; issue a "
            "credit note instead, or correct its payment status first."
        )
    before = audit.snapshot(invoice)
    invoice.status = InvoiceStatus.VOIDED
    invoice.voided_at = utcnow()
    if invoice.finalized_at is not None:
        invoice.balance = ZERO
        invoice.balance_version += 1
        spending.restore(session, account.id, invoice, local_today(account.timezone))
    top_ups.cancel_for_invoices(session, account.id, [invoice.id])  # never paid: no credits
    audit.voided(session, invoice, before)
    announce(session, invoice, NotificationType.INVOICE_UPDATED)
    return invoice


def set_payment_status(
    session: Session, account: Account, invoice_id: str, status: PaymentStatus
) -> Invoice:
    """Record how far an issued invoice is paid. No amount comes with it, so the balance (the
    ledger of credit notes) is left as it is."""
    invoice = lock(session, account.id, invoice_id)
    require(invoice, "payment status", ISSUED_STATUSES)
    if invoice.payment_status is not status:
        before = audit.snapshot(invoice)
        invoice.payment_status = status
        audit.payment_status(session, invoice, before)
        if status is PaymentStatus.PAID:  # marked paid by hand: a top-up's credits are due
            top_ups.release_paid(session, account.id, invoice.id)
        announce(session, invoice, NotificationType.INVOICE_UPDATED)
    return invoice


def patch_sent(
    session: Session, account: Account, invoice_id: str, changes: dict[str, Any]
) -> Invoice:
    """PATCH /sent: the fields a sent invoice still allows (see `SentInvoicePatch`); only
    those given change. A due date becomes MANUAL and drops the payment terms."""
    invoice = lock(session, account.id, invoice_id)
    require(invoice, "patch sent", [InvoiceStatus.SENT])
    before = audit.snapshot(invoice)
    due = changes.pop("due_date", None)
    if due is not None:
        if invoice.issue_date is not None and due < invoice.issue_date:
            raise InvalidRequest.field(
                "dueDate", f"{due} is before the invoice's issue date {invoice.issue_date}"
            )
        invoice.due_date = due
        invoice.due_date_source = DueDateSource.MANUAL
        invoice.payment_term_days = None
    for name, value in changes.items():
        setattr(invoice, name, value)
    if session.is_modified(invoice):
        audit.patched(session, invoice, before)
        announce(session, invoice, NotificationType.INVOICE_UPDATED)
    return invoice


def delete_invoice(session: Session, account: Account, invoice_id: str) -> Invoice:
    """Delete a DRAFT or IN_PROGRESS invoice, with its lines and groups; returns it as it was.

    One from billing loses its billing run too, so billing writes the period's invoice anew on
    its next run, from the schedule: what users expect of the running period (IN_PROGRESS),
    and for a draft a way to throw away edits. To stop billing a period, void its draft (a
    voided invoice is never recalculated) or change the schedule."""
    invoice = lock(session, account.id, invoice_id)
    require(invoice, "delete", EDITABLE_STATUSES)
    audit.deleted(session, invoice)
    # Webhooks hear of it as of billing's removals: the invoice as it was, marked deleted.
    emit(
        session,
        account.id,
        NotificationType.INVOICE_UPDATED,
        INVOICE,
        [invoice.id],
        marker={"deleted": True},
    )
    _delete_invoices(session, [invoice.id])
    session.expunge(invoice)  # its row is gone; the object only shapes the answer now
    return invoice
