"""trust: activity log, negative usage opt-in, payment reference

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 23:46:47.194947
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tally.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "activity_logs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column(
            "origin",
            sa.Enum(
                "API", "DASHBOARD", "SYSTEM", name="activityorigin", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("trace_id", sa.String(length=128), nullable=True),
        sa.Column("verb", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.String(length=2000), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=True),
        sa.Column(
            "actor_type",
            sa.Enum("API_KEY", "USER", "SYSTEM", name="actortype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("actor_id", sa.String(length=36), nullable=True),
        sa.Column("actor_email", sa.String(length=320), nullable=True),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=36), nullable=False),
        sa.Column("target_type", sa.String(length=64), nullable=True),
        sa.Column("target_id", sa.String(length=36), nullable=True),
        sa.Column(
            "changes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_activity_logs_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_logs")),
    )
    with op.batch_alter_table("activity_logs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activity_logs_account_object", ["account_id", "object_id"], unique=False
        )
        batch_op.create_index(
            "ix_activity_logs_account_target", ["account_id", "target_id"], unique=False
        )

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_reference", sa.String(length=500), nullable=True))

    with op.batch_alter_table("usage_metrics", schema=None) as batch_op:
        # Existing metrics keep refusing negative values, the new default.
        batch_op.add_column(
            sa.Column(
                "allow_negative_values", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("usage_metrics", schema=None) as batch_op:
        batch_op.drop_column("allow_negative_values")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("payment_reference")

    with op.batch_alter_table("activity_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_logs_account_target")
        batch_op.drop_index("ix_activity_logs_account_object")

    op.drop_table("activity_logs")
