"""Tier breakdowns of tiered prices (engine/tiers.py): each mirrors a pricing formula, its tier
amounts add up to the formula's amount exactly; rounded for people, they still add up; and
netted discounts keep the line before them (engine/invoice.py)."""

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tally.engine import pricing
from tally.engine import tiers as breakdown
from tally.engine.invoice import Kind, PhaseAdjustments, PricedLine, assemble
from tally.engine.money import round_money
from tally.engine.periods import Period
from tally.engine.pricing import Tier, Volume
from tally.engine.schedule import DiscountKind, DiscountTerms
from tests.engine import strategies as s

D = Decimal
ZERO = D(0)
signed_quantities = s.decimals(-1_000, 100_000, 3)


def total(charges: tuple[breakdown.TierCharge, ...]) -> Decimal:
    return sum((charge.amount for charge in charges), ZERO)


@given(tiers=s.tiers(), quantity=signed_quantities)
def test_graduated_tiers_add_up_to_the_graduated_amount(
    tiers: tuple[Tier, ...], quantity: Decimal
) -> None:
    charges = breakdown.graduated_tiers(quantity, tiers)
    assert total(charges) == pricing.graduated(quantity, tiers)
    assert sum((c.quantity for c in charges), ZERO) == max(quantity, ZERO)
    for charge in charges:
        assert charge.amount == charge.quantity * charge.rate + charge.fee
        assert charge.quantity >= 0


@given(tiers=s.tiers(), quantity=signed_quantities)
def test_volume_tiers_are_the_one_tier_and_add_up_to_the_volume_amount(
    tiers: tuple[Tier, ...], quantity: Decimal
) -> None:
    structure = Volume("m", tiers)
    charges = breakdown.volume_tiers(quantity, structure)
    assert total(charges) == pricing.volume(quantity, structure)
    assert len(charges) == (1 if quantity > 0 else 0)
    for charge in charges:
        assert charge.all_units and charge.quantity == quantity
        assert tiers[charge.number - 1] is pricing.volume_tier(quantity, tiers)


@given(tiers=s.tiers(), before=signed_quantities, after=signed_quantities)
def test_increments_add_up_to_the_running_increment(
    tiers: tuple[Tier, ...], before: Decimal, after: Decimal
) -> None:
    graduated = pricing.Graduated("m", tiers)
    assert total(breakdown.periodic_tiers([(before, after)], tiers)) == (
        pricing.running_increment(before, after, graduated)
    )
    volume = Volume("m", tiers)
    assert total(breakdown.volume_increment_tiers(before, after, volume)) == (
        pricing.running_increment(before, after, volume)
    )


@given(
    tiers=s.tiers(),
    parts=st.lists(st.tuples(s.quantities(20_000), s.quantities(20_000)), max_size=4),
)
def test_periodic_tiers_add_up_to_the_periodic_amount(
    tiers: tuple[Tier, ...], parts: list[tuple[Decimal, Decimal]]
) -> None:
    ordered = [(min(a, b), max(a, b)) for a, b in parts]
    charges = breakdown.periodic_tiers(ordered, tiers)
    assert total(charges) == pricing.periodic(ordered, tiers)
    assert [c.number for c in charges] == sorted({c.number for c in charges})


@given(
    tiers=s.tiers(percentage=True),
    quantity=s.quantities(),
    sums=st.lists(s.decimals(0, 1_000, 4), min_size=4, max_size=4),
)
def test_per_event_volume_tiers_add_up(
    tiers: tuple[Tier, ...], quantity: Decimal, sums: list[Decimal]
) -> None:
    structure = Volume("m", tiers)
    capped = sums[: len(tiers)]
    charges = breakdown.volume_per_event_tiers(quantity, capped, structure)
    assert total(charges) == pricing.volume_per_event(quantity, capped, structure)


@given(
    amounts=st.lists(s.decimals(-5_000, 5_000, 5), max_size=8),
    currency=st.sampled_from(s.CURRENCIES),
)
def test_shown_amounts_add_up_to_the_rounded_total(amounts: list[Decimal], currency: str) -> None:
    shown = breakdown.shown_amounts(amounts, currency)
    assert sum(shown, ZERO) == round_money(sum(amounts, ZERO), currency)
    unit = D(1).scaleb(-{"GBP": 2, "JPY": 0, "KWD": 3}[currency])
    for exact, rounded in zip(amounts, shown, strict=True):
        assert rounded == round_money(rounded, currency)
        assert abs(rounded - exact) < unit * D("1.5")


def test_a_graduated_example_tier_by_tier() -> None:
    tiers = (Tier(D(1000), D("0.015")), Tier(D(5000), D("0.012"), fee=D(5)), Tier(None, D("0.01")))
    charges = breakdown.graduated_tiers(D(3000), tiers)
    assert [(c.number, c.quantity, c.amount) for c in charges] == [
        (1, D(1000), D(15)),
        (2, D(2000), D(29)),
    ]
    assert charges[1].wire() == {
        "tier": 2,
        "lowerBound": "1000",
        "upperBound": "5000",
        "quantity": "2000",
        "rate": "0.012",
        "flatFee": "5",
        "amount": "29",
        "allUnits": False,
    }


def _line(amount: Decimal, tiers: tuple[breakdown.TierCharge, ...] = ()) -> PricedLine:
    return PricedLine(
        price_id="p",
        product_id="prod",
        phase_id="phase",
        title="API calls",
        quantity=D(1),
        rate=amount,
        amount=amount,
        service=Period(date(2024, 4, 1), date(2024, 4, 30)),
        tiers=tiers,
    )


def _percent_off(percent: str, separate: bool = False) -> DiscountTerms:
    return DiscountTerms("d", DiscountKind.PERCENTAGE, D(percent), "Launch offer", separate)


def test_a_netted_percentage_discount_is_kept_as_its_own_amount() -> None:
    tiers = breakdown.graduated_tiers(D(3000), (Tier(D(1000), D("0.1")), Tier(None, D("0.075"))))
    draft = assemble(
        [_line(D(250), tiers)], [PhaseAdjustments("phase", (_percent_off("10"),))], "GBP"
    )
    [line] = draft.lines
    assert line.net == D("225.00")
    assert line.tiers == tiers and total(tiers) == D(250)
    [netted] = line.netted
    assert (netted.title, netted.percentage, netted.amount) == ("Launch offer", D(10), D("-25.00"))


def test_a_discount_on_its_own_line_is_not_netted() -> None:
    draft = assemble(
        [_line(D(250))], [PhaseAdjustments("phase", (_percent_off("10", True),))], "GBP"
    )
    assert [line.kind for line in draft.lines] == [Kind.PRICE, Kind.DISCOUNT]
    assert draft.lines[0].netted == ()


@given(
    amount=s.decimals(-2_000, 5_000, 5),
    percents=st.lists(s.decimals(0, 100, 2), min_size=1, max_size=3),
    currency=st.sampled_from(s.CURRENCIES),
)
def test_netted_discounts_take_the_rounded_line_to_its_net(
    amount: Decimal, percents: list[Decimal], currency: str
) -> None:
    discounts = tuple(_percent_off(str(p)) for p in percents)
    draft = assemble([_line(amount)], [PhaseAdjustments("phase", discounts)], currency)
    line = draft.lines[0]
    netted = sum((n.amount for n in line.netted), ZERO)
    assert round_money(amount, currency) + netted == line.net
    assert all(n.amount == round_money(n.amount, currency) for n in line.netted)
