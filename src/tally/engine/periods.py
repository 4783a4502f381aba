"""Billing periods: calendar dates, the end inclusive, aligned on a day of the month.

A schedule's periods are anchored at its start and aligned on `recurrence_day` (clamped to
the month's length: 31 is the 28th or 29th in February). The first and last periods may be
served only in part; they prorate by days served over days in the period.
"""

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import takewhile

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"a period cannot end ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def overlap(self, other: "Period") -> "Period | None":
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Period(start, end) if start <= end else None


def prorated(part: Period, whole: Period) -> Decimal:
    """The share of `whole` that `part` serves, by days (both inclusive)."""
    return Decimal(part.days) / Decimal(whole.days)


def _month_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _boundary(month_index: int, day: int) -> date:
    year, month = divmod(month_index, 12)
    return _month_day(year, month + 1, day)


def periods(start: date, recurrence_day: int, months: int) -> Iterator[Period]:
    """The nominal periods of `months` months from the one containing `start`, forever.

    Boundaries fall on `recurrence_day` (clamped) every `months` months; the first period is
    the one whose boundary is the latest on or before `start`.
    """
    if not 1 <= recurrence_day <= 31 or months < 1:
        raise ValueError("recurrence day is 1..31 and a period at least a month")
    first = start.year * 12 + start.month - 1
    if _boundary(first, recurrence_day) > start:
        first -= 1
    index = first
    while True:
        yield Period(
            _boundary(index, recurrence_day), _boundary(index + months, recurrence_day) - ONE_DAY
        )
        index += months


@lru_cache(maxsize=4096)
def periods_until(start: date, recurrence_day: int, months: int, until: date) -> tuple[Period, ...]:
    """`periods` that start on or before `until`, remembered: a batch of schedules asks for
    the same few sequences over and over."""
    return tuple(takewhile(lambda p: p.start <= until, periods(start, recurrence_day, months)))


def calculation_parts(
    served: Period, start: date, recurrence_day: int, months: int
) -> list[tuple[date, Period]]:
    """The usage calculation periods of `months` months (anchored like the billing periods of
    a schedule starting on `start`) that `served` falls in: for each, the day its usage counts
    from (its start, not before the schedule's) and the days of `served` inside it."""
    parts = []
    for calculation in periods_until(start, recurrence_day, months, served.end):
        inside = calculation.overlap(served)
        if inside is not None:
            parts.append((max(calculation.start, start), inside))
    return parts
