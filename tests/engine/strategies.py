"""Hypothesis strategies for the billing engine: exact decimals, tiers, periods, seat
timelines, priced lines with discounts and minimums, and schedule terms."""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import strategies as st

from tally.engine.invoice import Line, PricedLine
from tally.engine.money import minor_unit
from tally.engine.periods import Period
from tally.engine.pricing import Fixed, Tier
from tally.engine.schedule import (
    DiscountKind,
    DiscountTerms,
    MinimumTerms,
    PhaseTerms,
    PriceTerms,
    ScheduleTerms,
)
from tally.engine.seats import SeatChange

FIRST_DAY = date(2019, 1, 1)
LAST_DAY = date(2031, 12, 31)
CURRENCIES = ("GBP", "JPY", "KWD")  # two, zero and three decimal places
TAX_RATES = tuple(Decimal(r) for r in ("0", "0.05", "0.1", "0.175", "0.2", "0.25"))


def assert_taxed_per_rate(lines: Sequence[Line], currency: str) -> None:
    """Each rate's tax is its lines' nets times the rate rounded half up once (DESIGN.md
    "Rounding"), each line's within one minor unit of its own net times the rate."""
    unit = minor_unit(currency)
    nets: dict[Decimal, Decimal] = defaultdict(Decimal)
    taxes: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in lines:
        assert abs(line.tax - line.net * line.tax_rate) <= unit, line
        nets[line.tax_rate] += line.net
        taxes[line.tax_rate] += line.tax
    for rate, net in nets.items():
        assert taxes[rate] == (net * rate).quantize(unit, rounding=ROUND_HALF_UP), rate


def decimals(
    low: Decimal | str | int, high: Decimal | str | int, places: int
) -> st.SearchStrategy[Decimal]:
    """Exact decimals in [low, high] with at most `places` decimal places."""
    return st.decimals(
        min_value=Decimal(low),
        max_value=Decimal(high),
        places=places,
        allow_nan=False,
        allow_infinity=False,
    )


def quantities(high: str | int = 100_000) -> st.SearchStrategy[Decimal]:
    return decimals(0, high, 3)


def unit_prices() -> st.SearchStrategy[Decimal]:
    return decimals(0, 50, 4)


def fees() -> st.SearchStrategy[Decimal]:
    return decimals(0, 500, 2)


def days(low: date = FIRST_DAY, high: date = LAST_DAY) -> st.SearchStrategy[date]:
    return st.dates(min_value=low, max_value=high)


@st.composite
def tiers(draw: st.DrawFn, max_tiers: int = 4, percentage: bool = False) -> tuple[Tier, ...]:
    """Contiguous tiers with strictly increasing upper bounds, the last one open."""
    count = draw(st.integers(1, max_tiers))
    bounds: list[Decimal] = []
    for _ in range(count - 1):
        step = draw(decimals("0.01", 20_000, 2).filter(lambda d: d > 0))
        bounds.append((bounds[-1] if bounds else Decimal(0)) + step)
    return tuple(
        Tier(
            upper_bound=bound,
            price=draw(unit_prices()),
            fee=draw(fees()),
            is_percentage=percentage,
        )
        for bound in [*bounds, None]
    )


@st.composite
def periods_of(draw: st.DrawFn, max_days: int = 400) -> Period:
    start = draw(days())
    return Period(start, start + timedelta(days=draw(st.integers(0, max_days - 1))))


@st.composite
def splits(draw: st.DrawFn, whole: Period, max_parts: int = 8) -> list[Period]:
    """`whole` cut into 1..max_parts consecutive, non-empty sub-periods."""
    inner = list(range(1, whole.days))  # offsets a new part may start at
    cuts = sorted(
        draw(st.lists(st.sampled_from(inner), unique=True, max_size=max_parts - 1)) if inner else []
    )
    starts = [whole.start + timedelta(days=c) for c in [0, *cuts]]
    ends = [s - timedelta(days=1) for s in starts[1:]] + [whole.end]
    return [Period(s, e) for s, e in zip(starts, ends, strict=True)]


@st.composite
def seat_timelines(draw: st.DrawFn, period: Period) -> tuple[int, list[SeatChange]]:
    """An opening seat count and changes on days of `period` (several on a day allowed)."""
    opening = draw(st.integers(0, 60))
    changes = draw(
        st.lists(
            st.builds(
                SeatChange,
                day=st.dates(min_value=period.start, max_value=period.end),
                total=st.integers(0, 60),
            ),
            max_size=6,
        )
    )
    return opening, sorted(changes, key=lambda c: c.day)  # stable: same-day order kept


def add_months(day: date, months: int, recurrence_day: int) -> date:
    """The day `months` months after `day`'s month, on `recurrence_day` clamped to that
    month's length (an independent restatement of how boundaries fall)."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(recurrence_day, calendar.monthrange(year, month + 1)[1]))


# ---- invoices ----------------------------------------------------------------------------


@st.composite
def priced_lines(
    draw: st.DrawFn,
    phases: tuple[str, ...] = ("p1",),
    min_size: int = 1,
    max_size: int = 5,
    high: str | int = 5_000,
) -> list[PricedLine]:
    """Priced lines at full precision (more places than any currency keeps)."""
    count = draw(st.integers(min_size, max_size))
    service = Period(date(2024, 4, 1), date(2024, 4, 30))
    lines = []
    for index in range(count):
        amount = draw(decimals(0, high, 5))
        lines.append(
            PricedLine(
                price_id=f"price-{index}",
                product_id=draw(st.sampled_from(["prod-a", "prod-b"])),
                phase_id=draw(st.sampled_from(phases)),
                title=f"Price {index}",
                quantity=Decimal(1),
                rate=amount,
                amount=amount,
                service=service,
                tax_rate=draw(st.sampled_from(TAX_RATES)),
                tax_rate_version_id=None,
            )
        )
    return lines


def price_subsets(lines: list[PricedLine]) -> st.SearchStrategy[frozenset[str]]:
    """Either every price of the phase (the empty set) or some of them."""
    ids = [line.price_id for line in lines]
    return st.one_of(st.just(frozenset()), st.frozensets(st.sampled_from(ids), min_size=1))


@st.composite
def percentage_discounts(draw: st.DrawFn, lines: list[PricedLine]) -> DiscountTerms:
    return DiscountTerms(
        id=f"d-{draw(st.integers(0, 10**6))}",
        kind=DiscountKind.PERCENTAGE,
        amount=draw(decimals(0, 100, 2)),
        message="Percentage off",
        separate_line=draw(st.booleans()),
        price_ids=draw(price_subsets(lines)),
    )


@st.composite
def nominal_discounts(
    draw: st.DrawFn, lines: list[PricedLine], low: str | int = 0, high: str | int = 20_000
) -> DiscountTerms:
    return DiscountTerms(
        id=f"d-{draw(st.integers(0, 10**6))}",
        kind=DiscountKind.NOMINAL,
        amount=draw(decimals(low, high, 2)),
        message="Amount off",
        separate_line=draw(st.booleans()),
        price_ids=draw(price_subsets(lines)),
    )


def any_discounts(lines: list[PricedLine]) -> st.SearchStrategy[DiscountTerms]:
    return st.one_of(percentage_discounts(lines), nominal_discounts(lines))


def minimums(lines: list[PricedLine], high: str | int = 20_000) -> st.SearchStrategy[MinimumTerms]:
    return st.builds(
        MinimumTerms,
        id=st.just("minimum"),
        amount=decimals(0, high, 2),
        price_ids=price_subsets(lines),
    )


# ---- schedules ---------------------------------------------------------------------------


@st.composite
def fixed_prices(draw: st.DrawFn, phase_id: str, months: int | None = None) -> PriceTerms:
    count = draw(st.integers(0, 10**6))
    return PriceTerms(
        id=f"{phase_id}-fixed-{count}",
        product_id="product",
        name="Platform fee",
        months=months if months is not None else draw(st.sampled_from([1, 3])),
        in_advance=draw(st.booleans()),
        structure=Fixed(draw(decimals(0, 10_000, 2))),
    )


@st.composite
def phases_over(
    draw: st.DrawFn, start: date, end: date | None, months: int | None = None
) -> tuple[PhaseTerms, ...]:
    """1..3 sequential phases from `start`; the last ends with the schedule. Each has 1..2
    FIXED prices (`months` each, or monthly/quarterly at random)."""
    last = end or start + timedelta(days=1_100)
    length = (last - start).days
    offsets = sorted(
        draw(st.lists(st.integers(1, length), unique=True, max_size=2)) if length >= 1 else []
    )
    starts = [start + timedelta(days=o) for o in [0, *offsets]]
    ends: list[date | None] = [s - timedelta(days=1) for s in starts[1:]]
    ends.append(end)
    phases = []
    for index, (phase_start, phase_end) in enumerate(zip(starts, ends, strict=True)):
        phase_id = f"phase-{index}"
        prices = draw(
            st.lists(
                fixed_prices(phase_id, months), min_size=1, max_size=2, unique_by=lambda p: p.id
            )
        )
        phases.append(PhaseTerms(phase_id, phase_start, phase_end, tuple(prices)))
    return tuple(phases)


@st.composite
def schedules(draw: st.DrawFn) -> ScheduleTerms:
    """Random start, an end up to three years on or none, any recurrence day, 1..3 phases."""
    start = draw(days(date(2020, 1, 1), date(2028, 12, 31)))
    end = draw(st.one_of(st.none(), st.integers(0, 1_100).map(lambda n: start + timedelta(days=n))))
    return ScheduleTerms(
        start=start,
        end=end,
        recurrence_day=draw(st.integers(1, 31)),
        phases=draw(phases_over(start, end)),
    )


@st.composite
def aligned_schedules(draw: st.DrawFn) -> tuple[ScheduleTerms, int, int]:
    """A schedule of exactly `count` whole periods of `months` months (starting on a billing
    boundary, ending the day before one), its phases split anywhere, every price of the same
    frequency. Returns (schedule, months, count)."""
    recurrence_day = draw(st.integers(1, 31))
    months = draw(st.sampled_from([1, 3]))
    count = draw(st.integers(1, 12))
    first = draw(days(date(2020, 1, 1), date(2028, 12, 31)))
    start = add_months(first, 0, recurrence_day)
    end = add_months(start, count * months, recurrence_day) - timedelta(days=1)
    phases = draw(phases_over(start, end, months))
    return ScheduleTerms(start, end, recurrence_day, phases), months, count
