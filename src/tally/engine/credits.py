"""Credit grants spent on an invoice: metric credits first, then cash, as negative lines.

An invoice's lines come in as `assemble` made them (discounts netted in or on their own
lines, minimum true-ups added, every line rounded and taxed). What a line still costs is its
net less the separate discount lines taken off it; credits never take more than that, so no
line (and no invoice) goes below zero.

- A METRIC grant offsets the usage lines of its metric, one credit per unit, each unit at
  the line's effective unit price (what the line still costs / the units still uncovered).
- Then CURRENCY grants of the invoice's currency offset what remains of any line (price
  lines and true-ups), one credit per unit of money, in whole minor units.
- `restrictToPrices`, when not empty, limits a grant to the lines of those prices.
- Within each type the grant expiring soonest goes first (never-expiring last, then in
  the order given); lines are offset in invoice order.

Each allocation is one CREDIT line (a grant on one line): its net is minus the amount, its
tax rate the offset line's. Taxes are then worked out again for the whole invoice, once per
rate (`engine/tax.py`): a rate's tax is its nets' sum (never below zero, as credits never
take more than a line costs) times the rate, rounded once, so a credited invoice never owes
negative tax. Amounts are whole minor units; totals stay sums of the lines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_DOWN, Decimal

from tally.engine.invoice import InvoiceDraft, Kind, Line, taxed_per_rate
from tally.engine.money import ZERO, minor_unit, round_money

RATE_PLACES = Decimal("0.000001")  # shown rates; amounts stay exact


@dataclass(frozen=True)
class Grant:
    """A grant as an invoice may spend it. `balance` is in credits: units of `metric_id`
    for a metric grant, money of `currency` for a cash one (`metric_id` None)."""

    grant_id: str
    name: str
    balance: Decimal
    currency: str
    metric_id: str | None = None
    expiry_date: date | None = None
    price_ids: frozenset[str] = frozenset()  # empty: every price

    @property
    def is_metric(self) -> bool:
        return self.metric_id is not None


@dataclass(frozen=True)
class Metered:
    """A usage line's metric and the units it bills."""

    metric_id: str
    units: Decimal


@dataclass(frozen=True)
class Spent:
    """What an invoice takes from one grant: `credits` off its balance, `amount` (money,
    positive) off the invoice."""

    grant_id: str
    credits: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Credited:
    draft: InvoiceDraft
    spent: tuple[Spent, ...]  # one per grant used, in the order used


def spending_order(grants: Sequence[Grant]) -> list[Grant]:
    """Metric grants before cash ones; within each, soonest expiry first, never-expiring
    last, ties in the order given."""
    return sorted(
        grants,
        key=lambda g: (not g.is_metric, g.expiry_date is None, g.expiry_date or date.min),
    )


def _still_costs(line: Line) -> Decimal:
    if line.kind is Kind.PRICE:
        return max(line.net - line.discounted, ZERO)
    if line.kind is Kind.MINIMUM:
        return max(line.net, ZERO)
    return ZERO


def _credit_line(grant: Grant, line: Line, credits: Decimal, amount: Decimal) -> Line:
    net = -amount
    if grant.is_metric:
        quantity = credits
        rate = -(amount / credits).quantize(RATE_PLACES) if credits else ZERO
        description = f"{credits.normalize():f} credits of {line.title}"
    else:
        quantity, rate, description = Decimal(1), net, None
    return Line(
        kind=Kind.CREDIT,
        title=grant.name,
        quantity=quantity,
        rate=rate,
        net=net,
        tax_rate=line.tax_rate,
        tax=ZERO,  # taxed per rate with the whole invoice
        description=description,
        price_id=line.price_id,
        product_id=line.product_id,
        service=line.service,
        tax_rate_version_id=line.tax_rate_version_id,
        credit_grant_id=grant.grant_id,
    )


def _room(lines: Sequence[Line]) -> dict[Decimal, Decimal] | None:
    """On a document deducting threshold invoices, what each tax rate still bills: credits
    take no more (the deducted charges were credited on their own invoices)."""
    if not any(line.kind is Kind.THRESHOLD for line in lines):
        return None
    room: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        room[line.tax_rate] += line.net
    return room


def _offer(
    grant: Grant,
    left: Decimal,
    cost: Decimal,
    units: Decimal | None,
    usage: Metered | None,
    currency: str,
) -> tuple[Decimal, Decimal] | None:
    """What `grant` (`left` credits) would take off a line still costing `cost`: (credits,
    money); None when it cannot take from the line."""
    if grant.is_metric:
        if usage is None or units is None or usage.metric_id != grant.metric_id or units <= 0:
            return None
        credits = min(left, units)
        amount = cost if credits == units else round_money(credits * cost / units, currency)
        return credits, amount
    amount = min(cost, left.quantize(minor_unit(currency), rounding=ROUND_DOWN))
    return amount, amount


def _within(
    room: dict[Decimal, Decimal], rate: Decimal, credits: Decimal, amount: Decimal
) -> tuple[Decimal, Decimal]:
    """An allocation cut to what its tax rate still bills (credits in proportion)."""
    cut = min(amount, max(room[rate], ZERO))
    if cut < amount:
        credits, amount = (credits * cut / amount if amount else ZERO), cut
    room[rate] -= amount
    return credits, amount


def apply_credits(
    draft: InvoiceDraft,
    grants: Sequence[Grant],
    metered: Mapping[int, Metered],
    currency: str,
) -> Credited:
    """The invoice with its credit lines appended, and what it takes from each grant.

    `metered` gives, by position in `draft.lines`, the usage lines' metric and units."""
    lines = draft.lines
    costs = [_still_costs(line) for line in lines]
    units = {i: m.units for i, m in metered.items()}
    room = _room(lines)
    credit_lines: list[Line] = []
    spent: list[Spent] = []
    for grant in spending_order(grants):
        if not grant.is_metric and grant.currency != currency:
            continue
        left = grant.balance
        taken_credits, taken_amount = ZERO, ZERO
        for i, line in enumerate(lines):
            if left <= 0:
                break
            if costs[i] <= 0 or (grant.price_ids and line.price_id not in grant.price_ids):
                continue
            offer = _offer(grant, left, costs[i], units.get(i), metered.get(i), currency)
            if offer is None:
                continue
            credits, amount = offer
            if amount <= 0 and not grant.is_metric:
                break
            if room is not None and amount > 0:  # not below what threshold invoices left
                credits, amount = _within(room, line.tax_rate, credits, amount)
                if amount <= 0:
                    continue
            if grant.is_metric:
                units[i] -= credits
            costs[i] -= amount
            left -= credits
            taken_credits += credits
            taken_amount += amount
            credit_lines.append(_credit_line(grant, line, credits, amount))
        if taken_credits > 0:
            spent.append(Spent(grant.grant_id, taken_credits, taken_amount))
    return Credited(taxed_per_rate((*lines, *credit_lines), currency), tuple(spent))


@dataclass(frozen=True)
class Claim:
    """A credit line already on an invoice: `credits` taken from its grant for `amount`
    (money, positive) off the invoice."""

    grant_id: str
    is_metric: bool
    credits: Decimal
    amount: Decimal


def respend(claims: Sequence[Claim], balances: Mapping[str, Decimal], currency: str) -> list[Claim]:
    """The claims cut down to what the grants hold now (in order: earlier claims keep
    theirs); a grant absent from `balances` holds nothing. A metric claim keeps its unit
    price; a cash claim is cut to whole minor units. Never more than claimed."""
    left = dict(balances)
    unit = minor_unit(currency)
    result = []
    for claim in claims:
        available = max(left.get(claim.grant_id, ZERO), ZERO)
        if claim.is_metric:
            credits = min(claim.credits, available)
            amount = (
                claim.amount
                if credits == claim.credits
                else round_money(credits * claim.amount / claim.credits, currency)
                if claim.credits
                else ZERO
            )
        else:
            amount = min(claim.amount, available.quantize(unit, rounding=ROUND_DOWN))
            credits = amount
        left[claim.grant_id] = available - credits
        result.append(replace(claim, credits=credits, amount=amount))
    return result
