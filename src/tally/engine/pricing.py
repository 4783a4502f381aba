"""Price structures and their formulas: quantity in, amount out, at full precision.

Tiers: a tier's lower bound is the previous tier's upper bound (exclusive), its upper bound
inclusive; the last tier has none. Percentage tiers (`is_percentage`) read the quantity as
money and the price as a fraction (1 is 100 %). Zero usage costs nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from tally.engine.money import round_money

ZERO = Decimal(0)


class Proration(StrEnum):
    USE_MAXIMUM = "USE_MAXIMUM"
    PRORATE_INCREMENTS = "PRORATE_INCREMENTS"
    PRORATE_ALL_CHANGES = "PRORATE_ALL_CHANGES"


class CalculationMode(StrEnum):
    BILLING_PERIOD = "BILLING_PERIOD"
    CUMULATIVE = "CUMULATIVE"  # tiers apply to usage since the schedule started
    # tiers apply to usage since the start of the usage calculation period (a number of
    # months, anchored like the billing periods), starting at 0 again at each new one
    PERIODIC = "PERIODIC"


@dataclass(frozen=True)
class Tier:
    upper_bound: Decimal | None  # None: the open-ended last tier
    price: Decimal
    fee: Decimal = ZERO
    is_percentage: bool = False
    min_price: Decimal | None = None  # per event, percentage VOLUME tiers only
    max_price: Decimal | None = None


@dataclass(frozen=True)
class Fixed:
    price: Decimal


@dataclass(frozen=True)
class OneTime:
    price: Decimal


@dataclass(frozen=True)
class Linear:
    metric_id: str
    price_per_unit: Decimal
    is_percentage: bool = False


@dataclass(frozen=True)
class Package:
    metric_id: str
    package_size: Decimal
    price_per_package: Decimal


@dataclass(frozen=True)
class Volume:
    metric_id: str
    tiers: tuple[Tier, ...]

    @property
    def per_event_limits(self) -> bool:
        """Whether a tier caps each event's charge (then events are priced one by one)."""
        return any(t.min_price is not None or t.max_price is not None for t in self.tiers)


@dataclass(frozen=True)
class Graduated:
    metric_id: str
    tiers: tuple[Tier, ...]
    mode: CalculationMode = CalculationMode.BILLING_PERIOD
    calculation_months: int | None = None  # PERIODIC: the usage calculation period


@dataclass(frozen=True)
class SeatBased:
    seat_type: str
    price_per_seat: Decimal
    proration: Proration
    contracted_minimum: int = 0
    tiers: tuple[Tier, ...] = field(default=())
    prorate_flat_fees: bool = True
    # Seats above the contracted minimum billed apart, in arrears, every this many months
    # (no longer than the price's own period); None: billed with the price.
    overage_months: int | None = None

    def overages_apart(self, price_months: int | None) -> bool:
        """Whether seats above the minimum are billed on their own periods: an overage
        frequency as long as the price's or shorter (a yearly price in advance with yearly
        overages bills the overages at the end of each year). A longer one is ignored."""
        return bool(self.overage_months and price_months and self.overage_months <= price_months)


Structure = Fixed | OneTime | Linear | Package | Volume | Graduated | SeatBased
UsageStructure = Linear | Package | Volume | Graduated


def lower_bounds(tiers: Sequence[Tier]) -> list[Decimal]:
    return [ZERO, *(t.upper_bound for t in tiers[:-1] if t.upper_bound is not None)]


def linear(quantity: Decimal, structure: Linear) -> Decimal:
    return quantity * structure.price_per_unit


def package(quantity: Decimal, structure: Package) -> Decimal:
    if quantity <= 0:
        return ZERO
    packages = math.ceil(quantity / structure.package_size)  # a started package is a package
    return packages * structure.price_per_package


def volume_tier(quantity: Decimal, tiers: Sequence[Tier]) -> Tier:
    """The one tier whose range holds `quantity`."""
    for tier in tiers:
        if tier.upper_bound is None or quantity <= tier.upper_bound:
            return tier
    return tiers[-1]


def volume(quantity: Decimal, structure: Volume) -> Decimal:
    """Every unit at the price of the tier the whole quantity falls in, plus its fee."""
    if quantity <= 0:
        return ZERO
    tier = volume_tier(quantity, structure.tiers)
    return quantity * tier.price + tier.fee


def capped_event_charge(value: Decimal, tier: Tier) -> Decimal:
    """One event's charge on a percentage tier with per-event limits (2 %, min 1, max 10)."""
    charge = value * tier.price
    if tier.min_price is not None:
        charge = max(charge, tier.min_price)
    if tier.max_price is not None:
        charge = min(charge, tier.max_price)
    return charge


def volume_per_event(
    quantity: Decimal, capped_sums: Sequence[Decimal], structure: Volume
) -> Decimal:
    """VOLUME with per-event limits: the tier is chosen by the total, then each event is
    charged on it and capped. `capped_sums[i]` is the sum of the events' capped charges
    priced on tier i (computed where the events are)."""
    if quantity <= 0:
        return ZERO
    tier = volume_tier(quantity, structure.tiers)
    return capped_sums[structure.tiers.index(tier)] + tier.fee


def graduated(quantity: Decimal, tiers: Sequence[Tier]) -> Decimal:
    """Each tier prices the units within it; every tier reached adds its fee."""
    if quantity <= 0:
        return ZERO
    total = ZERO
    for lower, tier in zip(lower_bounds(tiers), tiers, strict=True):
        if quantity <= lower:
            break
        top = quantity if tier.upper_bound is None else min(quantity, tier.upper_bound)
        total += (top - lower) * tier.price + tier.fee
    return total


def graduated_increment(before: Decimal, after: Decimal, tiers: Sequence[Tier]) -> Decimal:
    """What usage from `before` to `after` costs on tiers that count from the start
    (CUMULATIVE mode): the graduated amount of the total less that of what came before."""
    return graduated(after, tiers) - graduated(before, tiers)


def periodic(parts: Sequence[tuple[Decimal, Decimal]], tiers: Sequence[Tier]) -> Decimal:
    """PERIODIC mode: for each usage calculation period the billed days fall in, the usage
    counted in it before those days and through them; each part pays its increment on tiers
    that count from the calculation period's start."""
    return sum((graduated_increment(before, after, tiers) for before, after in parts), ZERO)


def running_increment(before: Decimal, after: Decimal, structure: UsageStructure) -> Decimal:
    """ON_DEMAND: what the usage that took a running total from `before` to `after` costs,
    each new unit priced on the tiers the running total has reached. GRADUATED and PACKAGE:
    the formula on the total less the formula on what came before; a VOLUME price's new
    units at the price of the tier the total reaches, plus its fee when the total enters it
    (units billed before are not priced again)."""
    if not isinstance(structure, Volume):
        return usage_amount(after, structure) - usage_amount(before, structure)
    if after <= 0:
        return ZERO
    tier = volume_tier(after, structure.tiers)
    entered = before <= 0 or volume_tier(before, structure.tiers) is not tier
    return (after - before) * tier.price + (tier.fee if entered else ZERO)


def per_event(values: Sequence[Decimal], structure: Linear, currency: str) -> Decimal:
    """PER_EVENT: every event is a charge of its own, rounded to the currency's minor unit
    (half up) as such; a day's line is the sum of its events' charges."""
    return sum((round_money(v * structure.price_per_unit, currency) for v in values), ZERO)


def usage_amount(quantity: Decimal, structure: UsageStructure) -> Decimal:
    if isinstance(structure, Linear):
        return linear(quantity, structure)
    if isinstance(structure, Package):
        return package(quantity, structure)
    if isinstance(structure, Volume):
        return volume(quantity, structure)
    return graduated(quantity, structure.tiers)


def seat_tiers(structure: SeatBased) -> tuple[Tier, ...]:
    """A seat price's tiers, or one open tier at the price per seat."""
    return structure.tiers or (Tier(upper_bound=None, price=structure.price_per_seat),)
