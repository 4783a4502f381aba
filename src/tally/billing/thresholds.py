"""Threshold invoicing over the database: the threshold invoices a batch's periods already
have, and the new ones a run issues (`engine/thresholds.py` holds the arithmetic).

A threshold invoice belongs to the period whose own invoice is dated `invoice_date`; the
unique key on (schedule, invoice date, sequence) means two runs that both saw the charges
reach the threshold issue one invoice between them (the second fails and bills again, finding
the first's). A voided threshold invoice is no longer deducted: its charges are due again,
and the next run invoices them (at the threshold, or on the period's own invoice).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.db import id_table
from tally.engine.money import minor_unit
from tally.engine.periods import Period
from tally.engine.thresholds import Invoiced, RatePart
from tally.models import Invoice, InvoiceStatus, ThresholdInvoice

Key = tuple[str, date]  # schedule id, the date of the period's own invoice

THRESHOLD_INVOICED = "THRESHOLD_INVOICED"  # the activity entry's verb


@dataclass
class PeriodState:
    """A period's threshold invoices so far: those still deducted (not voided), in order,
    and the last sequence number taken (voided ones too)."""

    invoiced: list[Invoiced] = field(default_factory=list)
    last_sequence: int = 0


def label(number: str | None, sequence: int) -> str:
    """How the period's other documents name a threshold invoice."""
    return number or f"threshold invoice {sequence}"


def load(session: Session, account_id: str, schedule_ids: Sequence[str]) -> dict[Key, PeriodState]:
    """The batch's periods with threshold invoices (one query)."""
    batch = id_table(session, list(schedule_ids))
    rows = session.execute(
        select(
            ThresholdInvoice.billing_schedule_id,
            ThresholdInvoice.invoice_date,
            ThresholdInvoice.sequence,
            ThresholdInvoice.charges,
            Invoice.status,
            Invoice.invoice_number,
        )
        .join(batch, batch.c.id == ThresholdInvoice.billing_schedule_id)
        .join(Invoice, Invoice.id == ThresholdInvoice.invoice_id)
        .where(ThresholdInvoice.account_id == account_id)
        .order_by(ThresholdInvoice.sequence)
    )
    states: dict[Key, PeriodState] = defaultdict(PeriodState)
    for schedule_id, invoice_date, sequence, charges, status, number in rows:
        state = states[(schedule_id, invoice_date)]
        state.last_sequence = max(state.last_sequence, sequence)
        if status is not InvoiceStatus.VOIDED:
            parts = tuple(RatePart.read(item) for item in charges)
            state.invoiced.append(Invoiced(label(number, sequence), parts))
    return dict(states)


def threshold_of(phases_thresholds: Sequence[Decimal | None]) -> Decimal | None:
    """The threshold of an invoice whose charges come from phases with these thresholds:
    the lowest set (a period straddling two phases invoices at the stricter one)."""
    return min((t for t in phases_thresholds if t is not None), default=None)


@dataclass(frozen=True)
class Issued:
    """A threshold invoice a run writes: the row that claims its step."""

    invoice_id: str
    schedule_id: str
    customer_id: str
    invoice_date: date  # of the period's own invoice
    period: Period
    sequence: int
    parts: tuple[RatePart, ...]
    threshold: Decimal
    currency: str


def claim(session: Session, account_id: str, issued: Sequence[Issued]) -> None:
    """Record the threshold invoices (after their invoices are written): a step another run
    already took fails the unique key, and with it this run."""
    session.add_all(
        ThresholdInvoice(
            account_id=account_id,
            billing_schedule_id=item.schedule_id,
            invoice_date=item.invoice_date,
            billing_period_start=item.period.start,
            billing_period_end=item.period.end,
            sequence=item.sequence,
            invoice_id=item.invoice_id,
            charges=[part.wire() for part in item.parts],
        )
        for item in issued
    )
    session.flush()
    activity.record_all(
        session,
        account_id,
        [
            activity.Entry(
                verb=THRESHOLD_INVOICED,
                object_type="INVOICE",
                object_id=item.invoice_id,
                name="Invoiced at threshold",
                summary=(
                    f"The charges of the period {item.period.start} to {item.period.end} "
                    f"reached the threshold of {_amount(item.threshold, item.currency)} "
                    f"{item.currency}: threshold invoice {item.sequence} of the period issued"
                ),
                target_type="BILLING_SCHEDULE",
                target_id=item.schedule_id,
            )
            for item in issued
        ],
    )


def _amount(value: Decimal, currency: str) -> str:
    return f"{value.quantize(minor_unit(currency))}"


def numbers(session: Session, account_id: str, invoice_ids: Sequence[str]) -> dict[str, str]:
    """The numbers of those of the invoices that have one (one query)."""
    rows = session.execute(
        select(Invoice.id, Invoice.invoice_number).where(
            Invoice.account_id == account_id, Invoice.id.in_(list(invoice_ids))
        )
    )
    return {invoice_id: number for invoice_id, number in rows if number}
