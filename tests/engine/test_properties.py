"""Properties of the billing engine, checked with hypothesis against independent bounds and
identities (never by recomputing the engine's own formula the same way)."""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from tally.engine.invoice import InvoiceDraft, Kind, Line, PhaseAdjustments, assemble
from tally.engine.money import minor_unit, round_money
from tally.engine.periods import Period, periods, prorated
from tally.engine.pricing import (
    Linear,
    Package,
    Proration,
    SeatBased,
    Tier,
    Volume,
    graduated,
    graduated_increment,
    linear,
    package,
    volume,
)
from tally.engine.schedule import Charge, DiscountTerms, MinimumTerms, ScheduleTerms, charges
from tally.engine.seats import SeatChange, seat_charge
from tests.engine import strategies as s

ZERO = Decimal(0)
ONE_DAY = timedelta(days=1)
# Decimal division keeps 28 significant digits: 1/3 + 1/3 + 1/3 is 0.999...9, not 1. Sums of
# such quotients are compared within this (far below any minor unit).
PRECISION = Decimal("1e-18")


def total(values: list[Decimal]) -> Decimal:
    return sum(values, ZERO)


# ---- 1-4. Pricing formulas ----------------------------------------------------------------


def tier_maxima(quantity: Decimal, tiers: tuple[Tier, ...]) -> Decimal:
    """Every tier charged in full, the open last one up to `quantity` (if it gets past it)."""
    bound, lower = ZERO, ZERO
    for tier in tiers:
        upper = tier.upper_bound if tier.upper_bound is not None else max(quantity, lower)
        bound += (upper - lower) * tier.price + tier.fee
        lower = upper
    return bound


@given(tiers=s.tiers(), quantity=s.quantities())
def test_graduated_never_exceeds_the_sum_of_tier_maxima(
    tiers: tuple[Tier, ...], quantity: Decimal
) -> None:
    amount = graduated(quantity, tiers)
    assert ZERO <= amount <= tier_maxima(quantity, tiers)
    last_lower = tiers[-2].upper_bound if len(tiers) > 1 else ZERO
    assert last_lower is not None
    if quantity > last_lower:  # every tier reached and the bounded ones full: the bound is met
        assert amount == tier_maxima(quantity, tiers)


@given(tiers=s.tiers(), a=s.quantities(), b=s.quantities())
def test_graduated_is_monotone_in_quantity(tiers: tuple[Tier, ...], a: Decimal, b: Decimal) -> None:
    low, high = sorted([a, b])
    assert graduated(low, tiers) <= graduated(high, tiers)


@given(tiers=s.tiers(), data=st.data())
def test_graduated_is_linear_inside_one_tier(tiers: tuple[Tier, ...], data: st.DataObject) -> None:
    """Between two quantities of the same tier, each unit costs that tier's price."""
    index = data.draw(st.integers(0, len(tiers) - 1))
    lower = ZERO if index == 0 else tiers[index - 1].upper_bound
    assert lower is not None
    upper = tiers[index].upper_bound or lower + 50_000
    inside = s.decimals(lower, upper, 3).filter(lambda q: q > lower)
    a, b = sorted([data.draw(inside), data.draw(inside)])
    assert graduated(b, tiers) - graduated(a, tiers) == (b - a) * tiers[index].price


@given(tiers=s.tiers(), data=st.data())
def test_volume_and_graduated_agree_within_the_first_tier(
    tiers: tuple[Tier, ...], data: st.DataObject
) -> None:
    first = tiers[0].upper_bound if tiers[0].upper_bound is not None else Decimal(100_000)
    quantity = data.draw(st.one_of(st.just(first), s.decimals(0, first, 3)))  # bound inclusive
    assert volume(quantity, Volume("m", tiers)) == graduated(quantity, tiers)


@given(tiers=s.tiers(), usage=st.lists(s.quantities(20_000), min_size=1, max_size=12))
def test_cumulative_increments_add_up_to_the_graduated_total(
    tiers: tuple[Tier, ...], usage: list[Decimal]
) -> None:
    """CUMULATIVE: each period pays the increment of its running total; over the periods they
    add up to the graduated amount of everything, and none is negative."""
    running, paid = ZERO, ZERO
    for used in usage:
        increment = graduated_increment(running, running + used, tiers)
        assert increment >= 0
        paid += increment
        running += used
    assert paid == graduated(running, tiers)


@given(
    quantity=s.decimals(-100, 100_000, 3),
    size=s.decimals("0.001", 1_000, 3).filter(lambda d: d > 0),
    price=s.decimals(0, 1_000, 2),
)
def test_package_charges_whole_packages(quantity: Decimal, size: Decimal, price: Decimal) -> None:
    amount = package(quantity, Package("m", size, price))
    if quantity <= 0 or price == 0:
        assert amount == 0
        return
    packages = amount / price
    assert packages == packages.to_integral_value()  # a whole number of packages
    assert (packages - 1) * size < quantity <= packages * size  # the fewest that hold q


@given(
    a=s.decimals(0, 100_000, 3),
    b=s.decimals(0, 100_000, 3),
    k=s.decimals(0, 100, 2),
    rate=s.decimals(0, 100, 4),
    percentage=st.booleans(),
)
def test_linear_is_linear(
    a: Decimal, b: Decimal, k: Decimal, rate: Decimal, percentage: bool
) -> None:
    structure = Linear("m", rate, is_percentage=percentage)
    assert linear(ZERO, structure) == 0
    assert linear(a + b, structure) == linear(a, structure) + linear(b, structure)
    assert linear(k * a, structure) == k * linear(a, structure)


# ---- 5. Invoice assembly -----------------------------------------------------------------


def assert_well_formed(draft: InvoiceDraft, currency: str) -> None:
    """Lines rounded to the minor unit; each rate's tax its nets x rate rounded once, a line's
    within one unit of its net x rate (shared per rate: no longer half a unit); totals are
    sums of the lines; net + tax = gross per line and in total."""
    unit = minor_unit(currency)
    exponent = unit.as_tuple().exponent
    for line in draft.lines:
        for amount in (line.net, line.tax, line.gross):
            assert amount.as_tuple().exponent == exponent, (currency, line)
            assert amount % unit == 0
        assert line.net + line.tax == line.gross
    s.assert_taxed_per_rate(draft.lines, currency)
    totals = draft.totals
    assert totals.net == total([line.net for line in draft.lines])
    assert totals.tax == total([line.tax for line in draft.lines])
    assert totals.gross == total([line.gross for line in draft.lines])
    assert totals.net + totals.tax == totals.gross


def of_kind(draft: InvoiceDraft, kind: Kind) -> list[Line]:
    return [line for line in draft.lines if line.kind is kind]


@given(data=st.data(), currency=st.sampled_from(s.CURRENCIES), taxed=st.booleans())
def test_invoice_lines_are_rounded_and_totals_are_their_sums(
    data: st.DataObject, currency: str, taxed: bool
) -> None:
    lines = data.draw(s.priced_lines(phases=("p1", "p2")))
    adjustments = [
        PhaseAdjustments(
            phase,
            discounts=tuple(data.draw(st.lists(s.any_discounts(lines), max_size=2))),
            minimums=tuple(data.draw(st.lists(s.minimums(lines), max_size=1))),
            fraction=data.draw(st.sampled_from([Decimal(1), Decimal(13) / Decimal(30)])),
        )
        for phase in ("p1", "p2")
    ]
    draft = assemble(lines, adjustments, currency, taxed=taxed)
    assert_well_formed(draft, currency)
    assert len(of_kind(draft, Kind.PRICE)) == len(lines)
    if not taxed:
        assert all(line.tax == 0 and line.tax_rate == 0 for line in draft.lines)


@given(data=st.data(), currency=st.sampled_from(s.CURRENCIES))
def test_percentage_discounts_never_make_a_price_line_negative(
    data: st.DataObject, currency: str
) -> None:
    lines = data.draw(s.priced_lines(phases=("p1", "p2")))
    adjustments = [
        PhaseAdjustments(
            phase,
            discounts=tuple(
                data.draw(st.lists(s.percentage_discounts(lines), min_size=1, max_size=3))
            ),
        )
        for phase in ("p1", "p2")
    ]
    draft = assemble(lines, adjustments, currency)
    assert_well_formed(draft, currency)
    assert all(line.net >= 0 for line in of_kind(draft, Kind.PRICE))
    assert all(line.net <= 0 for line in of_kind(draft, Kind.DISCOUNT))
    assert draft.totals.net >= 0
    undiscounted = total([round_money(line.amount, currency) for line in lines])
    assert draft.totals.net <= undiscounted


@given(data=st.data(), currency=st.sampled_from(s.CURRENCIES))
def test_percentage_discounts_on_every_price_compose_multiplicatively(
    data: st.DataObject, currency: str
) -> None:
    """Discounts of p1 %, p2 % ... on every price (netted in or on their own lines, in any
    order) leave the total at (1 - p1)(1 - p2)... of it, up to the rounding of each line."""
    lines = data.draw(s.priced_lines())
    discounts = data.draw(
        st.lists(s.percentage_discounts(lines).map(on_every_price), min_size=1, max_size=3)
    )
    draft = assemble(lines, [PhaseAdjustments("p1", discounts=tuple(discounts))], currency)
    assert_well_formed(draft, currency)
    left = total([line.amount for line in lines])
    for discount in discounts:
        left -= left * discount.amount / 100
    slack = (len(discounts) * (len(lines) + 1) + len(lines)) * minor_unit(currency) / 2
    assert abs(draft.totals.net - left) <= slack


@given(data=st.data(), currency=st.sampled_from(s.CURRENCIES))
def test_a_nominal_discount_larger_than_its_prices_never_takes_the_total_below_zero(
    data: st.DataObject, currency: str
) -> None:
    lines = data.draw(s.priced_lines(high=10))  # at most 5 x 10: every discount is larger
    discounts = data.draw(
        st.lists(s.nominal_discounts(lines, low=50, high=1_000), min_size=1, max_size=2)
    )
    draft = assemble(lines, [PhaseAdjustments("p1", discounts=tuple(discounts))], currency)
    assert_well_formed(draft, currency)
    assert all(line.net >= 0 for line in of_kind(draft, Kind.PRICE))
    assert draft.totals.net >= 0
    if any(not d.price_ids for d in discounts):  # one discount covers every price: nothing due
        assert draft.totals.net == 0
    # Tax is rounded per line (the discount line's on its own net), so the gross may be off
    # by the rounding of each price line's tax, never more.
    assert draft.totals.gross >= -len(lines) * minor_unit(currency) / 2


@given(data=st.data(), currency=st.sampled_from(s.CURRENCIES))
def test_a_minimum_tops_the_covered_total_up_to_exactly_the_minimum(
    data: st.DataObject, currency: str
) -> None:
    """One phase, its discounts and its minimum covering every price: when the lines come
    to less than the (prorated, rounded) minimum, the true-up brings them to exactly it."""
    lines = data.draw(s.priced_lines(high=500))
    discounts = data.draw(st.lists(s.any_discounts(lines).map(on_every_price), max_size=2))
    minimum = MinimumTerms("minimum", data.draw(s.decimals(0, 3_000, 2)))
    fraction = data.draw(st.sampled_from([Decimal(1), Decimal(16) / Decimal(31)]))
    adjustments = [PhaseAdjustments("p1", tuple(discounts), (minimum,), fraction)]
    without = assemble(lines, [PhaseAdjustments("p1", tuple(discounts))], currency)
    draft = assemble(lines, adjustments, currency)
    assert_well_formed(draft, currency)
    required = round_money(minimum.amount * fraction, currency)
    true_ups = of_kind(draft, Kind.MINIMUM)
    assert all(line.net >= 0 for line in true_ups)
    if without.totals.net < required:
        assert draft.totals.net == required
        assert all(line.title == "True-up charge" for line in true_ups)
    else:
        assert draft.totals.net == without.totals.net


def on_every_price(discount: DiscountTerms) -> DiscountTerms:
    """The same discount on every price (so what it covers is what the minimum covers)."""
    return replace(discount, price_ids=frozenset())


# ---- 6. Proration --------------------------------------------------------------------------


@given(data=st.data(), currency=st.sampled_from(s.CURRENCIES))
def test_prorating_a_split_period_loses_at_most_half_a_unit_per_part(
    data: st.DataObject, currency: str
) -> None:
    whole = data.draw(s.periods_of())
    parts = data.draw(s.splits(whole))
    amount = data.draw(s.decimals(0, 1_000_000, 4))
    fractions = [prorated(part, whole) for part in parts]
    assert prorated(whole, whole) == 1
    assert all(0 < f <= 1 for f in fractions)
    assert abs(total(fractions) - 1) <= PRECISION
    unit = minor_unit(currency)
    rounded = total([round_money(amount * f, currency) for f in fractions])
    assert abs(rounded - amount) <= len(parts) * unit / 2 + PRECISION


# ---- 7. Periods ----------------------------------------------------------------------------


@given(
    start=s.days(),
    recurrence_day=st.integers(1, 31),
    months=st.sampled_from([1, 3, 6, 12]),
    count=st.integers(1, 30),
)
def test_periods_are_contiguous_and_fall_on_the_recurrence_day(
    start: date, recurrence_day: int, months: int, count: int
) -> None:
    found = []
    for period in periods(start, recurrence_day, months):
        found.append(period)
        if len(found) == count + 1:
            break
    assert found[0].contains(start)
    for period in found:
        last_day = calendar.monthrange(period.start.year, period.start.month)[1]
        assert period.start.day == min(recurrence_day, last_day)  # clamped to the month
        assert period.start <= period.end
    for before, after in pairwise(found):
        assert after.start == before.end + ONE_DAY  # no gap
        assert before.overlap(after) is None  # no overlap
        assert after.start == s.add_months(before.start, months, recurrence_day)
        assert 28 * months - 3 <= before.days <= 31 * months


def test_recurrence_day_31_clamps_to_the_end_of_february() -> None:
    start = date(2024, 1, 31)
    first, second, third = (p for p, _ in zip(periods(start, 31, 1), range(3), strict=False))
    assert first == Period(date(2024, 1, 31), date(2024, 2, 28))
    assert second == Period(date(2024, 2, 29), date(2024, 3, 30))
    assert third.start == date(2024, 3, 31)


# ---- 8. Seats ------------------------------------------------------------------------------


@st.composite
def seat_prices(draw: st.DrawFn) -> SeatBased:
    """A seat price (the strategy is set per test), flat or on tiers with flat fees."""
    return SeatBased(
        "editor",
        draw(s.decimals(0, 100, 2)),
        Proration.USE_MAXIMUM,
        contracted_minimum=draw(st.integers(0, 30)),
        tiers=draw(st.one_of(st.just(()), s.tiers(max_tiers=3))),
        prorate_flat_fees=draw(st.booleans()),
    )


def with_proration(price: SeatBased, proration: Proration) -> SeatBased:
    return SeatBased(
        price.seat_type,
        price.price_per_seat,
        proration,
        price.contracted_minimum,
        price.tiers,
        price.prorate_flat_fees,
    )


@st.composite
def served_periods(draw: st.DrawFn) -> tuple[Period, Period]:
    """A billing period and the part of it served (all of it, or a part at either end)."""
    start = draw(s.days())
    period = Period(start, s.add_months(start, 1, start.day) - ONE_DAY)
    parts = draw(s.splits(period, max_parts=3))
    return period, draw(st.sampled_from([period, parts[0], parts[-1]]))


@given(
    price=seat_prices(),
    periods_=served_periods(),
    level=st.integers(0, 60),
    change_days=st.lists(st.integers(0, 30), max_size=4),
)
def test_all_changes_at_a_constant_level_is_use_maximum(
    price: SeatBased, periods_: tuple[Period, Period], level: int, change_days: list[int]
) -> None:
    period, served = periods_
    changes = [
        SeatChange(min(served.start + timedelta(days=d), served.end), level) for d in change_days
    ]
    maximum = seat_charge(with_proration(price, Proration.USE_MAXIMUM), level, [], period, served)
    all_changes = seat_charge(
        with_proration(price, Proration.PRORATE_ALL_CHANGES), level, changes, period, served
    )
    assert abs(all_changes.amount - maximum.amount) <= PRECISION
    assert all_changes.seats == maximum.seats == max(level, price.contracted_minimum)


@given(price=seat_prices(), periods_=served_periods(), data=st.data())
def test_use_maximum_then_prorate_increments_then_all_changes(
    price: SeatBased, periods_: tuple[Period, Period], data: st.DataObject
) -> None:
    """Each day, USE_MAXIMUM bills the period's peak, PRORATE_INCREMENTS the highest count so
    far, PRORATE_ALL_CHANGES the count itself: peak >= running high >= count, and a seat
    price (non-negative prices and fees) costs no less for more seats."""
    period, served = periods_
    opening, changes = data.draw(s.seat_timelines(served))
    amounts = [
        seat_charge(with_proration(price, p), opening, changes, period, served).amount
        for p in (
            Proration.USE_MAXIMUM,
            Proration.PRORATE_INCREMENTS,
            Proration.PRORATE_ALL_CHANGES,
        )
    ]
    maximum, increments, all_changes = amounts
    assert maximum + PRECISION >= increments
    assert increments + PRECISION >= all_changes
    assert all_changes >= 0


def running_high(opening: int, changes: list[SeatChange], start: date) -> list[SeatChange]:
    """The timeline as the highest count so far: each day's last change (seats.levels' rule;
    one on the first day replaces the opening count), then never lower than before."""
    last_of_day = {c.day: c.total for c in changes}
    high, raised = last_of_day.get(start, opening), []
    for day in sorted(last_of_day):
        high = max(high, last_of_day[day])
        raised.append(SeatChange(day, high))
    return raised


@given(price=seat_prices(), periods_=served_periods(), data=st.data())
def test_prorate_increments_gives_no_credit_for_drops(
    price: SeatBased, periods_: tuple[Period, Period], data: st.DataObject
) -> None:
    """PRORATE_INCREMENTS bills as if seats never went down, which on a timeline that only
    goes up is what seat-days (PRORATE_ALL_CHANGES) bill."""
    period, served = periods_
    opening, changes = data.draw(s.seat_timelines(served))
    increments = with_proration(price, Proration.PRORATE_INCREMENTS)
    charged = seat_charge(increments, opening, changes, period, served)
    raised = running_high(opening, changes, served.start)
    assert charged == seat_charge(increments, opening, raised, period, served)
    seat_days = seat_charge(
        with_proration(price, Proration.PRORATE_ALL_CHANGES), opening, raised, period, served
    )
    assert abs(charged.amount - seat_days.amount) <= PRECISION
    assert charged.seats == seat_days.seats


@given(
    proration=st.sampled_from(list(Proration)),
    price=seat_prices(),
    periods_=served_periods(),
    data=st.data(),
)
def test_contracted_minimum_is_a_floor(
    proration: Proration, price: SeatBased, periods_: tuple[Period, Period], data: st.DataObject
) -> None:
    """A minimum of m bills as if every count below m were m, and never less than m seats
    held throughout."""
    period, served = periods_
    price = with_proration(price, proration)
    floor = price.contracted_minimum
    opening, changes = data.draw(s.seat_timelines(served))
    charge = seat_charge(price, opening, changes, period, served)
    no_minimum = SeatBased(
        price.seat_type, price.price_per_seat, proration, 0, price.tiers, price.prorate_flat_fees
    )
    raised = [SeatChange(c.day, max(c.total, floor)) for c in changes]
    assert charge == seat_charge(no_minimum, max(opening, floor), raised, period, served)
    assert charge.seats >= floor
    held = seat_charge(no_minimum, floor, [], period, served)
    assert charge.amount + PRECISION >= held.amount


# ---- 9. Schedule charges -------------------------------------------------------------------


def by_price(found: list[Charge]) -> dict[str, list[Charge]]:
    grouped: dict[str, list[Charge]] = defaultdict(list)
    for charge in found:
        grouped[charge.price.id].append(charge)
    return {price: sorted(cs, key=lambda c: c.served.start) for price, cs in grouped.items()}


def assert_charge_dates(schedule: ScheduleTerms, charge: Charge) -> None:
    assert charge.served.start >= max(schedule.start, charge.phase.start)
    ends = [e for e in (schedule.end, charge.phase.end) if e is not None]
    assert not ends or charge.served.end <= min(ends)
    assert charge.period.start <= charge.served.start <= charge.served.end <= charge.period.end
    billed_end = min(charge.period.end, schedule.end or charge.period.end)
    assert charge.billing_period.end == billed_end
    if charge.price.in_advance:
        assert charge.invoice_date == charge.served.start
    else:
        assert charge.invoice_date == billed_end + ONE_DAY
    assert 0 < charge.fraction <= 1
    assert (charge.fraction == 1) == (charge.served == charge.period)


@settings(max_examples=150)
@given(schedule=s.schedules(), horizon_days=st.integers(0, 1_200))
def test_charges_serve_each_day_once_within_schedule_and_phase(
    schedule: ScheduleTerms, horizon_days: int
) -> None:
    bounded = schedule.end is not None
    # A bounded schedule is billed to its end (the last arrears invoice is the day after).
    horizon = (
        schedule.end + ONE_DAY
        if schedule.end is not None
        else schedule.start + timedelta(days=horizon_days)
    )
    found = charges(schedule, horizon)
    assert [c.invoice_date for c in found] == sorted(c.invoice_date for c in found)
    assert all(c.invoice_date <= horizon for c in found)
    grouped = by_price(found)
    for phase in schedule.phases:
        for price in phase.prices:
            mine = grouped.get(price.id, [])
            for charge in mine:
                assert charge.phase == phase
                assert_charge_dates(schedule, charge)
            for before, after in pairwise(mine):
                assert after.served.start == before.served.end + ONE_DAY  # no gap, no overlap
                assert after.period.start > before.period.end
            if bounded:  # everything billed: the phase is served exactly, day by day
                assert mine[0].served.start == phase.start
                assert mine[-1].served.end == phase.end
            else:
                if price.in_advance and phase.start <= horizon:
                    assert mine  # due on its first day
                if mine:
                    assert mine[0].served.start == phase.start
                if mine and phase.end is None:  # billed up to the horizon, not beyond
                    next_day = mine[-1].served.end + ONE_DAY
                    if price.in_advance:
                        assert next_day > horizon  # the next charge is due after it
                    else:  # the next period ends (and falls due) after it
                        assert horizon - next_day < timedelta(days=31 * (price.months or 1))


@settings(max_examples=150)
@given(terms=s.aligned_schedules())
def test_fractions_of_whole_periods_add_up_to_their_count(
    terms: tuple[ScheduleTerms, int, int],
) -> None:
    """A schedule of n whole periods, its phases split anywhere: each phase's price charges a
    share of the periods it serves, and across the phases the shares add up to n."""
    schedule, months, count = terms
    assert schedule.end is not None
    grouped = by_price(charges(schedule, schedule.end + ONE_DAY))
    assert all(c.price.months == months for cs in grouped.values() for c in cs)
    across = ZERO
    for phase in schedule.phases:
        shares = [total([c.fraction for c in grouped[price.id]]) for price in phase.prices]
        assert len(set(shares)) == 1  # the phase's prices serve the same days
        whole = sum(1 for c in grouped[phase.prices[0].id] if c.served == c.period)
        assert whole <= shares[0] <= whole + 2  # whole periods, and a part at either end
        across += shares[0]
    assert abs(across - count) <= PRECISION
    assert len({c.period for cs in grouped.values() for c in cs}) == count
