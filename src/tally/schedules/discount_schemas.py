"""/discounts bodies in Sequence's shapes: the discounts billing schedule phases give
(`UpdateDiscountRequest`, `DiscountResponse`). `amount` is a JSON number, read and written
exactly (see `tally.api.raw`)."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import Field, field_validator, model_validator

from tally.api.schemas import Schema
from tally.models import DiscountType, PhaseDiscount, SeatDiscountType
from tally.schedules.schemas import Day, ExactNumber, PriceIds


class DiscountUpdate(Schema):
    """PUT /discounts/{id}: replaces what Sequence lets change; the seat discount type and
    the phase stay. `validFrom`/`validTo` narrow it to days of its phase (inclusive); left
    out, it applies from the phase's start, or to its end."""

    billing_schedule_id: str = Field(
        min_length=1, max_length=36, description="The discount's own schedule: it cannot move."
    )
    price_ids: PriceIds = Field(description="Prices of its phase; empty: all of them.")
    separate_line_item: bool
    amount: ExactNumber = Field(description="PERCENTAGE: 10 is 10 %; NOMINAL: money.")
    discount_calculation_type: DiscountType
    message: str = Field(max_length=500, description="Shown on the invoice.")
    valid_from: Day | None = None
    valid_to: Day | None = None

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: Decimal) -> Decimal:
        # The rules of a discount a phase gives (`DiscountIn`); 1E+2 is stored as 100.
        if value <= 0:
            raise ValueError("a discount is more than 0")
        return Decimal(format(value, "f"))

    @field_validator("message")
    @classmethod
    def _message(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a discount needs a message, shown on the invoice")
        return value

    @model_validator(mode="after")
    def _percentage(self) -> "DiscountUpdate":
        if self.discount_calculation_type is DiscountType.PERCENTAGE and self.amount > 100:
            raise ValueError("a PERCENTAGE discount is at most 100")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("validTo is before validFrom")
        return self


class DiscountOut(Schema):
    """Sequence's DiscountResponse."""

    id: str
    sequence_account_id: str
    billing_schedule_id: str
    phase_id: str
    price_ids: list[str]
    separate_line_item: bool
    amount: ExactNumber
    discount_calculation_type: DiscountType
    message: str
    valid_from: date
    valid_to: date | None = None
    created_at: datetime
    updated_at: datetime
    seat_discount_type: SeatDiscountType

    @classmethod
    def build(cls, discount: PhaseDiscount, phase_dates: tuple[date, date | None]) -> "DiscountOut":
        """`phase_dates`: its phase's first and last day, what an unnarrowed one covers."""
        start, end = phase_dates
        return cls(
            id=discount.id,
            sequence_account_id=discount.account_id,
            billing_schedule_id=discount.billing_schedule_id,
            phase_id=discount.phase_id,
            price_ids=list(discount.restrict_to_prices),
            separate_line_item=discount.separate_line_item,
            amount=discount.amount,
            discount_calculation_type=discount.type,
            message=discount.message,
            valid_from=discount.valid_from or start,
            valid_to=discount.valid_to or end,
            created_at=discount.created_at,
            updated_at=discount.updated_at,
            # Sequence requires it; a discount given without one applies to every seat.
            seat_discount_type=discount.seat_discount_type or SeatDiscountType.ALL_SEATS,
        )

    def wire(self) -> dict[str, Any]:
        """The JSON form, `amount` an exact number."""
        data: dict[str, Any] = self.model_dump(mode="json", by_alias=True)
        data["amount"] = Decimal(data["amount"])
        return data
