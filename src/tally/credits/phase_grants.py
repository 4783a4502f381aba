"""Credit grants billing schedule phases hand out (Sequence's embedded credit grants).

Specs (`PhaseCreditGrant`) are written with the schedule (`write_specs`); they survive the
replacement of a schedule's phases on update under the same ids. Billing runs hand them out
(`hand_out`), in bulk per batch, before projecting credits:

- one `CreditGrant` per refresh period that has started (the whole phase when the grant
  does not refresh; MONTHLY, QUARTERLY, HALF_YEARLY, YEARLY periods from the phase start),
  made once by the unique (account, phase grant, refresh period start);
- without rollover, a refresh period's grant expires with the period (its last day is the
  grant's last usable day): invoices of billing periods ending by then spend it, however
  late they are finalized (`credits/usable.py`); what is left once none of them is open
  any more expires (EXPIRY, by the expiry job);
- with rollover (ON_GRANT_REFRESH, ON_GRANT_REFRESH_AND_PHASE) it does not expire: at the
  start of the first run after the next period's grant exists (`roll_over`), its remainder
  moves into that grant: a ROLLOVER entry of minus the remainder on the old grant, plus on
  the new (dedupe `rollover-out:<old>`, `rollover-in:<new>`). The remainder is the old
  grant's balance less what open invoices still project on it (their pending debits stay
  with it, and what finalizing leaves of them stays spendable). Rollover stays within a
  phase: a new phase's grants start afresh.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tally.api import references
from tally.core.clock import utcnow
from tally.credits.ledger import Movement, balances, grant_movement, record
from tally.db import insert_new, new_id, table_of
from tally.engine.money import ZERO
from tally.engine.periods import periods
from tally.exceptions import InvalidRequest, ReferenceInUse
from tally.models import (
    EDITABLE_STATUSES,
    BillingSchedule,
    BillingSchedulePhase,
    CreditGrant,
    CreditLedgerEntry,
    CreditUnitType,
    GrantRefreshFrequency,
    Invoice,
    InvoiceLineItem,
    LedgerEntryType,
    LineKind,
    PhaseCreditGrant,
    Price,
    RolloverMode,
)

MONTHS = {
    GrantRefreshFrequency.MONTHLY: 1,
    GrantRefreshFrequency.QUARTERLY: 3,
    GrantRefreshFrequency.HALF_YEARLY: 6,
    GrantRefreshFrequency.YEARLY: 12,
}

# ---- Specs, with the schedule ------------------------------------------------------------


def by_phase(
    session: Session, account_id: str, schedule_ids: Sequence[str]
) -> dict[str, list[PhaseCreditGrant]]:
    """The schedules' phase grants by phase id, in the order given (one query)."""
    found: dict[str, list[PhaseCreditGrant]] = defaultdict(list)
    for spec in session.scalars(
        select(PhaseCreditGrant)
        .where(
            PhaseCreditGrant.account_id == account_id,
            PhaseCreditGrant.billing_schedule_id.in_(list(schedule_ids)),
        )
        .order_by(PhaseCreditGrant.position, PhaseCreditGrant.id)
    ):
        found[spec.phase_id].append(spec)
    return found


def take_specs(session: Session, account_id: str, schedule_id: str) -> list[dict[str, Any]]:
    """A schedule's phase grants as rows, removed (its phases are about to be replaced)."""
    specs = session.scalars(
        select(PhaseCreditGrant)
        .where(
            PhaseCreditGrant.account_id == account_id,
            PhaseCreditGrant.billing_schedule_id == schedule_id,
        )
        .order_by(PhaseCreditGrant.position, PhaseCreditGrant.id)
    ).all()
    phases = {
        phase_id: index
        for index, phase_id in enumerate(
            session.scalars(
                select(BillingSchedulePhase.id)
                .where(
                    BillingSchedulePhase.account_id == account_id,
                    BillingSchedulePhase.billing_schedule_id == schedule_id,
                )
                .order_by(BillingSchedulePhase.start_date)
            )
        )
    }
    rows = []
    for spec in specs:
        row = {c.key: getattr(spec, c.key) for c in table_of(PhaseCreditGrant).columns}
        row["phase_index"] = phases.get(spec.phase_id, 0)
        rows.append(row)
        session.expunge(spec)
    session.execute(
        delete(PhaseCreditGrant).where(
            PhaseCreditGrant.account_id == account_id,
            PhaseCreditGrant.billing_schedule_id == schedule_id,
        )
    )
    return rows


def _metric_of(
    where: str, spec: Any, phase_price_ids: Sequence[str], prices: dict[str, Price]
) -> str:
    if spec.metric_id:
        return str(spec.metric_id)
    candidates = spec.restrict_to_prices or phase_price_ids
    metrics = {prices[p].usage_metric_id for p in candidates if p in prices} - {None}
    if len(metrics) != 1:
        raise InvalidRequest.field(
            f"{where}.metricId",
            "a METRIC grant needs metricId unless the prices it covers bill one usage metric",
        )
    return str(metrics.pop())


def write_specs(
    session: Session,
    schedule: BillingSchedule,
    phases: Sequence[Any],
    phase_ids: Sequence[str],
    prices: dict[str, Price],
    kept: Sequence[dict[str, Any]],
) -> None:
    """The phases' credit grants. When no phase sends `creditGrants`, the schedule's grants
    stay as they were (on the phase of the same position); once one does, the phases' lists
    are the full spec: without an id a grant is new, with one it is kept as it was, and a
    grant left out is removed unless credits were handed out from it (`ReferenceInUse`)."""
    account_id = schedule.account_id
    currency = next(iter(prices.values())).currency if prices else "USD"
    last = len(phase_ids) - 1
    given = any(phase.credit_grants is not None for phase in phases)
    if not given:
        for row in kept:
            phase_index = min(row.pop("phase_index"), last)
            session.add(PhaseCreditGrant(**{**row, "phase_id": phase_ids[phase_index]}))
        session.flush()
        return
    old = {row["id"]: row for row in kept}
    resent: set[str] = set()
    for index, (phase, phase_id) in enumerate(zip(phases, phase_ids, strict=True)):
        for number, spec in enumerate(phase.credit_grants or []):
            where = f"phases.{index}.creditGrants.{number}"
            if spec.id is not None:
                if spec.id not in old or spec.id in resent:
                    # Only this schedule's grants are kept: another's id is unknown here.
                    raise references.not_found(f"{where}.id", "Phase credit grant", spec.id)
                resent.add(spec.id)
                row = dict(old[spec.id])
                row.pop("phase_index")
                session.add(PhaseCreditGrant(**{**row, "phase_id": phase_id, "position": number}))
                continue
            metric = (
                _metric_of(where, spec, phase.price_ids, prices)
                if spec.credit_unit_type is CreditUnitType.METRIC
                else None
            )
            session.add(
                PhaseCreditGrant(
                    account_id=account_id,
                    billing_schedule_id=schedule.id,
                    phase_id=phase_id,
                    position=number,
                    name=spec.name,
                    credit_unit_type=spec.credit_unit_type,
                    currency=spec.currency or currency,
                    metric_id=metric,
                    amount=spec.amount,
                    cost_of_credit=spec.cost_of_credit,
                    tax_rate_id=spec.tax_rate_id,
                    grant_refresh_frequency=spec.grant_refresh_frequency,
                    rollover_mode=spec.rollover_mode,
                    restrict_to_prices=list(spec.restrict_to_prices or []),
                )
            )
    removed = [grant_id for grant_id in old if grant_id not in resent]
    if removed:
        handed = session.scalar(
            select(CreditGrant.phase_credit_grant_id)
            .where(
                CreditGrant.account_id == account_id,
                CreditGrant.phase_credit_grant_id.in_(removed),
            )
            .limit(1)
        )
        if handed is not None:
            raise ReferenceInUse(
                f"Phase credit grant {handed!r} has handed out credits: it cannot be removed "
                "through the schedule; send it again with its id, or delete its grants "
                "through /api/credits."
            )
    session.flush()


# ---- Handing them out, in billing runs ---------------------------------------------------


def refresh_periods(
    start: date, end: date | None, frequency: GrantRefreshFrequency, today: date
) -> list[tuple[date, date | None]]:
    """The refresh periods (first day, last day) of a phase grant that have started by
    `today`: the whole phase when it does not refresh."""
    if start > today:
        return []
    months = MONTHS.get(frequency)
    if months is None:
        return [(start, end)]
    found: list[tuple[date, date | None]] = []
    for period in periods(start, start.day, months):
        if period.start > today or (end is not None and period.start > end):
            break
        found.append((period.start, min(period.end, end) if end else period.end))
    return found


def hand_out(
    session: Session, account_id: str, schedule_ids: Sequence[str], today: date
) -> set[str]:
    """Every phase grant's refresh periods started by `today`, as credit grants (each once),
    with their GRANT entries; the ids of those handed out now. A fixed number of queries per
    batch."""
    specs = session.execute(
        select(
            PhaseCreditGrant,
            BillingSchedulePhase.start_date,
            BillingSchedulePhase.end_date,
            BillingSchedule.customer_id,
        )
        .join(BillingSchedulePhase, BillingSchedulePhase.id == PhaseCreditGrant.phase_id)
        .join(BillingSchedule, BillingSchedule.id == PhaseCreditGrant.billing_schedule_id)
        .where(
            PhaseCreditGrant.account_id == account_id,
            PhaseCreditGrant.billing_schedule_id.in_(list(schedule_ids)),
            BillingSchedule.archived_at.is_(None),
        )
    ).all()
    if not specs:
        return set()
    now = utcnow()
    rows = []
    for spec, start, end, customer_id in specs:
        for first, last in refresh_periods(start, end, spec.grant_refresh_frequency, today):
            rows.append(
                {
                    "id": new_id(),
                    "account_id": account_id,
                    "created_at": now,
                    "updated_at": now,
                    "customer_id": customer_id,
                    "name": spec.name,
                    "credit_unit_type": spec.credit_unit_type,
                    "currency": spec.currency,
                    "metric_id": spec.metric_id,
                    "amount": spec.amount,
                    "cost_of_credit": spec.cost_of_credit,
                    "tax_rate_id": spec.tax_rate_id,
                    "effective_date": first,
                    # The last usable day is the refresh period's: invoices of billing
                    # periods ending by then spend it, whenever they are finalized. A
                    # rolling grant does not expire: its remainder rolls over (the phase's
                    # last period has no next one to roll into).
                    "expiry_date": (
                        last
                        if last is not None
                        and (spec.rollover_mode is RolloverMode.NONE or last == end)
                        else None
                    ),
                    "billing_schedule_id": spec.billing_schedule_id,
                    "phase_credit_grant_id": spec.id,
                    "refresh_period_start": first,
                    "restrict_to_prices": list(spec.restrict_to_prices or []),
                }
            )
    if not rows:
        return set()
    insert_new(
        session,
        table_of(CreditGrant),
        rows,
        ["account_id", "phase_credit_grant_id", "refresh_period_start"],
    )
    new = session.scalars(
        select(CreditGrant).where(
            CreditGrant.account_id == account_id,
            CreditGrant.id.in_([row["id"] for row in rows]),
        )
    ).all()
    record(session, account_id, [grant_movement(grant) for grant in new])
    return {grant.id for grant in new}


def roll_over(
    session: Session, account_id: str, schedule_ids: Sequence[str], fresh: set[str]
) -> None:
    """Before a run projects credits: each rolling grant followed by its next refresh
    period's grant hands its remainder on, once: its balance less what open invoices (as
    earlier runs wrote them) project on it. A grant handed out in this run (`fresh`) has no
    projections yet: it rolls over on the next run (meanwhile the next period's invoices may
    draw on it directly, as it does not expire)."""
    grants = session.scalars(
        select(CreditGrant)
        .join(PhaseCreditGrant, PhaseCreditGrant.id == CreditGrant.phase_credit_grant_id)
        .where(
            CreditGrant.account_id == account_id,
            CreditGrant.deleted_at.is_(None),
            PhaseCreditGrant.billing_schedule_id.in_(list(schedule_ids)),
            PhaseCreditGrant.rollover_mode != RolloverMode.NONE,
        )
        .order_by(CreditGrant.phase_credit_grant_id, CreditGrant.refresh_period_start)
    ).all()
    chains: dict[str | None, list[CreditGrant]] = defaultdict(list)
    for grant in grants:
        chains[grant.phase_credit_grant_id].append(grant)
    pairs = [
        (old, new)
        for chain in chains.values()
        for old, new in pairwise(chain)
        if old.id not in fresh
    ]
    if not pairs:
        return
    done = set(
        session.scalars(
            select(CreditLedgerEntry.grant_id).where(
                CreditLedgerEntry.account_id == account_id,
                CreditLedgerEntry.dedupe_key.in_([f"rollover-out:{old.id}" for old, _ in pairs]),
            )
        )
    )
    pairs = [(old, new) for old, new in pairs if old.id not in done]
    if not pairs:
        return
    olds = [old.id for old, _ in pairs]
    held = balances(session, account_id, olds)
    pending: dict[str | None, Decimal] = defaultdict(lambda: ZERO)
    for grant_id, grant_type, quantity, net in session.execute(
        select(
            InvoiceLineItem.credit_grant_id,
            CreditGrant.credit_unit_type,
            InvoiceLineItem.quantity,
            InvoiceLineItem.net_total,
        )
        .join(Invoice, Invoice.id == InvoiceLineItem.invoice_id)
        .join(CreditGrant, CreditGrant.id == InvoiceLineItem.credit_grant_id)
        .where(
            Invoice.account_id == account_id,
            Invoice.status.in_(EDITABLE_STATUSES),
            InvoiceLineItem.kind == LineKind.CREDIT,
            InvoiceLineItem.credit_grant_id.in_(olds),
        )
    ):
        pending[grant_id] += quantity if grant_type is CreditUnitType.METRIC else -net
    carried: dict[str, Decimal] = defaultdict(lambda: ZERO)  # handed on in this pass
    movements = []
    for old, new in pairs:
        left = held.get(old.id, ZERO) + carried[old.id] - pending[old.id]
        if left <= 0:
            continue
        carried[new.id] += left
        movements += [
            Movement(
                grant_id=old.id,
                customer_id=old.customer_id,
                entry_type=LedgerEntryType.ROLLOVER,
                amount=-left,
                effective_date=new.effective_date,
                dedupe_key=f"rollover-out:{old.id}",
                reason=f"Rolled over into {new.name}",
            ),
            Movement(
                grant_id=new.id,
                customer_id=new.customer_id,
                entry_type=LedgerEntryType.ROLLOVER,
                amount=left,
                effective_date=new.effective_date,
                dedupe_key=f"rollover-in:{new.id}",
                reason=f"Rolled over from {old.name}",
            ),
        ]
    record(session, account_id, movements)
