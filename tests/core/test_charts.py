"""The charts' y axis: round bounds and round steps, so every tick reads as a round amount."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tally.core.charts import ROUND_STEPS, chart, divisions, nice_max


def plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


def is_round(step: Decimal) -> bool:
    return step / Decimal(10) ** step.adjusted() in ROUND_STEPS


def test_2500_is_five_steps_of_500_not_four_of_625() -> None:
    drawn = chart("lines", "MRR", ["Jan", "Feb"], [("MRR", [Decimal(0), Decimal(2500)])], plain)
    assert [tick.label for tick in drawn.y_ticks] == ["0", "500", "1000", "1500", "2000", "2500"]


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**9), places=2))
def test_every_step_of_an_axis_of_positive_values_is_round(high: Decimal) -> None:
    span = nice_max(high)  # as `chart` bounds an axis whose values are all positive
    assert high <= span
    assert is_round(span / divisions(span))
