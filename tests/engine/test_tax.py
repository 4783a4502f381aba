"""Tax rounded once per rate per document and shared among the rate's lines
(`engine/tax.py`): properties over lines of any sign, rates and currencies of 0, 2 and 3
decimal places."""

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from tally.engine.money import minor_unit
from tally.engine.tax import shared_taxes
from tests.engine.strategies import CURRENCIES

D = Decimal
RATES = [D("0"), D("0.05"), D("0.07"), D("0.1"), D("0.10"), D("0.2"), D("0.255"), D("0.19")]


def _half_up(amount: Decimal, currency: str) -> Decimal:
    # Written out here rather than taken from the code under test.
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, list[tuple[Decimal, Decimal]]]:
    """A currency and its lines' (net, rate): nets in whole minor units, negative ones too
    (discounts, credits), several lines to a rate."""
    currency = draw(st.sampled_from(CURRENCIES))
    unit = minor_unit(currency)
    units = st.integers(-50_000, 500_000)
    lines = draw(st.lists(st.tuples(units, st.sampled_from(RATES)), max_size=12))
    return currency, [(n * unit, rate) for n, rate in lines]


@given(documents())
def test_each_rate_owes_its_taxable_amount_times_the_rate_rounded_once(
    document: tuple[str, list[tuple[Decimal, Decimal]]],
) -> None:
    currency, lines = document
    taxes = shared_taxes(lines, currency)
    nets: dict[Decimal, Decimal] = defaultdict(Decimal)
    owed: dict[Decimal, Decimal] = defaultdict(Decimal)
    for (net, rate), tax in zip(lines, taxes, strict=True):
        nets[rate] += net
        owed[rate] += tax
    for rate, net in nets.items():
        assert owed[rate] == _half_up(net * rate, currency), rate


@given(documents())
def test_each_line_is_within_one_minor_unit_of_its_net_times_its_rate(
    document: tuple[str, list[tuple[Decimal, Decimal]]],
) -> None:
    currency, lines = document
    unit = minor_unit(currency)
    for (net, rate), tax in zip(lines, shared_taxes(lines, currency), strict=True):
        assert abs(tax - net * rate) <= unit
        assert tax == _half_up(tax, currency)  # whole minor units
        if rate == 0:
            assert tax == 0


@given(documents())
def test_a_rate_with_one_line_keeps_its_own_rounding(
    document: tuple[str, list[tuple[Decimal, Decimal]]],
) -> None:
    currency, lines = document
    count: dict[Decimal, int] = defaultdict(int)
    for _, rate in lines:
        count[rate] += 1
    for (net, rate), tax in zip(lines, shared_taxes(lines, currency), strict=True):
        if count[rate] == 1:
            assert tax == _half_up(net * rate, currency)


@given(documents())
def test_the_same_lines_owe_the_same_whatever_other_rates_sit_between_them(
    document: tuple[str, list[tuple[Decimal, Decimal]]],
) -> None:
    """Sharing is per rate: another rate's lines change nothing; and it is deterministic."""
    currency, lines = document
    taxes = shared_taxes(lines, currency)
    assert shared_taxes(lines, currency) == taxes
    for rate in {rate for _, rate in lines}:
        alone = [(net, r) for net, r in lines if r == rate]
        assert shared_taxes(alone, currency) == [
            tax for (_, r), tax in zip(lines, taxes, strict=True) if r == rate
        ]


def test_yen_lines_share_the_rate_rounding_earliest_line_first_on_a_tie() -> None:
    """15 and 25 yen at 10%: 1.5 and 2.5 round to 2 + 3 = 5, the rate owes 4 (40 x 10%);
    both rounded half a yen up, so the earlier line gives the yen back."""
    assert shared_taxes([(D(15), D("0.1")), (D(25), D("0.1"))], "JPY") == [D(1), D(3)]


def test_the_line_rounded_furthest_the_other_way_moves_first() -> None:
    """16, 15 and 13 yen at 10%: 1.6, 1.5 and 1.3 round to 2 + 2 + 1 = 5; the rate owes 4.4
    -> 4. The 15 rounded furthest up (0.5), so it gives the yen back."""
    lines = [(D(16), D("0.1")), (D(15), D("0.1")), (D(13), D("0.1"))]
    assert shared_taxes(lines, "JPY") == [D(2), D(1), D(1)]
    # Upwards: 1.4 + 1.4 + 1.7 round to 1 + 1 + 2 = 4, the rate owes 4.5 -> 5; both 14s
    # rounded 0.4 down, the earlier one takes the yen.
    lines = [(D(14), D("0.1")), (D(14), D("0.1")), (D(17), D("0.1"))]
    assert shared_taxes(lines, "JPY") == [D(2), D(1), D(2)]


def test_discounts_at_a_rate_lower_its_tax_once() -> None:
    """25 yen less two 5 yen discounts at 10%: per line 3 - 1 - 1 = 1 (-0.5 rounds half away
    from zero); the rate owes 15 x 10% = 1.5 -> 2, taken back by the first discount (it
    rounded furthest down)."""
    lines = [(D(25), D("0.1")), (D(-5), D("0.1")), (D(-5), D("0.1"))]
    assert shared_taxes(lines, "JPY") == [D(3), D(0), D(-1)]
    # Three decimals: 0.005 and -0.001 KWD at 50%: 0.003 - 0.001 = 0.002 = 0.004 x 50%.
    assert shared_taxes([(D("0.005"), D("0.5")), (D("-0.001"), D("0.5"))], "KWD") == [
        D("0.003"),
        D("-0.001"),
    ]
