"""Usage metric bodies (Pydantic) and the documented shapes of the event endpoints.

The event endpoints decode and encode with msgspec (see `wire.py`) for speed and exact
decimals; the models here describe the same shapes for the OpenAPI document.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from tally import usage_limits
from tally.api.schemas import Schema
from tally.engine import custom_metrics
from tally.models import AggregationType, MetricType, ParameterType, UsageMetric

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


CUSTOM_EXPRESSION = (
    "Tally extension (Sequence's custom metrics' `expression`), for CUSTOM metrics only. "
    "Never run as SQL: a small SQL-like language Tally evaluates over the metric's events "
    "(its eventType and propertyFilters) in the period. Aggregates: COUNT(), SUM(x), MIN(x), "
    "MAX(x), AVG(x), COUNT_DISTINCT(x), each with an optional filter `where=<condition>`; "
    "SUM_BY_DAY(e) / MAX_BY_DAY(e) evaluate `e` per local day and add up (or take the "
    "highest), e.g. SUM_BY_DAY(MAX(event.gigabytes)). Inside an aggregate, event.<name> or "
    'event["any key"] is an event property (numbers read exactly). Bare names are the '
    "metric's `parameters`. Numbers, 'text', + - * / (x / 0 is 0), GREATEST, LEAST, ABS, "
    "FLOOR, CEIL, ROUND(x, places) (half up), == != < <= > >=, in (...), not in (...), and, "
    "or, not. Example: GREATEST(SUM(event.amount, where=event.region in ('EU', 'UK')) - "
    "included, 0). A value that is missing or not a number is left out of its aggregate; "
    "an aggregate over no events is 0. At most 2,000 characters."
)


class CustomMetricParameterIn(Schema):
    """A CUSTOM metric's parameter (Tally extension: Sequence's custom metrics'
    `parameters`). Kept by name: re-sending a name keeps the parameter's id."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: ParameterType
    description: str = Field(default="", max_length=2000)
    default_value: str = Field(max_length=100)


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
    expression: str | None = Field(default=None, max_length=2000, description=CUSTOM_EXPRESSION)
    parameters: list[CustomMetricParameterIn] | None = Field(
        default=None,
        max_length=20,
        description="Tally extension, CUSTOM metrics only: the names the expression uses, "
        "typed, with a default; prices give their own values (`customMetricParameters`). "
        "On update, the list replaces the metric's (a name sent again keeps its id).",
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
            self._custom()
        elif self.expression is not None or self.parameters:
            field = "expression" if self.expression is not None else "parameters"
            raise _invalid((field,), "only CUSTOM metrics take an expression and parameters")
        if self.aggregation_type in NEEDS_PROPERTY and not self.aggregation_property:
            raise ValueError(f"{self.aggregation_type} metrics need an aggregationProperty")
        unknown = set(self.properties_to_negate) - set(self.property_filters)
        if unknown:
            raise ValueError(
                f"propertiesToNegate names no property filter: {', '.join(sorted(unknown))}"
            )
        return self

    def _custom(self) -> None:
        if self.expression is None:
            raise _invalid(("expression",), "a CUSTOM metric needs its expression", None)
        try:
            parsed = custom_metrics.parse(self.expression)
        except custom_metrics.ExpressionError as error:
            raise _invalid(("expression",), str(error), self.expression) from None
        declared = self.parameters or []
        names = [parameter.name for parameter in declared]
        for index, parameter in enumerate(declared):
            if names.index(parameter.name) != index:
                raise _invalid(("parameters", index, "name"), "names must differ", parameter.name)
            if parameter_value(parameter.type, parameter.default_value) is None:
                raise _invalid(
                    ("parameters", index, "defaultValue"),
                    f"not a {parameter.type.value} value",
                    parameter.default_value,
                )
        if unknown := sorted(parsed.parameters - set(names)):
            raise _invalid(
                ("expression",),
                f"names no declared parameter: {', '.join(unknown)} (declare it in "
                "`parameters`, or read an event property as event.<name>)",
                self.expression,
            )

    def normalized_filters(self) -> dict[str, list[str]]:
        """Filter values as the text a property compares as (JSON spelling for non-strings)."""
        return {
            key: [_filter_text(value) for value in values]
            for key, values in self.property_filters.items()
        }


def parameter_value(kind: ParameterType, text: str) -> Decimal | None:
    """A parameter's value read as its type, or None when it is not one."""
    value = custom_metrics.number(text)
    if value is None:
        return None
    whole = value == value.to_integral_value()
    positive = value > 0
    fits = {
        ParameterType.INTEGER: whole,
        ParameterType.POSITIVE_INTEGER: whole and positive,
        ParameterType.NUMBER: True,
        ParameterType.POSITIVE_NUMBER: positive,
    }[kind]
    return value if fits else None


def _invalid(loc: tuple[str | int, ...], message: str, value: Any = None) -> ValidationError:
    detail: InitErrorDetails = {
        "type": PydanticCustomError("value_error", message),
        "loc": loc,
        "input": value,
    }
    return ValidationError.from_exception_data("UsageMetric", [detail])


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
    type: ParameterType
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
    expression: str | None = Field(default=None, description=CUSTOM_EXPRESSION)
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
            parameters=[
                CustomMetricParameter(
                    id=p.id,
                    usage_metric_id=p.usage_metric_id,
                    name=p.name,
                    type=p.type,
                    description=p.description,
                    default_value=p.default_value,
                )
                for p in metric.parameters
            ],
            expression=metric.expression,
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
