"""A billing run over a batch of schedules: plan the invoices each should have today, measure
what their charges depend on in bulk, price and assemble them with the engine, and write them.
A backfill (`through`) fills in the invoices dated up to a past day and does nothing else;
a preview is a run the caller rolls back, which lists what it billed (`scheduler`).

The caller holds the schedules' row locks (see `scheduler`), so no other worker bills them
meanwhile; the unique key on (schedule, invoice date) backs that up. A fixed number of queries
per batch, whatever its size: one grouped query per distinct usage request (metric and days).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.billing import charging, terms, thresholds
from tally.billing.credits import OpenInvoice, project
from tally.billing.customers import billed
from tally.billing.late import late_events
from tally.billing.measures import (
    SeatAnswers,
    SeatKey,
    Subject,
    UsageAnswers,
    UsageKey,
    UsageValues,
    measure_capped,
    measure_events,
    measure_seats,
    measure_usage,
    split_measure,
    usage_days,
)
from tally.billing.planning import Existing, PlannedInvoice, finalized_through, plan
from tally.billing.writing import (
    InvoiceWrite,
    ThresholdWrite,
    mark_schedules,
    write_invoices,
    write_threshold_invoices,
)
from tally.credits import phase_grants
from tally.db import id_table, new_id
from tally.engine import pricing
from tally.engine import thresholds as engine_thresholds
from tally.engine.credits import Metered
from tally.engine.invoice import InvoiceDraft, PhaseAdjustments, PricedLine, assemble
from tally.engine.periods import Period
from tally.engine.schedule import Charge, DiscountKind, ScheduleTerms
from tally.invoices.lifecycle import announce_removal, auto_issue
from tally.models import (
    Account,
    BillingRun,
    Invoice,
    InvoiceLineItem,
    InvoiceStatus,
    LineKind,
    UsageMetric,
)
from tally.notifications.events import INVOICE, NotificationType, emit

CappedKey = tuple[str, Period]  # price id, days served


@dataclass(frozen=True)
class PreviewedInvoice:
    """An invoice a preview billed, as it stood at the end of the run (then rolled back)."""

    billing_schedule_id: str
    customer_id: str
    invoice_date: date
    status: InvoiceStatus
    currency: str
    net_total: Decimal
    total_tax: Decimal
    gross_total: Decimal


@dataclass
class RunReport:
    """What a run did (a preview: what it would do), for the API, the CLI and the logs."""

    billing_schedules: int = 0
    invoices_created: int = 0
    invoices_updated: int = 0
    invoices_unchanged: int = 0  # recalculated to the same result
    invoices_deleted: int = 0
    invoices_finalized: int = 0
    threshold_invoices: int = 0  # of `invoices_created`: issued as charges reached a threshold
    failed_schedules: list[str] = field(default_factory=list)
    late_events: dict[str, int] = field(default_factory=dict)  # by schedule id
    preview: bool = False  # nothing was stored
    previewed: list[PreviewedInvoice] = field(default_factory=list)

    def add(self, other: RunReport) -> None:
        self.billing_schedules += other.billing_schedules
        self.invoices_created += other.invoices_created
        self.invoices_updated += other.invoices_updated
        self.invoices_unchanged += other.invoices_unchanged
        self.invoices_deleted += other.invoices_deleted
        self.invoices_finalized += other.invoices_finalized
        self.threshold_invoices += other.threshold_invoices
        self.failed_schedules += other.failed_schedules
        self.late_events.update(other.late_events)
        self.preview = self.preview or other.preview
        self.previewed += other.previewed


@dataclass
class _Requests:
    usage: dict[UsageKey, dict[str, Subject]] = field(default_factory=lambda: defaultdict(dict))
    seats: dict[SeatKey, dict[str, Subject]] = field(default_factory=lambda: defaultdict(dict))
    capped: dict[CappedKey, tuple[pricing.Volume, dict[str, Subject]]] = field(default_factory=dict)
    events: dict[UsageKey, dict[str, Subject]] = field(default_factory=lambda: defaultdict(dict))

    def ask(self, charge: Charge, subject: Subject, anchor: charging.Anchor) -> None:
        for usage_key in charging.usage_keys(charge, anchor):
            self.usage[usage_key][subject.key] = subject
        if (event_key := charging.event_key(charge)) is not None:
            self.events[event_key][subject.key] = subject
        if (seat_key := charging.seat_key(charge)) is not None:
            self.seats[seat_key][subject.key] = subject
        structure = charge.price.structure
        if isinstance(structure, pricing.Volume) and structure.per_event_limits:
            key = (charge.price.id, charge.served)
            self.capped.setdefault(key, (structure, {}))[1][subject.key] = subject


@dataclass(frozen=True)
class _Answers:
    usage: UsageAnswers
    member_usage: UsageAnswers
    seats: SeatAnswers
    member_seats: SeatAnswers
    capped: dict[CappedKey, dict[str, list[Decimal]]]
    events: UsageValues


def _existing(
    session: Session, account_id: str, schedule_ids: Sequence[str]
) -> dict[tuple[str, date], Existing]:
    batch = id_table(session, schedule_ids)
    rows = session.execute(
        select(
            BillingRun.billing_schedule_id,
            BillingRun.invoice_date,
            BillingRun.id,
            Invoice.id,
            Invoice.status,
            Invoice.billing_period_end,
            Invoice.calculation_digest,
            Invoice.edited_at,
        )
        .select_from(BillingRun)
        .join(
            batch := id_table(session, schedule_ids), batch.c.id == BillingRun.billing_schedule_id
        )
        .outerjoin(Invoice, Invoice.id == BillingRun.invoice_id)
        .where(BillingRun.account_id == account_id)
    )
    return {
        (row.billing_schedule_id, row.invoice_date): Existing(
            row[2],
            row[3],
            row.status,
            row.billing_period_end,
            row.calculation_digest,
            edited=row.edited_at is not None,
        )
        for row in rows
    }


def _measure(session: Session, account: Account, requests: _Requests) -> _Answers:
    metric_ids = {split_measure(measure)[0] for measure, _, _ in requests.usage}
    metric_ids |= {structure.metric_id for structure, _ in requests.capped.values()}
    metrics = {
        metric.id: metric
        for metric in session.scalars(
            select(UsageMetric).where(
                UsageMetric.account_id == account.id, UsageMetric.id.in_(metric_ids)
            )
        )
    }
    usage, member_usage = measure_usage(
        session,
        metrics,
        {key: list(s.values()) for key, s in requests.usage.items()},
        account.timezone,
    )
    seats, member_seats = measure_seats(
        session,
        account.id,
        account.timezone,
        {key: list(s.values()) for key, s in requests.seats.items()},
    )
    capped = {
        key: measure_capped(
            session,
            metrics[structure.metric_id],
            structure.tiers,
            key[1],
            account.timezone,
            list(subjects.values()),
        )
        for key, (structure, subjects) in requests.capped.items()
    }
    events = measure_events(
        session,
        metrics,
        account.timezone,
        {key: list(s.values()) for key, s in requests.events.items()},
    )
    return _Answers(usage, member_usage, seats, member_seats, capped, events)


BilledAtStart = dict[tuple[str, Period], int]  # seats, by price id and served days


def _billed_at_start(
    session: Session,
    account_id: str,
    invoices: Sequence[PlannedInvoice],
    existing: dict[tuple[str, date], Existing],
) -> dict[str, BilledAtStart]:
    """Per schedule, the seats the start of each period whose changes the planned invoices
    bill was billed for, when that invoice is settled (finalized, voided or edited by a
    person: billing no longer recalculates it): its line's quantity, so a count received
    for the first day after it was finalized is billed with the changes. One query."""
    asked: set[tuple[str, str, Period]] = set()  # invoice id, price id, served days
    owner: dict[str, str] = {}  # invoice id -> schedule id
    for invoice in invoices:
        schedule_id = invoice.loaded.schedule.id
        for charge in invoice.charges:
            run = existing.get((schedule_id, charge.served.start))
            if not charge.changes or run is None or run.invoice_id is None or run.editable:
                continue
            asked.add((run.invoice_id, charge.price.id, charge.served))
            owner[run.invoice_id] = schedule_id
    if not asked:
        return {}
    ids = id_table(session, list(owner))
    rows = session.execute(
        select(
            InvoiceLineItem.invoice_id,
            InvoiceLineItem.price_id,
            InvoiceLineItem.service_period_start,
            InvoiceLineItem.service_period_end,
            InvoiceLineItem.quantity,
        )
        .join(ids, ids.c.id == InvoiceLineItem.invoice_id)
        .where(InvoiceLineItem.account_id == account_id, InvoiceLineItem.kind == LineKind.PRICE)
    )
    found: dict[str, BilledAtStart] = defaultdict(dict)
    for invoice_id, price_id, first, last, quantity in rows:
        if price_id is None or first is None or last is None or first > last or quantity % 1:
            continue  # not a seat count a start billed (a person's fraction of one: the rule)
        if (invoice_id, price_id, served := Period(first, last)) in asked:
            found[owner[invoice_id]][(price_id, served)] = int(quantity)
    return found


def _usage_days(
    session: Session,
    account_id: str,
    loaded: Sequence[terms.LoadedSchedule],
    subjects: Mapping[str, Subject],
    last: date,
) -> dict[str, dict[str, set[date]]]:
    """By schedule, the days its subject used the metrics of its usage-driven prices, up to
    `last`: one query for the batch."""
    wanted: dict[str, tuple[Subject, set[str], date]] = {}
    for item in loaded:
        for phase in item.terms.phases:
            for price in phase.prices:
                if price.usage_driven and isinstance(price.structure, charging.USAGE_STRUCTURES):
                    subject, metrics, first = wanted.get(
                        item.schedule.id, (subjects[item.schedule.id], set(), phase.start)
                    )
                    metrics.add(price.structure.metric_id)
                    wanted[item.schedule.id] = (subject, metrics, min(first, phase.start))
    if not wanted:
        return {}
    found = usage_days(
        session,
        account_id,
        {m for _, metrics, _ in wanted.values() for m in metrics},
        list({s.key: s for s, _, _ in wanted.values()}.values()),
        min(first for _, _, first in wanted.values()),
        last,
    )
    return {schedule_id: found.get(s.key, {}) for schedule_id, (s, _, _) in wanted.items()}


def _anchor(schedule: ScheduleTerms) -> charging.Anchor:
    return charging.Anchor(schedule.start, schedule.recurrence_day)


def _priced(
    planned: PlannedInvoice,
    subject: Subject,
    answers: _Answers,
    billed_at_start: BilledAtStart,
) -> tuple[list[PricedLine], dict[int, Metered]]:
    """The invoice's priced lines, and its usage lines' metric and units by position."""
    measured = charging.Measured(
        subject=subject.key,
        usage=answers.usage,
        member_usage=answers.member_usage,
        seats=answers.seats,
        member_seats=answers.member_seats,
        capped=answers.capped,
        anchor=_anchor(planned.loaded.terms),
        members=tuple(subject.members),
        currency=planned.loaded.currency,
        billed_at_start=billed_at_start,
        events=answers.events,
    )
    lines: list[PricedLine] = []
    unchanged: list[PricedLine] = []
    metered: dict[int, Metered] = {}
    for charge in planned.charges:
        line = charging.price(charge, measured)
        tax = planned.loaded.taxes.get(charge.price.id)
        if tax is not None:
            line = replace(line, tax_rate=tax.rate, tax_rate_version_id=tax.version_id)
        if charge.changes and line.amount == 0:
            unchanged.append(line)  # seats that did not change bill nothing more: no line
            continue
        if (usage := charging.metered(charge, measured)) is not None:
            metered[len(lines)] = usage
        lines.append(line)
    # unless the invoice has nothing else (the one after an ended schedule's last period)
    return lines or unchanged, metered


def _settles_later(charge: Charge) -> bool:
    """Charges outside the phase's billing periods: an in-advance seat price's changes, and
    the daily charges of usage-driven prices. They take percentage discounts only; minimums
    and nominal discounts are once a period, on the period's own invoice."""
    return charge.changes or charge.price.usage_driven


def _adjustments(charges: Sequence[Charge]) -> list[PhaseAdjustments]:
    """Each phase's discounts and minimums on this invoice; a minimum is prorated by the
    largest share of its period any of the phase's recurring charges serves.

    The changes of an in-advance seat price belong to a period an earlier invoice billed,
    and usage-driven prices have no period: they take their phase's percentage discounts,
    but bring no minimum or nominal discount (once a period, on the invoice that opened it)
    to an invoice of their own."""
    by_phase: dict[str, list[Charge]] = defaultdict(list)
    for charge in charges:
        by_phase[charge.phase.id].append(charge)
    adjustments = []
    for phase_charges in by_phase.values():
        phase = phase_charges[0].phase
        # A discount narrowed to some days of its phase applies to charges serving them.
        served = Period(
            min(c.served.start for c in phase_charges), max(c.served.end for c in phase_charges)
        )
        discounts = tuple(d for d in phase.discounts if d.applies_within(served))
        if not discounts and not phase.minimums:
            continue
        if all(_settles_later(c) for c in phase_charges):
            percentages = tuple(d for d in discounts if d.kind is DiscountKind.PERCENTAGE)
            if percentages:
                adjustments.append(PhaseAdjustments(phase_id=phase.id, discounts=percentages))
            continue
        own = [c for c in phase_charges if not _settles_later(c)]
        recurring = [c for c in own if c.price.months is not None] or own
        adjustments.append(
            PhaseAdjustments(
                phase_id=phase.id,
                discounts=discounts,
                minimums=phase.minimums,
                fraction=max(c.fraction for c in recurring),
                service=Period(
                    min(c.served.start for c in recurring), max(c.served.end for c in recurring)
                ),
            )
        )
    return adjustments


def _threshold_invoice(
    invoice: PlannedInvoice,
    draft: InvoiceDraft,
    state: thresholds.PeriodState,
    today: date,
) -> tuple[InvoiceDraft, thresholds.Issued] | None:
    """A threshold invoice to issue now, if the charges of the period's IN_PROGRESS invoice
    not yet invoiced reach its phase's threshold: its document (before credits) and its
    step. `state` then counts it, so the period's own invoice deducts it."""
    if invoice.status is not InvoiceStatus.IN_PROGRESS:
        return None  # a period that ended is billed whole by its own invoice
    threshold = thresholds.threshold_of([c.phase.invoice_threshold for c in invoice.charges])
    if threshold is None:
        return None
    currency = invoice.loaded.currency
    counted = engine_thresholds.charges(draft, currency)
    if not engine_thresholds.reached(counted, state.invoiced, threshold):
        return None
    sequence = state.last_sequence + 1
    label = thresholds.label(None, sequence)
    step = engine_thresholds.newly_invoiced(counted, state.invoiced, label)
    document = engine_thresholds.deducted(counted, state.invoiced)
    state.invoiced.append(step)
    state.last_sequence = sequence
    schedule = invoice.loaded.schedule
    return document, thresholds.Issued(
        invoice_id=new_id(),
        schedule_id=schedule.id,
        customer_id=schedule.customer_id,
        invoice_date=invoice.invoice_date,
        period=invoice.billing_period,
        sequence=sequence,
        parts=step.parts,
        threshold=threshold,
        currency=currency,
    )


def _issue_at_threshold(
    session: Session,
    account: Account,
    writes: Sequence[ThresholdWrite],
    today: date,
    now: datetime,
) -> int:
    """Write and issue the run's threshold invoices. Always issued (finalized, and sent as
    auto-issue sends), whatever the schedule's autoIssueInvoices: as drafts they would cap
    nothing; automatic collection charges them like any other. How many were finalized."""
    if not writes:
        return 0
    issued_ids = [write.step.invoice_id for write in writes]
    write_threshold_invoices(session, account, writes, today, now)
    thresholds.claim(session, account.id, [write.step for write in writes])
    emit(session, account.id, NotificationType.INVOICE_CREATED, INVOICE, issued_ids)
    return auto_issue(session, account, issued_ids, today)


def _named(
    session: Session, account_id: str, writes: list[InvoiceWrite], issued: Sequence[ThresholdWrite]
) -> list[InvoiceWrite]:
    """The period invoices' deductions of the threshold invoices just issued, named by
    their numbers (the drafts were made before finalize numbered them)."""
    numbers = thresholds.numbers(session, account_id, [w.step.invoice_id for w in issued])
    renamed: dict[tuple[str, date], dict[str, str]] = defaultdict(dict)
    for write in issued:
        number = numbers.get(write.step.invoice_id)
        if number is not None:
            key = (write.step.schedule_id, write.step.invoice_date)
            renamed[key][thresholds.label(None, write.step.sequence)] = number
    return [
        replace(write, draft=engine_thresholds.relabelled(write.draft, names))
        if (names := renamed.get((write.planned.loaded.schedule.id, write.planned.invoice_date)))
        else write
        for write in writes
    ]


def _previewed(
    session: Session, account_id: str, invoice_ids: Sequence[str]
) -> list[PreviewedInvoice]:
    ids = id_table(session, invoice_ids)
    rows = session.execute(
        select(
            Invoice.billing_schedule_id,
            Invoice.customer_id,
            Invoice.invoice_date,
            Invoice.status,
            Invoice.currency,
            Invoice.net_total,
            Invoice.total_tax,
            Invoice.gross_total,
        )
        .join(ids, ids.c.id == Invoice.id)
        .where(Invoice.account_id == account_id)
    )
    return sorted(
        (
            PreviewedInvoice(
                row.billing_schedule_id or "",
                row.customer_id,
                row.invoice_date,
                row.status,
                row.currency,
                row.net_total,
                row.total_tax,
                row.gross_total,
            )
            for row in rows
            if row.invoice_date is not None
        ),
        key=lambda invoice: (invoice.invoice_date, invoice.billing_schedule_id),
    )


def bill_schedules(
    session: Session,
    account: Account,
    schedule_ids: Sequence[str],
    today: date,
    now: datetime,
    *,
    through: date | None = None,
    preview: bool = False,
) -> RunReport:
    """Bring the schedules' invoices up to date as of `today` (in the account's time zone).

    `through` (a backfill, a day before today): only the invoices dated up to it are created
    or recalculated, as DRAFTs, as a run for today would write them; nothing is removed,
    issued, or marked billed. `preview`: the report lists the invoices billed, for a caller
    that rolls the run back."""
    backfill = through is not None
    # Credits their phases hand out come first: this run's invoices may spend them.
    fresh = phase_grants.hand_out(session, account.id, schedule_ids, today)
    phase_grants.roll_over(session, account.id, schedule_ids, fresh)
    loaded = terms.load(session, account.id, schedule_ids)
    existing = _existing(session, account.id, schedule_ids)
    who = billed(session, account.id, [item.schedule for item in loaded])
    used = _usage_days(session, account.id, loaded, who.subjects, through or today)
    planned = plan(loaded, existing, today, through=through, usage_days=used)
    requests = _Requests()
    for invoice in planned.invoices:
        subject = who.subjects[invoice.loaded.schedule.id]
        for charge in invoice.charges:
            requests.ask(charge, subject, _anchor(invoice.loaded.terms))
    answers = _measure(session, account, requests)
    at_start = _billed_at_start(session, account.id, planned.invoices, existing)
    periods = thresholds.load(session, account.id, schedule_ids)
    open_invoices = []
    # What each open invoice is: a period's own invoice, or a threshold invoice of one.
    owners: list[PlannedInvoice | tuple[PlannedInvoice, thresholds.Issued]] = []
    for invoice in planned.invoices:
        schedule = invoice.loaded.schedule
        priced, metered = _priced(
            invoice, who.subjects[schedule.id], answers, at_start.get(schedule.id, {})
        )
        draft = assemble(
            priced,
            _adjustments(invoice.charges),
            invoice.loaded.currency,
            taxed=who.snapshots[schedule.customer_id].taxed,
        )
        state = periods.get((schedule.id, invoice.invoice_date), thresholds.PeriodState())
        if not backfill:
            issued = _threshold_invoice(invoice, draft, state, today)
            if issued is not None:
                document, step = issued
                owners.append((invoice, step))
                # Before the period's own invoice: credits go to threshold invoices first.
                open_invoices.append(
                    OpenInvoice(
                        customer_id=schedule.customer_id,
                        invoice_id=None,
                        invoice_date=today,
                        period_end=invoice.billing_period.end,
                        currency=invoice.loaded.currency,
                        draft=document,
                        metered=metered,
                    )
                )
        open_invoices.append(
            OpenInvoice(
                customer_id=schedule.customer_id,
                invoice_id=invoice.existing.invoice_id if invoice.existing else None,
                invoice_date=invoice.invoice_date,
                period_end=invoice.billing_period.end,
                currency=invoice.loaded.currency,
                draft=engine_thresholds.deducted(draft, state.invoiced),
                metered=metered,
            )
        )
        owners.append(invoice)
    # Credits: pending debits of the customers' grants, in invoice-date order per customer.
    drafted = project(session, account.id, open_invoices, today)
    drafts, threshold_writes = [], []
    for owner, draft in zip(owners, drafted, strict=True):
        if isinstance(owner, tuple):
            snapshot = who.snapshots[owner[0].loaded.schedule.customer_id]
            threshold_writes.append(ThresholdWrite(owner[0], owner[1], draft, snapshot))
        else:
            drafts.append(draft)
    writes = [
        InvoiceWrite(invoice, draft, who.snapshots[invoice.loaded.schedule.customer_id])
        for invoice, draft in zip(planned.invoices, drafts, strict=True)
    ]
    # A backfill leaves `billed_at` as it is: the next run reports the same late events.
    late = (
        {}
        if backfill
        else late_events(
            session, account.id, account.timezone, loaded, who.subjects, finalized_through(existing)
        )
    )
    announce_removal(
        session,
        account.id,
        [run.invoice_id for run in planned.stale if run.invoice_id],
        "billing schedule changed: the invoice's date is no longer one of its invoice dates",
    )
    # Threshold invoices first: the period invoices deducting them then name their numbers.
    issued_ids = [write.step.invoice_id for write in threshold_writes]
    finalized = _issue_at_threshold(session, account, threshold_writes, today, now)
    if threshold_writes:
        writes = _named(session, account.id, writes, threshold_writes)
    written = write_invoices(session, account, writes, planned.stale, now)
    created = [
        invoice_id
        for write, invoice_id in zip(writes, written.invoice_ids, strict=True)
        if write.planned.existing is None or write.planned.existing.invoice_id is None
    ]
    emit(session, account.id, NotificationType.INVOICE_CREATED, INVOICE, created)
    # autoIssueInvoices: an invoice whose date has come is issued without review.
    # Not in a backfill: issuing is for runs for today, with today's issue date.
    to_issue = [
        invoice_id
        for write, invoice_id in zip(writes, written.invoice_ids, strict=True)
        if write.planned.status is InvoiceStatus.DRAFT
        and write.planned.loaded.schedule.auto_issue_invoices
        and not backfill
    ]
    finalized += auto_issue(session, account, to_issue, today) if to_issue else 0
    if not backfill:
        mark_schedules(session, [item.schedule for item in loaded], planned.finished, today, now)
    return RunReport(
        billing_schedules=len(loaded),
        invoices_created=written.created + len(issued_ids),
        threshold_invoices=len(issued_ids),
        invoices_updated=written.updated,
        invoices_unchanged=written.unchanged,
        invoices_deleted=written.deleted,
        invoices_finalized=finalized,
        late_events=late,
        preview=preview,
        previewed=(
            _previewed(session, account.id, [*written.invoice_ids, *issued_ids]) if preview else []
        ),
    )
