"""Seat metrics (the seat types a merchant bills for) and seat events (absolute seat counts).

Events name their customer by alias and their metric by seat type, both as plain strings:
aliases resolve to customers when read, so an event may arrive before its alias exists, and a
seat type stays meaningful after its metric is deleted and created again.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from tally.models.base import Base, TenantMixin


class SeatMetric(TenantMixin, Base):
    __tablename__ = "seat_metrics"
    __table_args__ = (
        # Unique among live metrics of an account; a deleted metric frees its seat type.
        Index(
            "uq_seat_metrics_account_seat_type",
            "account_id",
            "seat_type",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    seat_type: Mapped[str] = mapped_column(String(100))  # immutable, lower snake case
    label: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(String(2000), default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class SeatEvent(TenantMixin, Base):
    """The total seats of one seat type a customer holds from `event_timestamp` on."""

    __tablename__ = "seat_events"
    __table_args__ = (
        # The idempotency key: a later event with the same id replaces the stored one.
        UniqueConstraint("account_id", "customer_event_id"),
        CheckConstraint("total >= 0", name="total_not_negative"),
        # Balances and timelines: one customer's events of one seat type, in time order.
        Index(
            "ix_seat_events_account_alias_type_time",
            "account_id",
            "customer_alias",
            "seat_type",
            "event_timestamp",
        ),
    )

    customer_event_id: Mapped[str] = mapped_column(String(500))
    customer_alias: Mapped[str] = mapped_column(String(500))
    seat_type: Mapped[str] = mapped_column(String(100))
    event_timestamp: Mapped[datetime]
    total: Mapped[int]
    # When the current content arrived: orders events that share a timestamp (last one wins).
    received_at: Mapped[datetime]
