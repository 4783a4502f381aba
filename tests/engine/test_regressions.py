"""Bugs the engine's properties (test_properties.py) found, pinned as plain examples."""

from datetime import date
from decimal import Decimal as D

from tally.engine.invoice import Kind, PhaseAdjustments, PricedLine, assemble
from tally.engine.periods import Period
from tally.engine.pricing import Proration, SeatBased, Tier
from tally.engine.schedule import DiscountKind, DiscountTerms, MinimumTerms
from tally.engine.seats import SeatChange, seat_charge

APRIL = Period(date(2024, 4, 1), date(2024, 4, 30))


def _line(price_id: str, amount: D) -> PricedLine:
    return PricedLine(price_id, "product", "p", price_id, D(1), amount, amount, APRIL)


def test_all_changes_charges_an_unprorated_flat_fee_once() -> None:
    """PRORATE_ALL_CHANGES with prorateFlatFees off charged the tier fee once per span of one
    count (three times for 5 -> 10 -> 5 seats), and even for a 'change' to the same count."""
    price = SeatBased(
        "editor",
        D(10),
        Proration.PRORATE_ALL_CHANGES,
        tiers=(Tier(None, D(10), fee=D(100)),),
        prorate_flat_fees=False,
    )
    changes = [SeatChange(date(2024, 4, 11), 10), SeatChange(date(2024, 4, 21), 5)]
    charge = seat_charge(price, 5, changes, APRIL, APRIL)
    assert round(charge.amount, 2) == D("166.67")  # 200 seat-days / 30 x 10, plus 100 once
    same = seat_charge(price, 5, [SeatChange(date(2024, 4, 11), 5)], APRIL, APRIL)
    assert same.amount == D(150)  # what USE_MAXIMUM bills for 5 seats all month


def test_true_up_reaches_exactly_the_minimum_when_lines_round_up() -> None:
    """The true-up was computed against unrounded charges: 2 x 333.335 shows as 666.68, and a
    true-up of 333.33 took the invoice to 1000.01 on a 1000 minimum."""
    draft = assemble(
        [_line("a", D("333.335")), _line("b", D("333.335"))],
        [PhaseAdjustments("p", minimums=(MinimumTerms("min", D(1000)),))],
        "USD",
    )
    assert [line.net for line in draft.lines] == [D("333.34"), D("333.34"), D("333.32")]
    assert draft.totals.net == D("1000.00")


def test_a_discount_larger_than_the_invoice_leaves_it_at_zero_not_below() -> None:
    """A separate discount line was the rounded sum of its cuts: 10.004 + 10.004 shows as
    20.00 but the line took 20.01 off, for an invoice of -0.01."""
    fifty_off = DiscountTerms("d", DiscountKind.NOMINAL, D(50), "$50 off", separate_line=True)
    draft = assemble(
        [_line("a", D("10.004")), _line("b", D("10.004"))],
        [PhaseAdjustments("p", discounts=(fifty_off,))],
        "USD",
    )
    assert [line.net for line in draft.lines if line.kind is Kind.DISCOUNT] == [D("-20.00")]
    assert draft.totals.net == D("0.00")


def test_a_full_discount_leaves_nothing_in_a_three_place_currency() -> None:
    """The converse: 0.0025 + 0.0025 KWD shows as 0.006 but a 100 % discount took 0.005."""
    everything = DiscountTerms("d", DiscountKind.PERCENTAGE, D(100), "Free", separate_line=True)
    draft = assemble(
        [_line("a", D("0.0025")), _line("b", D("0.0025"))],
        [PhaseAdjustments("p", discounts=(everything,))],
        "KWD",
    )
    assert draft.totals.net == D("0.000")
