"""Seat prices billed in advance (issue 24): the level at the start when the period starts,
every change inside it once it is over, overages at their own frequency; over a whole
schedule exactly what the same price bills in arrears."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tally.engine.invoice import PhaseAdjustments, PricedLine, assemble
from tally.engine.periods import ONE_DAY, Period, periods_until
from tally.engine.pricing import Proration, SeatBased, Tier
from tally.engine.schedule import (
    Charge,
    DiscountKind,
    DiscountTerms,
    PhaseTerms,
    PriceTerms,
    ScheduleTerms,
    charges,
)
from tally.engine.seats import (
    SeatChange,
    billed,
    changes_charge,
    contracted_charge,
    level_at_start,
    opening_charge,
    overage_charge,
    seat_charge,
)
from tests.engine import strategies as s

D = Decimal
PRECISION = D("1e-20")
JANUARY = Period(date(2024, 1, 1), date(2024, 1, 31))


def _price(
    months: int = 1,
    proration: Proration = Proration.PRORATE_INCREMENTS,
    price_per_seat: str = "15",
    contracted_minimum: int = 0,
    overage_months: int | None = None,
) -> PriceTerms:
    """A seat price billed in advance."""
    structure = SeatBased(
        "editor",
        D(price_per_seat),
        proration,
        contracted_minimum=contracted_minimum,
        overage_months=overage_months,
    )
    return PriceTerms("seats", "product", "Seats", months, True, structure)


def _schedule(price: PriceTerms, start: date, end: date | None) -> ScheduleTerms:
    return ScheduleTerms(start, end, start.day, (PhaseTerms("phase", start, end, (price,)),))


def _held(timeline: Sequence[SeatChange], served: Period) -> tuple[int, list[SeatChange]]:
    """What billing measures for `served`: the last total before it (0 when none) and the
    changes on its days, in the order they came (measures.measure_seats' rule)."""
    before = [c for c in timeline if c.day < served.start]
    inside = [c for c in timeline if served.contains(c.day)]
    return (before[-1].total if before else 0), inside


def _invoices(
    schedule: ScheduleTerms, timeline: Sequence[SeatChange], currency: str
) -> dict[date, Decimal]:
    """Every invoice of the whole schedule (its net total) by invoice date: the schedule's
    charges priced from the timeline and assembled per invoice date (each line rounded)."""
    assert schedule.end is not None
    due: dict[date, list[PricedLine]] = defaultdict(list)
    for charge in charges(schedule, schedule.end + ONE_DAY):
        structure = charge.price.structure
        assert isinstance(structure, SeatBased)
        opening, inside = _held(timeline, charge.served)
        seat = billed(structure, charge, opening, inside, currency)
        due[charge.invoice_date].append(_line(charge, seat.amount))
    return {day: assemble(lines, [], currency).totals.net for day, lines in due.items()}


def _line(charge: Charge, amount: Decimal) -> PricedLine:
    return PricedLine(
        price_id=charge.price.id,
        product_id=charge.price.product_id,
        phase_id=charge.phase.id,
        title=charge.price.name,
        quantity=D(1),
        rate=amount,
        amount=amount,
        service=charge.served,
    )


# ---- the invariant ---------------------------------------------------------------------


@st.composite
def seat_structures(draw: st.DrawFn, months: int) -> SeatBased:
    """Any strategy, contracted minimum, flat or tiered price, overages billed with the price
    or at a frequency shorter, equal or longer than the price's (a longer one is ignored)."""
    return SeatBased(
        "editor",
        draw(s.decimals(0, 200, 2)),
        draw(st.sampled_from(list(Proration))),
        contracted_minimum=draw(st.sampled_from([0, 0, 0, 3, 10, 25])),
        tiers=draw(st.one_of(st.just(()), s.tiers(max_tiers=3))),
        prorate_flat_fees=draw(st.booleans()),
        overage_months=draw(st.sampled_from([None, None, None, None, 1, 3, 12, months])),
    )


@st.composite
def seat_schedules(draw: st.DrawFn) -> tuple[ScheduleTerms, list[SeatChange]]:
    """An ended schedule of monthly, quarterly or yearly seat prices (1..2 phases, a phase
    change on any day), starting on or off a billing boundary, with a seat timeline: a
    count before it, then rises and drops on any day, period boundaries (first and last
    days) favoured, several a period and several a day."""
    months = draw(st.sampled_from([1, 3, 12]))
    recurrence_day = draw(st.integers(1, 31))
    start = draw(s.days(date(2020, 1, 1), date(2028, 12, 31)))
    end = start + timedelta(days=draw(st.integers(0, 31 * months * 3)))
    starts = [start]
    if (end - start).days >= 1 and draw(st.booleans()):  # a second phase, from any day
        starts.append(start + timedelta(days=draw(st.integers(1, (end - start).days))))
    ends: list[date | None] = [d - ONE_DAY for d in starts[1:]] + [end]
    phases = tuple(
        PhaseTerms(
            f"phase-{i}",
            first,
            last,
            (
                PriceTerms(
                    f"seats-{i}",
                    "product",
                    "Seats",
                    months,
                    True,  # each test sets the timing
                    draw(seat_structures(months)),
                ),
            ),
        )
        for i, (first, last) in enumerate(zip(starts, ends, strict=True))
    )
    boundaries = sorted(
        {
            day
            for period in periods_until(start, recurrence_day, 1, end)
            for day in (period.start, period.end)
        }
        | {start, end}
    )
    day = st.one_of(
        st.sampled_from(boundaries), st.dates(start - timedelta(days=40), end + timedelta(days=5))
    )
    changes = draw(st.lists(st.builds(SeatChange, day=day, total=st.integers(0, 40)), max_size=12))
    timeline = sorted(changes, key=lambda c: c.day)  # stable: same-day order kept
    return ScheduleTerms(start, end, recurrence_day, phases), timeline


def _timed(schedule: ScheduleTerms, in_advance: bool) -> ScheduleTerms:
    return replace(
        schedule,
        phases=tuple(
            replace(phase, prices=tuple(replace(p, in_advance=in_advance) for p in phase.prices))
            for phase in schedule.phases
        ),
    )


@settings(max_examples=500, deadline=None)
@given(drawn=seat_schedules(), currency=st.sampled_from(s.CURRENCIES))
@example(  # issue 24, item 1: 10 seats, 14 from 16 January
    drawn=(
        _schedule(_price(), date(2024, 1, 1), date(2024, 3, 31)),
        [SeatChange(date(2023, 12, 20), 10), SeatChange(date(2024, 1, 16), 14)],
    ),
    currency="GBP",
)
@example(  # seat-days given up in the last period: a credit on the invoice after it
    drawn=(
        _schedule(
            _price(proration=Proration.PRORATE_ALL_CHANGES), date(2024, 1, 1), date(2024, 2, 29)
        ),
        [SeatChange(date(2024, 1, 1), 10), SeatChange(date(2024, 2, 10), 4)],
    ),
    currency="GBP",
)
def test_in_advance_and_in_arrears_bill_the_same_over_a_whole_schedule(
    drawn: tuple[ScheduleTerms, list[SeatChange]], currency: str
) -> None:
    """Over a whole schedule a seat price billed IN_ADVANCE bills, to the minor unit,
    exactly what the same price billed IN_ARREARS does (lines rounded as invoices round
    them); only the timing differs: the in-advance one bills each period's level at the
    start on its first day, and its last invoice comes no later than the in-arrears one's
    (the day after the schedule)."""
    schedule, timeline = drawn
    advance = _invoices(_timed(schedule, True), timeline, currency)
    arrears = _invoices(_timed(schedule, False), timeline, currency)
    assert sum(advance.values(), D(0)) == sum(arrears.values(), D(0))
    assert max(advance) <= max(arrears)
    assert schedule.end is not None
    assert max(arrears) == schedule.end + ONE_DAY
    # What the start bills: the count held on the first day, after that day's changes.
    for charge in charges(_timed(schedule, True), schedule.end):
        structure = charge.price.structure
        assert isinstance(structure, SeatBased)
        if charge.changes or charge.overage or structure.overages_apart(charge.price.months):
            continue
        assert charge.invoice_date == charge.served.start
        on_first_day = [c.total for c in timeline if c.day <= charge.served.start]
        held = on_first_day[-1] if on_first_day else 0
        expected = seat_charge(structure, held, [], charge.period, charge.served)
        opening, inside = _held(timeline, charge.served)
        assert billed(structure, charge, opening, inside, currency) == expected


# ---- issue 24, items 1 to 3, in the engine -----------------------------------------------


def test_1_seats_added_during_an_in_advance_period_bill_on_the_next_invoice() -> None:
    """£15 a seat a month in advance, PRORATE_INCREMENTS, 10 seats, 14 from 16 January: £150
    on 1 January, then on 1 February £210 for February and 4 x 15 x 16/31 = £30.97 for the
    January changes, on their own line covering January."""
    price = _price()
    schedule = _schedule(price, date(2024, 1, 1), None)
    timeline = [SeatChange(date(2023, 12, 20), 10), SeatChange(date(2024, 1, 16), 14)]
    found = charges(schedule, date(2024, 2, 1))
    assert [(c.invoice_date, c.served, c.changes) for c in found] == [
        (date(2024, 1, 1), JANUARY, False),
        (date(2024, 2, 1), JANUARY, True),
        (date(2024, 2, 1), Period(date(2024, 2, 1), date(2024, 2, 29)), False),
    ]
    assert isinstance(price.structure, SeatBased)
    amounts = [billed(price.structure, c, *_held(timeline, c.served), "GBP").amount for c in found]
    assert [amounts[0], amounts[2]] == [D(150), D(210)]
    assert amounts[1] == D("30.97")


def test_2_a_yearly_overage_above_a_contracted_minimum_bills_at_the_end_of_the_year() -> None:
    """£120 a seat a year in advance, minimum 100, USE_MAXIMUM, overages YEARLY, seats
    90 -> 112 -> 95: £12,000 on 1 January, the 12 overage seats (£1,440) on the first day
    after the year."""
    price = _price(
        12,
        proration=Proration.USE_MAXIMUM,
        price_per_seat="120",
        contracted_minimum=100,
        overage_months=12,
    )
    schedule = _schedule(price, date(2024, 1, 1), date(2024, 12, 31))
    timeline = [
        SeatChange(date(2024, 1, 1), 90),
        SeatChange(date(2024, 4, 10), 112),
        SeatChange(date(2024, 9, 1), 95),
    ]
    assert _invoices(schedule, timeline, "GBP") == {
        date(2024, 1, 1): D("12000.00"),
        date(2025, 1, 1): D("1440.00"),
    }
    found = charges(schedule, date(2025, 1, 1))
    assert [(c.invoice_date, c.overage) for c in found] == [
        (date(2024, 1, 1), False),  # the contracted 100
        (date(2025, 1, 1), True),  # the seats over them, at their own (yearly) frequency
    ]
    # Overages billed with the price (NONE) come to the same: the maximum less the start.
    together = _price(
        12, proration=Proration.USE_MAXIMUM, price_per_seat="120", contracted_minimum=100
    )
    assert _invoices(
        _schedule(together, date(2024, 1, 1), date(2024, 12, 31)), timeline, "GBP"
    ) == {
        date(2024, 1, 1): D("12000.00"),
        date(2025, 1, 1): D("1440.00"),
    }


def test_3_a_count_at_00_00_on_the_first_day_is_the_level_at_the_start() -> None:
    """6 seats sent for the schedule's first day, £25 in advance: the first invoice bills 6
    seats, and the next one no change; in arrears the same 6 seats all month."""
    served = Period(date(2024, 1, 1), date(2024, 1, 31))
    first_day = [SeatChange(date(2024, 1, 1), 6)]
    assert level_at_start(0, first_day, served) == 6
    price = _price(price_per_seat="25")
    assert isinstance(price.structure, SeatBased)
    structure = price.structure
    assert opening_charge(structure, 0, first_day, served, served).amount == D(150)
    assert changes_charge(structure, 0, first_day, served, served, "GBP").amount == 0
    assert seat_charge(structure, 0, first_day, served, served).amount == D(150)
    # The day's last count wins, whichever timing.
    two = [SeatChange(date(2024, 1, 1), 9), SeatChange(date(2024, 1, 1), 6)]
    assert opening_charge(structure, 0, two, served, served).amount == D(150)


def test_use_maximum_does_not_count_a_level_replaced_on_the_first_day() -> None:
    """20 seats in January, 10 from 00:00 on 1 February: February's maximum is 10 (the
    level at the start), not the 20 held before the period (the same rule as in advance)."""
    february = Period(date(2024, 2, 1), date(2024, 2, 29))
    price = _price(proration=Proration.USE_MAXIMUM).structure
    assert isinstance(price, SeatBased)
    charge = seat_charge(price, 20, [SeatChange(date(2024, 2, 1), 10)], february, february)
    assert (charge.seats, charge.amount) == (10, D(150))
    # A count held for part of a later day still counts for the maximum.
    passing = [SeatChange(date(2024, 2, 1), 10), SeatChange(date(2024, 2, 5), 30)]
    passing.append(SeatChange(date(2024, 2, 5), 10))
    assert seat_charge(price, 20, passing, february, february).seats == 30


def test_prorate_all_changes_in_advance_credits_seats_given_up() -> None:
    """10 seats billed on 1 January, 4 from 11 January: seat-days are 10 x 10 + 4 x 21 =
    184 of 15/31 (£89.03), so the changes credit £150 - £89.03 = -£60.97."""
    price = _price(proration=Proration.PRORATE_ALL_CHANGES).structure
    assert isinstance(price, SeatBased)
    timeline = [SeatChange(date(2024, 1, 11), 4)]
    assert changes_charge(price, 10, timeline, JANUARY, JANUARY, "GBP").amount == D("-60.97")


# ---- overages apart -----------------------------------------------------------------------


@given(
    proration=st.sampled_from(list(Proration)),
    price=st.builds(
        SeatBased,
        st.just("editor"),
        s.decimals(0, 100, 2),
        st.just(Proration.USE_MAXIMUM),
        contracted_minimum=st.integers(0, 30),
        tiers=st.one_of(st.just(()), s.tiers(max_tiers=3)),
        prorate_flat_fees=st.booleans(),
    ),
    data=st.data(),
)
def test_overages_at_the_price_frequency_bill_what_the_price_bills_with_them(
    proration: Proration, price: SeatBased, data: st.DataObject
) -> None:
    """The contracted seats plus the seats above them, each period as long as the price's,
    cost what the price costs for all the seats: overage seats are priced on the tiers they
    reach above the minimum (a tier's fee once reached above it)."""
    start = data.draw(s.days())
    period = Period(start, s.add_months(start, 1, start.day) - ONE_DAY)
    parts = data.draw(s.splits(period, max_parts=2))
    served = data.draw(st.sampled_from([period, parts[0], parts[-1]]))
    price = replace(price, proration=proration, overage_months=1)
    opening, changes = data.draw(s.seat_timelines(served))
    whole = seat_charge(replace(price, overage_months=None), opening, changes, period, served)
    apart = (
        contracted_charge(price, period, served).amount
        + overage_charge(price, opening, changes, period, served, 1).amount
    )
    assert abs(apart - whole.amount) <= PRECISION


def test_overage_seats_on_tiers_cost_what_they_add_above_the_minimum() -> None:
    """Tiers 1-10 at £10 + £50 fee, 11-20 at £8 + £30 fee, then £5; minimum 12, 25 seats:
    the 13 seats over cost 8 x 8 + 5 x 5 = £89 and the third tier's fee is not reached
    (its fee £0): the second tier's £30 was reached with the contracted 12 seats."""
    tiers = (
        Tier(D(10), D(10), D(50)),
        Tier(D(20), D(8), D(30)),
        Tier(None, D(5), D(0)),
    )
    price = SeatBased("editor", D(0), Proration.USE_MAXIMUM, 12, tiers, True, overage_months=1)
    over = overage_charge(price, 25, [], JANUARY, JANUARY, 1)
    assert over.amount == D(89)
    assert contracted_charge(price, JANUARY, JANUARY).amount == D(100 + 50 + 16 + 30)


def test_a_percentage_discount_shrinks_a_credit_for_seats_given_up_by_its_share() -> None:
    """10 % off a seat price: the start billed £150 less 10 %, so seats given up since give
    back £60.97 less 10 % (£54.87), netted into the credit even when the discount shows
    on a line of its own; a nominal discount leaves the credit alone."""
    changes = Charge(
        _price(),
        PhaseTerms("phase", date(2024, 1, 1), None, ()),
        JANUARY,
        JANUARY,
        date(2024, 2, 1),
        billing_period=JANUARY,
        changes=True,
    )
    line = _line(changes, D("-60.97"))
    for separate in (False, True):
        off = DiscountTerms("d", DiscountKind.PERCENTAGE, D(10), "10 % off", separate)
        draft = assemble([line], [PhaseAdjustments("phase", discounts=(off,))], "GBP")
        [credit] = draft.lines
        assert (credit.net, credit.description) == (D("-54.87"), "Includes 10 % off")
    nominal = DiscountTerms("d", DiscountKind.NOMINAL, D(5), "£5 off", False)
    draft = assemble([line], [PhaseAdjustments("phase", discounts=(nominal,))], "GBP")
    assert [credit.net for credit in draft.lines] == [D("-60.97")]
