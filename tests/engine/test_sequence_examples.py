"""Every worked example of sequence-notes.md section 5, as the engine computes it.

Where the notes flag the docs' percentages as ten times off (#5, #7) or miscomputed (#14),
the corrected rates they name are used.
"""

from datetime import date
from decimal import Decimal as D

from tally.engine.invoice import PhaseAdjustments, PricedLine, assemble
from tally.engine.money import round_money
from tally.engine.periods import Period
from tally.engine.pricing import (
    Fixed,
    Graduated,
    Linear,
    Package,
    Proration,
    SeatBased,
    Tier,
    Volume,
    capped_event_charge,
    graduated,
    linear,
    package,
    volume,
    volume_per_event,
)
from tally.engine.schedule import (
    DiscountKind,
    DiscountTerms,
    MinimumTerms,
    PhaseTerms,
    PriceTerms,
    ScheduleTerms,
    charges,
)
from tally.engine.seats import SeatChange, seat_charge

TIERS = (Tier(D(100), D(1), D(20)), Tier(None, D("0.75"), D(50)))
PERCENT_TIERS = (
    Tier(D(10000), D("0.01"), D(500), is_percentage=True),
    Tier(None, D("0.005"), D(250), is_percentage=True),
)
APRIL = Period(date(2024, 4, 1), date(2024, 4, 30))


def gbp(amount: D) -> D:
    return round_money(amount, "GBP")


def test_1_linear() -> None:
    assert gbp(linear(D(550), Linear("m", D("0.10")))) == D("55.00")


def test_2_linear_percentage() -> None:
    assert gbp(linear(D(1000), Linear("m", D("0.005"), is_percentage=True))) == D("5.00")


def test_3_percentage_with_per_payment_limits() -> None:
    tier = Tier(None, D("0.02"), is_percentage=True, min_price=D(1), max_price=D(10))
    structure = Volume("m", (tier,))
    payments = [D(25), D(100), D(500)]
    assert [capped_event_charge(p, tier) for p in payments] == [D(1), D("2.00"), D(10)]
    capped = [sum((capped_event_charge(p, tier) for p in payments), D(0))]
    assert volume_per_event(sum(payments, D(0)), capped, structure) == D(13)


def test_4_volume() -> None:
    assert volume(D(125), Volume("m", TIERS)) == D("143.75")


def test_5_volume_percentage() -> None:
    assert volume(D(15000), Volume("m", PERCENT_TIERS)) == D(325)


def test_6_graduated() -> None:
    assert graduated(D(125), TIERS) == D("188.75")


def test_7_graduated_percentage() -> None:
    assert graduated(D(15000), PERCENT_TIERS) == D(875)


def test_8_package_rounds_up() -> None:
    assert package(D(600), Package("m", D(250), D(10))) == D(30)


def test_9_seats_added_mid_month_prorate_then_bill_in_full() -> None:
    price = SeatBased("editor", D(15), Proration.PRORATE_INCREMENTS)
    april = seat_charge(price, 0, [SeatChange(date(2024, 4, 18), 27)], APRIL, APRIL)
    assert gbp(april.amount) == D("175.50")
    assert gbp(april.amount / april.seats) == D("6.50")  # 15 x 13/30 per seat
    may = Period(date(2024, 5, 1), date(2024, 5, 31))
    assert seat_charge(price, 27, [], may, may).amount == D(405)


def test_10_mid_month_seat_and_contracted_minimum() -> None:
    price = SeatBased("editor", D(15), Proration.PRORATE_INCREMENTS)
    half = seat_charge(price, 0, [SeatChange(date(2024, 4, 16), 1)], APRIL, APRIL)
    assert gbp(half.amount) == D("7.50")
    floored = SeatBased("editor", D(1), Proration.USE_MAXIMUM, contracted_minimum=100)
    charge = seat_charge(floored, 90, [], APRIL, APRIL)
    assert (charge.seats, charge.amount) == (100, D(100))


def test_11_graduated_seats() -> None:
    price = SeatBased(
        "editor",
        D(12),
        Proration.USE_MAXIMUM,
        tiers=(Tier(D(15), D(12)), Tier(None, D(15))),
    )
    assert seat_charge(price, 20, [], APRIL, APRIL).amount == D(255)


def _line(price_id: str, amount: D, phase: str = "p") -> PricedLine:
    return PricedLine(price_id, "product", phase, price_id, D(1), amount, amount, APRIL)


def test_12_minimums_true_up() -> None:
    usage = _line("calls", linear(D(3000), Linear("m", D("0.10"))))  # $300 of calls
    draft = assemble(
        [usage],
        [PhaseAdjustments("p", minimums=(MinimumTerms("min", D(500)),))],
        "USD",
    )
    assert [line.net for line in draft.lines] == [D("300.00"), D("200.00")]
    assert draft.lines[1].title == "True-up charge"
    plan = assemble(
        [_line("a", D(845))],
        [PhaseAdjustments("p", minimums=(MinimumTerms("min", D(1000)),))],
        "USD",
    )
    assert plan.lines[1].net == D("155.00")
    assert plan.totals.net == D("1000.00")


def test_13_self_serve_plan() -> None:
    tiers = (Tier(D(1000), D(0), D(250)), Tier(D(2500), D("0.45")), Tier(None, D("0.65")))
    calls = graduated(D(3000), tiers)
    assert calls == D(1250)
    assert calls + D(500) == D(1750)


def test_14_invoice_mock_ups() -> None:
    assert graduated(D(827), (Tier(D(500), D("0.10")), Tier(None, D("0.15")))) == D("99.05")
    percent = (
        Tier(D(500000), D("0.007"), is_percentage=True),
        Tier(D(1250000), D("0.004"), is_percentage=True),
        Tier(None, D("0.003"), is_percentage=True),
    )
    assert round_money(graduated(D(1487631), percent), "EUR") == D("7212.89")
    assert D(2500) + D(1250) == D(3750)


def test_15_partial_periods_prorate_by_days() -> None:
    fixed = PriceTerms(
        "fee", "product", "Platform", months=1, in_advance=False, structure=Fixed(D(600))
    )
    phase = PhaseTerms("p", date(2025, 1, 16), date(2025, 4, 15), (fixed,))
    schedule = ScheduleTerms(date(2025, 1, 16), date(2025, 4, 15), 1, (phase,))
    due = charges(schedule, horizon=date(2025, 12, 31))
    assert [c.invoice_date for c in due] == [
        date(2025, 2, 1),
        date(2025, 3, 1),
        date(2025, 4, 1),
        date(2025, 4, 16),
    ]
    assert [gbp(D(600) * c.fraction) for c in due] == [
        D("309.68"),
        D("600.00"),
        D("600.00"),
        D("300.00"),
    ]


def test_16_discounts() -> None:
    annual = _line("annual", D(1200))
    ten_percent = DiscountTerms("d", DiscountKind.PERCENTAGE, D(10), "10% off", separate_line=True)
    draft = assemble([annual], [PhaseAdjustments("p", discounts=(ten_percent,))], "USD")
    assert [line.net for line in draft.lines] == [D("1200.00"), D("-120.00")]
    assert draft.totals.net == D("1080.00")
    # A $100 discount on $800 + $200, netted into the lines: $80 and $20.
    flat = DiscountTerms("d", DiscountKind.NOMINAL, D(100), "$100 off", separate_line=False)
    netted = assemble(
        [_line("a", D(800)), _line("b", D(200))], [PhaseAdjustments("p", discounts=(flat,))], "USD"
    )
    assert [line.net for line in netted.lines] == [D("720.00"), D("180.00")]


def test_18_line_tax() -> None:
    line = PricedLine(
        "p",
        "product",
        "p",
        "Line",
        D(2),
        D("20000.10"),
        D(2) * D("20000.10"),
        APRIL,
        tax_rate=D("0.2"),
    )
    draft = assemble([line], [], "GBP")
    assert (draft.totals.net, draft.totals.tax, draft.totals.gross) == (
        D("40000.20"),
        D("8000.04"),
        D("48000.24"),
    )


def test_graduated_structure_type_is_usable() -> None:
    assert Graduated("m", TIERS).tiers == TIERS
