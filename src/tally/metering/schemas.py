"""Usage metric bodies (Pydantic) and the documented shapes of the event endpoints.

The event endpoints decode and encode with msgspec (see `wire.py`) for speed and exact
decimals; the models here describe the same shapes for the OpenAPI document.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from tally import usage_limits
from tally.api.schemas import Schema
from tally.models import AggregationType, MetricType, UsageMetric

FilterValue = str | int | float | bool
NEEDS_PROPERTY = (
    AggregationType.SUM,
    AggregationType.UNIQUE,
    AggregationType.MAX,
    AggregationType.LATEST,
)
ALLOW_NEGATIVE_VALUES = (
    "Tally extension. Whether events may carry negative values of the aggregated property "
    "(SUM, MAX and LATEST): refunds, returns, corrections, billed as negative quantities. "
    "When false (the default), an event with a negative value is refused at ingestion, so a "
    "sign error in an integration is not billed; a stored event is corrected by sending it "
    "again with its customerEventId. Turning it off, or defining the metric over stored "
    "events with negative values, is refused while such events remain."
)


class UsageMetricIn(Schema):
    name: str = Field(min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=2000)
    metric_type: MetricType = MetricType.SIMPLE
    event_type: str = Field(min_length=1, max_length=500)
    aggregation_type: AggregationType
    aggregation_property: str | None = Field(default=None, min_length=1, max_length=500)
    grouping_property: str | None = Field(default=None, max_length=500)
    unit: str | None = Field(default=None, max_length=200)
    property_filters: dict[str, list[FilterValue]] = Field(
        default_factory=dict,
        description="Every filter must match: the event's property is one of the values.",
    )
    case_sensitive: bool | None = Field(default=None, description="Defaults to true.")
    properties_to_negate: list[str] = Field(
        default_factory=list, description="Filters that mean 'not one of the values'."
    )
    deleted_at: datetime | None = Field(
        default=None,
        description="Always empty: a metric is made live; DELETE it to delete it.",
    )
    allow_negative_values: bool | None = Field(
        default=None,
        description=ALLOW_NEGATIVE_VALUES + " Left out: false on create, unchanged on update.",
    )

    @field_validator("property_filters")
    @classmethod
    def _filters_have_values(
        cls, filters: dict[str, list[FilterValue]]
    ) -> dict[str, list[FilterValue]]:
        empty = [key for key, values in filters.items() if not values]
        if empty:
            raise ValueError(f"filters need at least one value: {', '.join(empty)}")
        return filters

    @model_validator(mode="after")
    def _consistent(self) -> "UsageMetricIn":
        if self.deleted_at is not None:
            raise ValueError(
                "deletedAt: a metric is made live; delete it with DELETE /usage-metrics/{id}"
            )
        if self.aggregation_type is AggregationType.CUSTOM:
            raise ValueError(
                "CUSTOM metrics are not supported; use COUNT, SUM, UNIQUE, MAX or LATEST"
            )
        if self.aggregation_type in NEEDS_PROPERTY and not self.aggregation_property:
            raise ValueError(f"{self.aggregation_type} metrics need an aggregationProperty")
        unknown = set(self.properties_to_negate) - set(self.property_filters)
        if unknown:
            raise ValueError(
                f"propertiesToNegate names no property filter: {', '.join(sorted(unknown))}"
            )
        return self

    def normalized_filters(self) -> dict[str, list[str]]:
        """Filter values as the text a property compares as (JSON spelling for non-strings)."""
        return {
            key: [_filter_text(value) for value in values]
            for key, values in self.property_filters.items()
        }


def _filter_text(value: FilterValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(Decimal(str(value)))
    return str(value)


class CustomMetricParameter(Schema):
    id: str
    usage_metric_id: str
    name: str
    type: str
    description: str
    default_value: str


class UsageMetricOut(Schema):
    id: str
    sequence_account_id: str
    name: str
    description: str | None = None
    metric_type: MetricType
    event_type: str
    aggregation_type: AggregationType
    aggregation_property: str | None = None
    grouping_property: str | None = None
    unit: str | None = None
    property_filters: dict[str, list[str]]
    case_sensitive: bool
    properties_to_negate: list[str]
    allow_negative_values: bool = Field(description=ALLOW_NEGATIVE_VALUES)
    parameters: list[CustomMetricParameter] = Field(default_factory=list)
    created_at: datetime
    deleted_at: datetime | None = None

    @classmethod
    def build(cls, metric: UsageMetric) -> "UsageMetricOut":
        return cls(
            id=metric.id,
            sequence_account_id=metric.account_id,
            name=metric.name,
            description=metric.description,
            metric_type=metric.metric_type,
            event_type=metric.event_type,
            aggregation_type=metric.aggregation_type,
            aggregation_property=metric.aggregation_property,
            grouping_property=metric.grouping_property,
            unit=metric.unit,
            property_filters=metric.property_filters,
            case_sensitive=metric.case_sensitive,
            properties_to_negate=list(metric.properties_to_negate),
            allow_negative_values=bool(metric.allow_negative_values),
            created_at=metric.created_at,
            deleted_at=metric.deleted_at,
        )


# --- documented shapes of the msgspec endpoints ----------------------------------------------


USAGE_LIMITS = (
    "Tally refuses (400, or `rejected` at its index in a batch) an event it could not bill: "
    f"a timestamp outside {usage_limits.TIMESTAMP_RANGE}; properties nested more than "
    f"{usage_limits.MAX_PROPERTY_DEPTH} levels deep; a value a SUM, MAX or LATEST metric of "
    "its event type reads (a JSON number, or a string spelling one in at most "
    f"{usage_limits.NUMBER_TEXT_LENGTH} characters) that is not "
    f"{usage_limits.QUANTITY_RANGE}, or is negative while the metric does not allow negative "
    "values (`allowNegativeValues`); a customer alias naming an archived customer."
)


class UsageEventIn(Schema):
    customer_alias: str = Field(
        description="A customer id or any alias, known or not yet (not an archived customer's)."
    )
    event_type: str
    event_timestamp: datetime | None = Field(
        default=None,
        description="With a UTC offset; defaults to the time of receipt. Once the offset is "
        f"applied, {usage_limits.TIMESTAMP_RANGE}.",
    )
    customer_event_id: str | None = Field(
        default=None,
        description="Your idempotency key: a later event with the same id replaces this one.",
    )
    event_properties: dict[str, Any] = Field(
        default_factory=dict,
        description="Stored as sent, numbers with every digit. The values metrics aggregate "
        f"must be {usage_limits.QUANTITY_RANGE} (and not negative unless the metric allows "
        f"it); at most {usage_limits.MAX_PROPERTY_DEPTH} levels deep.",
    )


class UsageEventOut(Schema):
    id: str
    customer_event_id: str
    customer_alias: str
    event_type: str
    sequence_account_id: str
    event_timestamp: datetime
    event_properties: dict[str, Any]


class UsageEventBatchIn(Schema):
    events: list[UsageEventIn] = Field(max_length=1000)


class EventError(Schema):
    type: str
    message: str
    details: list[dict[str, str]] | None = None


class EventResult(Schema):
    index: int
    status: Literal["accepted", "replaced", "rejected"]
    id: str | None = None
    customer_event_id: str | None = None
    duplicate: bool | None = Field(default=None, description="An exact resend: nothing changed.")
    error: EventError | None = None


class UsageEventBatchOut(Schema):
    accepted: int
    replaced: int
    rejected: int
    results: list[EventResult]


class UsageCalculationOut(Schema):
    name: str
    metric_type: MetricType
    event_type: str
    aggregation_type: AggregationType
    event_count: int
    skipped_event_count: int = Field(
        description="Events that matched but had no numeric value to aggregate."
    )
    value: float = Field(description="An exact decimal, written as a JSON number.")
    unit: str | None = None
    period_start: date
    period_end: date
    customer_aliases: list[str]
