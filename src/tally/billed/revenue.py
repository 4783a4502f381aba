"""How revenue from a billed line is classified and recognised (Sequence's
`revenueClassification` and `revenueRecognitionMethod`), and what billing derives for the
lines it writes: the accounting export and revenue schedules read these."""

from enum import StrEnum

from tally.models import LineKind, PricingType


class RevenueRecognitionMethod(StrEnum):
    STRAIGHT_LINE = "STRAIGHT_LINE"  # evenly over the service period
    USAGE = "USAGE"  # as the usage billed happened
    MILESTONE = "MILESTONE"  # when a milestone is reached
    POINT_IN_TIME = "POINT_IN_TIME"  # at once, on delivery


class RevenueClassification(StrEnum):
    PREPAYMENT = "PREPAYMENT"  # paid ahead for credits: deferred until they are used
    EARNED = "EARNED"  # earned by the service billed
    BURNDOWN = "BURNDOWN"  # prepaid credits drawn down: revenue moving out of deferral


_BY_PRICING = {
    PricingType.ONE_TIME: RevenueRecognitionMethod.POINT_IN_TIME,
    PricingType.FIXED: RevenueRecognitionMethod.STRAIGHT_LINE,
    PricingType.SEAT_BASED: RevenueRecognitionMethod.STRAIGHT_LINE,
}


def billed_revenue(
    kind: LineKind, pricing_type: PricingType | None
) -> tuple[RevenueClassification, RevenueRecognitionMethod | None]:
    """A billing-written line's classification and recognition method: credit lines burn
    prepaid credits down; price lines earn, recognised by how their price charges (usage
    prices as used, one-time charges at once, recurring fees evenly over the period).
    Discounts, minimums and credits follow the lines they adjust: no method of their own."""
    if kind is LineKind.CREDIT:
        return RevenueClassification.BURNDOWN, None
    if kind is not LineKind.PRICE or pricing_type is None:
        return RevenueClassification.EARNED, None
    return RevenueClassification.EARNED, _BY_PRICING.get(
        pricing_type, RevenueRecognitionMethod.USAGE
    )
