"""POST /api/invoices/{id}/draft: an upcoming IN_PROGRESS invoice, which billing recalculates
until its period ends, becomes a DRAFT now, recalculated first from the usage so far.

A workflow because it runs billing, which sits above invoices (billing writes and issues them).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.billing.runs import bill_schedules
from tally.core.clock import local_today, utcnow
from tally.exceptions import NotFound
from tally.invoices import audit
from tally.invoices.lifecycle import announce, lock, require
from tally.models import Account, BillingSchedule, Invoice, InvoiceStatus
from tally.notifications.events import NotificationType


def to_draft(session: Session, account: Account, invoice_id: str) -> Invoice:
    """DRAFT from IN_PROGRESS. Billing leaves it alone from then on (it counts as edited), so
    it never reverts to IN_PROGRESS nor grows with the rest of the period's usage: the user
    closed the period early."""
    found = session.scalar(
        select(Invoice).where(Invoice.account_id == account.id, Invoice.id == invoice_id)
    )
    if found is None:
        raise NotFound.resource("Invoice", invoice_id)
    require(found, "draft", [InvoiceStatus.IN_PROGRESS])
    if found.billing_schedule_id is not None and found.invoice_date is not None:
        _recalculate(session, account, found.billing_schedule_id, found.invoice_date)
    invoice = lock(session, account.id, invoice_id)
    require(invoice, "draft", [InvoiceStatus.IN_PROGRESS])  # billing may have moved it on
    before = audit.snapshot(invoice)
    invoice.status = InvoiceStatus.DRAFT
    invoice.edited_at = utcnow()
    audit.drafted(session, invoice, before)
    announce(session, invoice, NotificationType.INVOICE_UPDATED)
    return invoice


def _recalculate(session: Session, account: Account, schedule_id: str, invoice_date: date) -> None:
    """Bill the schedule as billing would, as of today but no later than the day before the
    upcoming invoice's date: so it is still the upcoming one, and no later period is billed
    early. (A run as of that day plans what one as of today does: the schedule has no invoice
    date in between.)

    The schedule row is locked first, as billing's workers lock it, before any invoice row:
    both take their locks in the same order."""
    locked = session.scalar(
        select(BillingSchedule.id)
        .where(
            BillingSchedule.account_id == account.id,
            BillingSchedule.id == schedule_id,
            BillingSchedule.archived_at.is_(None),
        )
        .with_for_update()
    )
    if locked is None:
        return
    day = min(local_today(account.timezone), invoice_date - timedelta(days=1))
    bill_schedules(session, account, [schedule_id], day, utcnow())
