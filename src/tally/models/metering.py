"""Usage metrics, usage events, and the per-day rollups that make `calculate` fast.

Events are stored as received (last received wins per `customer_event_id`). Rollups hold, per
metric, customer alias and local day of the account, the aggregates of the matching events;
ingestion keeps them current in the same transaction as the events, so a calculation reads a
handful of rows instead of millions of events.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from tally.db import JSONDocument, new_id
from tally.models.base import Base, TenantMixin


class MetricType(StrEnum):
    SIMPLE = "SIMPLE"
    GROUPED = "GROUPED"


class AggregationType(StrEnum):
    COUNT = "COUNT"
    SUM = "SUM"
    UNIQUE = "UNIQUE"
    MAX = "MAX"
    LATEST = "LATEST"
    CUSTOM = "CUSTOM"  # Sequence's expression metrics: accepted by the schema, refused by Tally


class UsageMetric(TenantMixin, Base):
    __tablename__ = "usage_metrics"
    __table_args__ = (
        Index(
            "uq_usage_metrics_account_name",
            "account_id",
            "name",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(String(2000), default=None)
    metric_type: Mapped[MetricType] = mapped_column(default=MetricType.SIMPLE)
    event_type: Mapped[str] = mapped_column(String(500))
    aggregation_type: Mapped[AggregationType]
    aggregation_property: Mapped[str | None] = mapped_column(String(500), default=None)
    grouping_property: Mapped[str | None] = mapped_column(String(500), default=None)
    unit: Mapped[str | None] = mapped_column(String(200), default=None)
    # {"property": ["allowed", "values"]}; every filter must match.
    property_filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    properties_to_negate: Mapped[list[Any]] = mapped_column(default=list)
    case_sensitive: Mapped[bool] = mapped_column(default=True)
    # A Tally extension: events may carry negative values for this metric (refunds, returns).
    # Off by default, so a sign error in an integration is refused instead of billed.
    allow_negative_values: Mapped[bool] = mapped_column(default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    # CUSTOM metrics: the expression (`engine/custom_metrics.py`) and its typed parameters.
    expression: Mapped[str | None] = mapped_column(Text, default=None)
    parameters: Mapped[list["UsageMetricParameter"]] = relationship(
        order_by="UsageMetricParameter.name", lazy="selectin", cascade="all, delete-orphan"
    )


class ParameterType(StrEnum):
    INTEGER = "INTEGER"
    POSITIVE_INTEGER = "POSITIVE_INTEGER"
    NUMBER = "NUMBER"
    POSITIVE_NUMBER = "POSITIVE_NUMBER"


class UsageMetricParameter(TenantMixin, Base):
    """A named, typed value a CUSTOM metric's expression uses; prices bind it
    (`customMetricParameters`), or its default applies. Its id stays while its name does."""

    __tablename__ = "usage_metric_parameters"
    __table_args__ = (UniqueConstraint("usage_metric_id", "name"),)

    usage_metric_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("usage_metrics.id"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[ParameterType]
    description: Mapped[str] = mapped_column(String(2000), default="")
    default_value: Mapped[str] = mapped_column(String(100))


class UsageEvent(Base):
    """One usage event. Not a RecordMixin: this table is the hot path, so it carries only what
    ingestion and aggregation need, with a native UUID key.

    On PostgreSQL the table is partitioned by month of `event_timestamp` (migration 0024,
    `metering/partitions.py`), so its keys include the timestamp; `customer_event_id`'s
    uniqueness per account lives in `usage_event_keys`, which no partition may hold."""

    __tablename__ = "usage_events"
    __table_args__ = (
        Index(
            "ix_usage_events_account_alias_type_time",
            "account_id",
            "customer_alias",
            "event_type",
            "event_timestamp",
        ),
        # Late-usage reports find what arrived since a schedule's last run. BRIN on
        # PostgreSQL: arrival order is table order, so the index is tiny and cheap to keep.
        Index("ix_usage_events_received_at", "received_at", postgresql_using="brin"),
    )

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True, default=new_id)
    # No foreign key: the account comes from the authenticated key, and a per-row integrity
    # check would cost the hot path a lookup for every event.
    account_id: Mapped[str] = mapped_column(String(36))
    customer_event_id: Mapped[str] = mapped_column(Text)
    customer_alias: Mapped[str] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(Text)
    # Part of the key: PostgreSQL's partition key must be in every unique index.
    event_timestamp: Mapped[datetime] = mapped_column(primary_key=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    received_at: Mapped[datetime]
    # The properties as stored JSON text, when a query asks for it (exact numbers, no parsing).
    properties_json: Mapped[str] = query_expression()


class UsageEventKey(Base):
    """A `customer_event_id` known in an account, and the event that holds it: the idempotency
    key of usage events (last received wins), kept apart from the partitioned events because a
    unique index there would have to include the month. Written in the same transaction as
    the event; forgotten when retention drops the event's month."""

    __tablename__ = "usage_event_keys"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_event_id: Mapped[str] = mapped_column(Text, primary_key=True)
    event_id: Mapped[str] = mapped_column(Uuid(as_uuid=False))


class UsageEventRetirement(Base):
    """A month of usage events that retention exported and dropped (PostgreSQL only): events
    of earlier months are refused, and rebuilding rollups keeps those months' rows as they are.
    Not tenant-owned: a month is dropped for every account at once."""

    __tablename__ = "usage_event_retirements"

    month: Mapped[date] = mapped_column(primary_key=True)  # its first day (UTC)
    events: Mapped[int] = mapped_column(BigInteger)
    exported_to: Mapped[str] = mapped_column(Text)
    retired_at: Mapped[datetime]


# A database-assigned row number (BIGSERIAL on PostgreSQL, INTEGER PRIMARY KEY on SQLite).
_ROW_NUMBER = BigInteger().with_variant(Integer(), "sqlite")


class UsageRollup(Base):
    """A metric's aggregates over some of one customer alias's events of one local day.

    Append-only: every batch adds its own rows instead of updating shared ones, so
    concurrent ingestion never waits on a hot customer's bucket. A bucket's value is the
    aggregate of its rows; recomputing a bucket replaces its rows with one.
    """

    __tablename__ = "usage_rollups"
    __table_args__ = (Index("ix_usage_rollups_bucket", "metric_id", "customer_alias", "day"),)

    id: Mapped[int] = mapped_column(_ROW_NUMBER, primary_key=True, autoincrement=True)
    # No foreign keys (migration 0025): each would lock the metric and account rows for every
    # row a batch appends. Metrics and accounts are never deleted.
    metric_id: Mapped[str] = mapped_column(String(36))
    customer_alias: Mapped[str] = mapped_column(Text)
    day: Mapped[date]
    account_id: Mapped[str] = mapped_column(String(36))
    event_count: Mapped[int] = mapped_column(BigInteger, default=0)
    # Events that matched but had no numeric value to aggregate (SUM, MAX, LATEST).
    skipped_count: Mapped[int] = mapped_column(BigInteger, default=0)
    value_sum: Mapped[Decimal | None] = mapped_column(default=None)
    value_max: Mapped[Decimal | None] = mapped_column(default=None)
    latest_at: Mapped[datetime | None] = mapped_column(default=None)
    latest_event_id: Mapped[str | None] = mapped_column(Uuid(as_uuid=False), default=None)
    latest_value: Mapped[Decimal | None] = mapped_column(default=None)


class UsageRollupValue(Base):
    """For UNIQUE metrics: distinct values seen per alias and day, with how often.
    Append-only like UsageRollup."""

    __tablename__ = "usage_rollup_values"
    __table_args__ = (
        Index("ix_usage_rollup_values_bucket", "metric_id", "customer_alias", "day", "value"),
    )

    id: Mapped[int] = mapped_column(_ROW_NUMBER, primary_key=True, autoincrement=True)
    metric_id: Mapped[str] = mapped_column(String(36))  # no foreign keys: see UsageRollup
    customer_alias: Mapped[str] = mapped_column(Text)
    day: Mapped[date]
    value: Mapped[str] = mapped_column(Text)
    account_id: Mapped[str] = mapped_column(String(36))
    occurrences: Mapped[int] = mapped_column(BigInteger)


# Typed handles on the tables, for the set-based SQL of ingestion and rollups.
USAGE_EVENTS = cast(Table, UsageEvent.__table__)
USAGE_EVENT_KEYS = cast(Table, UsageEventKey.__table__)
USAGE_ROLLUPS = cast(Table, UsageRollup.__table__)
USAGE_ROLLUP_VALUES = cast(Table, UsageRollupValue.__table__)
