"""/api/alerts bodies (a Tally extension, in Sequence's conventions)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import EmailStr, Field

from tally.api.schemas import Schema
from tally.api.types import Currency, DecimalString, Name
from tally.models import Alert, AlertFiring, AlertType


class AlertIn(Schema):
    """Create, and update (PUT: the whole alert)."""

    name: Name
    type: AlertType
    customer_id: str | None = Field(
        default=None, max_length=36, description="One customer; or give priceId"
    )
    price_id: str | None = Field(
        default=None,
        max_length=36,
        description="An account default for every customer whose active billing schedule "
        "bills this price (or a variant of this list price); a customer's own alert of the "
        "same type and metric or currency replaces it for that customer",
    )
    metric_id: str | None = Field(
        default=None,
        max_length=36,
        description="USAGE: the metric; CREDIT_BALANCE: a metric grant's balance instead of cash",
    )
    threshold: DecimalString = Field(
        description="USAGE: a quantity, SPEND: an amount (both fire when reached, >=); "
        "CREDIT_BALANCE: a level (fires when the balance falls below it, <)"
    )
    currency: Currency | None = Field(default=None, description="SPEND, and a cash CREDIT_BALANCE")
    include_tax: bool = Field(
        default=False, description="SPEND: the IN_PROGRESS invoice's amount with tax"
    )
    email_addresses: list[EmailStr] = Field(default_factory=list, max_length=20)
    notify_customer: bool = Field(
        default=False,
        description="Email the customer's billing contacts too (PRIMARY, STANDARD in copy)",
    )


class AlertOut(Schema):
    id: str
    name: str
    type: AlertType
    customer_id: str | None = None
    price_id: str | None = None
    metric_id: str | None = None
    threshold: DecimalString
    currency: str | None = None
    include_tax: bool
    email_addresses: list[str]
    notify_customer: bool
    archived: bool
    archived_at: datetime | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def build(cls, alert: Alert) -> AlertOut:
        return cls(
            id=alert.id,
            name=alert.name,
            type=alert.type,
            customer_id=alert.customer_id,
            price_id=alert.price_id,
            metric_id=alert.metric_id,
            threshold=alert.threshold,
            currency=alert.currency,
            include_tax=alert.include_tax,
            email_addresses=list(alert.email_addresses),
            notify_customer=alert.notify_customer,
            archived=alert.archived_at is not None,
            archived_at=alert.archived_at,
            created_at=alert.created_at,
            updated_at=alert.updated_at,
        )


class AlertFiringOut(Schema):
    id: str
    alert_id: str
    customer_id: str
    period_key: str
    period_start: date | None = None
    period_end: date | None = None
    value: DecimalString
    threshold: DecimalString
    fired_at: datetime
    resolved_at: datetime | None = None

    @classmethod
    def build(cls, firing: AlertFiring) -> AlertFiringOut:
        return cls(
            id=firing.id,
            alert_id=firing.alert_id,
            customer_id=firing.customer_id,
            period_key=firing.period_key,
            period_start=firing.period_start,
            period_end=firing.period_end,
            value=firing.value,
            threshold=firing.threshold,
            fired_at=firing.fired_at,
            resolved_at=firing.resolved_at,
        )


class AlertStatusOut(Schema):
    """One alert as it stands for one customer now: how close it is."""

    alert: AlertOut
    value: DecimalString
    threshold: DecimalString
    period_start: date | None = None
    period_end: date | None = None
    fired: bool
    progress: DecimalString = Field(
        description="value / threshold (USAGE, SPEND), threshold / value (CREDIT_BALANCE): "
        "1 or more is crossed"
    )


class CustomerAlertsOut(Schema):
    customer_id: str
    items: list[AlertStatusOut]


def progress_of(alert_type: AlertType, value: Decimal, threshold: Decimal) -> Decimal:
    """How far towards the crossing, 1 = crossed, rounded to 4 places for display."""
    if alert_type is AlertType.CREDIT_BALANCE:
        if value <= 0:
            return Decimal(1) if threshold > 0 else Decimal(0)
        ratio = threshold / value
    else:
        if threshold <= 0:
            return Decimal(1)
        ratio = value / threshold
    return ratio.quantize(Decimal("0.0001"))
