"""Invoice status changes made by billing and by archiving: finalizing (numbers, issue and
due dates), voiding a customer's open invoices, dropping a stopped schedule's upcoming one.
Sending and the rest of the lifecycle build on this."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tally.db import utcnow
from tally.models import (
    EDITABLE_STATUSES,
    Account,
    BillingRun,
    DocumentKind,
    Invoice,
    InvoiceLineItem,
    InvoiceLineItemGroup,
    InvoiceStatus,
    NumberSequence,
)


def take_numbers(session: Session, account_id: str, kind: DocumentKind, count: int) -> range:
    """`count` consecutive numbers, gapless: the sequence row stays locked until commit."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    upsert = dialect.insert(NumberSequence).values(
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
    """Finalize the editable invoices among `invoice_ids`, numbered in invoice-date order:
    issued today, due after their payment terms. Returns how many were finalized."""
    rows = session.execute(
        select(Invoice.id, Invoice.payment_term_days)
        .where(
            Invoice.account_id == account.id,
            Invoice.id.in_(invoice_ids),
            Invoice.status.in_([InvoiceStatus.DRAFT, InvoiceStatus.IN_PROGRESS]),
        )
        .order_by(Invoice.invoice_date, Invoice.id)
        .with_for_update()
    ).all()
    if not rows:
        return 0
    numbers = take_numbers(session, account.id, DocumentKind.INVOICE, len(rows))
    session.execute(
        update(Invoice),
        [
            {
                "id": invoice_id,
                "status": InvoiceStatus.FINAL,
                "invoice_number": invoice_number(account, number),
                "issue_date": today,
                "due_date": today + timedelta(days=terms or account.payment_terms_days),
            }
            for (invoice_id, terms), number in zip(rows, numbers, strict=True)
        ],
    )
    return len(rows)


def void_open_invoices(session: Session, account_id: str, customer_id: str) -> None:
    """A customer being archived: its DRAFT and IN_PROGRESS invoices are voided (seed 001);
    finalized and sent ones stay as they are."""
    session.execute(
        update(Invoice)
        .where(
            Invoice.account_id == account_id,
            Invoice.customer_id == customer_id,
            Invoice.status.in_(EDITABLE_STATUSES),
        )
        .values(status=InvoiceStatus.VOIDED, updated_at=utcnow())
        .execution_options(synchronize_session=False)
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
    if not ids:
        return
    session.execute(delete(InvoiceLineItem).where(InvoiceLineItem.invoice_id.in_(ids)))
    session.execute(delete(InvoiceLineItemGroup).where(InvoiceLineItemGroup.invoice_id.in_(ids)))
    session.execute(
        delete(Invoice).where(Invoice.id.in_(ids)).execution_options(synchronize_session=False)
    )
    session.execute(delete(BillingRun).where(BillingRun.invoice_id.in_(ids)))
