"""seats: seat metrics and seat events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 18:57:46.423593
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tally.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seat_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("customer_event_id", sa.String(length=500), nullable=False),
        sa.Column("customer_alias", sa.String(length=500), nullable=False),
        sa.Column("seat_type", sa.String(length=100), nullable=False),
        sa.Column("event_timestamp", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("received_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("total >= 0", name=op.f("ck_seat_events_total_not_negative")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_seat_events_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seat_events")),
        sa.UniqueConstraint(
            "account_id",
            "customer_event_id",
            name=op.f("uq_seat_events_account_id_customer_event_id"),
        ),
    )
    with op.batch_alter_table("seat_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_seat_events_account_alias_type_time",
            ["account_id", "customer_alias", "seat_type", "event_timestamp"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_seat_events_account_id"), ["account_id"], unique=False)

    op.create_table(
        "seat_metrics",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("seat_type", sa.String(length=100), nullable=False),
        sa.Column("label", sa.String(length=500), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("deleted_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_seat_metrics_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seat_metrics")),
    )
    with op.batch_alter_table("seat_metrics", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_seat_metrics_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            "uq_seat_metrics_account_seat_type",
            ["account_id", "seat_type"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("seat_metrics", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_seat_metrics_account_seat_type",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_seat_metrics_account_id"))

    op.drop_table("seat_metrics")
    with op.batch_alter_table("seat_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seat_events_account_id"))
        batch_op.drop_index("ix_seat_events_account_alias_type_time")

    op.drop_table("seat_events")
