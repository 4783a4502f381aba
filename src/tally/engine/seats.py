"""Seats: from a period's seat levels to the amount billed, per proration strategy.

`total` is absolute: the seats held from a day on. The contracted minimum is a floor on the
billed count at every moment. Amounts are for a share of a whole period, by days.

- USE_MAXIMUM: the period's highest count, for the whole (served) period.
- PRORATE_INCREMENTS: the count at the start for the whole period, and every rise above the
  highest count so far from its day to the end of the period; no credit for drops.
- PRORATE_ALL_CHANGES: each count for the days it held, up and down (seat-days).
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from tally.engine.periods import Period, prorated
from tally.engine.pricing import ZERO, Proration, SeatBased, graduated, lower_bounds, seat_tiers


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
    peak_seen = max(
        max(count, floor)
        for count in [opening, *(c.total for c in changes if served.contains(c.day))]
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


def overage_charge(
    structure: SeatBased,
    opening: int,
    changes: Sequence[SeatChange],
    period: Period,
    served: Period,
    price_months: int,
) -> SeatCharge:
    """Seats above the contracted minimum over one overage period (`period`, shorter than
    the price's `price_months`), at the per-seat price scaled to its length; the contracted
    seats themselves are billed by the price's own charges (`contracted_charge`)."""
    assert structure.overage_months is not None
    floor = structure.contracted_minimum
    above = replace(
        structure,
        contracted_minimum=0,
        tiers=(),
        price_per_seat=structure.price_per_seat * structure.overage_months / price_months,
    )
    over = [SeatChange(c.day, max(c.total - floor, 0)) for c in changes]
    return seat_charge(above, max(opening - floor, 0), over, period, served)


def contracted_charge(structure: SeatBased, period: Period, served: Period) -> SeatCharge:
    """A price whose overages are billed apart charges its contracted seats only."""
    floor = structure.contracted_minimum
    return seat_charge(structure, floor, (), period, served)
