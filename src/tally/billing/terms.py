"""Reading what the engine needs from the database: schedules as engine terms, in bulk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tally.engine import pricing
from tally.engine.schedule import (
    DiscountKind,
    DiscountTerms,
    MinimumTerms,
    PhaseTerms,
    PriceTerms,
    ScheduleTerms,
)
from tally.models import (
    BillingFrequency,
    BillingSchedule,
    BillingSchedulePhase,
    BillingType,
    Price,
    PricingType,
    SeatMetric,
    TaxRate,
)

MONTHS = {
    BillingFrequency.MONTHLY: 1,
    BillingFrequency.QUARTERLY: 3,
    BillingFrequency.HALF_YEARLY: 6,
    BillingFrequency.YEARLY: 12,
}


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _optional(value: Any) -> Decimal | None:
    return None if value is None else _decimal(value)


def _tiers(raw: Sequence[dict[str, Any]]) -> tuple[pricing.Tier, ...]:
    return tuple(
        pricing.Tier(
            upper_bound=_optional(tier.get("upperBound")),
            price=_decimal(tier["price"]),
            fee=_decimal(tier.get("fee") or 0),
            is_percentage=bool(tier.get("isPricePercentage", False)),
            min_price=_optional(tier.get("minPrice")),
            max_price=_optional(tier.get("maxPrice")),
        )
        for tier in raw
    )


def _seat_based(raw: dict[str, Any], seat_types: dict[str, str]) -> pricing.SeatBased:
    return pricing.SeatBased(
        seat_type=seat_types[raw["seatMetricId"]],
        price_per_seat=_decimal(raw["pricePerSeat"]),
        proration=pricing.Proration(raw["prorationStrategy"]),
        contracted_minimum=int(raw.get("contractedMinimumSeats") or 0),
        tiers=_tiers(raw.get("tiers") or []),
        prorate_flat_fees=bool(raw.get("prorateFlatFees", True)),
    )


_STRUCTURES: dict[PricingType, Callable[[dict[str, Any], dict[str, str]], pricing.Structure]] = {
    PricingType.FIXED: lambda raw, _: pricing.Fixed(_decimal(raw["price"])),
    PricingType.ONE_TIME: lambda raw, _: pricing.OneTime(_decimal(raw["price"])),
    PricingType.LINEAR: lambda raw, _: pricing.Linear(
        raw["usageMetricId"],
        _decimal(raw["pricePerUnit"]),
        is_percentage=bool(raw.get("isPricePercentage", False)),
    ),
    PricingType.PACKAGE: lambda raw, _: pricing.Package(
        raw["usageMetricId"], _decimal(raw["packageSize"]), _decimal(raw["pricePerPackage"])
    ),
    PricingType.VOLUME: lambda raw, _: pricing.Volume(raw["usageMetricId"], _tiers(raw["tiers"])),
    PricingType.GRADUATED: lambda raw, _: pricing.Graduated(
        raw["usageMetricId"],
        _tiers(raw["tiers"]),
        pricing.CalculationMode(raw.get("usageCalculationMode", "BILLING_PERIOD")),
    ),
    PricingType.SEAT_BASED: _seat_based,
}


def structure_of(price: Price, seat_types: dict[str, str]) -> pricing.Structure:
    """The engine's view of a price's stored (Sequence-shaped) structure."""
    return _STRUCTURES[price.pricing_type](price.structure, seat_types)


def _price_terms(price: Price, structure: pricing.Structure) -> PriceTerms:
    return PriceTerms(
        id=price.id,
        product_id=price.product_id,
        name=price.name,
        months=MONTHS.get(price.billing_frequency),
        in_advance=price.billing_type is BillingType.IN_ADVANCE,
        structure=structure,
    )


def _phase_terms(phase: BillingSchedulePhase, prices: dict[str, PriceTerms]) -> PhaseTerms:
    return PhaseTerms(
        id=phase.id,
        start=phase.start_date,
        end=phase.end_date,
        prices=tuple(prices[entry.price_id] for entry in phase.prices),
        discounts=tuple(
            DiscountTerms(
                id=d.id,
                kind=DiscountKind(d.type.value),
                amount=d.amount,
                message=d.message,
                separate_line=d.separate_line_item,
                price_ids=frozenset(d.restrict_to_prices),
            )
            for d in phase.discounts
        ),
        minimums=tuple(
            MinimumTerms(id=m.id, amount=m.amount, price_ids=frozenset(m.restrict_to_prices))
            for m in phase.minimums
        ),
    )


@dataclass(frozen=True)
class TaxChoice:
    rate: Decimal
    version_id: str


@dataclass(frozen=True)
class LoadedSchedule:
    """A schedule, its engine terms, and what its invoices need besides."""

    schedule: BillingSchedule
    terms: ScheduleTerms
    prices: dict[str, Price]
    taxes: dict[str, TaxChoice]  # by price id

    @property
    def currency(self) -> str:
        return next(iter(self.prices.values())).currency if self.prices else "USD"


def load(session: Session, account_id: str, schedule_ids: Sequence[str]) -> list[LoadedSchedule]:
    """The schedules with their phases, prices, discounts, minimums and tax rates: a fixed
    number of queries whatever the number of schedules."""
    schedules = list(
        session.scalars(
            select(BillingSchedule)
            .where(BillingSchedule.account_id == account_id, BillingSchedule.id.in_(schedule_ids))
            .options(
                selectinload(BillingSchedule.phases).options(
                    selectinload(BillingSchedulePhase.prices),
                    selectinload(BillingSchedulePhase.discounts),
                    selectinload(BillingSchedulePhase.minimums),
                ),
                selectinload(BillingSchedule.tax_rates),
            )
            .order_by(BillingSchedule.id)
        )
    )
    price_ids = {p.price_id for s in schedules for phase in s.phases for p in phase.prices}
    prices = {
        price.id: price
        for price in session.scalars(
            select(Price).where(Price.account_id == account_id, Price.id.in_(price_ids))
        )
    }
    seat_metric_ids = {p.seat_metric_id for p in prices.values() if p.seat_metric_id}
    seat_types = dict(
        session.execute(
            select(SeatMetric.id, SeatMetric.seat_type).where(
                SeatMetric.account_id == account_id, SeatMetric.id.in_(seat_metric_ids)
            )
        ).all()
    )
    tax_rate_ids = {t.tax_rate_id for s in schedules for t in s.tax_rates}
    current_versions = {
        rate.id: TaxChoice(rate.current.amount, rate.current.id)
        for rate in session.scalars(
            select(TaxRate)
            .where(TaxRate.account_id == account_id, TaxRate.id.in_(tax_rate_ids))
            .options(selectinload(TaxRate.current))
        )
    }
    terms_of = {pid: _price_terms(p, structure_of(p, seat_types)) for pid, p in prices.items()}
    loaded = []
    for schedule in schedules:
        phases = tuple(_phase_terms(phase, terms_of) for phase in schedule.phases)
        terms = ScheduleTerms(
            start=schedule.start_date,
            end=schedule.end_date,
            recurrence_day=schedule.recurrence_day_of_month or schedule.start_date.day,
            phases=phases,
        )
        used = {price.id for phase in phases for price in phase.prices}
        taxes = {
            t.price_id: current_versions[t.tax_rate_id]
            for t in schedule.tax_rates
            if t.tax_rate_id in current_versions
        }
        loaded.append(LoadedSchedule(schedule, terms, {pid: prices[pid] for pid in used}, taxes))
    return loaded
