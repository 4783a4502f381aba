"""A payment reminder sent on request (Sequence's `POST /invoices/{id}/send-payment-reminder`),
besides the scheduled ones (`reminders.py`).

Only an outstanding invoice is reminded: SENT, and UNPAID or PARTIALLY_PAID; anything else is
a 409 that says why. The reminder goes through the email outbox like the scheduled ones (to the
invoice's customer emails, the merchant's alert addresses in copy, the invoice attached) and is
announced as INVOICE_REMINDER_SENT, with an activity log entry.

Retry-safe: one requested reminder per invoice per day (the account's local day). A retry, or
a second request the same day, queues nothing more and answers the invoice as the first did.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tally.core.clock import local_today
from tally.exceptions import InvalidStateTransition
from tally.invoices import audit
from tally.invoices.lifecycle import announce, lock
from tally.invoices.reminders import REMINDABLE
from tally.models import Account, EmailMessage, Invoice, InvoiceStatus
from tally.models.scoped import scoped
from tally.notifications.email import queue_document
from tally.notifications.events import NotificationType


def requested_reminder_key(invoice_id: str, day: str) -> str:
    # Not ending in ":reminder:due": the email reads as the "upcoming" kind (due on <date>).
    return f"invoice:{invoice_id}:reminder:requested:{day}"


def send_payment_reminder(session: Session, account: Account, invoice_id: str) -> Invoice:
    invoice = lock(session, account.id, invoice_id)
    if invoice.status is not InvoiceStatus.SENT:
        raise InvalidStateTransition(
            f"Invoice {invoice.id!r} is {invoice.status.value}: cannot send a payment "
            "reminder: only a sent invoice that is not paid is reminded."
        )
    if invoice.payment_status not in REMINDABLE:
        raise InvalidStateTransition(
            f"Invoice {invoice.id!r} is {invoice.payment_status.value}: cannot send a payment "
            "reminder: nothing is owed on it."
        )
    if not invoice.customer_emails:
        raise InvalidStateTransition(
            f"Invoice {invoice.id!r} has no customer emails: cannot send a payment reminder: "
            "there is no one to send it to."
        )
    key = requested_reminder_key(invoice.id, local_today(account.timezone).isoformat())
    # The invoice's row lock orders requests for it: the second one sees the first's message.
    queued = session.scalar(
        scoped(EmailMessage, account.id)
        .with_only_columns(EmailMessage.id)
        .where(EmailMessage.dedupe_key == key)
    )
    if queued is not None:
        return invoice  # reminded today already (a retry): nothing more to do
    message = queue_document(
        session, account, invoice, list(invoice.customer_emails), reminder=True, dedupe_key=key
    )
    message.cc_addresses = list(account.alert_email_addresses)
    audit.record(
        session,
        invoice,
        "REMINDER_SENT",
        "Payment reminder sent",
        f"{audit.label(invoice)} ({audit.amount(invoice)}, due {invoice.due_date}): reminder "
        "emailed to " + ", ".join(invoice.customer_emails),
    )
    announce(session, invoice, NotificationType.INVOICE_REMINDER_SENT)
    return invoice
