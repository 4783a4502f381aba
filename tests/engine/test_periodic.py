"""PERIODIC graduated pricing: tiers count usage from the start of each usage calculation
period, and each billing period pays the increment of its days."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tally.engine.periods import Period, calculation_parts, periods_until
from tally.engine.pricing import ZERO, Tier, graduated, periodic
from tests.engine import strategies as s

TIERS = (Tier(Decimal(100), Decimal("1.00"), Decimal(20)), Tier(None, Decimal("0.75"), Decimal(50)))


def _billed(
    usage: dict[date, Decimal],
    start: date,
    end: date,
    recurrence_day: int,
    billing_months: int,
    calculation_months: int,
    tiers: tuple[Tier, ...],
) -> Decimal:
    """What the schedule's invoices bill from `start` to `end`, summed, through the engine."""
    total = ZERO
    for billing in periods_until(start, recurrence_day, billing_months, end):
        served = billing.overlap(Period(start, end))
        if served is None:
            continue
        parts = []
        for since, days in calculation_parts(served, start, recurrence_day, calculation_months):
            before = sum((q for d, q in usage.items() if since <= d < days.start), ZERO)
            through = sum((q for d, q in usage.items() if since <= d <= days.end), ZERO)
            parts.append((before, through))
        total += periodic(parts, tiers)
    return total


@settings(max_examples=40, deadline=None)
@given(
    tiers=s.tiers(),
    start_month=st.integers(0, 23),
    billing_months=st.sampled_from([1, 3, 6, 12]),
    calculation_months=st.sampled_from([1, 2, 3, 6, 12]),
    spans=st.integers(1, 30),
    usage=st.lists(st.tuples(st.integers(0, 900), s.quantities(5_000)), max_size=25),
)
def test_invoices_add_up_to_the_graduated_amount_of_each_calculation_period(
    tiers: tuple[Tier, ...],
    start_month: int,
    billing_months: int,
    calculation_months: int,
    spans: int,
    usage: list[tuple[int, Decimal]],
) -> None:
    """Whatever the billing frequency, the invoices of a schedule pay, in all, the graduated
    amount of each calculation period's usage: the calculation periods found here by month
    arithmetic alone (schedules from the 1st, recurrence day 1)."""
    start = date(2023 + start_month // 12, start_month % 12 + 1, 1)
    end = start + timedelta(days=spans * 30)
    by_day: dict[date, Decimal] = {}
    for offset, quantity in usage:
        day = start + timedelta(days=offset)
        if day <= end:
            by_day[day] = by_day.get(day, ZERO) + quantity
    per_calculation: dict[int, Decimal] = {}
    for day, quantity in by_day.items():
        index = ((day.year - start.year) * 12 + day.month - start.month) // calculation_months
        per_calculation[index] = per_calculation.get(index, ZERO) + quantity
    expected = sum((graduated(q, tiers) for q in per_calculation.values()), ZERO)
    assert _billed(by_day, start, end, 1, billing_months, calculation_months, tiers) == expected


def test_monthly_invoices_on_a_yearly_calculation_period() -> None:
    """125 units in January, 100 in February, 50 next January, billed monthly, tiers counted
    per year from the 15th: January's 125 pass the first tier (100 + 20 + 25 x 0.75 + 50 =
    188.75), February's 100 are all at 0.75 (75.00), the next year starts at 0 again (70.00)."""
    start = date(2024, 1, 15)
    usage = {date(2024, 1, 20): Decimal(125), date(2024, 2, 20): Decimal(100)}
    usage[date(2025, 1, 20)] = Decimal(50)
    amounts = []
    for billing in periods_until(start, 15, 1, date(2025, 2, 14)):
        parts = [
            (
                sum((q for d, q in usage.items() if since <= d < days.start), ZERO),
                sum((q for d, q in usage.items() if since <= d <= days.end), ZERO),
            )
            for since, days in calculation_parts(billing, start, 15, 12)
        ]
        amounts.append(periodic(parts, TIERS))
    assert amounts[0] == Decimal("188.75")
    assert amounts[1] == Decimal("75.00")
    assert amounts[12] == Decimal("70.00")  # 2025-01-15 .. 2025-02-14: 50 x 1.00 + 20
    assert sum(amounts) == Decimal("333.75")


def test_a_quarter_on_monthly_calculation_periods_pays_each_month_from_zero() -> None:
    """A quarterly invoice over monthly calculation periods: 150 units in each month pay
    the first tier's fee and price every month: 3 x (100 + 20 + 50 x 0.75 + 50)."""
    quarter = Period(date(2024, 1, 1), date(2024, 3, 31))
    parts = calculation_parts(quarter, date(2024, 1, 1), 1, 1)
    assert [days for _, days in parts] == [
        Period(date(2024, 1, 1), date(2024, 1, 31)),
        Period(date(2024, 2, 1), date(2024, 2, 29)),
        Period(date(2024, 3, 1), date(2024, 3, 31)),
    ]
    assert periodic([(ZERO, Decimal(150))] * 3, TIERS) == Decimal("622.50")


def test_a_calculation_period_counts_from_the_schedule_start_not_before() -> None:
    """Recurrence day 1, schedule from 10 January: the year's usage counts from 10 January."""
    january = Period(date(2024, 1, 10), date(2024, 1, 31))
    assert calculation_parts(january, date(2024, 1, 10), 1, 12) == [(date(2024, 1, 10), january)]
