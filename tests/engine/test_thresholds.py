"""Threshold invoicing's arithmetic (`engine/thresholds.py`): whatever the tiers, threshold,
tax rates and the points between events where billing runs, the threshold invoices and the
period's final invoice add up to exactly the one invoice for the whole period."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tally.engine import pricing
from tally.engine.invoice import (
    InvoiceDraft,
    Kind,
    Line,
    PhaseAdjustments,
    PricedLine,
    assemble,
)
from tally.engine.periods import Period
from tally.engine.schedule import DiscountKind, DiscountTerms, MinimumTerms
from tally.engine.thresholds import (
    Invoiced,
    by_rate,
    charges,
    deducted,
    newly_invoiced,
    over_invoiced,
    reached,
)

PERIOD = Period(date(2026, 1, 1), date(2026, 1, 31))
ZERO = Decimal(0)


def _line(price_id: str, quantity: Decimal, amount: Decimal, rate: Decimal) -> PricedLine:
    return PricedLine(
        price_id=price_id,
        product_id="product",
        phase_id="phase",
        title=price_id,
        quantity=quantity,
        rate=ZERO,
        amount=amount,
        service=PERIOD,
        tax_rate=rate,
    )


def _whole(
    usage: dict[str, Decimal],
    structures: dict[str, pricing.Graduated | pricing.Volume],
    rates: dict[str, Decimal],
    adjustments: tuple[PhaseAdjustments, ...],
    currency: str,
) -> InvoiceDraft:
    """The period's document on `usage` so far: tiers on the whole period's usage."""
    lines = []
    for price_id, structure in structures.items():
        quantity = usage.get(price_id, ZERO)
        if isinstance(structure, pricing.Graduated):
            amount = pricing.graduated(quantity, structure.tiers)
        else:
            amount = pricing.volume(quantity, structure)
        lines.append(_line(price_id, quantity, amount, rates[price_id]))
    return assemble(lines, adjustments, currency)


def _run(
    draft: InvoiceDraft, invoiced: list[Invoiced], threshold: Decimal, currency: str
) -> InvoiceDraft | None:
    """What a billing run does with a period's IN_PROGRESS document (`billing/runs.py`)."""
    counted = charges(draft, currency)
    if not reached(counted, invoiced, threshold):
        return None
    document = deducted(counted, invoiced)
    invoiced.append(newly_invoiced(counted, invoiced, f"T{len(invoiced) + 1}"))
    return document


def _per_rate(drafts: list[InvoiceDraft]) -> dict[Decimal, tuple[Decimal, Decimal]]:
    found: dict[Decimal, tuple[Decimal, Decimal]] = {}
    for draft in drafts:
        for part in by_rate(draft):
            net, tax = found.get(part.tax_rate, (ZERO, ZERO))
            found[part.tax_rate] = (net + part.net, tax + part.tax)
    return {rate: amounts for rate, amounts in found.items() if amounts != (ZERO, ZERO)}


tier_prices = st.decimals(min_value="0.001", max_value="3", places=3)
fees = st.sampled_from([ZERO, Decimal("5"), Decimal("12.50")])


@st.composite
def tiers(draw: st.DrawFn) -> tuple[pricing.Tier, ...]:
    bounds = sorted(draw(st.sets(st.integers(1, 400), min_size=0, max_size=3)))
    found = [pricing.Tier(Decimal(bound), draw(tier_prices), draw(fees)) for bound in bounds]
    return (*found, pricing.Tier(None, draw(tier_prices), draw(fees)))


@st.composite
def periods(draw: st.DrawFn) -> dict[str, object]:
    currency = draw(st.sampled_from(["EUR", "JPY", "USD"]))
    count = draw(st.integers(1, 3))
    structures: dict[str, pricing.Graduated | pricing.Volume] = {}
    rates: dict[str, Decimal] = {}
    for n in range(count):
        kind = draw(st.sampled_from([pricing.Graduated, pricing.Volume]))
        structures[f"p{n}"] = kind(f"m{n}", draw(tiers()))
        rates[f"p{n}"] = draw(
            st.sampled_from(
                [ZERO, Decimal("0.2"), Decimal("0.07"), Decimal("0.19"), Decimal("0.1")]
            )
        )
    # Events (price, units), and after which of them a billing run happens.
    events = draw(
        st.lists(
            st.tuples(
                st.sampled_from(sorted(structures)),
                st.decimals(min_value="0.1", max_value="150", places=1),
            ),
            min_size=1,
            max_size=25,
        )
    )
    runs = draw(st.sets(st.integers(0, len(events) - 1)))
    threshold = draw(st.decimals(min_value="1", max_value="400", places=2))
    if currency == "JPY":
        threshold = threshold.quantize(Decimal(1)) or Decimal(1)
    adjustments: tuple[PhaseAdjustments, ...] = ()
    adjustment = draw(st.sampled_from(["none", "percentage", "nominal", "minimum"]))
    if adjustment == "percentage":
        discount = DiscountTerms("d", DiscountKind.PERCENTAGE, Decimal(10), "10 % off", False)
        adjustments = (PhaseAdjustments("phase", discounts=(discount,)),)
    elif adjustment == "nominal":
        discount = DiscountTerms("d", DiscountKind.NOMINAL, Decimal(30), "30 off", True)
        adjustments = (PhaseAdjustments("phase", discounts=(discount,)),)
    elif adjustment == "minimum":
        adjustments = (PhaseAdjustments("phase", minimums=(MinimumTerms("m", Decimal(500)),)),)
    return {
        "currency": currency,
        "structures": structures,
        "rates": rates,
        "events": events,
        "runs": runs,
        "threshold": threshold,
        "adjustments": adjustments,
    }


@settings(max_examples=300, deadline=None)
@given(periods())
def test_threshold_invoices_and_the_final_invoice_sum_to_the_whole_period(
    case: dict[str, object],
) -> None:
    currency = case["currency"]
    structures = case["structures"]
    rates = case["rates"]
    adjustments = case["adjustments"]
    threshold = case["threshold"]
    assert isinstance(currency, str) and isinstance(threshold, Decimal)
    usage: dict[str, Decimal] = {}
    invoiced: list[Invoiced] = []
    issued: list[InvoiceDraft] = []
    for n, (price_id, units) in enumerate(case["events"]):  # type: ignore[attr-defined]
        usage[price_id] = usage.get(price_id, ZERO) + units
        if n in case["runs"]:  # type: ignore[operator]
            draft = _whole(usage, structures, rates, adjustments, currency)  # type: ignore[arg-type]
            document = _run(draft, invoiced, threshold, currency)
            if document is not None:
                issued.append(document)
                assert document.totals.net >= threshold
    whole = _whole(usage, structures, rates, adjustments, currency)  # type: ignore[arg-type]
    final = deducted(whole, invoiced)
    documents = [*issued, final]
    excess = over_invoiced(whole, invoiced)
    if all(isinstance(s, pricing.Graduated) for s in structures.values()):  # type: ignore[attr-defined]
        assert not excess  # charges only grow: nothing is ever invoiced twice
    if excess:
        # VOLUME tiers whose total fell as usage grew: the final invoice is zero at those
        # rates, and what the threshold invoices took beyond the whole period is named
        # exactly (the merchant's to credit back); with it given back, the sums are exact.
        back = InvoiceDraft(
            tuple(
                Line(Kind.THRESHOLD, "back", Decimal(1), -p.net, -p.net, p.tax_rate, -p.tax)
                for p in excess
            )
        )
        documents.append(back)
    assert sum((d.totals.net for d in documents), ZERO) == whole.totals.net
    assert sum((d.totals.tax for d in documents), ZERO) == whole.totals.tax
    assert sum((d.totals.gross for d in documents), ZERO) == whole.totals.gross
    assert _per_rate(documents) == _per_rate([whole])
    assert final.totals.net >= 0 and final.totals.tax >= 0
    for draft in documents:  # every document's lines add up to it: net + tax = gross
        assert all(line.gross == line.net + line.tax for line in draft.lines)
    deductions = [line for line in final.lines if line.kind is Kind.THRESHOLD]
    invoiced_total = sum((i.net for i in invoiced), ZERO)
    excess_total = sum((p.net for p in excess), ZERO)
    assert -sum((line.net for line in deductions), ZERO) == invoiced_total - excess_total


def test_crossing_exactly_at_the_threshold_invoices() -> None:
    structure = pricing.Graduated("m", (pricing.Tier(None, Decimal("1.00")),))
    draft = _whole({"p": Decimal(100)}, {"p": structure}, {"p": Decimal("0.2")}, (), "EUR")
    invoiced: list[Invoiced] = []
    document = _run(draft, invoiced, Decimal("100.00"), "EUR")
    assert document is not None
    assert (document.totals.net, document.totals.tax) == (Decimal("100.00"), Decimal("20.00"))
    just_below = _whole({"p": Decimal("99.99")}, {"p": structure}, {"p": Decimal("0.2")}, (), "EUR")
    assert _run(just_below, [], Decimal("100.00"), "EUR") is None


def test_a_deduction_never_takes_the_final_invoice_below_zero() -> None:
    """Usage that shrank after a threshold invoice (an event replaced): the final invoice
    deducts what is left at the rate, never more."""
    structure = pricing.Graduated("m", (pricing.Tier(None, Decimal("1.00")),))
    rates = {"p": Decimal("0.2")}
    invoiced: list[Invoiced] = []
    first = _whole({"p": Decimal(300)}, {"p": structure}, rates, (), "EUR")
    assert _run(first, invoiced, Decimal(100), "EUR") is not None
    shrunk = _whole({"p": Decimal(120)}, {"p": structure}, rates, (), "EUR")
    final = deducted(shrunk, invoiced)
    assert (final.totals.net, final.totals.tax, final.totals.gross) == (ZERO, ZERO, ZERO)


def test_tax_per_rate_is_the_whole_periods_less_what_was_invoiced() -> None:
    """Yen at 10 %: 15 then 25 more. One invoice for 40 owes 4; the threshold invoice of 15
    owed 2 (15 x 10 % = 1.5, rounded up), so the final invoice owes 2: 2 + 2 = 4."""
    structure = pricing.Graduated("m", (pricing.Tier(None, Decimal(1)),))
    rates = {"p": Decimal("0.1")}
    invoiced: list[Invoiced] = []
    first = _run(
        _whole({"p": Decimal(15)}, {"p": structure}, rates, (), "JPY"), invoiced, Decimal(10), "JPY"
    )
    assert first is not None and first.totals.tax == Decimal(2)
    final = deducted(_whole({"p": Decimal(40)}, {"p": structure}, rates, (), "JPY"), invoiced)
    assert (final.totals.net, final.totals.tax) == (Decimal(25), Decimal(2))
