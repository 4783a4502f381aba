"""Seat metric, seat event and seat balance bodies in Sequence's shapes."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

from tally import usage_limits
from tally.api.schemas import Schema
from tally.api.types import in_utc, iso_text_only

SEAT_TYPE_PATTERN = r"^[a-z][a-z0-9_]*$"
MAX_SEATS = 2**31 - 1  # `total` is a 32-bit INTEGER column


def _billable(value: datetime) -> datetime:
    if not usage_limits.in_event_range(value):
        raise ValueError(f"must be {usage_limits.TIMESTAMP_RANGE}")
    return value


# A seat event's timestamp: within the years Tally bills (`usage_limits`).
SeatEventTimestamp = Annotated[
    AwareDatetime,
    BeforeValidator(iso_text_only),
    AfterValidator(_billable),
    AfterValidator(in_utc),
    Field(description=f"With a UTC offset; once it is applied, {usage_limits.TIMESTAMP_RANGE}."),
]

SeatType = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=SEAT_TYPE_PATTERN,
        description="Lower snake case, e.g. `admin_user`; immutable.",
        examples=["editor"],
    ),
]


class SeatMetricIn(Schema):
    seat_type: SeatType
    label: str = Field(min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=2000)


class SeatMetricUpdate(Schema):
    """PUT replaces label and description. `seatType` is immutable: restating the current one
    is accepted (a read-modify-write round trip), another one is refused."""

    label: str = Field(min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=2000)
    seat_type: str | None = Field(default=None, max_length=100)


class SeatMetricOut(Schema):
    id: str
    seat_type: str
    label: str
    description: str | None = None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class SeatEventIn(Schema):
    customer_alias: str = Field(min_length=1, max_length=500)
    seat_type: str = Field(min_length=1, max_length=100)
    event_timestamp: SeatEventTimestamp
    total: int = Field(strict=True, ge=0, le=MAX_SEATS, description="Absolute seat count.")
    customer_event_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="Idempotency key: a later event with the same id replaces this one. "
        "Defaults to the event's own id.",
    )


class SeatEventOut(Schema):
    id: str
    customer_event_id: str
    customer_alias: str
    seat_type: str
    sequence_account_id: str = Field(validation_alias="account_id")
    event_timestamp: datetime
    total: int


class SeatBalanceOut(Schema):
    seat_type: str
    total: int
    change_timestamp: datetime


class CustomerSeatBalancesOut(Schema):
    id: str
    sequence_account_id: str
    legal_name: str
    customer_aliases: list[str]
    total: int
    change_timestamp: datetime = Field(
        description="When the customer's seats last changed; its creation time if never."
    )
    balances: list[SeatBalanceOut]
