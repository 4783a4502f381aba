"""Payment reminders: a week before a sent, unpaid invoice's due date, and on it.

Each reminder is an email to the invoice's customer emails (the merchant's alert addresses in
copy, as Sequence does) with the invoice attached, queued once: its `dedupe_key`
(`invoice:<id>:reminder:<kind>`) is unique per account, and the insert skips keys already
there, so any number of passes and workers queue it once. Only reminders actually queued
emit INVOICE_REMINDER_SENT.

Days are the account's local days. An invoice sent on the reminder's day gets none that day
(its own email has just gone), and accounts that turned customer notifications off get none.
Paid, uncollectible and voided invoices are never reminded; a reminder queued before its
invoice was settled is cancelled by the sender (`notifications.outbox`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tally.core.clock import local_today, utcnow
from tally.core.formatting import DEFAULT_LOCALE
from tally.db import Database, insert_new, table_of
from tally.documents.languages import customer_locales
from tally.documents.links import invoice_path, portal_links
from tally.models import Account, EmailMessage, Invoice, InvoiceStatus, PaymentStatus
from tally.notifications import events
from tally.notifications.email import ReminderKind, invoice_content, message_values
from tally.settings import get_settings

AHEAD = timedelta(days=7)
REMINDABLE = (PaymentStatus.UNPAID, PaymentStatus.PARTIALLY_PAID)


@dataclass
class ReminderReport:
    queued: list[tuple[str, ReminderKind]] = field(default_factory=list)  # (invoice id, kind)


def reminder_key(invoice_id: str, kind: ReminderKind) -> str:
    return f"invoice:{invoice_id}:reminder:{kind}"


def _candidate_due_dates(today: date | None, now: datetime) -> set[date]:
    """Due dates that may be someone's today or today + 7: every local date in the world is
    within a day of UTC's."""
    days = [today] if today else [now.date() + timedelta(days=d) for d in (-1, 0, 1)]
    return {day + offset for day in days for offset in (timedelta(0), AHEAD)}


def _reminder_kind(invoice: Invoice, today: date, zone: ZoneInfo) -> ReminderKind | None:
    if invoice.due_date == today:
        kind: ReminderKind = "due"
    elif invoice.due_date == today + AHEAD:
        kind = "upcoming"
    else:
        return None
    if invoice.sent_at is not None and invoice.sent_at.astimezone(zone).date() >= today:
        return None
    return kind


def queue_reminders(
    db: Database,
    today: date | None = None,
    *,
    account_id: str | None = None,
    base_url: str | None = None,
    now: datetime | None = None,
) -> ReminderReport:
    """Queue the reminders due today (each account's local today as of `now`, or `today` for
    all), of every account or one. `base_url` (the portal links) defaults to
    `TALLY_PUBLIC_URL`."""
    now = now or utcnow()
    base = base_url or get_settings().public_url
    report = ReminderReport()
    with db.transaction() as session:
        query = (
            select(Invoice, Account)
            .join(Account, Account.id == Invoice.account_id)
            .where(
                Invoice.status == InvoiceStatus.SENT,
                Invoice.payment_status.in_(REMINDABLE),
                Invoice.due_date.in_(_candidate_due_dates(today, now)),
                Account.send_customer_notifications.is_(True),
            )
            .order_by(Invoice.account_id, Invoice.id)
        )
        if account_id is not None:
            query = query.where(Invoice.account_id == account_id)
        due: list[tuple[Invoice, Account, ReminderKind]] = []
        for invoice, account in session.execute(query):
            zone = ZoneInfo(account.timezone)
            kind = _reminder_kind(invoice, today or local_today(account.timezone, now), zone)
            if kind is not None and invoice.customer_emails:
                due.append((invoice, account, kind))
        customers = {invoice.customer_id for invoice, _, _ in due}
        portals = portal_links(session, customers, base)
        locales = customer_locales(session, {account.id for _, account, _ in due}, customers)
        rows: list[dict[str, Any]] = []
        kinds: dict[str, tuple[str, str, ReminderKind]] = {}  # key -> (account, invoice, kind)
        for invoice, account, kind in due:
            key = reminder_key(invoice.id, kind)
            link = portals[invoice.customer_id] + invoice_path(invoice.id)
            values = message_values(
                account,
                "REMINDER",
                invoice.customer_emails,
                invoice_content(
                    account,
                    invoice,
                    link,
                    reminder=kind,
                    locale=locales.get(invoice.customer_id, DEFAULT_LOCALE),
                ),
                ("invoice", invoice.id),
                key,
            )
            values["cc_addresses"] = list(account.alert_email_addresses)
            rows.append(values)
            kinds[key] = (account.id, invoice.id, kind)
        queued = insert_new(session, table_of(EmailMessage), rows, ["account_id", "dedupe_key"])
        by_account: dict[str, list[str]] = defaultdict(list)
        for key in sorted(queued):
            owner, invoice_id, kind = kinds[key]
            by_account[owner].append(invoice_id)
            report.queued.append((invoice_id, kind))
        for owner, invoice_ids in by_account.items():
            events.emit(
                session,
                owner,
                events.NotificationType.INVOICE_REMINDER_SENT,
                events.INVOICE,
                invoice_ids,
            )
    return report
