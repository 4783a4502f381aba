"""Invoice assembly: priced lines -> discounts -> minimum true-ups -> tax, rounded per rate.

Amounts stay at full precision until each line's net amount is rounded to the currency's
minor unit (half up); each rate's tax is its lines' rounded nets times the rate, rounded
once, and shared among its lines (`engine/tax.py`); totals are sums of rounded lines, so
net + tax = gross holds exactly, on every line and in total.
Separate discount lines and minimum true-ups are worked out against the price lines as
rounded, in whole minor units: a discount never takes an invoice below zero, and a true-up
brings its charges to exactly the rounded minimum.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from tally.engine.money import ZERO, minor_unit, round_money
from tally.engine.periods import Period
from tally.engine.schedule import DiscountKind, DiscountTerms, MinimumTerms
from tally.engine.tax import shared_taxes
from tally.engine.tiers import TierCharge, shown_amounts

HUNDRED = Decimal(100)
TRUE_UP_TITLE = "True-up charge"


class Kind(StrEnum):
    PRICE = "PRICE"
    DISCOUNT = "DISCOUNT"
    MINIMUM = "MINIMUM"
    CREDIT = "CREDIT"
    THRESHOLD = "THRESHOLD"  # deducts a threshold invoice: its net and tax are fixed


@dataclass(frozen=True)
class Share:
    """One customer's part of a rolled-up quantity."""

    customer_id: str
    quantity: Decimal


@dataclass(frozen=True)
class PricedLine:
    """A price's charge before discounts, at full precision."""

    price_id: str
    product_id: str
    phase_id: str
    title: str
    quantity: Decimal
    rate: Decimal
    amount: Decimal
    service: Period
    tax_rate: Decimal = ZERO
    tax_rate_version_id: str | None = None
    percentage: bool = False
    description: str | None = None
    breakdown: tuple[Share, ...] = ()
    tiers: tuple[TierCharge, ...] = ()  # tiered prices: what each tier charged of `amount`


@dataclass(frozen=True)
class NettedDiscount:
    """A discount netted into a price line (not a line of its own), as the document shows it
    below the line: `amount` in minor units, negative when it takes off."""

    title: str
    percentage: Decimal | None  # PERCENTAGE discounts: 10 is 10 %
    amount: Decimal


@dataclass(frozen=True)
class Line:
    kind: Kind
    title: str
    quantity: Decimal
    rate: Decimal
    net: Decimal
    tax_rate: Decimal
    tax: Decimal
    description: str | None = None
    price_id: str | None = None
    product_id: str | None = None
    service: Period | None = None
    percentage: bool = False
    tax_rate_version_id: str | None = None
    breakdown: tuple[Share, ...] = ()
    # PRICE lines: whole minor units taken off them by separate discount lines (not written,
    # so not part of the recalculation digest).
    discounted: Decimal = field(default=ZERO, repr=False)
    credit_grant_id: str | None = None  # CREDIT lines: the grant they draw on
    tiers: tuple[TierCharge, ...] = ()  # PRICE lines of tiered prices, before discounts
    # PRICE lines: discounts netted into `net`; `net` less their amounts is the line before
    # them (so the document can show the discount as an amount of its own).
    netted: tuple[NettedDiscount, ...] = ()

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax


@dataclass(frozen=True)
class Totals:
    net: Decimal
    tax: Decimal
    gross: Decimal


@dataclass(frozen=True)
class InvoiceDraft:
    lines: tuple[Line, ...]
    totals: Totals = field(init=False)

    def __post_init__(self) -> None:
        net = sum((line.net for line in self.lines), ZERO)
        tax = sum((line.tax for line in self.lines), ZERO)
        object.__setattr__(self, "totals", Totals(net, tax, net + tax))


def taxed_per_rate(lines: Sequence[Line], currency: str) -> InvoiceDraft:
    """The document of `lines` with each rate's tax rounded once and shared among its lines
    (`engine/tax.py`); call it whenever lines were added or changed. THRESHOLD lines keep
    their tax: what an earlier invoice charged (`engine/thresholds.py`)."""
    taxes = shared_taxes(
        [(line.net, line.tax_rate) for line in lines],
        currency,
        fixed=[line.tax if line.kind is Kind.THRESHOLD else None for line in lines],
    )
    return InvoiceDraft(
        tuple(replace(line, tax=tax) for line, tax in zip(lines, taxes, strict=True))
    )


@dataclass
class _Working:
    """A priced line while discounts are applied: what it still costs, what it gave away."""

    line: PricedLine
    amount: Decimal
    discounted: Decimal = ZERO  # given away on separate discount lines
    notes: list[str] = field(default_factory=list)
    netted: list[tuple[DiscountTerms, Decimal]] = field(default_factory=list)  # exact cuts

    def net_in(self, discount: DiscountTerms, cut: Decimal) -> None:
        self.amount -= cut
        self.notes.append(f"Includes {discount.message}")
        self.netted.append((discount, cut))

    def netted_discounts(self, currency: str) -> tuple[NettedDiscount, ...]:
        """The netted discounts in minor units: together exactly the rounded line less the
        rounded line before them."""
        if not self.netted:
            return ()
        total = round_money(self.amount, currency) - round_money(self.line.amount, currency)
        cuts = [-cut for _, cut in self.netted]
        parts = shown_amounts(cuts, currency)
        parts[-1] += total - sum(parts, ZERO)  # both sides rounded: at most a unit apart
        return tuple(
            NettedDiscount(
                discount.message,
                discount.amount if discount.kind is DiscountKind.PERCENTAGE else None,
                part,
            )
            for (discount, _), part in zip(self.netted, parts, strict=True)
        )


def _eligible(
    working: Sequence[_Working], phase_id: str, price_ids: frozenset[str]
) -> list[_Working]:
    return [
        w
        for w in working
        if w.line.phase_id == phase_id and (not price_ids or w.line.price_id in price_ids)
    ]


def _allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """`total` split in proportion to `weights` (exact decimals; the parts sum to it)."""
    whole = sum(weights, ZERO)
    if whole == 0:
        return [ZERO for _ in weights]
    parts = [total * weight / whole for weight in weights]
    parts[-1] = total - sum(parts[:-1], ZERO)
    return parts


def _split(total: Decimal, weights: Sequence[Decimal], unit: Decimal) -> list[Decimal]:
    """`total` split in proportion to `weights`, all in whole minor units: the parts sum to
    it exactly (largest remainders get the spare units) and none exceeds its weight when the
    total does not exceed theirs. No weight: all to the first."""
    units, shares = int(total / unit), [int(weight / unit) for weight in weights]
    whole = sum(shares)
    if whole <= 0:
        shares, whole = [1] + [0] * (len(shares) - 1), 1
    parts = [units * share // whole for share in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: -(units * shares[i] % whole))
    for i in by_remainder[: units - sum(parts)]:
        parts[i] += 1
    return [unit * part for part in parts]


def _shown(w: _Working, currency: str) -> Decimal:
    """What a priced line comes to on the invoice: its rounded line less the (whole minor
    units of) separate discount lines taken off it so far."""
    return round_money(w.amount, currency) - w.discounted


RateKey = tuple[Decimal, str | None]  # a tax rate and the version it comes from


def _by_rate(items: Sequence[tuple[_Working, Decimal]]) -> dict[RateKey, Decimal]:
    grouped: dict[RateKey, Decimal] = defaultdict(lambda: ZERO)
    for working, amount in items:
        grouped[(working.line.tax_rate, working.line.tax_rate_version_id)] += amount
    return grouped


def _common_product(items: Sequence[_Working]) -> str | None:
    products = {w.line.product_id for w in items}
    return products.pop() if len(products) == 1 else None


def _discount(
    working: list[_Working],
    discount: DiscountTerms,
    phase_id: str,
    currency: str,
    extra: list[tuple[Line, Decimal]],
) -> None:
    if discount.kind is DiscountKind.PERCENTAGE:
        # A negative price line gives back part of an earlier charge (seats an in-advance
        # price billed, given up since): it gives back what that charge cost after this
        # discount, netted into it.
        for w in _eligible(working, phase_id, discount.price_ids):
            if w.amount < 0:
                w.net_in(discount, w.amount * discount.amount / HUNDRED)
    eligible = [w for w in _eligible(working, phase_id, discount.price_ids) if w.amount > 0]
    base = [w.amount - w.discounted for w in eligible]
    available = sum(base, ZERO)
    if available <= 0:
        return
    if discount.kind is DiscountKind.PERCENTAGE:
        cuts = [amount * discount.amount / HUNDRED for amount in base]
    else:
        cuts = _allocate(min(discount.amount, available), base)
    if not discount.separate_line:
        for w, cut in zip(eligible, cuts, strict=True):
            w.net_in(discount, cut)
        return
    # Separate lines take whole minor units off each price, never more than its line still
    # shows (all of it when the discount takes everything): rounding cannot leave a remainder
    # or push the invoice below zero.
    shown = [_shown(w, currency) for w in eligible]
    cut = sum(cuts, ZERO)
    taken = (
        sum(shown, ZERO) if cut >= available else min(round_money(cut, currency), sum(shown, ZERO))
    )
    cuts = _split(taken, shown, minor_unit(currency))
    for w, cut in zip(eligible, cuts, strict=True):
        w.discounted += cut
    product = _common_product(eligible)
    for (rate, version), cut in _by_rate(list(zip(eligible, cuts, strict=True))).items():
        line = Line(
            kind=Kind.DISCOUNT,
            title=discount.message,
            quantity=Decimal(1),
            rate=-cut,
            net=ZERO,
            tax_rate=rate,
            tax=ZERO,
            product_id=product,
            tax_rate_version_id=version,
        )
        extra.append((line, -cut))


def _minimum(
    working: list[_Working],
    minimum: MinimumTerms,
    phase_id: str,
    fraction: Decimal,
    service: Period | None,
    currency: str,
    extra: list[tuple[Line, Decimal]],
) -> None:
    eligible = _eligible(working, phase_id, minimum.price_ids)
    if not eligible:
        return
    # Against the covered lines as the invoice shows them, so they and the true-up come to
    # exactly the (rounded) minimum.
    covered = [_shown(w, currency) for w in eligible]
    required = round_money(minimum.amount * fraction, currency)
    shortfall = required - sum(covered, ZERO)
    if shortfall <= 0:
        return
    parts = _split(shortfall, covered, minor_unit(currency))
    product = _common_product(eligible)
    for (rate, version), part in _by_rate(list(zip(eligible, parts, strict=True))).items():
        line = Line(
            kind=Kind.MINIMUM,
            title=TRUE_UP_TITLE,
            quantity=Decimal(1),
            rate=part,
            net=ZERO,
            tax_rate=rate,
            tax=ZERO,
            description=f"Minimum of {required.normalize():f} not reached",
            product_id=product,
            service=service,
            tax_rate_version_id=version,
        )
        extra.append((line, part))


def _rounded(line: Line, amount: Decimal, currency: str, taxed: bool) -> Line:
    net = round_money(amount, currency)
    rate = line.tax_rate if taxed else ZERO
    return replace(line, net=net, tax_rate=rate, tax=ZERO)  # taxed per rate by `assemble`


@dataclass(frozen=True)
class PhaseAdjustments:
    """A phase's discounts and minimums, and the share of a period the phase serves (which
    prorates its minimums)."""

    phase_id: str
    discounts: tuple[DiscountTerms, ...] = ()
    minimums: tuple[MinimumTerms, ...] = ()
    fraction: Decimal = Decimal(1)
    service: Period | None = None


def assemble(
    priced: Sequence[PricedLine],
    adjustments: Sequence[PhaseAdjustments],
    currency: str,
    *,
    taxed: bool = True,
) -> InvoiceDraft:
    """The invoice's lines, in order: prices (discounts netted in), separate discounts,
    true-ups; every line rounded and taxed. `taxed` False: a tax-exempt or reverse-charged
    customer, every rate zero."""
    working = [_Working(line, line.amount) for line in priced]
    extra: list[tuple[Line, Decimal]] = []
    for phase in adjustments:
        for discount in phase.discounts:
            _discount(working, discount, phase.phase_id, currency, extra)
    for phase in adjustments:
        for minimum in phase.minimums:
            _minimum(
                working, minimum, phase.phase_id, phase.fraction, phase.service, currency, extra
            )
    lines = [
        _rounded(
            Line(
                kind=Kind.PRICE,
                title=w.line.title,
                quantity=w.line.quantity,
                rate=w.line.rate,
                net=ZERO,
                tax_rate=w.line.tax_rate,
                tax=ZERO,
                description="; ".join(filter(None, [w.line.description, *w.notes])) or None,
                price_id=w.line.price_id,
                product_id=w.line.product_id,
                service=w.line.service,
                percentage=w.line.percentage,
                tax_rate_version_id=w.line.tax_rate_version_id,
                breakdown=w.line.breakdown,
                discounted=w.discounted,
                tiers=w.line.tiers,
                netted=w.netted_discounts(currency),
            ),
            w.amount,
            currency,
            taxed,
        )
        for w in working
    ]
    lines += [_rounded(line, amount, currency, taxed) for line, amount in extra]
    return taxed_per_rate(lines, currency)


def service_span(lines: Sequence[PricedLine]) -> Period | None:
    if not lines:
        return None
    return Period(
        min(line.service.start for line in lines), max(line.service.end for line in lines)
    )


def first_day(lines: Sequence[PricedLine]) -> date | None:
    return min((line.service.start for line in lines), default=None)
