"""custom usage metrics: an expression and typed parameters on CUSTOM metrics

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-07 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tally.db

revision: str = "0015"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("usage_metrics", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expression", sa.Text(), nullable=True))
    op.create_table(
        "usage_metric_parameters",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("usage_metric_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "INTEGER",
                "POSITIVE_INTEGER",
                "NUMBER",
                "POSITIVE_NUMBER",
                name="parametertype",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("default_value", sa.String(length=100), nullable=False),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_usage_metric_parameters_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["usage_metric_id"],
            ["usage_metrics.id"],
            name=op.f("fk_usage_metric_parameters_usage_metric_id_usage_metrics"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_metric_parameters")),
        sa.UniqueConstraint(
            "usage_metric_id",
            "name",
            name=op.f("uq_usage_metric_parameters_usage_metric_id_name"),
        ),
    )
    with op.batch_alter_table("usage_metric_parameters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_usage_metric_parameters_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_usage_metric_parameters_usage_metric_id"),
            ["usage_metric_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("usage_metric_parameters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_metric_parameters_usage_metric_id"))
        batch_op.drop_index(batch_op.f("ix_usage_metric_parameters_account_id"))
    op.drop_table("usage_metric_parameters")
    with op.batch_alter_table("usage_metrics", schema=None) as batch_op:
        batch_op.drop_column("expression")
