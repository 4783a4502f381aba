"""ON_DEMAND and PER_EVENT pricing: daily charges that add up to what the price's formula
says for the whole phase, and per-event rounding."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tally.engine.pricing import (
    ZERO,
    Graduated,
    Linear,
    Package,
    Tier,
    Volume,
    per_event,
    running_increment,
    usage_amount,
)
from tests.engine import strategies as s


@settings(max_examples=40, deadline=None)
@given(
    tiers=s.tiers(),
    days=st.lists(s.quantities(5_000), min_size=1, max_size=20),
    size=s.decimals("0.5", 500, 1),
)
def test_daily_charges_add_up_to_the_formula_on_the_phase_total(
    tiers: tuple[Tier, ...], days: list[Decimal], size: Decimal
) -> None:
    """Each day pays the formula on the running total less the formula before it: over the
    phase, GRADUATED, PACKAGE and LINEAR charges add up to the formula on the total."""
    for structure in (
        Graduated("m", tiers),
        Package("m", size, Decimal("7.5")),
        Linear("m", Decimal("0.125")),
    ):
        running, paid = ZERO, ZERO
        for used in days:
            increment = running_increment(running, running + used, structure)
            assert increment >= 0
            paid += increment
            running += used
        assert paid == usage_amount(running, structure)


def test_volume_prices_new_units_on_the_tier_the_total_reaches() -> None:
    tiers = (Tier(Decimal(100), Decimal(1), Decimal(20)), Tier(None, Decimal("0.75"), Decimal(50)))
    volume = Volume("m", tiers)
    assert running_increment(ZERO, Decimal(80), volume) == Decimal(100)  # 80 + fee 20
    assert running_increment(Decimal(80), Decimal(90), volume) == Decimal(10)  # no fee again
    assert running_increment(Decimal(90), Decimal(130), volume) == Decimal(80)  # 30 + 50


@settings(max_examples=40, deadline=None)
@given(values=st.lists(s.decimals(0, 1_000, 2), max_size=30), rate=s.decimals(0, 1, 4))
def test_per_event_rounds_each_event(values: list[Decimal], rate: Decimal) -> None:
    """The day's charge is the sum of each event's charge rounded half up to the cent: it
    differs from the rounded total by at most half a cent per event."""
    charged = per_event(values, Linear("m", rate), "USD")
    assert charged == sum(
        ((v * rate).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP") for v in values), ZERO
    )
    exact = sum((v * rate for v in values), ZERO)
    assert abs(charged - exact) <= Decimal("0.005") * len(values)
