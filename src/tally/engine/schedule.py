"""From a billing schedule's terms to its charges: which price, over which days, on which
invoice date.

IN_ARREARS charges fall due the day after their period ends (or the schedule ends); IN_ADVANCE
charges on the first day they serve; ONE_TIME prices once, when their phase starts. A seat
price billed in advance bills the seats held at the start then, and what changed during the
period (a `changes` charge) the day an in-arrears price would; seats above a contracted
minimum billed apart (an overage frequency no longer than the price's) are `overage` charges,
in arrears on their own periods, whatever the price's timing. Phases
change what is charged, never when: a phase that starts mid-period splits that period's
charges between the two phases, on the same invoice date. Charges due on the same date go on
one invoice.

Usage-driven prices (ON_DEMAND, PER_EVENT) have no periods: each day with usage of their
metric is a charge of its own, due the next day (Sequence's on-demand billing: "an invoice
the next day, with all the events of the previous day"); a day without usage charges nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from tally.engine.periods import ONE_DAY, Period, periods_until, prorated
from tally.engine.pricing import SeatBased, Structure

END_OF_TIME = date(9999, 12, 31)


class DiscountKind(StrEnum):
    PERCENTAGE = "PERCENTAGE"
    NOMINAL = "NOMINAL"


class Cadence(StrEnum):
    """When a price is charged."""

    PERIODS = "PERIODS"  # every billing period (or once, for a one-time price)
    # the day after each day with usage; tiers count the phase's usage so far
    ON_DEMAND = "ON_DEMAND"
    # the day after each day with usage, every event charged (and rounded) on its own
    PER_EVENT = "PER_EVENT"


@dataclass(frozen=True)
class PriceTerms:
    id: str
    product_id: str
    name: str
    months: int | None  # None: a one-time or a usage-driven price
    in_advance: bool
    structure: Structure
    cadence: Cadence = Cadence.PERIODS
    # (parameter id, value): what the price binds a CUSTOM metric's parameters to
    metric_parameters: tuple[tuple[str, str], ...] = ()

    @property
    def usage_driven(self) -> bool:
        return self.cadence is not Cadence.PERIODS


@dataclass(frozen=True)
class DiscountTerms:
    id: str
    kind: DiscountKind
    amount: Decimal  # PERCENTAGE: 10 is 10 %; NOMINAL: money
    message: str
    separate_line: bool
    price_ids: frozenset[str] = frozenset()  # empty: every price of the phase
    # The days it applies (inclusive) within its phase; None: from the phase's start / to its end.
    valid_from: date | None = None
    valid_to: date | None = None

    def applies_within(self, served: Period) -> bool:
        """Whether it applies to charges serving `served`: the two overlap."""
        return (self.valid_from is None or self.valid_from <= served.end) and (
            self.valid_to is None or self.valid_to >= served.start
        )


@dataclass(frozen=True)
class MinimumTerms:
    id: str
    amount: Decimal
    price_ids: frozenset[str] = frozenset()  # empty: every price of the phase


@dataclass(frozen=True)
class PhaseTerms:
    id: str
    start: date
    end: date | None
    prices: tuple[PriceTerms, ...]
    discounts: tuple[DiscountTerms, ...] = ()
    minimums: tuple[MinimumTerms, ...] = ()
    # Invoice as soon as a period's charges reach this (`engine/thresholds.py`).
    invoice_threshold: Decimal | None = None

    @property
    def span(self) -> Period:
        return Period(self.start, self.end or END_OF_TIME)


@dataclass(frozen=True)
class ScheduleTerms:
    start: date
    end: date | None
    recurrence_day: int
    phases: tuple[PhaseTerms, ...]

    @property
    def span(self) -> Period:
        return Period(self.start, self.end or END_OF_TIME)


@dataclass(frozen=True)
class Charge:
    """One price over the days it serves in one period, due on `invoice_date`."""

    price: PriceTerms
    phase: PhaseTerms
    period: Period  # the whole period the price is quoted for
    served: Period  # the days of it this charge covers
    invoice_date: date
    billing_period: Period = field(compare=False)  # the schedule's days of `period`
    overage: bool = False  # seats above the contracted minimum, billed on their own periods
    # An in-advance seat price's changes over `period` (its `served` days), billed after it.
    changes: bool = False

    @property
    def fraction(self) -> Decimal:
        return prorated(self.served, self.period)


def _recurring(
    schedule: ScheduleTerms,
    price: PriceTerms,
    span: Period,
    months: int,
    in_advance: bool,
    horizon: date,
    phase: PhaseTerms,
    *,
    overage: bool = False,
    changes: bool = False,
) -> Iterator[Charge]:
    for period in periods_until(schedule.start, schedule.recurrence_day, months, horizon):
        if period.start > span.end:
            return
        billed = period.overlap(schedule.span)
        served = period.overlap(span)
        if billed is None or served is None:
            continue
        due = served.start if in_advance else billed.end + ONE_DAY
        if due > horizon:
            return
        yield Charge(
            price,
            phase,
            period,
            served,
            due,
            billing_period=billed,
            overage=overage,
            changes=changes,
        )


def _usage_day_charges(
    phase: PhaseTerms, price: PriceTerms, span: Period, horizon: date, days: Collection[date]
) -> Iterator[Charge]:
    for day in sorted(days):
        if span.contains(day) and day + ONE_DAY <= horizon:
            served = Period(day, day)
            yield Charge(price, phase, served, served, day + ONE_DAY, billing_period=served)


def _price_charges(
    schedule: ScheduleTerms,
    phase: PhaseTerms,
    price: PriceTerms,
    horizon: date,
    usage_days: Mapping[str, Collection[date]],
) -> Iterator[Charge]:
    span = phase.span.overlap(schedule.span)
    if span is None:
        return
    if price.usage_driven:
        metric_id = getattr(price.structure, "metric_id", "")
        yield from _usage_day_charges(phase, price, span, horizon, usage_days.get(metric_id, ()))
        return
    if price.months is None:
        if span.start > horizon:
            return
        day = Period(span.start, span.start)
        yield Charge(price, phase, day, day, span.start, billing_period=day)
        return
    yield from _recurring(schedule, price, span, price.months, price.in_advance, horizon, phase)
    structure = price.structure
    if not isinstance(structure, SeatBased):
        return
    if structure.overages_apart(price.months):
        months = structure.overage_months or price.months
        yield from _recurring(schedule, price, span, months, False, horizon, phase, overage=True)
    elif price.in_advance:  # the start billed the seats held then; the rest once it is over
        yield from _recurring(
            schedule, price, span, price.months, False, horizon, phase, changes=True
        )


def charges(
    schedule: ScheduleTerms,
    horizon: date,
    usage_days: Mapping[str, Collection[date]] | None = None,
) -> list[Charge]:
    """Every charge of the schedule due on or before `horizon`, by invoice date.
    `usage_days`: by metric id, the days the schedule's customers used it (for the prices
    charged on days with usage)."""
    found = [
        charge
        for phase in schedule.phases
        for price in phase.prices
        for charge in _price_charges(schedule, phase, price, horizon, usage_days or {})
    ]
    return sorted(found, key=lambda c: (c.invoice_date, c.served.start, c.price.id))
