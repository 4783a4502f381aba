"""Properties of spending credit grants on an invoice (engine/credits.py)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date
from decimal import Decimal
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from tally.engine.credits import Claim, Grant, Metered, apply_credits, respend, spending_order
from tally.engine.invoice import InvoiceDraft, Kind, PhaseAdjustments, PricedLine, assemble
from tally.engine.money import minor_unit
from tally.engine.periods import Period
from tests.engine import strategies as s

ZERO = Decimal(0)
METRICS = ("m-1", "m-2")


@st.composite
def invoices(draw: st.DrawFn, currency: str) -> tuple[InvoiceDraft, dict[int, Metered]]:
    lines = draw(s.priced_lines(phases=("p1",)))
    discounts = tuple(draw(st.lists(s.any_discounts(lines), max_size=2)))
    minimums = tuple(draw(st.lists(s.minimums(lines, high=3_000), max_size=1)))
    draft = assemble(lines, [PhaseAdjustments("p1", discounts, minimums)], currency)
    metered = {
        i: Metered(draw(st.sampled_from(METRICS)), draw(s.decimals("0.001", 5_000, 3)))
        for i in range(len(lines))
        if draw(st.booleans())
    }
    return draft, metered


@st.composite
def grants(draw: st.DrawFn, currency: str, price_ids: list[str]) -> list[Grant]:
    result = []
    for n in range(draw(st.integers(0, 5))):
        metric = draw(st.sampled_from([None, *METRICS]))
        result.append(
            Grant(
                grant_id=f"g-{n}",
                name=f"Grant {n}",
                balance=draw(s.decimals("0.001", 5_000, 3)),
                currency=draw(st.sampled_from([currency, currency, "USD"])),
                metric_id=metric,
                expiry_date=draw(
                    st.one_of(st.none(), s.days(date(2024, 1, 1), date(2024, 12, 31)))
                ),
                price_ids=draw(
                    st.one_of(
                        st.just(frozenset()), st.frozensets(st.sampled_from(price_ids), max_size=2)
                    )
                )
                if price_ids
                else frozenset(),
            )
        )
    return result


@settings(deadline=None)  # drafts of many lines: slow when the machine is busy
@given(data=st.data(), currency=st.sampled_from(s.CURRENCIES))
def test_credits_never_overspend_never_go_below_zero_and_totals_stay_sums(
    data: st.DataObject, currency: str
) -> None:
    draft, metered = data.draw(invoices(currency))
    price_ids = [line.price_id for line in draft.lines if line.price_id]
    given_grants = data.draw(grants(currency, price_ids))
    credited = apply_credits(draft, given_grants, metered, currency)
    result = credited.draft
    unit = minor_unit(currency)
    # The lines before are kept as they were, but for their tax (taxed per rate again with
    # the credits); credits come after them.
    before = result.lines[: len(draft.lines)]
    assert [replace(line, tax=ZERO) for line in before] == [
        replace(line, tax=ZERO) for line in draft.lines
    ]
    s.assert_taxed_per_rate(result.lines, currency)
    credit_lines = result.lines[len(draft.lines) :]
    assert all(line.kind is Kind.CREDIT for line in credit_lines)
    # Whole minor units, tax per line, totals the sums of the lines.
    for line in result.lines:
        assert line.net % unit == 0 and line.tax % unit == 0
    assert result.totals.net == sum((line.net for line in result.lines), ZERO)
    assert result.totals.tax == sum((line.tax for line in result.lines), ZERO)
    assert result.totals.gross == result.totals.net + result.totals.tax
    # Never below zero: credits take no more than was left to pay, tax falls with them.
    assert result.totals.net >= 0
    assert result.totals.net <= draft.totals.net
    assert result.totals.tax <= draft.totals.tax
    assert result.totals.tax >= 0
    # Credits take off no more tax than the lines they credit carry (both shares of one
    # rate's tax, rounded once: a credit line may round the other way from the draft's).
    credited_tax = sum((line.tax for line in credit_lines), ZERO)
    assert -credited_tax <= sum((line.tax for line in before if line.tax > 0), ZERO)
    # Never more than a grant holds; the spent amounts are the credit lines.
    by_id = {g.grant_id: g for g in given_grants}
    lines_by_grant: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in credit_lines:
        assert line.net <= 0
        assert line.credit_grant_id is not None
        lines_by_grant[line.credit_grant_id] -= line.net
        grant = by_id[line.credit_grant_id]
        if grant.price_ids:
            assert line.price_id in grant.price_ids
        if not grant.is_metric:
            assert grant.currency == currency
    for spent in credited.spent:
        assert 0 < spent.credits <= by_id[spent.grant_id].balance
        assert spent.amount == lines_by_grant[spent.grant_id]
    assert set(lines_by_grant) <= {spent.grant_id for spent in credited.spent}


@given(data=st.data(), currency=st.sampled_from(s.CURRENCIES))
def test_metric_credits_go_before_cash_and_soonest_expiry_first(
    data: st.DataObject, currency: str
) -> None:
    draft, metered = data.draw(invoices(currency))
    given_grants = data.draw(grants(currency, []))  # no restrictions: order alone decides
    credited = apply_credits(draft, given_grants, metered, currency)
    order = {g.grant_id: n for n, g in enumerate(spending_order(given_grants))}
    used = [line.credit_grant_id for line in credited.draft.lines if line.kind is Kind.CREDIT]
    assert used == sorted(used, key=lambda grant_id: order[grant_id or ""])
    by_id = {g.grant_id: g for g in given_grants}
    kinds = [by_id[grant_id or ""].is_metric for grant_id in used]
    assert kinds == sorted(kinds, reverse=True)  # metric (True) before cash (False)
    # A later grant of one type is used only when the earlier ones could not cover more:
    # each earlier cash grant of the currency is exhausted to the minor unit, or nothing
    # was left to pay.
    spent = {sp.grant_id: sp for sp in credited.spent}
    cash = [g for g in spending_order(given_grants) if not g.is_metric and g.currency == currency]
    for earlier, later in pairwise(cash):
        if later.grant_id in spent:
            left = earlier.balance - (
                spent[earlier.grant_id].credits if earlier.grant_id in spent else ZERO
            )
            assert left < minor_unit(currency)


def test_metric_credits_offset_units_at_the_effective_unit_price() -> None:
    service = Period(date(2024, 8, 1), date(2024, 8, 31))
    line = PricedLine(
        "p",
        "prod",
        "p1",
        "Verifications",
        Decimal(10),
        Decimal(3),
        Decimal(30),
        service,
        tax_rate=Decimal("0.2"),
    )
    draft = assemble([line], [], "GBP")
    grants_ = [
        Grant("cash", "Cash", Decimal(100), "GBP", expiry_date=date(2024, 9, 1)),
        Grant("late", "Late", Decimal(4), "GBP", metric_id="m", expiry_date=None),
        Grant("soon", "Soon", Decimal(4), "GBP", metric_id="m", expiry_date=date(2024, 12, 1)),
    ]
    credited = apply_credits(draft, grants_, {0: Metered("m", Decimal(10))}, "GBP")
    credits = [c for c in credited.draft.lines if c.kind is Kind.CREDIT]
    assert [(c.credit_grant_id, c.quantity, c.net, c.tax) for c in credits] == [
        ("soon", Decimal(4), Decimal("-12.00"), Decimal("-2.40")),
        ("late", Decimal(4), Decimal("-12.00"), Decimal("-2.40")),
        ("cash", Decimal(1), Decimal("-6.00"), Decimal("-1.20")),
    ]
    assert credited.draft.totals.gross == 0
    assert [(sp.grant_id, sp.credits) for sp in credited.spent] == [
        ("soon", Decimal(4)),
        ("late", Decimal(4)),
        ("cash", Decimal("6.00")),
    ]


@given(
    claims=st.lists(
        st.builds(
            Claim,
            grant_id=st.sampled_from(["a", "b"]),
            is_metric=st.booleans(),
            credits=s.decimals("0.001", 100, 3),
            amount=s.decimals(0, 500, 2),
        ),
        max_size=6,
    ),
    a=s.decimals(0, 200, 3),
    b=s.decimals(0, 200, 3),
)
def test_respending_never_exceeds_the_balance_nor_the_claim(
    claims: list[Claim], a: Decimal, b: Decimal
) -> None:
    claims = [c if c.is_metric else Claim(c.grant_id, False, c.amount, c.amount) for c in claims]
    result = respend(claims, {"a": a, "b": b}, "GBP")
    for before, after in zip(claims, result, strict=True):
        assert 0 <= after.credits <= before.credits
        assert 0 <= after.amount <= before.amount
    for grant_id, balance in (("a", a), ("b", b)):
        assert sum((c.credits for c in result if c.grant_id == grant_id), ZERO) <= balance
    if a >= sum((c.credits for c in claims if c.grant_id == "a"), ZERO):
        assert [c for c in result if c.grant_id == "a"] == [c for c in claims if c.grant_id == "a"]
