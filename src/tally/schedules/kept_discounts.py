"""Discount ids across a schedule update. An update replaces the phases and their discounts,
and Sequence's phase request carries no discount id: a discount restated unchanged (same
phase position, kind, amount, message, line, prices, seats) keeps its id, its creation time
and the days `PUT /discounts/{id}` narrowed it to (while they stay within its phase), so an
id, once given, stays."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tally.models import BillingSchedule, PhaseDiscount


@dataclass(frozen=True)
class _Kept:
    id: str
    created_at: datetime
    valid_from: date | None
    valid_to: date | None


Kept = list[dict[tuple[Any, ...], list[_Kept]]]  # per phase position: terms -> discounts


def _terms(discount: PhaseDiscount) -> tuple[Any, ...]:
    return (
        discount.type,
        discount.amount,
        discount.message,
        discount.separate_line_item,
        tuple(discount.restrict_to_prices),
        discount.seat_discount_type,
    )


def take(schedule: BillingSchedule) -> Kept:
    """The schedule's live discounts, by phase position and terms (before an update)."""
    kept: Kept = []
    for phase in schedule.phases:
        by_terms: dict[tuple[Any, ...], list[_Kept]] = defaultdict(list)
        for discount in phase.discounts:
            by_terms[_terms(discount)].append(
                _Kept(discount.id, discount.created_at, discount.valid_from, discount.valid_to)
            )
        kept.append(by_terms)
    return kept


def restore(
    kept: Kept, position: int, start: date, end: date | None, discounts: Sequence[PhaseDiscount]
) -> None:
    """Give the new discounts of the phase at `position` (from `start` to `end`) the ids of
    the ones they restate."""
    if position >= len(kept):
        return
    for discount in discounts:
        candidates = kept[position].get(_terms(discount))
        if not candidates:
            continue
        old = candidates.pop(0)
        discount.id, discount.created_at = old.id, old.created_at
        within = (old.valid_from is None or old.valid_from >= start) and (
            old.valid_to is None or end is None or old.valid_to <= end
        )
        if within:
            discount.valid_from, discount.valid_to = old.valid_from, old.valid_to
