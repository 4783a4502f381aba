"""MRR's arithmetic on rows as `analytics.queries` reads them: each frequency over its months,
seat prices at their contracted minimum, percentage discounts one after another within their
days and prices, `arrCalculation: EXCLUDE`, and the dates of schedules, phases and archiving."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from tally.analytics import service
from tally.analytics.queries import PercentageDiscount, RecurringPrice
from tally.models import PricingType, ScheduleStatus

DAY = date(2026, 6, 15)


def row(**overrides: Any) -> RecurringPrice:
    values: dict[str, Any] = {
        "schedule_id": "s1",
        "customer_id": "c1",
        "status": ScheduleStatus.ACTIVE,
        "schedule_start": date(2026, 1, 1),
        "schedule_end": None,
        "archived_at": None,
        "phase_id": "p1",
        "phase_start": date(2026, 1, 1),
        "phase_end": None,
        "phase_price_metadata": [],
        "price_id": "price1",
        "currency": "GBP",
        "billing_frequency": "MONTHLY",
        "pricing_type": PricingType.FIXED,
        "structure": {"pricingType": "FIXED", "price": "120.00"},
        **overrides,
    }
    return RecurringPrice(**values)


@pytest.mark.parametrize(
    ("frequency", "expected"),
    [
        ("MONTHLY", Decimal("120")),
        ("QUARTERLY", Decimal("40")),
        ("HALF_YEARLY", Decimal("20")),
        ("YEARLY", Decimal("10")),
        ("ONE_TIME", Decimal("0")),
    ],
)
def test_a_fixed_price_over_its_frequency(frequency: str, expected: Decimal) -> None:
    assert service.monthly_amount(row(billing_frequency=frequency)) == expected


def test_a_seat_price_counts_its_contracted_minimum() -> None:
    seats = row(
        pricing_type=PricingType.SEAT_BASED,
        billing_frequency="QUARTERLY",
        structure={"pricingType": "SEAT_BASED", "pricePerSeat": "15.00",
                   "contractedMinimumSeats": 4, "seatMetricId": "m"},
    )  # fmt: skip
    assert service.monthly_amount(seats) == Decimal(20)  # 4 x 15 / 3


def test_discounts_dates_and_exclusions() -> None:
    rows = [
        row(),
        row(price_id="price2", structure={"pricingType": "FIXED", "price": "80"}),
        row(price_id="price3", phase_price_metadata=[
            {"priceId": "price3", "arrCalculation": "EXCLUDE"}]),
        row(schedule_id="s2", phase_id="p2", phase_end=date(2026, 6, 14)),  # phase over
        row(schedule_id="s3", phase_id="p3", schedule_start=date(2026, 6, 16)),  # not yet
        row(schedule_id="s4", phase_id="p4", currency="EUR"),
    ]  # fmt: skip
    discounts = {
        "p1": [
            PercentageDiscount("p1", Decimal(50), ["price1"], None, None),
            PercentageDiscount("p1", Decimal(10), [], date(2026, 6, 1), date(2026, 6, 30)),
            PercentageDiscount("p1", Decimal(99), [], date(2026, 7, 1), None),  # not yet
        ]
    }
    found = service._mrr_on(rows, DAY, discounts, (ScheduleStatus.ACTIVE,), {})
    # price1: 120 x 0.5 x 0.9 = 54; price2: 80 x 0.9 = 72; price3 excluded.
    assert found["GBP"][0] == Decimal(126)
    assert found["EUR"][0] == Decimal(120)
    cancelled = [row(status=ScheduleStatus.CANCELLED, archived_at=datetime(2026, 6, 1, tzinfo=UTC))]
    assert service._mrr_on(cancelled, DAY, {}, service.RAN, {"s1": date(2026, 6, 1)}) == {}
    assert service._mrr_on(cancelled, date(2026, 5, 31), {}, service.RAN, {"s1": date(2026, 6, 1)})
    assert service._mrr_on(cancelled, DAY, {}, (ScheduleStatus.ACTIVE,), {}) == {}


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [("2026-1", None, "from"), (None, "2026-00", "to"), ("2026-05", "2026-04", "after")],
)
def test_months_window_refusals(first: str | None, last: str | None, message: str) -> None:
    with pytest.raises(service.InvalidRequest, match=message):
        service.months_window(DAY, first, last)


def test_months_window_default_and_across_a_year() -> None:
    months = service.months_window(DAY)
    assert [m.key for m in months][:2] == ["2025-07", "2025-08"] and months[-1].key == "2026-06"
    assert [m.key for m in service.months_window(DAY, "2025-11", "2026-02")] == [
        "2025-11", "2025-12", "2026-01", "2026-02"
    ]  # fmt: skip
