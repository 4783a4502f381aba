"""Reading what the engine needs from the database: schedules as engine terms, in bulk."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tally.engine import pricing
from tally.engine.schedule import (
    Cadence,
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
    PhaseDiscount,
    PhaseMinimum,
    PhasePrice,
    Price,
    PricingType,
    ScheduleStatus,
    ScheduleTaxRate,
    SeatMetric,
    TaxRate,
)


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
        overage_months=_overage_months(raw.get("overagesBillingFrequency")),
    )


def _overage_months(frequency: str | None) -> int | None:
    """NONE (or absent): overages are billed with the price itself."""
    if frequency is None or frequency not in BillingFrequency.__members__:
        return None
    return BillingFrequency(frequency).months


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
    structure = _STRUCTURES[price.pricing_type](price.structure, seat_types)
    if isinstance(structure, pricing.Graduated) and price.usage_calculation_period:
        # kept beside the structure, as Sequence's price has it; read by PERIODIC mode only
        period = price.usage_calculation_period
        months = BillingFrequency(period["frequency"]).months or 1
        structure = replace(structure, calculation_months=months * int(period["interval"]))
    return structure


def _price_terms(price: Price, structure: pricing.Structure) -> PriceTerms:
    return PriceTerms(
        id=price.id,
        product_id=price.product_id,
        name=price.name,
        months=price.billing_frequency.months,
        in_advance=price.billing_type is BillingType.IN_ADVANCE,
        structure=structure,
        cadence=_CADENCES.get(price.billing_frequency, Cadence.PERIODS),
        metric_parameters=tuple(
            (str(bound["parameterId"]), str(bound["value"]))
            for bound in price.custom_metric_parameters
        ),
    )


_CADENCES = {
    BillingFrequency.ON_DEMAND: Cadence.ON_DEMAND,
    BillingFrequency.PER_EVENT: Cadence.PER_EVENT,
}


@dataclass
class _Phase:
    """A phase's rows as read, before they become engine terms."""

    id: str
    start: date
    end: date | None
    invoice_threshold: Decimal | None = None
    price_ids: list[str] = field(default_factory=list)
    discounts: list[DiscountTerms] = field(default_factory=list)
    minimums: list[MinimumTerms] = field(default_factory=list)

    def terms(self, prices: dict[str, PriceTerms]) -> PhaseTerms:
        return PhaseTerms(
            id=self.id,
            start=self.start,
            end=self.end,
            prices=tuple(prices[price_id] for price_id in self.price_ids),
            discounts=tuple(self.discounts),
            minimums=tuple(self.minimums),
            invoice_threshold=self.invoice_threshold,
        )


def _phases(session: Session, schedule_ids: Sequence[str]) -> dict[str, list[_Phase]]:
    """Each schedule's phases in date order, with their prices, discounts and minimums: four
    queries of plain rows (no ORM objects: a batch reads thousands of them)."""
    phases: dict[str, _Phase] = {}
    by_schedule: dict[str, list[_Phase]] = defaultdict(list)
    of_schedules = BillingSchedulePhase.billing_schedule_id.in_(schedule_ids)
    for phase_id, schedule_id, start, end, threshold in session.execute(
        select(
            BillingSchedulePhase.id,
            BillingSchedulePhase.billing_schedule_id,
            BillingSchedulePhase.start_date,
            BillingSchedulePhase.end_date,
            BillingSchedulePhase.invoice_threshold,
        )
        .where(of_schedules)
        .order_by(BillingSchedulePhase.billing_schedule_id, BillingSchedulePhase.start_date)
    ):
        phases[phase_id] = _Phase(phase_id, start, end, threshold)
        by_schedule[schedule_id].append(phases[phase_id])
    for phase_id, price_id in session.execute(
        select(PhasePrice.phase_id, PhasePrice.price_id)
        .join(BillingSchedulePhase, BillingSchedulePhase.id == PhasePrice.phase_id)
        .where(of_schedules)
        .order_by(PhasePrice.phase_id, PhasePrice.position)
    ):
        phases[phase_id].price_ids.append(price_id)
    for row in session.execute(
        select(
            PhaseDiscount.phase_id,
            PhaseDiscount.id,
            PhaseDiscount.type,
            PhaseDiscount.amount,
            PhaseDiscount.message,
            PhaseDiscount.separate_line_item,
            PhaseDiscount.restrict_to_prices,
            PhaseDiscount.valid_from,
            PhaseDiscount.valid_to,
        )
        .where(
            PhaseDiscount.billing_schedule_id.in_(schedule_ids),
            PhaseDiscount.deleted_at.is_(None),
        )
        .order_by(PhaseDiscount.id)
    ):
        phases[row.phase_id].discounts.append(
            DiscountTerms(
                id=row.id,
                kind=DiscountKind(row.type.value),
                amount=row.amount,
                message=row.message,
                separate_line=row.separate_line_item,
                price_ids=frozenset(row.restrict_to_prices),
                valid_from=row.valid_from,
                valid_to=row.valid_to,
            )
        )
    for phase_id, minimum_id, amount, restricted in session.execute(
        select(
            PhaseMinimum.phase_id,
            PhaseMinimum.id,
            PhaseMinimum.amount,
            PhaseMinimum.restrict_to_prices,
        )
        .where(PhaseMinimum.billing_schedule_id.in_(schedule_ids))
        .order_by(PhaseMinimum.id)
    ):
        phases[phase_id].minimums.append(MinimumTerms(minimum_id, amount, frozenset(restricted)))
    return by_schedule


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    """What billing reads of a schedule row (plain values: a batch reads thousands)."""

    id: str
    customer_id: str
    status: ScheduleStatus
    start_date: date
    end_date: date | None
    recurrence_day_of_month: int | None
    auto_issue_invoices: bool
    roll_up_billing: bool
    default_due_date_days: int | None
    purchase_order_number: str | None
    reference: str | None
    memo: str | None
    billed_at: datetime | None
    attachment_assets: list[Any]


_RECORD_COLUMNS = [getattr(BillingSchedule, f.name) for f in fields(ScheduleRecord)]


@dataclass(frozen=True)
class TaxChoice:
    rate: Decimal
    version_id: str


@dataclass(frozen=True)
class LoadedSchedule:
    """A schedule, its engine terms, and what its invoices need besides."""

    schedule: ScheduleRecord
    terms: ScheduleTerms
    prices: dict[str, Price]
    taxes: dict[str, TaxChoice]  # by price id

    @property
    def currency(self) -> str:
        return next(iter(self.prices.values())).currency if self.prices else "USD"


def load(session: Session, account_id: str, schedule_ids: Sequence[str]) -> list[LoadedSchedule]:
    """The schedules with their phases, prices, discounts, minimums and tax rates: a fixed
    number of queries whatever the number of schedules."""
    schedules = [
        ScheduleRecord(*row)
        for row in session.execute(
            select(*_RECORD_COLUMNS)
            .where(BillingSchedule.account_id == account_id, BillingSchedule.id.in_(schedule_ids))
            .order_by(BillingSchedule.id)
        )
    ]
    ids = [schedule.id for schedule in schedules]
    phases = _phases(session, ids)
    price_ids = {p for parts in phases.values() for phase in parts for p in phase.price_ids}
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
    chosen = session.execute(
        select(
            ScheduleTaxRate.billing_schedule_id,
            ScheduleTaxRate.price_id,
            ScheduleTaxRate.tax_rate_id,
        ).where(ScheduleTaxRate.billing_schedule_id.in_(ids))
    ).all()
    current_versions = {
        rate.id: TaxChoice(rate.current.amount, rate.current.id)
        for rate in session.scalars(
            select(TaxRate)
            .where(TaxRate.account_id == account_id, TaxRate.id.in_({t for *_, t in chosen}))
            .options(selectinload(TaxRate.current))
        )
    }
    taxes: dict[str, dict[str, TaxChoice]] = defaultdict(dict)
    for schedule_id, price_id, tax_rate_id in chosen:
        if tax_rate_id in current_versions:
            taxes[schedule_id][price_id] = current_versions[tax_rate_id]
    terms_of = {pid: _price_terms(p, structure_of(p, seat_types)) for pid, p in prices.items()}
    loaded = []
    for schedule in schedules:
        schedule_phases = tuple(phase.terms(terms_of) for phase in phases[schedule.id])
        terms = ScheduleTerms(
            start=schedule.start_date,
            end=schedule.end_date,
            recurrence_day=schedule.recurrence_day_of_month or schedule.start_date.day,
            phases=schedule_phases,
        )
        used = {price.id for phase in schedule_phases for price in phase.prices}
        loaded.append(
            LoadedSchedule(
                schedule, terms, {pid: prices[pid] for pid in used}, dict(taxes[schedule.id])
            )
        )
    return loaded
