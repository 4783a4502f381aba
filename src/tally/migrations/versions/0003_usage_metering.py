"""usage metering: metrics, events, rollups

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 19:11:37.676652
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tally.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "usage_events",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("customer_event_id", sa.Text(), nullable=False),
        sa.Column("customer_alias", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("event_timestamp", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("received_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_events")),
        sa.UniqueConstraint(
            "account_id",
            "customer_event_id",
            name=op.f("uq_usage_events_account_id_customer_event_id"),
        ),
    )
    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_usage_events_account_alias_type_time",
            ["account_id", "customer_alias", "event_type", "event_timestamp"],
            unique=False,
        )

    op.create_table(
        "usage_metrics",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column(
            "metric_type",
            sa.Enum("SIMPLE", "GROUPED", name="metrictype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("event_type", sa.String(length=500), nullable=False),
        sa.Column(
            "aggregation_type",
            sa.Enum(
                "COUNT",
                "SUM",
                "UNIQUE",
                "MAX",
                "LATEST",
                "CUSTOM",
                name="aggregationtype",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("aggregation_property", sa.String(length=500), nullable=True),
        sa.Column("grouping_property", sa.String(length=500), nullable=True),
        sa.Column("unit", sa.String(length=200), nullable=True),
        sa.Column(
            "property_filters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "properties_to_negate",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("case_sensitive", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_usage_metrics_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_metrics")),
    )
    with op.batch_alter_table("usage_metrics", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_usage_metrics_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            "uq_usage_metrics_account_name",
            ["account_id", "name"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "usage_rollup_values",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("metric_id", sa.String(length=36), nullable=False),
        sa.Column("customer_alias", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("occurrences", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_usage_rollup_values_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["metric_id"],
            ["usage_metrics.id"],
            name=op.f("fk_usage_rollup_values_metric_id_usage_metrics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_rollup_values")),
    )
    with op.batch_alter_table("usage_rollup_values", schema=None) as batch_op:
        batch_op.create_index(
            "ix_usage_rollup_values_bucket",
            ["metric_id", "customer_alias", "day", "value"],
            unique=False,
        )

    op.create_table(
        "usage_rollups",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("metric_id", sa.String(length=36), nullable=False),
        sa.Column("customer_alias", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("event_count", sa.BigInteger(), nullable=False),
        sa.Column("skipped_count", sa.BigInteger(), nullable=False),
        sa.Column("value_sum", tally.db.ExactDecimal(), nullable=True),
        sa.Column("value_max", tally.db.ExactDecimal(), nullable=True),
        sa.Column("latest_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("latest_event_id", sa.Uuid(as_uuid=False), nullable=True),
        sa.Column("latest_value", tally.db.ExactDecimal(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_usage_rollups_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["metric_id"],
            ["usage_metrics.id"],
            name=op.f("fk_usage_rollups_metric_id_usage_metrics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_rollups")),
    )
    with op.batch_alter_table("usage_rollups", schema=None) as batch_op:
        batch_op.create_index(
            "ix_usage_rollups_bucket", ["metric_id", "customer_alias", "day"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("usage_rollups", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_rollups_bucket")

    op.drop_table("usage_rollups")
    with op.batch_alter_table("usage_rollup_values", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_rollup_values_bucket")

    op.drop_table("usage_rollup_values")
    with op.batch_alter_table("usage_metrics", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_usage_metrics_account_name",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_usage_metrics_account_id"))

    op.drop_table("usage_metrics")
    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_events_account_alias_type_time")

    op.drop_table("usage_events")
