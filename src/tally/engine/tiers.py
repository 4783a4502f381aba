"""What each tier of a tiered price charged: the breakdown an invoice line keeps, so the
customer can check a graduated or volume amount tier by tier (as Stripe's invoices show it).

Every function here mirrors one formula of `pricing` and returns its parts exactly: the
amounts of the tiers it returns sum to what that formula returns, at full precision (a
hypothesis property in tests/engine/test_tiers.py). Tiers that charged nothing (no units and
no fee) are left out. Rounding for people is `shown_amounts`, which keeps the sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from tally.core.wire import plain
from tally.engine.money import ZERO, minor_unit, round_money
from tally.engine.pricing import Tier, Volume, lower_bounds, volume_tier


@dataclass(frozen=True)
class TierCharge:
    """One tier's part of a line: `quantity` units at `rate` plus `fee` is `amount`
    (`amount` alone for per-event capped VOLUME tiers, whose events are capped one by one)."""

    number: int  # 1 for the first tier
    lower_bound: Decimal  # exclusive (the previous tier's upper bound; 0 for the first)
    upper_bound: Decimal | None  # inclusive; None for the open last tier
    quantity: Decimal
    rate: Decimal
    fee: Decimal
    amount: Decimal
    all_units: bool = False  # VOLUME: the tier prices every unit of the line

    def wire(self) -> dict[str, Any]:
        """As an invoice line keeps it (JSON, decimal strings)."""
        return {
            "tier": self.number,
            "lowerBound": plain(self.lower_bound),
            "upperBound": None if self.upper_bound is None else plain(self.upper_bound),
            "quantity": plain(self.quantity),
            "rate": plain(self.rate),
            "flatFee": plain(self.fee),
            "amount": plain(self.amount),
            "allUnits": self.all_units,
        }


def _units(quantity: Decimal, lower: Decimal, upper: Decimal | None) -> Decimal:
    """The units of `quantity` that fall in (lower, upper]."""
    if quantity <= lower:
        return ZERO
    top = quantity if upper is None else min(quantity, upper)
    return top - lower


def graduated_increment_tiers(
    before: Decimal, after: Decimal, tiers: Sequence[Tier]
) -> tuple[TierCharge, ...]:
    """`pricing.graduated(after) - pricing.graduated(before)` tier by tier: the units each
    tier gained, and the fee of a tier the usage entered (0 to q is `graduated(q)`)."""
    charges = []
    for number, (lower, tier) in enumerate(zip(lower_bounds(tiers), tiers, strict=True), 1):
        units = _units(after, lower, tier.upper_bound) - _units(before, lower, tier.upper_bound)
        fee = (tier.fee if after > lower else ZERO) - (tier.fee if before > lower else ZERO)
        if units or fee:
            charges.append(
                TierCharge(number, lower, tier.upper_bound, units, tier.price, fee,
                           units * tier.price + fee)
            )  # fmt: skip
    return tuple(charges)


def graduated_tiers(quantity: Decimal, tiers: Sequence[Tier]) -> tuple[TierCharge, ...]:
    """`pricing.graduated`: every tier reached, its units and its fee."""
    return graduated_increment_tiers(ZERO, max(quantity, ZERO), tiers)


def periodic_tiers(
    parts: Sequence[tuple[Decimal, Decimal]], tiers: Sequence[Tier]
) -> tuple[TierCharge, ...]:
    """`pricing.periodic`: each calculation period's increments, added up per tier."""
    merged: dict[int, TierCharge] = {}
    for before, after in parts:
        for part in graduated_increment_tiers(before, after, tiers):
            known = merged.get(part.number)
            merged[part.number] = (
                part
                if known is None
                else replace(
                    part,
                    quantity=known.quantity + part.quantity,
                    fee=known.fee + part.fee,
                    amount=known.amount + part.amount,
                )
            )
    kept = [merged[number] for number in sorted(merged)]
    return tuple(charge for charge in kept if charge.quantity or charge.fee)


def _volume_charge(
    tiers: Sequence[Tier], tier: Tier, units: Decimal, fee: Decimal, amount: Decimal
) -> TierCharge:
    index = tiers.index(tier)
    lower = lower_bounds(tiers)[index]
    return TierCharge(index + 1, lower, tier.upper_bound, units, tier.price, fee, amount, True)


def volume_tiers(quantity: Decimal, structure: Volume) -> tuple[TierCharge, ...]:
    """`pricing.volume`: the one tier the whole quantity falls in."""
    if quantity <= 0:
        return ()
    tier = volume_tier(quantity, structure.tiers)
    amount = quantity * tier.price + tier.fee
    return (_volume_charge(structure.tiers, tier, quantity, tier.fee, amount),)


def volume_per_event_tiers(
    quantity: Decimal, capped_sums: Sequence[Decimal], structure: Volume
) -> tuple[TierCharge, ...]:
    """`pricing.volume_per_event`: the tier of the total, its events' capped charges."""
    if quantity <= 0:
        return ()
    tier = volume_tier(quantity, structure.tiers)
    amount = capped_sums[structure.tiers.index(tier)] + tier.fee
    return (_volume_charge(structure.tiers, tier, quantity, tier.fee, amount),)


def volume_increment_tiers(
    before: Decimal, after: Decimal, structure: Volume
) -> tuple[TierCharge, ...]:
    """`pricing.running_increment` of a VOLUME price (ON_DEMAND): the new units at the tier
    the running total reaches, with its fee when the total enters it."""
    if after <= 0:
        return ()
    tier = volume_tier(after, structure.tiers)
    entered = before <= 0 or volume_tier(before, structure.tiers) is not tier
    fee = tier.fee if entered else ZERO
    units = after - before
    return (_volume_charge(structure.tiers, tier, units, fee, units * tier.price + fee),)


def shown_amounts(amounts: Sequence[Decimal], currency: str) -> list[Decimal]:
    """`amounts` rounded to the currency's minor unit so that they still add up: to the
    rounded sum (half up, as the line they make is rounded). Each is its own rounding, or
    one minor unit off where the sum needs it (largest remainders first)."""
    rounded = [round_money(amount, currency) for amount in amounts]
    unit = minor_unit(currency)
    missing = int((round_money(sum(amounts, ZERO), currency) - sum(rounded, ZERO)) / unit)
    if missing:
        step = unit if missing > 0 else -unit
        # Those that rounding moved furthest from where the sum needs them go first.
        order = sorted(range(len(amounts)), key=lambda i: (rounded[i] - amounts[i]) * step)
        for i in order[: abs(missing)]:
            rounded[i] += step
    return rounded
