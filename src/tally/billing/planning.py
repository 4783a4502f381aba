"""Which invoices a schedule should have today: one per invoice date that has come, and one
IN_PROGRESS invoice for the next date, whose lines follow usage until that date arrives.

Finalized invoices (FINAL, SENT, VOIDED) are never recalculated; DRAFT and IN_PROGRESS
ones are, on every run, so late usage and schedule edits reach them.

A backfill (`through`, a day before today) plans only the invoices dated up to that day, all
DRAFT, and nothing stale: it fills in what is missing and never removes, regresses or
touches a later invoice, so the next run for today finds what it would have made itself.
Whatever the run, an existing DRAFT is never planned back to IN_PROGRESS, nor removed for a
date after the run's today (its clock is behind the run that wrote it: an account's time
zone moved west).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from tally.billing.terms import LoadedSchedule
from tally.engine.periods import Period
from tally.engine.schedule import Charge, charges
from tally.models import EDITABLE_STATUSES, InvoiceStatus


def _horizon(item: LoadedSchedule, today: date) -> date:
    """Far enough ahead to reach the invoice date after today of the schedule's longest
    period (a month is at most 31 days), and no further: the engine lists charges up to it."""
    months = max((p.months or 1 for ph in item.terms.phases for p in ph.prices), default=1)
    return today + timedelta(days=31 * months)


@dataclass(frozen=True)
class Existing:
    """A billing run already recorded for a schedule and invoice date, and its invoice."""

    run_id: str
    invoice_id: str | None
    status: InvoiceStatus | None
    period_end: date | None = None
    digest: str | None = None  # of the invoice as last calculated
    edited: bool = False  # a person changed its lines: theirs now, not billing's

    @property
    def editable(self) -> bool:
        """Whether billing may recalculate (or remove) it."""
        return not self.edited and (self.status is None or self.status in EDITABLE_STATUSES)

    @property
    def issued(self) -> bool:
        return self.status in (InvoiceStatus.FINAL, InvoiceStatus.SENT)


def finalized_through(existing: dict[tuple[str, date], Existing]) -> dict[str, date]:
    """Per schedule, the last day its finalized invoices billed."""
    through: dict[str, date] = {}
    for (schedule_id, _), run in existing.items():
        if run.issued and run.period_end is not None:
            through[schedule_id] = max(run.period_end, through.get(schedule_id, run.period_end))
    return through


@dataclass(frozen=True)
class PlannedInvoice:
    loaded: LoadedSchedule
    invoice_date: date
    charges: tuple[Charge, ...]
    status: InvoiceStatus  # DRAFT once its date has come, IN_PROGRESS before
    existing: Existing | None

    @property
    def billing_period(self) -> Period:
        """The period the invoice bills: the one that ended for arrears charges, else the
        one that starts (an invoice of only IN_ADVANCE charges). The changes of an in-advance
        seat price settle a period an earlier invoice billed: they count only on an invoice
        of nothing else."""
        own = [c for c in self.charges if not c.changes] or list(self.charges)
        ended = [c for c in own if c.served.end < self.invoice_date]
        chosen = ended or own
        return Period(
            min(c.billing_period.start for c in chosen), max(c.billing_period.end for c in chosen)
        )


@dataclass(frozen=True)
class Plan:
    invoices: list[PlannedInvoice]
    stale: list[Existing]  # editable invoices for dates the schedule no longer has
    finished: set[str]  # schedules with nothing left to invoice


def plan(
    loaded: list[LoadedSchedule],
    existing: dict[tuple[str, date], Existing],
    today: date,
    *,
    through: date | None = None,
    usage_days: Mapping[str, Mapping[str, Collection[date]]] | None = None,
) -> Plan:
    """The invoices the schedules should have as of `today`; with `through` (a backfill, a day
    before today), only those dated up to it, and no stale ones. `usage_days`: by schedule,
    the days its customers used each metric (what usage-driven prices charge)."""
    invoices: list[PlannedInvoice] = []
    wanted: set[tuple[str, date]] = set()
    finished = set()
    for item in loaded:
        schedule_id = item.schedule.id
        due: dict[date, list[Charge]] = defaultdict(list)
        used = (usage_days or {}).get(schedule_id)
        for charge in charges(item.terms, _horizon(item, today), used):
            due[charge.invoice_date].append(charge)
        upcoming = min((d for d in due if d > today), default=None)
        if upcoming is None and item.terms.end is not None and item.terms.end < today:
            finished.add(schedule_id)
        for invoice_date in sorted(due):
            if invoice_date > today and invoice_date != upcoming:
                break
            if through is not None and invoice_date > through:
                break
            wanted.add((schedule_id, invoice_date))
            found = existing.get((schedule_id, invoice_date))
            if found is not None and not found.editable:
                continue
            status = InvoiceStatus.DRAFT if invoice_date <= today else InvoiceStatus.IN_PROGRESS
            if found is not None and found.status is InvoiceStatus.DRAFT:
                status = InvoiceStatus.DRAFT  # a status never goes back
            invoices.append(
                PlannedInvoice(item, invoice_date, tuple(due[invoice_date]), status, found)
            )
    if through is not None:
        return Plan(invoices, [], finished)
    stale = [
        run
        for (schedule_id, invoice_date), run in existing.items()
        if (schedule_id, invoice_date) not in wanted
        and run.editable
        and not (run.status is InvoiceStatus.DRAFT and invoice_date > today)
    ]
    return Plan(invoices, stale, finished)
