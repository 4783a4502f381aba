"""Seats: from a period's seat levels to the amount billed, per proration strategy.

`total` is absolute: the seats held from a day on. The contracted minimum is a floor on the
billed count at every moment. Amounts are for a share of a whole period, by days.

The level at the start (one rule, both timings): the last total before the period, unless
changes on its first day replace it (that day's last one wins; a count sent at 00:00 on the
first day is the opening level, not a change inside the period).

- USE_MAXIMUM: the period's highest count (the level at the start or any change after it),
  for the whole (served) period.
- PRORATE_INCREMENTS: the count at the start for the whole period, and every rise above the
  highest count so far from its day to the end of the period; no credit for drops.
- PRORATE_ALL_CHANGES: each count for the days it held, up and down (seat-days).

In arrears a period is billed once, as its seats were (`seat_charge`). In advance the level at
the start is billed when the period starts (`opening_charge`), and the changes after it once
the period is over (`changes_charge`: the in-arrears amount less what the start billed), so
over a schedule both timings bill the same; only when differs.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from tally.engine.money import round_money
from tally.engine.periods import Period, prorated
from tally.engine.pricing import (
    ZERO,
    Proration,
    SeatBased,
    Tier,
    graduated,
    lower_bounds,
    seat_tiers,
)
from tally.engine.schedule import Charge


@dataclass(frozen=True)
class SeatChange:
    day: date  # the local day the new total took effect
    total: int


@dataclass(frozen=True)
class SeatCharge:
    amount: Decimal
    seats: int  # the count the invoice line shows: the highest billed count


def _cost(seats: int, structure: SeatBased) -> tuple[Decimal, Decimal]:
    """(per-seat part, flat fees) of holding `seats` seats for a whole period."""
    tiers = seat_tiers(structure)
    quantity = Decimal(seats)
    fees = sum(
        (t.fee for lower, t in zip(lower_bounds(tiers), tiers, strict=True) if quantity > lower),
        ZERO,
    )
    return graduated(quantity, tiers) - fees, fees


def _share(seats: int, structure: SeatBased, fraction: Decimal) -> Decimal:
    variable, fees = _cost(seats, structure)
    return variable * fraction + (fees * fraction if structure.prorate_flat_fees else fees)


def levels(opening: int, changes: Sequence[SeatChange], served: Period) -> list[tuple[Period, int]]:
    """The served period cut into spans of one seat count each (a day's last change wins)."""
    by_day: dict[date, int] = {}
    for change in changes:
        if served.contains(change.day):
            by_day[change.day] = change.total
    spans: list[tuple[Period, int]] = []
    start, count = served.start, opening
    for day in sorted(by_day):
        if day > start:
            spans.append((Period(start, date.fromordinal(day.toordinal() - 1)), count))
            start = day
        count = by_day[day]
    spans.append((Period(start, served.end), count))
    return spans


def level_at_start(opening: int, changes: Sequence[SeatChange], served: Period) -> int:
    """The seats held on `served`'s first day: `opening` (the last total before it) unless
    that day's changes replace it."""
    return levels(opening, changes, served)[0][1]


def seat_charge(
    structure: SeatBased,
    opening: int,
    changes: Sequence[SeatChange],
    period: Period,
    served: Period,
) -> SeatCharge:
    """The charge for the seats held over `served`, a part (or all) of `period`."""
    floor = structure.contracted_minimum
    spans = [(span, max(count, floor)) for span, count in levels(opening, changes, served)]
    # Every count held in the period, a day's passing ones included; the total before the
    # period only if no change on the first day replaced it.
    peak_seen = max(
        max(count, floor)
        for count in [spans[0][1], *(c.total for c in changes if served.contains(c.day))]
    )
    if structure.proration is Proration.USE_MAXIMUM:
        amount = _share(peak_seen, structure, prorated(served, period))
        return SeatCharge(amount, peak_seen)
    if structure.proration is Proration.PRORATE_ALL_CHANGES:
        highest = max(count for _, count in spans)
        if structure.prorate_flat_fees:
            amount = sum(
                (_share(count, structure, prorated(span, period)) for span, count in spans), ZERO
            )
        else:  # unprorated fees are charged once, for the highest count (not once per span)
            amount = sum(
                (_cost(count, structure)[0] * prorated(span, period) for span, count in spans),
                ZERO,
            )
            amount += _cost(highest, structure)[1]
        return SeatCharge(amount, highest)
    # PRORATE_INCREMENTS: the opening count for all that is served, then each new high.
    high = spans[0][1]
    amount = _share(high, structure, prorated(served, period))
    for span, count in spans[1:]:
        if count > high:
            rest = Period(span.start, served.end)
            amount += _share(count, structure, prorated(rest, period)) - _share(
                high, structure, prorated(rest, period)
            )
            high = count
    return SeatCharge(amount, high)


def opening_charge(
    structure: SeatBased,
    opening: int,
    changes: Sequence[SeatChange],
    period: Period,
    served: Period,
) -> SeatCharge:
    """An in-advance price at the start of `served`: the level at the start (floored by the
    contracted minimum) for every served day."""
    return seat_charge(structure, level_at_start(opening, changes, served), (), period, served)


def changes_charge(
    structure: SeatBased,
    opening: int,
    changes: Sequence[SeatChange],
    period: Period,
    served: Period,
    currency: str,
    billed_seats: int | None = None,
) -> SeatCharge:
    """An in-advance price's changes over `served`, billed once it is over: what its seats
    cost as they were (what the price bills in arrears) less what the start billed, each
    rounded to the currency's minor unit first, so the two lines come to exactly the one an
    in-arrears price makes. Rises prorated (PRORATE_INCREMENTS), the peak less the start
    (USE_MAXIMUM), seat-days less the start, a credit when seats went down
    (PRORATE_ALL_CHANGES). `seats`: the highest count the period billed.

    `billed_seats`: the count the start's invoice billed, once it no longer changes (a count
    for its first day received after it was finalized is billed here); None: the level at
    the start, as that invoice bills it on its own recalculations."""
    whole = seat_charge(structure, opening, changes, period, served)
    start = (
        opening_charge(structure, opening, changes, period, served)
        if billed_seats is None
        else seat_charge(structure, billed_seats, (), period, served)
    )
    amount = round_money(whole.amount, currency) - round_money(start.amount, currency)
    return SeatCharge(amount, whole.seats)


def _tiers_above(structure: SeatBased, floor: int, scale: Decimal) -> tuple[Tier, ...]:
    """The tiers of the seats above `floor`: n of them cost what floor + n seats cost more
    than floor seats (a tier's fee counts once reached above the floor), scaled by `scale`."""
    tiers = []
    for lower, tier in zip(lower_bounds(seat_tiers(structure)), seat_tiers(structure), strict=True):
        if tier.upper_bound is not None and tier.upper_bound <= floor:
            continue
        tiers.append(
            replace(
                tier,
                upper_bound=None if tier.upper_bound is None else tier.upper_bound - floor,
                price=tier.price * scale,
                fee=tier.fee * scale if lower >= floor else ZERO,
            )
        )
    return tuple(tiers)


def overage_charge(
    structure: SeatBased,
    opening: int,
    changes: Sequence[SeatChange],
    period: Period,
    served: Period,
    price_months: int,
) -> SeatCharge:
    """Seats above the contracted minimum over one overage period (`period`, as long as the
    price's `price_months` or shorter), at what they add on the price's tiers, scaled to the
    period's length; the contracted seats themselves are billed by the price's own charges
    (`contracted_charge`), so over a price period of overage periods as long as it, the two
    bill what the price would with its overages."""
    assert structure.overage_months is not None
    floor = structure.contracted_minimum
    scale = Decimal(structure.overage_months) / Decimal(price_months)
    above = replace(
        structure,
        contracted_minimum=0,
        tiers=_tiers_above(structure, floor, scale),
        price_per_seat=structure.price_per_seat * scale,
    )
    over = [SeatChange(c.day, max(c.total - floor, 0)) for c in changes]
    return seat_charge(above, max(opening - floor, 0), over, period, served)


def contracted_charge(structure: SeatBased, period: Period, served: Period) -> SeatCharge:
    """A price whose overages are billed apart charges its contracted seats only."""
    floor = structure.contracted_minimum
    return seat_charge(structure, floor, (), period, served)


def billed(
    structure: SeatBased,
    charge: Charge,
    opening: int,
    changes: Sequence[SeatChange],
    currency: str,
    billed_seats: int | None = None,
) -> SeatCharge:
    """What one charge of a seat price bills, from the seats held over its served days:
    `opening` the last total before them, `changes` those on them; `billed_seats` (for the
    changes of an in-advance price) the count its period's start billed, if settled."""
    period, served = charge.period, charge.served
    if charge.overage:
        return overage_charge(structure, opening, changes, period, served, charge.price.months or 1)
    if structure.overages_apart(charge.price.months):
        return contracted_charge(structure, period, served)
    if charge.changes:
        return changes_charge(structure, opening, changes, period, served, currency, billed_seats)
    if charge.price.in_advance:
        return opening_charge(structure, opening, changes, period, served)
    return seat_charge(structure, opening, changes, period, served)
