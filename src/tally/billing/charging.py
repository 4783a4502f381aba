"""Pricing one charge for one subject from the batch's measurements: the engine's formulas
applied to measured usage and seats, as an invoice line before discounts."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from tally.billing.measures import (
    SeatAnswers,
    SeatLevels,
    UsageAnswers,
    UsageKey,
    UsageValues,
    measure_of,
)
from tally.engine import pricing
from tally.engine.credits import Metered
from tally.engine.invoice import PricedLine, Share
from tally.engine.money import ZERO
from tally.engine.periods import Period, calculation_parts
from tally.engine.schedule import Cadence, Charge
from tally.engine.seats import billed, level_at_start, levels, opening_charge
from tally.engine.tiers import (
    TierCharge,
    graduated_tiers,
    periodic_tiers,
    volume_increment_tiers,
    volume_per_event_tiers,
    volume_tiers,
)
from tally.metering.queries import ZERO as NO_USAGE

ONE_DAY = timedelta(days=1)
# Effective rates (amount / quantity) are shown to this many places; amounts stay exact.
RATE_PLACES = Decimal("0.000001")


USAGE_STRUCTURES = (pricing.Linear, pricing.Package, pricing.Volume, pricing.Graduated)


def event_key(charge: Charge) -> UsageKey | None:
    """A PER_EVENT charge's metric and day: the events it charges one by one."""
    structure = charge.price.structure
    if charge.price.cadence is not Cadence.PER_EVENT or not isinstance(structure, pricing.Linear):
        return None
    return (structure.metric_id, charge.served.start, charge.served.end)


@dataclass(frozen=True)
class Anchor:
    """Where a schedule's periods start from: running usage totals count from here."""

    start: date
    recurrence_day: int = 1


CountedPart = tuple[UsageKey | None, UsageKey]  # usage before the billed days, and through them


def counted_parts(charge: Charge, anchor: Anchor) -> list[CountedPart] | None:
    """For prices whose tiers count usage from before the billed days (ON_DEMAND: from the
    phase's start; GRADUATED CUMULATIVE: from the schedule's start; GRADUATED PERIODIC: from
    the start of each usage calculation period the days fall in), the usage before and
    through the days of each part; None for the others."""
    structure = charge.price.structure
    if not isinstance(structure, USAGE_STRUCTURES):
        return None
    metric, served = measure_of(structure.metric_id, charge.price.metric_parameters), charge.served
    if charge.price.cadence is Cadence.ON_DEMAND:
        parts = [(max(charge.phase.start, anchor.start), served)]
    elif not isinstance(structure, pricing.Graduated):
        return None
    elif structure.mode is pricing.CalculationMode.CUMULATIVE:
        parts = [(anchor.start, served)]
    elif structure.mode is pricing.CalculationMode.PERIODIC and structure.calculation_months:
        parts = calculation_parts(
            served, anchor.start, anchor.recurrence_day, structure.calculation_months
        )
    else:
        return None
    return [
        (
            (metric, since, days.start - ONE_DAY) if days.start > since else None,
            (metric, since, days.end),
        )
        for since, days in parts
    ]


def usage_keys(charge: Charge, anchor: Anchor) -> list[UsageKey]:
    """The usage measurements a charge needs."""
    structure = charge.price.structure
    if not isinstance(structure, USAGE_STRUCTURES):
        return []
    parts = counted_parts(charge, anchor)
    if parts is not None:
        return [key for before, through in parts for key in (through, before) if key]
    metric = measure_of(structure.metric_id, charge.price.metric_parameters)
    return [(metric, charge.served.start, charge.served.end)]


def seat_key(charge: Charge) -> tuple[str, Period] | None:
    structure = charge.price.structure
    if isinstance(structure, pricing.SeatBased):
        return (structure.seat_type, charge.served)
    return None


@dataclass(frozen=True)
class Measured:
    """What the batch measured, and for which subject this charge is priced."""

    subject: str
    usage: UsageAnswers
    member_usage: UsageAnswers
    seats: SeatAnswers
    member_seats: SeatAnswers
    capped: dict[tuple[str, Period], dict[str, list[Decimal]]]  # by price id and days
    anchor: Anchor
    members: tuple[str, ...]  # customer ids, for roll-up breakdowns
    currency: str
    # Seats the start of an in-advance seat price's period billed, by price id and served
    # days, when that invoice is settled (billing no longer recalculates it).
    billed_at_start: dict[tuple[str, Period], int] = field(default_factory=dict)
    events: UsageValues = field(default_factory=dict)  # PER_EVENT charges' event values

    def quantity(self, key: UsageKey) -> Decimal:
        return self.usage.get(key, {}).get(self.subject, NO_USAGE).value

    def counted(self, parts: list[CountedPart]) -> list[tuple[Decimal, Decimal]]:
        """Each part's usage before and through its billed days."""
        return [
            (ZERO if before is None else self.quantity(before), self.quantity(through))
            for before, through in parts
        ]

    def breakdown(self, key: UsageKey) -> tuple[Share, ...]:
        if len(self.members) < 2:
            return ()
        totals = self.member_usage.get(key, {})
        return tuple(Share(m, totals.get(m, NO_USAGE).value) for m in self.members)

    def seat_levels(self, key: tuple[str, Period]) -> SeatLevels:
        return self.seats.get(key, {}).get(self.subject, SeatLevels(0, ()))


def _effective_rate(amount: Decimal, quantity: Decimal) -> Decimal:
    return (amount / quantity).quantize(RATE_PLACES) if quantity else ZERO


def _prorated_note(charge: Charge) -> str | None:
    if charge.fraction == 1:
        return None
    return f"Prorated: {charge.served.days} of {charge.period.days} days"


def _line(
    charge: Charge,
    quantity: Decimal,
    rate: Decimal,
    amount: Decimal,
    *,
    percentage: bool = False,
    description: str | None = None,
    breakdown: tuple[Share, ...] = (),
    title: str | None = None,
    tiers: tuple[TierCharge, ...] = (),
) -> PricedLine:
    return PricedLine(
        price_id=charge.price.id,
        product_id=charge.price.product_id,
        phase_id=charge.phase.id,
        title=title or charge.price.name,
        service=charge.served,
        quantity=quantity,
        rate=rate,
        amount=amount,
        percentage=percentage,
        description=description,
        breakdown=breakdown,
        tiers=tiers,
    )


def price(charge: Charge, measured: Measured) -> PricedLine:
    """The line a charge makes, before discounts."""
    structure = charge.price.structure
    if isinstance(structure, pricing.Fixed):
        amount = structure.price * charge.fraction
        return _line(charge, Decimal(1), amount, amount, description=_prorated_note(charge))
    if isinstance(structure, pricing.OneTime):
        return _line(charge, Decimal(1), structure.price, structure.price)
    if isinstance(structure, pricing.SeatBased):
        return _seats(charge, structure, measured)
    return _usage(charge, structure, measured)


def _seat_shares(measured: Measured, key: tuple[str, Period]) -> tuple[Share, ...]:
    """Each member's peak seats in the period, for a roll-up's breakdown."""
    if len(measured.members) < 2:
        return ()
    per_member = measured.member_seats.get(key, {})
    return tuple(
        Share(m, Decimal(_peak(held, key[1])))
        for m in measured.members
        if (held := per_member.get(m)) is not None
    )


def _peak(held: SeatLevels, served: Period) -> int:
    """The most seats held over `served` (from the level at its start)."""
    return max(
        [level_at_start(held.opening, held.changes, served), *(c.total for c in held.changes)]
    )


# A changes line names at most this many of the period's counts after its start.
SHOWN_CHANGES = 5


def _changes_note(
    charge: Charge,
    structure: pricing.SeatBased,
    held: SeatLevels,
    highest: int,
    billed_seats: int | None,
) -> str:
    """What the start billed and the counts held after it: "10 seats billed in advance;
    14 from 2024-01-16"."""
    start = opening_charge(structure, held.opening, held.changes, charge.period, charge.served)
    spans = levels(held.opening, held.changes, charge.served)
    if billed_seats is None or billed_seats == start.seats:
        spans = spans[1:]  # the start billed the level at the start
    else:
        start = replace(start, seats=billed_seats)  # a count for the first day came later
    later = [f"{count} from {span.start.isoformat()}" for span, count in spans[:SHOWN_CHANGES]]
    if len(spans) > SHOWN_CHANGES:
        later.append(f"{len(spans) - SHOWN_CHANGES} more changes")
    if highest > max([start.seats, *(count for _, count in spans)]):
        later.append(f"highest {highest}")  # a count held for part of a day
    return "; ".join([f"{start.seats} seats billed in advance", *later])


def _seats(charge: Charge, structure: pricing.SeatBased, measured: Measured) -> PricedLine:
    key = (structure.seat_type, charge.served)
    held = measured.seat_levels(key)
    title = charge.price.name
    billed_seats = measured.billed_at_start.get((charge.price.id, charge.served))
    seat = billed(structure, charge, held.opening, held.changes, measured.currency, billed_seats)
    if charge.overage:
        title = f"{title}: seats over {structure.contracted_minimum}"
    if charge.changes:
        # Its own line, naming the period whose changes it bills (also its service period).
        served = charge.served
        return _line(
            charge,
            Decimal(1),
            seat.amount,
            seat.amount,
            description=_changes_note(charge, structure, held, seat.seats, billed_seats),
            breakdown=_seat_shares(measured, key),
            title=f"{title}: changes {served.start.isoformat()} to {served.end.isoformat()}",
        )
    quantity = Decimal(seat.seats)
    return _line(
        charge,
        quantity,
        _effective_rate(seat.amount, quantity),
        seat.amount,
        description=_prorated_note(charge),
        breakdown=_seat_shares(measured, key),
        title=title,
    )


def _usage(charge: Charge, structure: pricing.UsageStructure, measured: Measured) -> PricedLine:
    keys = usage_keys(charge, measured.anchor)
    parts = counted_parts(charge, measured.anchor)
    quantity = measured.quantity(keys[0])
    percentage = False
    description = None
    if (key := event_key(charge)) is not None and isinstance(structure, pricing.Linear):
        values = measured.events.get(key, {}).get(measured.subject, [])
        amount = pricing.per_event(values, structure, measured.currency)
        quantity = sum(values, ZERO)
        description = f"{len(values)} events, each charged on its own"
    elif parts is not None:
        counted = measured.counted(parts)
        if charge.price.cadence is Cadence.ON_DEMAND:
            [(before, after)] = counted
            amount = pricing.running_increment(before, after, structure)
        else:
            assert isinstance(structure, pricing.Graduated)
            amount = pricing.periodic(counted, structure.tiers)
        quantity = sum((after - before for before, after in counted), ZERO)
    elif isinstance(structure, pricing.Volume) and structure.per_event_limits:
        sums = measured.capped.get((charge.price.id, charge.served), {}).get(measured.subject)
        amount = pricing.volume_per_event(
            quantity, sums or [ZERO] * len(structure.tiers), structure
        )
    else:
        amount = pricing.usage_amount(quantity, structure)
    if isinstance(structure, pricing.Linear):
        rate, percentage = structure.price_per_unit, structure.is_percentage
    elif isinstance(structure, pricing.Package):
        rate = structure.price_per_package
    else:
        rate = _effective_rate(amount, quantity)
        percentage = any(tier.is_percentage for tier in structure.tiers)
    line_quantity = quantity
    if isinstance(structure, pricing.Package):
        line_quantity = (
            Decimal(int(amount / structure.price_per_package))
            if structure.price_per_package
            else ZERO
        )
        description = (
            f"{quantity.normalize():f} units in packages of {structure.package_size.normalize():f}"
        )
    return _line(
        charge,
        line_quantity,
        rate,
        amount,
        percentage=percentage,
        description=description,
        breakdown=measured.breakdown(keys[0]),
        tiers=_tiers(charge, structure, measured, measured.quantity(keys[0])),
    )


def _tiers(
    charge: Charge, structure: pricing.UsageStructure, measured: Measured, quantity: Decimal
) -> tuple[TierCharge, ...]:
    """What each tier of a tiered price charged, as `_usage` priced it (the same formula's
    parts: they add up to its amount), for the document."""
    if not isinstance(structure, pricing.Volume | pricing.Graduated):
        return ()
    parts = counted_parts(charge, measured.anchor)
    if parts is not None:
        counted = measured.counted(parts)
        if isinstance(structure, pricing.Volume):  # ON_DEMAND
            [(before, after)] = counted
            return volume_increment_tiers(before, after, structure)
        return periodic_tiers(counted, structure.tiers)
    if isinstance(structure, pricing.Graduated):
        return graduated_tiers(quantity, structure.tiers)
    if structure.per_event_limits:
        sums = measured.capped.get((charge.price.id, charge.served), {}).get(measured.subject)
        return volume_per_event_tiers(quantity, sums or [ZERO] * len(structure.tiers), structure)
    return volume_tiers(quantity, structure)


def metered(charge: Charge, measured: Measured) -> Metered | None:
    """A usage charge's metric and the units it bills (what metric credits offset)."""
    structure = charge.price.structure
    if not isinstance(structure, USAGE_STRUCTURES):
        return None
    parts = counted_parts(charge, measured.anchor)
    if parts is not None:  # tiers counting from before: this charge's own units
        units = sum((after - before for before, after in measured.counted(parts)), ZERO)
    else:
        units = measured.quantity(usage_keys(charge, measured.anchor)[0])
    return Metered(structure.metric_id, units)
